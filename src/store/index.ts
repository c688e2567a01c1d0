// Chooses the storage adapter from the configuration: MongoDB when
// MONGODB_URI is set, otherwise the embedded store in DATA_DIR.
import pino from 'pino';
import { EmbeddedStore } from './embedded/store';
import { MongoStore } from './mongo/store';
import { MongoDriverError, MongoNetworkError, MongoServerSelectionError, MongoTopologyClosedError } from 'mongodb';
import { StoreUnavailableError, type StoragePort } from './port';

export function createStore(config: { mongodbUri?: string; dataDir: string; logLevel?: string; searchCacheMiB?: number }): StoragePort {
  if (config.mongodbUri) return new MongoStore(config.mongodbUri);
  const logger = pino({ level: config.logLevel ?? 'info' });
  return new EmbeddedStore(config.dataDir, { log: (message) => logger.info(message), searchCacheMiB: config.searchCacheMiB });
}

/** Whether an error means the store cannot serve right now (503 with Retry-After), not a fault in the request or the server. */
export function isStoreUnavailable(err: unknown): boolean {
  return (
    err instanceof StoreUnavailableError ||
    err instanceof MongoNetworkError ||
    err instanceof MongoServerSelectionError ||
    err instanceof MongoTopologyClosedError ||
    // No connection of the pool came free in time (client-options.ts); the driver does not export its class.
    (err instanceof MongoDriverError && err.name === 'MongoWaitQueueTimeoutError')
  );
}
