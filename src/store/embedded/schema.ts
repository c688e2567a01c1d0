// The embedded store's SQLite database: connection settings and tables.
//
// - resource_version: every version of every resource (history); the
//   resource JSON is kept once, here.
// - current_resource: the current version of each resource, its search index
//   fields and sort keys (JSON), and a small integer rowid (rid) that the
//   search_value rows point at.
// - search_field + search_value: one row per (index field, value) of a current
//   version, so that equality, ranges and anchored prefixes on any index field
//   are B-tree range scans (see sql-filter.ts). Field names are interned as
//   small integers to keep the rows short.
// - export_chunk: bulk export output, as numbered text chunks.
// - job_record: background jobs' state and leases, unversioned (job-records.ts).
// - audit_event + audit_value: the audit trail, append-only, with the index
//   values of the few fields audit search needs (audit-log.ts); each event's
//   JSON deflated (audit-compression.ts).
import { DatabaseSync } from 'node:sqlite';
import { ANALYSIS_LIMIT } from './planner-statistics';
import { LOG_LIMIT_BYTES } from './checkpointer';

export const DATABASE_FILE = 'fhir.sqlite';

/** How long a connection waits for a lock another holds (a checkpoint's, another process's) before it gives up. */
export const LOCK_WAIT_MS = 5000;

/**
 * When a write is acknowledged. FULL (the default): once the write-ahead log
 * is synced to disk, so a power loss loses nothing acknowledged (the sync is
 * the store's own, off the event loop: group-commit.ts). NORMAL: at COMMIT,
 * without a sync; a process crash (kill -9) loses nothing, a power loss or
 * an operating-system crash may lose the last writes.
 */
export type SynchronousMode = 'FULL' | 'NORMAL';

export interface DatabaseOptions {
  synchronous: SynchronousMode;
  /** Page cache in MiB: memory stays bounded whatever the size of the data. */
  cacheMiB: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS resource_version (
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  vid INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  resource TEXT,
  PRIMARY KEY (type, id, vid)
);
CREATE INDEX IF NOT EXISTS resource_version_by_time ON resource_version (last_updated);
CREATE INDEX IF NOT EXISTS resource_version_by_type_time ON resource_version (type, last_updated);

CREATE TABLE IF NOT EXISTS current_resource (
  rid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  id TEXT NOT NULL,
  vid INTEGER NOT NULL,
  last_updated TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  idx TEXT NOT NULL,
  sort TEXT NOT NULL,
  UNIQUE (type, id)
);

CREATE TABLE IF NOT EXISTS search_field (
  fid INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  field TEXT NOT NULL,
  UNIQUE (type, field)
);

CREATE TABLE IF NOT EXISTS search_value (
  fid INTEGER NOT NULL,
  value NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (fid, value, rid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS audit_event (
  rid INTEGER PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  last_updated TEXT NOT NULL,
  resource TEXT NOT NULL,
  idx TEXT NOT NULL,
  sort TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_event_by_time ON audit_event (last_updated);

CREATE TABLE IF NOT EXISTS audit_value (
  fid INTEGER NOT NULL,
  value NOT NULL,
  rid INTEGER NOT NULL,
  PRIMARY KEY (fid, value, rid)
) WITHOUT ROWID;

CREATE TABLE IF NOT EXISTS export_chunk (
  job TEXT NOT NULL,
  file TEXT NOT NULL,
  seq INTEGER NOT NULL,
  text TEXT NOT NULL,
  PRIMARY KEY (job, file, seq)
);

CREATE TABLE IF NOT EXISTS job_record (
  kind TEXT NOT NULL,
  id TEXT NOT NULL,
  revision INTEGER NOT NULL,
  data TEXT NOT NULL,
  PRIMARY KEY (kind, id)
);
`;

/** An AuditEvent's date (its sort key), as the audit log's index holds it and its searches sort by it. */
export const AUDIT_DATE = "json_extract(sort, '$.date')";

/**
 * Indexes added after the tables were first released, built by the writer
 * thread once the server has started (writer-thread.ts): on a data directory
 * an earlier release wrote, readiness does not wait for them (building the
 * first one at 1,000,000 resources took 1.3-5 s, and the restart must stay
 * under 5 s). Every query is right without them, only slower. Writes
 * queue behind the build (about 3 s, once, at that size); reads go on.
 */
export const LATE_INDEXES = [
  // The live resources of each type, in id order. A search's total over a whole type (Patient?_count=10) is
  // counted here without reading the rows: counting them in the table read every row of the type, 200 ms for
  // 113,000 Patients at 1,000,000 resources, and seconds with the pages not yet in memory. A page of a whole type in
  // id order walks it too, without the deleted rows.
  'CREATE INDEX IF NOT EXISTS current_live ON current_resource (type, id) WHERE deleted = 0',
  // The live resources of each type by lastUpdated: a page of the most recently changed (_sort=-_lastUpdated) reads
  // its rows in that order, where sorting the whole type took 515 ms for 204,000 Tasks at 1,000,000 resources.
  'CREATE INDEX IF NOT EXISTS current_live_by_time ON current_resource (type, last_updated) WHERE deleted = 0',
  // The audit log by date (AuditEvent.recorded, its sort key): the newest events first (AuditEvent?_sort=-date) are
  // read in that order (audit-log.ts), where sorting the whole log took 578 ms for 243,000 events.
  `CREATE INDEX IF NOT EXISTS audit_event_by_date ON audit_event (${AUDIT_DATE})`,
];

/** A connection with the store's settings, to a database whose tables exist (the writer thread's). */
export function openConnection(file: string, cacheMiB: number, logLimitBytes = LOG_LIMIT_BYTES): DatabaseSync {
  const db = new DatabaseSync(file);
  // WAL: readers never wait for the writer, and a commit is one append to the log.
  db.exec('PRAGMA journal_mode = WAL');
  // SQLite itself syncs only at checkpoints; FULL's sync before acknowledging is done by the group commit.
  db.exec('PRAGMA synchronous = NORMAL');
  db.exec(`PRAGMA cache_size = ${-Math.max(1, Math.floor(cacheMiB)) * 1024}`);
  db.exec(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`);
  db.exec('PRAGMA temp_store = MEMORY');
  // Once a checkpoint has copied the log into the database, the log file is cut back to this size:
  // otherwise it keeps the size of its largest burst for good.
  db.exec(`PRAGMA journal_size_limit = ${Math.floor(logLimitBytes)}`);
  // Any analysis on this connection (planner-statistics.ts) reads a bounded sample of each index.
  db.exec(`PRAGMA analysis_limit = ${ANALYSIS_LIMIT}`);
  return db;
}

/** Opens the database, creating its tables on first use. */
export function openDatabase(file: string, cacheMiB: number): DatabaseSync {
  const db = openConnection(file, cacheMiB);
  db.exec(SCHEMA);
  // Refreshes the planner's statistics where they are missing or stale, reading
  // a bounded sample of each index so that start time does not grow with the data.
  db.exec('PRAGMA optimize = 0x10002');
  return db;
}
