// The stores every storage-facing suite runs against: the embedded store
// always, and MongoDB whenever MONGODB_URI is set (CI sets it to FerretDB).
// Each call makes a fresh, empty store of its own.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { EmbeddedStore, type EmbeddedStoreOptions } from '../../src/store/embedded/store';
import { MongoStore } from '../../src/store/mongo/store';
import type { StoragePort } from '../../src/store/port';

export interface StoreTarget {
  name: 'embedded' | 'mongodb';
  /** Whether the store commits several resources at once (global-setup.ts asks MongoDB before the suites run). */
  transactions: boolean;
  /** A new empty store (not started) and a cleanup that removes its data. */
  create(): { store: StoragePort; cleanup: () => Promise<void> };
}

export function tempDir(prefix = 'sp-fhir-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** The embedded store in a directory the suite knows (to look at its files), with options of its own. */
export function embeddedIn(dir: string, options: EmbeddedStoreOptions): StoreTarget {
  return {
    name: 'embedded',
    transactions: true,
    create: () => ({ store: new EmbeddedStore(dir, options), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) }),
  };
}

const embedded: StoreTarget = {
  name: 'embedded',
  transactions: true,
  create() {
    const dir = tempDir();
    return { store: new EmbeddedStore(dir), cleanup: async () => fs.rmSync(dir, { recursive: true, force: true }) };
  },
};

/** The MongoDB URI with its database replaced by a fresh one. */
export function uniqueDatabaseUri(uri: string): string {
  const url = new URL(uri);
  url.pathname = `/sp_test_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  return url.toString();
}

const mongodb: StoreTarget = {
  name: 'mongodb',
  transactions: process.env.MONGODB_TRANSACTIONS === 'true',
  create() {
    const store = new MongoStore(uniqueDatabaseUri(process.env.MONGODB_URI as string));
    return {
      store,
      cleanup: async () => {
        await store.dropDatabase().catch(() => undefined);
      },
    };
  },
};

export const storeTargets: StoreTarget[] = process.env.MONGODB_URI ? [embedded, mongodb] : [embedded];

/** `test` where the store has transactions, jest's `test.skip` where it has not: the report says "skipped". */
export const withTransactions = (target: StoreTarget): jest.It => (target.transactions ? test : test.skip);
