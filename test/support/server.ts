// Starts the real app on 127.0.0.1 on a port the OS picks, over a real store,
// and gives a supertest agent for it. Every suite owns its server and data.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT } from 'jose';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { createApp, type App } from '../../src/app';
import { LOCAL_ALGORITHM, LOCAL_ISSUER, loadOrCreateLocalKey } from '../../src/auth/local-key';
import { loadConfig } from '../../src/config';
import type { StoragePort } from '../../src/store/port';
import type { StoreTarget } from './stores';

export const BASE_URL = 'http://fhir.test/fhir';

/**
 * WRITE_SETTLE_MS for tests that poll (docs/storage.md, "Polling"): the
 * default, which a test database on a loaded machine needs to commit within
 * half of it.
 */
export const TEST_SETTLE_MS = 4000;

/** Waits until everything written so far has settled, so that a poll answers it on every store. */
export const settled = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, TEST_SETTLE_MS + 100));

export interface TestServer {
  app: App;
  store: StoragePort;
  http: Server;
  url: string;
  /** supertest for this server, sending a token with every scope (system/*.cruds, no role). */
  api: ReturnType<typeof request.agent>;
  /** supertest without a token. */
  anonymous: ReturnType<typeof request>;
  stop(): Promise<void>;
}

/** Where test servers keep the local signing key (the store's data lives elsewhere: stores.ts). */
export const KEY_DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-fhir-keys-'));

export interface TokenClaims {
  sub?: string;
  scope?: string;
  sp_role?: string;
  ods_code?: string;
  patient?: string;
  aud?: string;
  /** Seconds from now; negative for an expired token. */
  expiresIn?: number;
  notBefore?: number;
}

/** A token signed with the test servers' local key. */
export async function tokenFor(claims: TokenClaims = {}): Promise<string> {
  const key = await loadOrCreateLocalKey(KEY_DIR);
  const { sub = 'test-client', aud = BASE_URL, expiresIn = 3600, notBefore, ...rest } = claims;
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ scope: 'system/*.cruds', ...rest })
    .setProtectedHeader({ alg: LOCAL_ALGORITHM, kid: key.kid })
    .setIssuer(LOCAL_ISSUER)
    .setSubject(sub)
    .setAudience(aud)
    .setIssuedAt(now)
    .setExpirationTime(now + expiresIn);
  if (notBefore !== undefined) jwt.setNotBefore(now + notBefore);
  return jwt.sign(key.privateKey);
}

export async function startServer(target: StoreTarget, env: Record<string, string> = {}): Promise<TestServer> {
  const { store, cleanup } = target.create();
  const config = loadConfig({ LOG_LEVEL: 'silent', BASE_URL: BASE_URL, DATA_DIR: KEY_DIR, RATE_LIMIT: '0', ...env });
  const app = await createApp(config, store);
  const http = await new Promise<Server>((resolve) => {
    const server = app.express.listen(0, '127.0.0.1', () => resolve(server));
    server.on('upgrade', app.upgrade);
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return {
    app,
    store,
    http,
    url,
    api: request.agent(url).set('Authorization', `Bearer ${await tokenFor()}`),
    anonymous: request(url),
    async stop() {
      await new Promise<void>((resolve) => http.close(() => resolve()));
      http.closeAllConnections();
      await app.close();
      await cleanup();
    },
  };
}

export const FHIR_JSON = 'application/fhir+json';

/** POSTs a transaction Bundle of these entries to the base (as sent: the server checks them). */
export const postTransaction = (server: TestServer, entry: object[]) =>
  server.api.post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'transaction', entry });

/** POSTs a resource to its type's endpoint (a create) on a test server. */
export const createResource = (server: TestServer, body: object) =>
  server.api
    .post(`/fhir/${(body as { resourceType: string }).resourceType}`)
    .set('Content-Type', FHIR_JSON)
    .send(body);
