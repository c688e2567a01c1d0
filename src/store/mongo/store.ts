// The MongoDB adapter, on the official driver. One collection per resource
// type holds current versions (_id = resource id); the `history` collection
// holds every version (_id = Type/id/versionId). Multi-version commits use
// MongoDB transactions, which need a replica set or sharded cluster; on a
// deployment without them (a standalone server, FerretDB) such commits are
// refused rather than applied in part.
import { MongoClient, MongoServerError, type AnyBulkWriteOperation, type ClientSession, type Collection, type Db, type Document } from 'mongodb';
import {
  TransactionsUnsupportedError,
  VersionConflictError,
  type AccessChange,
  type CommitOptions,
  type HistoryQuery,
  type IndexFields,
  type IndexUpdate,
  type JobRecord,
  type StoragePort,
  type StoredVersion,
  type StoreQuery,
  type VersionWrite,
} from '../port';
import type { Filter } from '../search/filter';
import { CommitDeadlineError, restamp } from '../commit-stamp';
import { GEO_INDEXES, geoFields } from './geo';
import { indexesFor } from './indexes';
import { toMongoQuery } from './translate';
import { MongoJobRecords } from './job-records';
import { clientOptions, type Timeouts } from './client-options';
import { callDeadlineMs, withCallDeadline } from './deadline';
import { ACCESS_FIELD } from '../access-index';

const HISTORY = 'history';
/** AuditEvents are an append-only log: their own collection, written once, with no history copy. */
const AUDIT_TYPE = 'AuditEvent';
/** Bulk export output: one document per chunk, like GridFS but with text chunks of whole NDJSON lines. */
const EXPORT_CHUNKS = 'export_chunks';

interface ExportChunkDoc {
  _id: string;
  job: string;
  text: string;
}
const DUPLICATE_KEY = 11000;
/** WriteConflict: two transactions touched one document. MongoDB labels it transient; some compatible services do not. */
const WRITE_CONFLICT = 112;
/** Attempts of a commit that lost a write conflict before it is answered as a lost race (409/412). */
const WRITE_CONFLICT_ATTEMPTS = 5;
/** Stampings of a commit that completed late, each one forward; a database this slow for longer needs a larger WRITE_SETTLE_MS. */
const RESTAMP_ATTEMPTS = 3;
/** A version in history but not current, younger than this, may still be in its writer's hands: not rolled forward. */
const ORPHAN_GRACE_MS = 60_000;

function isWriteConflict(err: unknown): boolean {
  return err instanceof MongoServerError && (err.code === WRITE_CONFLICT || err.hasErrorLabel('TransientTransactionError'));
}

/**
 * A unique-key violation. FerretDB 1.24 reports some as code 1 with SQLite's
 * "UNIQUE constraint failed" instead of MongoDB's 11000.
 */
function isDuplicateKey(err: unknown): boolean {
  if (!(err instanceof MongoServerError)) return false;
  return err.code === DUPLICATE_KEY || (err.code === 1 && /UNIQUE constraint failed/.test(err.message));
}

type StoredDoc = StoredVersion & { _id: string };

function strip(doc: Document | null): StoredVersion | undefined {
  if (!doc) return undefined;
  const { _id, geo, ...version } = doc;
  void _id;
  void geo;
  return version as StoredVersion;
}

export type MongoStoreOptions = Partial<Timeouts>;

/** The calls bounded by the call deadline (deadline.ts): all but those that set the store up and take it down. */
const BOUNDED_CALLS = [
  'readCurrent',
  'readVersion',
  'readHistory',
  'search',
  'count',
  'indexesHolding',
  'commit',
  'updateIndexes',
  'removeAuditEventsBefore',
  'writeExportChunk',
  'readExportChunk',
  'deleteExportFiles',
  'readJob',
  'listJobs',
  'writeJob',
  'deleteJob',
  'ping',
] as const satisfies ReadonlyArray<keyof MongoStore>;

export class MongoStore implements StoragePort {
  readonly kind = 'mongodb';
  /** Several processes commit at once: a commit must be visible by its deadline (commit-stamp.ts). */
  readonly commitsInCallOrder = false;
  private transactions = false;
  /** Whether this deployment has 2dsphere indexes, so current documents carry GeoJSON (geo.ts). */
  private geo = false;
  private readonly client: MongoClient;
  private readonly db: Db;
  /** Background jobs' state and leases (job-records.ts). */
  private readonly jobRecords: MongoJobRecords;

  constructor(uri: string, options: MongoStoreOptions = {}) {
    this.client = new MongoClient(uri, clientOptions(uri, options));
    const deadlineMs = callDeadlineMs(this.client.options);
    for (const name of BOUNDED_CALLS) {
      const call = (this[name] as (...args: unknown[]) => Promise<unknown>).bind(this);
      (this as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => withCallDeadline(call(...args), deadlineMs, name);
    }
    // The database named in the URI, or "fhir".
    this.db = this.client.db(new URL(uri.replace(/^mongodb(\+srv)?:/, 'http:')).pathname.slice(1) || 'fhir');
    this.jobRecords = new MongoJobRecords(this.db, isDuplicateKey);
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
    await this.exportChunks().createIndex({ job: 1 });
    await this.jobRecords.createIndexes();
    // Current-version collections: _id serves reads; indexes.ts lists the rest.
    const queue = [...resourceTypes];
    const worker = async (): Promise<void> => {
      for (let type = queue.shift(); type; type = queue.shift()) {
        for (const spec of indexesFor(type)) await this.current(type).createIndex(spec);
      }
    };
    await Promise.all([worker(), worker(), worker(), worker()]);
    this.geo = await this.createGeoIndexes(resourceTypes);
  }

  /** Geospatial indexes where the deployment has them (MongoDB does; FerretDB refuses them). */
  private async createGeoIndexes(resourceTypes: string[]): Promise<boolean> {
    try {
      for (const type of resourceTypes) if (GEO_INDEXES[type]) await this.current(type).createIndex(GEO_INDEXES[type]);
      return true;
    } catch (err) {
      if (err instanceof MongoServerError) return false;
      throw err;
    }
  }

  /** The current-version document of a version: GeoJSON copies of positions where geo indexes exist. */
  private currentDoc(version: StoredVersion): StoredDoc {
    const geo = this.geo ? geoFields(version.idx) : undefined;
    return { _id: version.id, ...version, ...(geo ? { geo } : {}) };
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
    if (resourceType === AUDIT_TYPE) return versionId === '1' ? this.readCurrent(resourceType, id) : undefined;
    return strip(await this.history().findOne({ _id: `${resourceType}/${id}/${versionId}` }));
  }

  async readHistory(query: HistoryQuery): Promise<StoredVersion[]> {
    const filter: Document = {};
    if (query.resourceType) filter.resourceType = { $eq: query.resourceType };
    if (query.id) filter.id = { $eq: query.id };
    if (query.since || query.until) filter.lastUpdated = { ...(query.since ? { $gt: query.since } : {}), ...(query.until ? { $lte: query.until } : {}) };
    // An AuditEvent's one version is the log entry itself.
    const collection = query.resourceType === AUDIT_TYPE ? this.current(AUDIT_TYPE) : this.history();
    const docs = await collection.find(filter).sort({ lastUpdated: -1, _id: -1 }).skip(query.offset).limit(query.limit).toArray();
    return docs.map((d) => strip(d) as StoredVersion);
  }

  private query(filter: Filter): Document {
    return { $and: [{ deleted: { $eq: false } }, toMongoQuery(filter, { geo: this.geo })] };
  }

  async search(query: StoreQuery): Promise<StoredVersion[]> {
    const sort: Record<string, 1 | -1> = {};
    for (const key of query.sort) sort[key.field === 'id' ? '_id' : key.field] = key.descending ? -1 : 1;
    if (query.limit === 0) return [];
    const docs = await this.current(query.resourceType).find(this.query(query.filter)).sort(sort).skip(query.offset).limit(query.limit).toArray();
    return docs.map((d) => strip(d) as StoredVersion);
  }

  async count(resourceType: string, filter: Filter): Promise<number> {
    return this.current(resourceType).countDocuments(this.query(filter));
  }

  async indexesHolding(resourceTypes: string[], field: string, value: string, codes: string[]): Promise<StoredVersion[]> {
    const projection = { resourceType: 1, id: 1, versionId: 1, lastUpdated: 1, deleted: 1, ...Object.fromEntries(codes.map((c) => [`idx.${c}`, 1])) };
    // A collection per type: one query each, side by side.
    const found = await Promise.all(
      resourceTypes.map((type) =>
        this.current(type)
          .find(this.query({ kind: 'eq', field, value }), { projection })
          .toArray()
      )
    );
    return found.flat().map((d) => ({ ...(strip(d) as StoredVersion), idx: (d.idx as IndexFields | undefined) ?? {}, sort: {} }));
  }

  /**
   * Commits, retrying a write conflict a few times: MongoDB's withTransaction
   * retries only errors labelled TransientTransactionError, and some
   * MongoDB-compatible services report WriteConflict (112) without the label.
   * A conflict that outlasts the retries is a lost race, not a server error.
   */
  async commit(writes: VersionWrite[], options: CommitOptions = {}): Promise<void> {
    const { visibleWithinMs, access = [] } = options;
    const deadline = visibleWithinMs === undefined ? undefined : Date.now() + visibleWithinMs;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.commitOnce(writes, deadline, access);
        break;
      } catch (err) {
        if (!isWriteConflict(err)) throw err;
        if (attempt >= WRITE_CONFLICT_ATTEMPTS) throw new VersionConflictError(writes[0].version.resourceType, writes[0].version.id);
        await new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 10));
      }
    }
    if (deadline !== undefined && visibleWithinMs !== undefined) await this.restampIfLate(writes, deadline, visibleWithinMs);
  }

  /**
   * Every write was sent before its deadline, but one that completed after it
   * may have become visible after it too, when a poller had already passed
   * its stamp. Such versions are stamped again, forward, in place (history
   * copy and current document, same version), until a stamping completes in
   * time: they are then never missed by a poller, at worst seen twice.
   */
  private async restampIfLate(writes: VersionWrite[], deadline: number, visibleWithinMs: number): Promise<void> {
    const versions = writes.map((w) => w.version).filter((v) => v.resourceType !== AUDIT_TYPE);
    for (let due = deadline, n = 0; Date.now() > due && versions.length > 0 && n < RESTAMP_ATTEMPTS; n++) {
      const instant = new Date(Math.max(Date.now(), ...versions.map((v) => Date.parse(v.lastUpdated) + 1))).toISOString();
      due = Date.now() + visibleWithinMs;
      for (const version of versions) {
        restamp(version, instant);
        await this.history().replaceOne({ _id: `${version.resourceType}/${version.id}/${version.versionId}` }, version);
        // Only while it is still the current version: a later one carries its own stamp.
        await this.current(version.resourceType).replaceOne({ _id: version.id, versionId: version.versionId }, this.currentDoc(version));
      }
    }
  }

  private async commitOnce(writes: VersionWrite[], deadline: number | undefined, access: AccessChange[]): Promise<void> {
    if (writes.length > 1 && !this.transactions) {
      throw new TransactionsUnsupportedError('This MongoDB deployment does not support transactions');
    }
    if (!this.transactions) {
      if (writes.length === 1) await this.writeVersion(writes[0], undefined, deadline);
      // Without transactions the grants the write brings follow it; each change is atomic on its document.
      await this.applyAccessChanges(access);
      return;
    }
    const session = this.client.startSession();
    try {
      await session.withTransaction(async () => {
        for (const write of writes) await this.writeVersion(write, session);
        await this.applyAccessChanges(access, session);
        // Too late to commit: abort, so that nothing becomes visible after the deadline. (Not maxCommitTimeMS:
        // a commit that runs out of it may still have been applied, and the caller would stamp it again.)
        if (deadline !== undefined && Date.now() >= deadline) throw new CommitDeadlineError();
      });
    } catch (err) {
      // A version orphaned in history (a crash of a write made without a transaction) cannot be
      // rolled forward inside the transaction that collided with it, which is aborted: do it now.
      if (err instanceof VersionConflictError) {
        const write = writes.find((w) => w.version.resourceType === err.resourceType && w.version.id === err.id);
        if (write) await this.rollForward(err.resourceType, err.id, write.version.versionId).catch(() => undefined);
      }
      throw err;
    } finally {
      await session.endSession();
    }
  }

  /**
   * The history copy is written first and is the lock: versions are
   * sequential and history's _id (Type/id/versionId) is unique, so exactly one
   * writer can create version n+1, and only that writer then moves the current
   * document from n to n+1. A unique index decides the race, which holds even
   * where a conditional replace is not atomic (FerretDB). FerretDB was seen to
   * let two concurrent inserts of one history _id both succeed under heavy
   * contention (50 clients), so within a process the repository hands over
   * the commits of one resource one at a time (repository.ts commit); across
   * processes the index decides. Outside a transaction, a crash between the
   * two writes leaves version n+1 in history only; the next writer to collide
   * with it rolls the current document forward to it (rollForward), so
   * nothing is lost or left stuck.
   */
  private async writeVersion({ version, expectedVersionId }: VersionWrite, session?: ClientSession, deadline?: number): Promise<void> {
    const { resourceType, id, versionId } = version;
    if (resourceType === AUDIT_TYPE) {
      if (expectedVersionId !== undefined || version.deleted) throw new VersionConflictError(resourceType, id);
      await this.current(AUDIT_TYPE).insertOne(this.currentDoc(version), { session });
      return;
    }
    // Without a transaction each of the two writes becomes visible by itself: each must start before the deadline.
    if (deadline !== undefined && Date.now() >= deadline) throw new CommitDeadlineError();
    const historyId = `${resourceType}/${id}/${versionId}`;
    try {
      await this.history().insertOne({ _id: historyId, ...version }, { session });
    } catch (err) {
      if (!isDuplicateKey(err)) throw err;
      if (!session) await this.rollForward(resourceType, id, versionId);
      throw new VersionConflictError(resourceType, id);
    }
    if (deadline !== undefined && Date.now() >= deadline) {
      await this.history().deleteOne({ _id: historyId });
      throw new CommitDeadlineError();
    }
    await this.advanceCurrent(version, expectedVersionId, session);
  }

  /** Moves the current document from expectedVersionId to version (or creates it). */
  private async advanceCurrent(version: StoredVersion, expectedVersionId: string | undefined, session?: ClientSession): Promise<void> {
    const collection = this.current(version.resourceType);
    if (expectedVersionId === undefined) {
      try {
        await collection.insertOne(this.currentDoc(version), { session });
      } catch (err) {
        // Already there: another request rolled this very version forward.
        if (!isDuplicateKey(err)) throw err;
      }
      return;
    }
    const result = await collection.replaceOne({ _id: version.id, versionId: expectedVersionId }, this.currentDoc(version), { session });
    if (result.matchedCount > 0) return;
    // Matching nothing is fine if another request already rolled this version forward.
    const current = await collection.findOne({ _id: version.id }, { session });
    if (current && Number(current.versionId) >= Number(version.versionId)) return;
    // Otherwise the expected version was stale: take the history copy back out.
    await this.history().deleteOne({ _id: `${version.resourceType}/${version.id}/${version.versionId}` }, { session });
    throw new VersionConflictError(version.resourceType, version.id);
  }

  /**
   * Grants added and removed in place on the current documents: $pullAll
   * then $addToSet, each atomic on its document, so grants added by
   * concurrent writers all stay; one bulk write per type and kind of change.
   * ($pullAll rather than $pull with $in, which FerretDB 1.24 ignores.)
   */
  private async applyAccessChanges(changes: AccessChange[], session?: ClientSession): Promise<void> {
    const byType = new Map<string, AccessChange[]>();
    for (const c of changes) byType.set(c.resourceType, [...(byType.get(c.resourceType) ?? []), c]);
    for (const [type, list] of byType) {
      const filter = (c: AccessChange) => ({ _id: c.id, deleted: false });
      const pulls = list
        .filter((c) => c.remove.length > 0)
        .map((c) => ({ updateOne: { filter: filter(c), update: { $pullAll: { [ACCESS_FIELD]: c.remove } } } }));
      const adds = list
        .filter((c) => c.add.length > 0)
        .map((c) => ({ updateOne: { filter: filter(c), update: { $addToSet: { [ACCESS_FIELD]: { $each: c.add } } } } }));
      for (const ops of [pulls, adds])
        if (ops.length > 0) await this.current(type).bulkWrite(ops as AnyBulkWriteOperation<StoredDoc>[], { ordered: false, session });
    }
  }

  /**
   * Completes a version that reached history but not the current document.
   * A recent one is left to its writer, which may still complete it or, past
   * its deadline, take it back (commit-stamp.ts).
   */
  private async rollForward(resourceType: string, id: string, versionId: string): Promise<void> {
    const orphan = strip(await this.history().findOne({ _id: `${resourceType}/${id}/${versionId}` }));
    if (!orphan || Date.now() - Date.parse(orphan.lastUpdated) < ORPHAN_GRACE_MS) return;
    const previous = Number(versionId) - 1;
    await this.advanceCurrent(orphan, previous > 0 ? String(previous) : undefined);
  }

  async updateIndexes(updates: IndexUpdate[]): Promise<void> {
    // Guarded by versionId: a version written meanwhile already has fresh index fields.
    const byType = new Map<string, IndexUpdate[]>();
    for (const u of updates) byType.set(u.resourceType, [...(byType.get(u.resourceType) ?? []), u]);
    for (const [type, list] of byType) {
      await this.current(type).bulkWrite(
        list.map((u) => ({ updateOne: { filter: { _id: u.id, versionId: u.versionId }, update: this.indexSet(u) } })),
        { ordered: false }
      );
    }
  }

  /** The update that gives a current document new index fields (and their GeoJSON copies). */
  private indexSet(u: IndexUpdate): Document {
    const set = { $set: { idx: u.idx, sort: u.sort } };
    if (!this.geo) return set;
    const geo = geoFields(u.idx);
    return geo ? { $set: { ...set.$set, geo } } : { ...set, $unset: { geo: '' } };
  }

  async removeAuditEventsBefore(instant: string, limit: number): Promise<number> {
    const expired = await this.current(AUDIT_TYPE)
      .find({ lastUpdated: { $lt: instant } }, { projection: { _id: 1 } })
      .sort({ lastUpdated: 1 })
      .limit(limit)
      .toArray();
    if (expired.length === 0) return 0;
    const result = await this.current(AUDIT_TYPE).deleteMany({ _id: { $in: expired.map((d) => d._id) } });
    return result.deletedCount;
  }

  private exportChunks(): Collection<ExportChunkDoc> {
    return this.db.collection<ExportChunkDoc>(EXPORT_CHUNKS);
  }

  async writeExportChunk(jobId: string, file: string, seq: number, text: string): Promise<void> {
    // Upsert by a key naming the chunk: writing it again (a resumed job) replaces it.
    await this.exportChunks().replaceOne({ _id: `${jobId}/${file}/${seq}` }, { job: jobId, text }, { upsert: true });
  }

  async readExportChunk(jobId: string, file: string, seq: number): Promise<string | undefined> {
    return (await this.exportChunks().findOne({ _id: `${jobId}/${file}/${seq}` }))?.text;
  }

  async deleteExportFiles(jobId: string): Promise<void> {
    await this.exportChunks().deleteMany({ job: { $eq: jobId } });
  }

  readJob(kind: string, id: string): Promise<JobRecord | undefined> {
    return this.jobRecords.read(kind, id);
  }

  listJobs(kind: string): Promise<JobRecord[]> {
    return this.jobRecords.list(kind);
  }

  writeJob(kind: string, id: string, data: string, expected: number): Promise<boolean> {
    return this.jobRecords.write(kind, id, data, expected);
  }

  deleteJob(kind: string, id: string, expected?: number): Promise<boolean> {
    return this.jobRecords.delete(kind, id, expected);
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
