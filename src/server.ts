// Entry point: reads the configuration (failing fast on a bad value), starts
// the app and stops gracefully on SIGTERM/SIGINT: in-flight requests finish,
// new connections are refused, the store is closed.
import type { Server } from 'node:http';
import { createApp } from './app';
import { ConfigError, loadConfig } from './config';

const SHUTDOWN_TIMEOUT_MS = 8000;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const app = await createApp(config);
  const server: Server = app.express.listen(config.port, config.host, () => {
    app.logger.info({ base: config.baseUrl, store: app.store.kind, dataDir: config.mongodbUri ? undefined : config.dataDir }, 'FHIR server listening');
  });
  server.on('upgrade', app.upgrade);
  let stopping = false;
  // Once stopping, every answer closes its connection, so keep-alive clients cannot go on sending.
  server.on('request', (_req, res) => {
    if (stopping && !res.headersSent) res.setHeader('Connection', 'close');
  });
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.logger.info({ signal }, 'shutting down');
    setTimeout(() => process.exit(1), SHUTDOWN_TIMEOUT_MS).unref();
    server.close(() => {
      app.close().then(
        () => process.exit(0),
        () => process.exit(1)
      );
    });
    server.closeIdleConnections();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main().catch((err: unknown) => {
  process.stderr.write(`Failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
