// Chooses the storage adapter from the configuration: MongoDB when
// MONGODB_URI is set, otherwise the embedded store in DATA_DIR.
import type { Config } from '../config';
import { EmbeddedStore } from './embedded/store';
import { MongoStore } from './mongo/store';
import type { StoragePort } from './port';

export function createStore(config: Pick<Config, 'mongodbUri' | 'dataDir'>): StoragePort {
  return config.mongodbUri ? new MongoStore(config.mongodbUri) : new EmbeddedStore(config.dataDir);
}
