// The embedded store: the zero-setup default, on SQLite (node:sqlite, shipped
// with Node 24). The data lives in one database file in DATA_DIR (schema.ts);
// memory holds only SQLite's page cache and a map of interned field names,
// so memory and restart time do not grow with the history.
//
// Reads run here, on the serving thread's connection, except broad searches,
// whose SQL runs on the reader thread (reader-thread.ts). Changes go to the
// writer thread (writer-thread.ts), whose group commit gives concurrent
// requests one transaction and one sync. The optimistic lock is an UPDATE
// conditioned on the expected versionId, checked by its change count.
// A multi-version commit runs in one savepoint: all of it or none.
import fs from 'node:fs';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Filter } from '../search/filter';
import {
  StoreUnavailableError,
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
import { lockDataDirectory } from './lock';
import { DATABASE_FILE, openConnection, openDatabase, type DatabaseOptions } from './schema';
import { statisticsFingerprint } from './planner-statistics';
import { isExactLookup, keyPath, limitSql, type SqlParam } from './sql-filter';
import { importLegacyLog } from './legacy-import';
import { AUDIT_TYPE, AuditLog } from './audit-log';
import { Checkpointer, LOG_LIMIT_BYTES } from './checkpointer';
import { encodeIndexUpdate, encodeWrite, SqliteWriter } from './writer';
import { WriterClient } from './writer-client';
import type { WriterOp } from './writer-protocol';
import { listJobRecords, readJobRecord } from './job-records';
import { CurrentRowCache, rowKey, type VersionRow } from './current-row-cache';
import { SearchAnswerCache } from './search-answer-cache';
import { FieldIds } from './field-ids';
import { CURRENT_COLUMNS, SearchSql, VERSION_JOIN } from './search-sql';
import { ReaderClient } from './reader-client';
import { preparedRecent } from './prepared';

export interface EmbeddedStoreOptions extends Partial<DatabaseOptions> {
  /** Told of progress while an old data directory is imported. */
  log?: (message: string) => void;
  /** The size of the write-ahead log above which it starts again from its beginning, and its file is cut back to (checkpointer.ts). */
  logLimitBytes?: number;
  /** Memory for recently read current versions on the serving thread (current-row-cache.ts), in MiB. */
  rowCacheMiB?: number;
  /** Memory for the answers of recent searches on the serving thread (search-answer-cache.ts), in MiB; 0 keeps none. */
  searchCacheMiB?: number;
}

/** How often the serving connection looks whether the planner's statistics changed (planner-statistics.ts). */
const STATISTICS_CHECK_MS = 5_000;

/**
 * A stored version from its row. Its JSON columns are parsed only when asked
 * for: a read by id never needs the index fields or sort keys (only _include,
 * near and cursors do), and a reference check only asks whether the version
 * exists.
 */
function toVersion(row: VersionRow): StoredVersion {
  const version = {
    resourceType: row.type,
    id: row.id,
    versionId: String(row.vid),
    lastUpdated: row.last_updated,
    deleted: row.deleted === 1,
  } as StoredVersion;
  if (row.resource) parsedWhenRead(version, 'resource', row.resource);
  // History rows carry no index fields: only current versions are searched.
  parsedWhenRead(version, 'idx', row.idx);
  parsedWhenRead(version, 'sort', row.sort);
  return version;
}

function parsedWhenRead(version: StoredVersion, key: 'resource' | 'idx' | 'sort', json: string | undefined): void {
  const settle = (value: unknown): void => {
    Object.defineProperty(version, key, { value, enumerable: true, configurable: true, writable: true });
  };
  Object.defineProperty(version, key, {
    enumerable: true,
    configurable: true,
    get(): unknown {
      const value: unknown = json ? JSON.parse(json) : {};
      settle(value);
      return value;
    },
    set: settle,
  });
}

const CURRENT_JOIN = `current_resource c ${VERSION_JOIN}`;

export class EmbeddedStore implements StoragePort {
  readonly kind = 'embedded';
  readonly supportsTransactions = true;
  /** One commit queue in one process: commits are visible in the order commit() was called, so no deadline applies. */
  readonly commitsInCallOrder = true;
  private db: DatabaseSync | undefined;
  private unlock: (() => void) | undefined;
  private readonly statements = preparedRecent(() => this.requireDb());
  /** The index fields' numbers (field-ids.ts), told of by the writer thread with each commit's answer. */
  private readonly fieldIds = new FieldIds((sql) => this.statement(sql));
  /** Searches by exact values, on the serving connection (see search). */
  private readonly searchSql = new SearchSql((sql) => this.statement(sql), this.fieldIds);
  private writer: WriterClient | undefined;
  /** Broad searches' SQL runs on the reader thread (reader-thread.ts; see search). */
  private reader: ReaderClient | undefined;
  private statisticsSeen = '';
  private statisticsCheck: NodeJS.Timeout | undefined;
  private checkpointer: Checkpointer | undefined;
  /** AuditEvents: an append-only log beside the versioned resources. */
  private readonly auditLog = new AuditLog(this);
  private readonly currentRows: CurrentRowCache;
  private readonly searchAnswers: SearchAnswerCache;

  constructor(
    private readonly dataDir: string,
    private readonly options: EmbeddedStoreOptions = {}
  ) {
    this.currentRows = new CurrentRowCache((options.rowCacheMiB ?? 32) * 1024 * 1024);
    this.searchAnswers = new SearchAnswerCache((options.searchCacheMiB ?? 16) * 1024 * 1024);
  }

  async start(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.unlock = lockDataDirectory(this.dataDir);
    const file = path.join(this.dataDir, DATABASE_FILE);
    const cacheMiB = this.options.cacheMiB ?? 64;
    const logLimitBytes = this.options.logLimitBytes ?? LOG_LIMIT_BYTES;
    try {
      this.db = openDatabase(file, cacheMiB);
      // Before the writer thread exists, this connection is the only writer.
      await importLegacyLog(this.dataDir, this.db, new SqliteWriter(this.db), this.options.log ?? (() => undefined));
      const log = this.options.log ?? (() => undefined);
      this.checkpointer = new Checkpointer(file, (message) => log(`Checkpoint of the embedded store's log failed (it runs again): ${message}`), {
        logLimitBytes,
      });
      this.fieldIds.readNew();
      this.writer = new WriterClient({ file, cacheMiB, syncLog: (this.options.synchronous ?? 'FULL') === 'FULL', logLimitBytes }, (fields) =>
        fields.forEach(([key, fid]) => this.fieldIds.set(key, fid))
      );
      this.reader = new ReaderClient({ file, cacheMiB });
      // Not awaited: readiness does not wait for them. Writes queue behind the build, reads go on.
      this.writer
        .send({ kind: 'buildLateIndexes' })
        .catch((err: Error) => log(`Building the embedded store's indexes failed (the next start tries again): ${err.message}`));
      this.statisticsSeen = statisticsFingerprint(this.db);
      this.statisticsCheck = setInterval(() => {
        try {
          this.followStatistics(file, cacheMiB);
        } catch (err) {
          log(`Reopening the embedded store's connection for new planner statistics failed (it runs again): ${(err as Error).message}`);
        }
      }, STATISTICS_CHECK_MS).unref();
    } catch (err) {
      this.db?.close();
      this.db = undefined;
      this.unlock();
      throw err;
    }
  }

  /**
   * Opens the serving connection again when the writer thread has refreshed
   * the planner's statistics (planner-statistics.ts): this connection loaded
   * the ones it was opened with. Every call to the store prepares and runs
   * its statements at once, so none is in use across the swap. The reader
   * thread opens its own again, after the searches it was already sent.
   */
  private followStatistics(file: string, cacheMiB: number): void {
    if (!this.db) return;
    const fingerprint = statisticsFingerprint(this.db);
    if (fingerprint === this.statisticsSeen) return;
    const previous = this.db;
    this.db = openConnection(file, cacheMiB);
    this.statisticsSeen = fingerprint;
    this.statements.clear();
    previous.close();
    this.reader?.reopen();
  }

  private requireDb(): DatabaseSync {
    if (!this.db) throw new StoreUnavailableError('The embedded store is closed');
    return this.db;
  }

  private requireReader(): ReaderClient {
    if (!this.reader) throw new StoreUnavailableError('The embedded store is closed');
    return this.reader;
  }

  /** The serving connection's prepared statement for an SQL text. */
  statement(sql: string): StatementSync {
    return this.statements(sql);
  }

  async readCurrent(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    if (resourceType === AUDIT_TYPE) return this.auditLog.read(id);
    const key = rowKey(resourceType, id);
    const cached = this.currentRows.get(key);
    if (cached) return toVersion(cached);
    const row = this.statement(`SELECT ${CURRENT_COLUMNS} FROM ${CURRENT_JOIN} WHERE c.type = ? AND c.id = ?`).get(resourceType, id) as VersionRow | undefined;
    if (!row) return undefined;
    this.currentRows.set(key, row);
    return toVersion(row);
  }

  async readVersion(resourceType: string, id: string, versionId: string): Promise<StoredVersion | undefined> {
    if (!/^[1-9][0-9]{0,15}$/.test(versionId)) return undefined;
    if (resourceType === AUDIT_TYPE) return versionId === '1' ? this.auditLog.read(id) : undefined;
    const row = this.statement('SELECT type, id, vid, last_updated, deleted, resource FROM resource_version WHERE type = ? AND id = ? AND vid = ?').get(
      resourceType,
      id,
      Number(versionId)
    ) as VersionRow | undefined;
    return row && toVersion(row);
  }

  /** The history of versioned resources; AuditEvents are not versioned, and only their own type's history lists them. */
  async readHistory(query: HistoryQuery): Promise<StoredVersion[]> {
    if (query.resourceType === AUDIT_TYPE) return this.auditLog.history(query);
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (query.resourceType) {
      where.push('type = ?');
      params.push(query.resourceType);
    }
    if (query.id) {
      where.push('id = ?');
      params.push(query.id);
    }
    if (query.since) {
      where.push('last_updated > ?');
      params.push(query.since);
    }
    if (query.until) {
      where.push('last_updated <= ?');
      params.push(query.until);
    }
    const sql =
      'SELECT type, id, vid, last_updated, deleted, resource FROM resource_version' +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY last_updated DESC, vid DESC${limitSql(query.limit)} OFFSET ?`;
    const rows = this.statement(sql).all(...params, query.offset) as unknown as VersionRow[];
    return rows.map(toVersion);
  }

  /** The interned number of a type's index field, if any version ever had it. */
  fieldIdOf(resourceType: string, field: string): number | undefined {
    return this.fieldIds.of(resourceType, field);
  }

  /**
   * A search by exact values (a reference, an identifier, a code) reads a few
   * rows through the value index: its SQL runs here, where the hop to the
   * reader thread would cost more than the SQL (CarePlans by NHS number and
   * their Tasks, four such searches a request: 4,430 requests a second here,
   * 3,387 through the reader). A broad search (a name prefix: a third of this
   * thread's time) runs on the reader thread, beside this one.
   */
  async search(query: StoreQuery): Promise<StoredVersion[]> {
    if (query.limit === 0) return [];
    if (query.resourceType === AUDIT_TYPE) return this.auditLog.search(query);
    const run = isExactLookup(query.filter) ? async () => this.searchSql.pageRows(query) : () => this.requireReader().page(query);
    const rows = await this.searchAnswers.rows(`page ${JSON.stringify(query)}`, run);
    return rows.map(toVersion);
  }

  async count(resourceType: string, filter: Filter): Promise<number> {
    if (resourceType === AUDIT_TYPE) return this.auditLog.count(filter);
    const run = isExactLookup(filter) ? async () => this.searchSql.countRows(resourceType, filter) : () => this.requireReader().count(resourceType, filter);
    return this.searchAnswers.count(`count ${resourceType} ${JSON.stringify(filter)}`, run);
  }

  /** Broad searches are counted on the reader thread (see search); the audit log's, here. */
  countsApart(resourceType: string, filter: Filter): boolean {
    return resourceType !== AUDIT_TYPE && !isExactLookup(filter);
  }

  /** The SQL the reader thread ran since the last call; the first call starts recording (which statements a search ran, for tests). */
  traceSearchSql(): Promise<string[]> {
    return this.requireReader().trace();
  }

  async indexesHolding(resourceTypes: string[], field: string, value: string, codes: string[]): Promise<StoredVersion[]> {
    // The fields' numbers are known here, once any new ones are read (fieldIds): the value index is probed once for each
    // type that has the field.
    // Letting SQLite look each of the 63 patient record types up in search_field took as long as the rest of the query.
    const fids = this.fieldIds.ofTypes(resourceTypes, field);
    if (fids.length === 0) return [];
    // SQLite picks the named fields out of the index JSON, parsing it once for all of them (json_extract of several
    // paths answers a JSON array of their values): parsing all of it here cost a patient's re-grant more than its SQL.
    const picks =
      codes.length === 0
        ? ''
        : codes.length === 1
          ? ', json_array(c.idx -> ?) AS picked'
          : `, json_extract(c.idx, ${codes.map(() => '?').join(', ')}) AS picked`;
    const sql =
      `SELECT c.type, c.id, c.vid, c.last_updated${picks} FROM search_value s ` +
      `CROSS JOIN current_resource c ON c.rid = s.rid AND c.deleted = 0 WHERE s.fid IN (${fids.map(() => '?').join(', ')}) AND s.value = ?`;
    const rows = this.statement(sql).all(...codes.map(keyPath), ...fids, value) as unknown as Array<Record<string, string | number | null>>;
    return rows.map((row) => {
      const picked = codes.length > 0 ? (JSON.parse(row.picked as string) as Array<IndexFields[string] | null>) : [];
      const idx: IndexFields = {};
      codes.forEach((code, i) => {
        if (picked[i] !== null && picked[i] !== undefined) idx[code] = picked[i] as IndexFields[string];
      });
      return {
        resourceType: row.type,
        id: row.id,
        versionId: String(row.vid),
        lastUpdated: row.last_updated,
        deleted: false,
        idx,
        sort: {},
      } as StoredVersion;
    });
  }

  private change(op: WriterOp): Promise<unknown> {
    this.requireDb();
    if (!this.writer) throw new StoreUnavailableError('The embedded store is closed');
    return this.writer.send(op);
  }

  /** One process, one writer thread taking commits first in, first out: commits are visible in call order, so no deadline applies. */
  async commit(writes: VersionWrite[], options: CommitOptions = {}): Promise<void> {
    const access = options.access ?? [];
    if (writes.length === 0 && access.length === 0) {
      this.requireDb();
      return;
    }
    const keys = [...writes.map((w) => rowKey(w.version.resourceType, w.version.id)), ...access.map((a) => rowKey(a.resourceType, a.id))];
    // Reads' AuditEvents, appended alone, change no resource: searches' answers stay.
    const auditOnly = access.length === 0 && writes.every((w) => w.version.resourceType === AUDIT_TYPE);
    await this.changing(keys, { kind: 'commit', writes: writes.map(encodeWrite), access }, !auditOnly);
  }

  /**
   * A change of current versions: their cached rows go once it is answered,
   * whether it committed or not (current-row-cache.ts), and with them every
   * search's answer when resources changed (search-answer-cache.ts).
   */
  private async changing(keys: string[], op: WriterOp, resourcesChanged = true): Promise<void> {
    try {
      await this.change(op);
    } finally {
      if (resourcesChanged) this.searchAnswers.clear();
      for (const key of keys) this.currentRows.drop(key);
    }
  }

  async updateIndexes(updates: IndexUpdate[]): Promise<void> {
    if (updates.length === 0) {
      this.requireDb();
      return;
    }
    await this.changing(
      updates.map((u) => rowKey(u.resourceType, u.id)),
      { kind: 'updateIndexes', updates: updates.map(encodeIndexUpdate) }
    );
  }

  async removeAuditEventsBefore(instant: string, limit: number): Promise<number> {
    return (await this.change({ kind: 'removeAuditEventsBefore', instant, limit })) as number;
  }

  async writeExportChunk(jobId: string, file: string, seq: number, text: string): Promise<void> {
    await this.change({ kind: 'writeExportChunk', job: jobId, file, seq, text });
  }

  async readExportChunk(jobId: string, file: string, seq: number): Promise<string | undefined> {
    const row = this.statement('SELECT text FROM export_chunk WHERE job = ? AND file = ? AND seq = ?').get(jobId, file, Math.trunc(seq)) as
      { text: string } | undefined;
    return row?.text;
  }

  async deleteExportFiles(jobId: string): Promise<void> {
    await this.change({ kind: 'deleteExportFiles', job: jobId });
  }

  async readJob(kind: string, id: string): Promise<JobRecord | undefined> {
    return readJobRecord((sql) => this.statement(sql), kind, id);
  }

  async listJobs(kind: string): Promise<JobRecord[]> {
    return listJobRecords((sql) => this.statement(sql), kind);
  }

  async writeJob(kind: string, id: string, data: string, expected: number): Promise<boolean> {
    return (await this.change({ kind: 'writeJob', jobKind: kind, id, data, expected })) as boolean;
  }

  async deleteJob(kind: string, id: string, expected?: number): Promise<boolean> {
    return (await this.change({ kind: 'deleteJob', jobKind: kind, id, expected })) as boolean;
  }

  async ping(): Promise<void> {
    this.requireDb();
    // Not ready once writes are refused for good: an orchestrator's restart is what recovers (log-sync.ts).
    if (this.writer?.failure) throw new StoreUnavailableError(this.writer.failure);
  }

  async close(): Promise<void> {
    if (!this.db) return;
    clearInterval(this.statisticsCheck);
    const db = this.db;
    // Changes already sent finish (committed and synced) before the writer's connection goes.
    await this.writer?.close();
    this.writer = undefined;
    await this.reader?.close();
    this.reader = undefined;
    this.db = undefined;
    await this.checkpointer?.close();
    this.checkpointer = undefined;
    this.statements.clear();
    this.currentRows.clear();
    this.searchAnswers.clear();
    try {
      db.exec('PRAGMA optimize');
    } catch {
      // Only planner statistics: never a reason to fail a shutdown.
    }
    db.close();
    this.unlock?.();
  }
}
