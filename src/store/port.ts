// The storage port: the small surface every adapter (embedded, MongoDB)
// implements. The Repository owns FHIR semantics (versioning, validation,
// search compilation); an adapter only stores versions and runs compiled queries.
import type { Resource } from '@medplum/fhirtypes';
import type { Filter } from './search/filter';

/** One version of one resource, as stored: current table and history alike. */
export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: string;
  /** ISO instant in UTC with milliseconds, so string order is time order. */
  lastUpdated: string;
  deleted: boolean;
  /** Absent for a delete version. */
  resource?: Resource;
  /** Search index fields computed at write time (see indexer.ts). */
  idx: IndexFields;
  /** One scalar sort key per sortable search parameter. */
  sort: Record<string, string | number>;
}

export interface DateIndex {
  lo: string[];
  hi: string[];
}
/** A quantity parameter's values and units; a position's latitude and longitude. */
export interface QuantityIndex {
  v: number[];
  u: string[];
}
export interface PositionIndex {
  lat: number[];
  lng: number[];
}
export type IndexFields = Record<string, string[] | number[] | DateIndex | QuantityIndex | PositionIndex>;

/**
 * A write of one new version. expectedVersionId is the optimistic lock: the
 * current version must be exactly that (undefined: the resource must not exist).
 */
export interface VersionWrite {
  version: StoredVersion;
  expectedVersionId: string | undefined;
}

export interface SortKey {
  field: string;
  descending: boolean;
}

export interface StoreQuery {
  resourceType: string;
  filter: Filter;
  sort: SortKey[];
  offset: number;
  limit: number;
}

export interface HistoryQuery {
  resourceType?: string;
  id?: string;
  /** Only versions with lastUpdated strictly after this instant. */
  since?: string;
  /** Only versions with lastUpdated at or before this instant (the settle horizon of polling, settle.ts). */
  until?: string;
  offset: number;
  limit: number;
}

/** Thrown by commit when an expected version does not match: a lost race. */
export class VersionConflictError extends Error {
  constructor(
    readonly resourceType: string,
    readonly id: string
  ) {
    super(`Version conflict on ${resourceType}/${id}`);
  }
}

/** New index fields for a current version, after the SearchParameters changed (a reindex). */
export interface IndexUpdate {
  resourceType: string;
  id: string;
  /** Applied only while this is still the current version. */
  versionId: string;
  idx: IndexFields;
  sort: Record<string, string | number>;
}

/**
 * A background job's record (reindex, bulk export, directory import, the
 * subscriptions' change feed): not a resource and never versioned, so saving
 * a job's place after every batch, or renewing its lease, adds no history.
 * Each write replaces the record whole on condition that its revision is
 * still the one the writer read (compare-and-set): that is how processes
 * sharing a store agree on which of them holds a job (store/jobs/).
 */
export interface JobRecord {
  kind: string;
  id: string;
  /** 1 once created, one more with each write. */
  revision: number;
  /** The job's state as JSON text, read back whole and never searched. */
  data: string;
}

/**
 * A change to who may see a stored resource (its access grants, access-index.ts),
 * made without a new version: grants follow from other resources (a patient's
 * from the Tasks and referrals about them), so writing one of those changes the
 * grants of resources the write does not otherwise touch. Applied to whatever
 * version is current; a deleted or unknown resource is left alone.
 */
export interface AccessChange {
  resourceType: string;
  id: string;
  add: string[];
  remove: string[];
}

/** What a commit carries besides its versions. */
export interface CommitOptions {
  /** The deadline of visibility, for stores whose commits may become visible out of call order. */
  visibleWithinMs?: number;
  /** Grant changes of resources the commit does not otherwise write. */
  access?: AccessChange[];
}

/** The store cannot serve now (closed, unreachable, its disk refused a write): 503, try again later. */
export class StoreUnavailableError extends Error {}

/** Thrown when a multi-version commit needs transactions the deployment lacks. */
export class TransactionsUnsupportedError extends Error {}

export interface StoragePort {
  readonly kind: 'embedded' | 'mongodb';
  /** Whether commit() of several writes is atomic. */
  readonly supportsTransactions: boolean;
  /**
   * Whether commits become visible in the order commit() was called (one
   * process, one commit queue). Then a lastUpdated stamped just before the
   * call orders visibility, and polling needs no settle horizon (commit-stamp.ts).
   */
  readonly commitsInCallOrder: boolean;
  /** Opens the store and creates indexes for these resource types. */
  start(resourceTypes: string[]): Promise<void>;
  readCurrent(resourceType: string, id: string): Promise<StoredVersion | undefined>;
  readVersion(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined>;
  /** Versions newest first. */
  readHistory(query: HistoryQuery): Promise<StoredVersion[]>;
  /** Current, non-deleted versions matching the query. */
  search(query: StoreQuery): Promise<StoredVersion[]>;
  count(resourceType: string, filter: Filter): Promise<number>;
  /**
   * Whether counting the filter runs apart from the thread that asked (the
   * embedded store's reader thread): a search then starts its total beside
   * its page rather than after it. Where it is absent or false, a total is
   * counted only once the page shows it is needed.
   */
  countsApart?(resourceType: string, filter: Filter): boolean;
  /**
   * The current versions, of the types given, whose index field holds the
   * value, with only the index fields named by codes (no resource, no sort
   * keys): asks once what one search per type would find out, for look-ups
   * bounded by one resource's records (a patient's).
   */
  indexesHolding(resourceTypes: string[], field: string, value: string, codes: string[]): Promise<StoredVersion[]>;
  /**
   * Writes all versions or none; throws VersionConflictError on a lost race.
   * An AuditEvent is not a versioned resource: its write (always a create) is
   * appended to the audit trail, with no history copy, in the same unit.
   * With visibleWithinMs, the versions (stamped just before the call) must
   * be visible within that long of it (commit-stamp.ts): a commit that cannot
   * be made visible in time is undone and refused with CommitDeadlineError,
   * and one that completes later than that is stamped again, forward, in
   * place. A store whose commits are visible in call order may ignore it.
   * Access changes follow the writes in the same unit (where the store has
   * transactions; otherwise right after them), each applied atomically to its
   * resource so that concurrent additions never undo each other.
   */
  commit(writes: VersionWrite[], options?: CommitOptions): Promise<void>;
  /** Audit retention: removes up to limit AuditEvents recorded before the instant, oldest first; returns how many. */
  removeAuditEventsBefore(instant: string, limit: number): Promise<number>;
  /** Replaces index fields of current versions; a version no longer current is left alone. */
  updateIndexes(updates: IndexUpdate[]): Promise<void>;
  /**
   * Bulk export output, kept beside the resources rather than as resources:
   * a file is a run of numbered text chunks that any server process sharing
   * the store can read back in order. Writing chunk n again replaces it, so a
   * job resumed after a crash can simply redo its last page.
   */
  writeExportChunk(jobId: string, file: string, seq: number, text: string): Promise<void>;
  /** One chunk, or undefined when it was never written (or was removed). */
  readExportChunk(jobId: string, file: string, seq: number): Promise<string | undefined>;
  /** Removes every chunk of a job's files (cancelled or expired). */
  deleteExportFiles(jobId: string): Promise<void>;
  readJob(kind: string, id: string): Promise<JobRecord | undefined>;
  /** Every record of a kind (kinds hold few: finished jobs expire). */
  listJobs(kind: string): Promise<JobRecord[]>;
  /**
   * Writes the record as revision expected + 1 when its revision is still
   * `expected` (0: it must not exist yet); false when it is not, because
   * another process wrote it first or it was removed.
   */
  writeJob(kind: string, id: string, data: string, expected: number): Promise<boolean>;
  /** Removes the record, only at that revision when one is given; false when it was not there (or had moved on). */
  deleteJob(kind: string, id: string, expected?: number): Promise<boolean>;
  /** Resolves when the store can serve requests. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
