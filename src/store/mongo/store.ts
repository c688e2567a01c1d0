// The MongoDB adapter, on the official driver. One collection per resource
// type holds current versions (_id = resource id); the `history` collection
// holds every version (_id = Type/id/versionId). Multi-version commits use
// MongoDB transactions, which need a replica set or sharded cluster; on a
// deployment without them (a standalone server, FerretDB) such commits are
// refused rather than applied in part.
import { MongoClient, MongoServerError, type ClientSession, type Collection, type Db, type Document } from 'mongodb';
import {
  TransactionsUnsupportedError,
  VersionConflictError,
  type HistoryQuery,
  type StoragePort,
  type StoredVersion,
  type StoreQuery,
  type VersionWrite,
} from '../port';
import type { Filter } from '../search/filter';
import { toMongoQuery } from './translate';

const HISTORY = 'history';
const DUPLICATE_KEY = 11000;

type StoredDoc = StoredVersion & { _id: string };

function strip(doc: Document | null): StoredVersion | undefined {
  if (!doc) return undefined;
  const { _id, ...version } = doc;
  void _id;
  return version as StoredVersion;
}

export interface MongoStoreOptions {
  /** Milliseconds to wait for a server before an operation fails. */
  serverSelectionTimeoutMS?: number;
}

export class MongoStore implements StoragePort {
  readonly kind = 'mongodb';
  private transactions = false;
  private readonly client: MongoClient;
  private readonly db: Db;

  constructor(uri: string, options: MongoStoreOptions = {}) {
    this.client = new MongoClient(uri, {
      serverSelectionTimeoutMS: options.serverSelectionTimeoutMS ?? 5000,
      ignoreUndefined: true,
    });
    // The database named in the URI, or "fhir".
    this.db = this.client.db(new URL(uri.replace(/^mongodb(\+srv)?:/, 'http:')).pathname.slice(1) || 'fhir');
  }

  get supportsTransactions(): boolean {
    return this.transactions;
  }

  async start(resourceTypes: string[]): Promise<void> {
    await this.client.connect();
    const hello = await this.db.admin().command({ hello: 1 });
    // Transactions need a replica set member (setName) or a mongos router.
    this.transactions = Boolean(hello.setName) || hello.msg === 'isdbgrid';
    // One index per call: FerretDB 1.24 mishandles createIndexes with several
    // indexes when some already exist.
    await this.history().createIndex({ resourceType: 1, id: 1, lastUpdated: -1 });
    await this.history().createIndex({ lastUpdated: -1 });
    // Current-version collections: _id serves reads; lastUpdated serves polling.
    const queue = [...resourceTypes];
    const worker = async (): Promise<void> => {
      for (let type = queue.shift(); type; type = queue.shift()) {
        await this.current(type).createIndex({ 'idx._lastUpdated.hi': 1 });
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
  }

  private current(resourceType: string): Collection<StoredDoc> {
    return this.db.collection<StoredDoc>(resourceType);
  }

  private history(): Collection<StoredDoc> {
    return this.db.collection<StoredDoc>(HISTORY);
  }

  async readCurrent(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    // A bare {_id: string} filter (ids are validated strings): FerretDB pushes only this form down to its index.
    return strip(await this.current(resourceType).findOne({ _id: id }));
  }

  async readVersion(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    return strip(await this.history().findOne({ _id: `${resourceType}/${id}/${versionId}` }));
  }

  async readHistory(query: HistoryQuery): Promise<StoredVersion[]> {
    const filter: Document = {};
    if (query.resourceType) filter.resourceType = { $eq: query.resourceType };
    if (query.id) filter.id = { $eq: query.id };
    if (query.since) filter.lastUpdated = { $gt: query.since };
    const docs = await this.history()
      .find(filter)
      .sort({ lastUpdated: -1, _id: -1 })
      .skip(query.offset)
      .limit(query.limit)
      .toArray();
    return docs.map((d) => strip(d) as StoredVersion);
  }

  private query(filter: Filter): Document {
    return { $and: [{ deleted: { $eq: false } }, toMongoQuery(filter)] };
  }

  async search(query: StoreQuery): Promise<StoredVersion[]> {
    const sort: Record<string, 1 | -1> = {};
    for (const key of query.sort) sort[key.field === 'id' ? '_id' : key.field] = key.descending ? -1 : 1;
    if (query.limit === 0) return [];
    const docs = await this.current(query.resourceType)
      .find(this.query(query.filter))
      .sort(sort)
      .skip(query.offset)
      .limit(query.limit)
      .toArray();
    return docs.map((d) => strip(d) as StoredVersion);
  }

  async count(resourceType: string, filter: Filter): Promise<number> {
    return this.current(resourceType).countDocuments(this.query(filter));
  }

  async commit(writes: VersionWrite[]): Promise<void> {
    if (writes.length > 1 && !this.transactions) {
      throw new TransactionsUnsupportedError('This MongoDB deployment does not support transactions');
    }
    if (!this.transactions) {
      await this.writeVersion(writes[0]);
      return;
    }
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        for (const write of writes) await this.writeVersion(write, session);
      });
    } finally {
      await session.endSession();
    }
  }

  /**
   * The current document is written first, guarded by the expected version
   * (the optimistic lock), then the history copy. Outside a transaction a
   * crash between the two can leave a version missing from history only;
   * reads of the current version do not depend on it.
   */
  private async writeVersion({ version, expectedVersionId }: VersionWrite, session?: ClientSession): Promise<void> {
    const { resourceType, id, versionId } = version;
    const collection = this.current(resourceType);
    try {
      if (expectedVersionId === undefined) {
        await collection.insertOne({ _id: id, ...version }, { session });
      } else {
        const result = await collection.replaceOne(
          { _id: { $eq: id }, versionId: { $eq: expectedVersionId } },
          version,
          { session }
        );
        if (result.matchedCount === 0) throw new VersionConflictError(resourceType, id);
      }
    } catch (err) {
      if (err instanceof MongoServerError && err.code === DUPLICATE_KEY) throw new VersionConflictError(resourceType, id);
      throw err;
    }
    await this.history().insertOne({ _id: `${resourceType}/${id}/${versionId}`, ...version }, { session });
  }

  async ping(): Promise<void> {
    await this.db.command({ ping: 1 });
  }

  async close(): Promise<void> {
    await this.client.close();
  }

  /** Drops the database: used by tests that make a database of their own. */
  async dropDatabase(): Promise<void> {
    await this.db.dropDatabase();
  }
}
