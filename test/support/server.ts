// Starts the real app on 127.0.0.1 on a port the OS picks, over a real store,
// and gives a supertest agent for it. Every suite owns its server and data.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { StoragePort } from '../../src/store/port';
import type { StoreTarget } from './stores';

export const BASE_URL = 'http://fhir.test/fhir';

export interface TestServer {
  app: App;
  store: StoragePort;
  http: Server;
  url: string;
  /** supertest for this server; paths are relative to the FHIR base (/fhir). */
  api: ReturnType<typeof request>;
  stop(): Promise<void>;
}

export async function startServer(target: StoreTarget, env: Record<string, string> = {}): Promise<TestServer> {
  const { store, cleanup } = target.create();
  const config = loadConfig({ LOG_LEVEL: 'silent', BASE_URL: BASE_URL, DATA_DIR: '/nonexistent', ...env });
  const app = await createApp(config, store);
  const http = await new Promise<Server>((resolve) => {
    const server = app.express.listen(0, '127.0.0.1', () => resolve(server));
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    app,
    store,
    http,
    url,
    api: request(url),
    async stop() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await app.close();
      await cleanup();
    },
  };
}

export const FHIR_JSON = 'application/fhir+json';
