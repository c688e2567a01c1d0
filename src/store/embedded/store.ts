// The embedded store: the zero-setup default, on SQLite (node:sqlite, shipped
// with Node 24). The data lives in one database file in DATA_DIR (schema.ts);
// memory holds only SQLite's page cache and a map of interned field names,
// so memory and restart time do not grow with the history.
//
// Writes go through a group commit (group-commit.ts): concurrent requests
// share one transaction and one sync. The optimistic lock is an UPDATE
// conditioned on the expected versionId, checked by its change count.
// A multi-version commit runs in one savepoint: all of it or none.
import fs from 'node:fs';
import fsp, { type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { Filter } from '../search/filter';
import {
  StoreUnavailableError,
  VersionConflictError,
  type AccessChange,
  type HistoryQuery,
  type IndexFields,
  type IndexUpdate,
  type StoragePort,
  type StoredVersion,
  type StoreQuery,
  type VersionWrite,
} from '../port';
import { lockDataDirectory } from './lock';
import { DATABASE_FILE, openDatabase, type DatabaseOptions } from './schema';
import { GroupCommit } from './group-commit';
import { indexRows, type IndexRow } from './index-rows';
import { filterToSql, hasDrivingCondition, orderToSql, type SqlParam } from './sql-filter';
import { importLegacyLog } from './legacy-import';
import { AUDIT_TYPE, AuditLog } from './audit-log';
import { Checkpointer } from './checkpointer';
import { applyAccessChange, grantsOf, withGrants } from '../access-index';

export interface EmbeddedStoreOptions extends Partial<DatabaseOptions> {
  /** Told of progress while an old data directory is imported. */
  log?: (message: string) => void;
}

interface CurrentRow {
  rid: number;
  vid: number;
  deleted: number;
  idx: string;
}

interface VersionRow {
  type: string;
  id: string;
  vid: number;
  last_updated: string;
  deleted: number;
  resource: string | null;
  idx?: string;
  sort?: string;
}

/** Compiled statements kept per distinct search SQL; searches come in few shapes. */
const STATEMENT_CACHE = 500;

function toVersion(row: VersionRow): StoredVersion {
  return {
    resourceType: row.type,
    id: row.id,
    versionId: String(row.vid),
    lastUpdated: row.last_updated,
    deleted: row.deleted === 1,
    ...(row.resource ? { resource: JSON.parse(row.resource) } : {}),
    // History rows carry no index fields: only current versions are searched.
    idx: row.idx ? (JSON.parse(row.idx) as IndexFields) : {},
    sort: row.sort ? (JSON.parse(row.sort) as Record<string, string | number>) : {},
  };
}

const CURRENT_COLUMNS = 'c.type, c.id, c.vid, c.last_updated, c.deleted, c.idx, c.sort, v.resource';
const CURRENT_JOIN = 'current_resource c JOIN resource_version v ON v.type = c.type AND v.id = c.id AND v.vid = c.vid';

export class EmbeddedStore implements StoragePort {
  readonly kind = 'embedded';
  readonly supportsTransactions = true;
  private db: DatabaseSync | undefined;
  private unlock: (() => void) | undefined;
  private readonly statements = new Map<string, StatementSync>();
  /** "type\u0000field" -> fid, for every index field in the database. */
  private readonly fieldIds = new Map<string, number>();
  readonly groupCommit = new GroupCommit(
    () => this.requireDb(),
    () => this.logHandle()
  );
  private checkpointer: Checkpointer | undefined;
  /** The write-ahead log file, opened to sync it (FULL). */
  private log: Promise<FileHandle> | undefined;
  /** AuditEvents: an append-only log beside the versioned resources. */
  private readonly auditLog = new AuditLog(this);

  constructor(
    private readonly dataDir: string,
    private readonly options: EmbeddedStoreOptions = {}
  ) {}

  async start(): Promise<void> {
    fs.mkdirSync(this.dataDir, { recursive: true });
    this.unlock = lockDataDirectory(this.dataDir);
    try {
      this.db = openDatabase(path.join(this.dataDir, DATABASE_FILE), {
        synchronous: this.options.synchronous ?? 'FULL',
        cacheMiB: this.options.cacheMiB ?? 64,
      });
      for (const row of this.db.prepare('SELECT fid, type, field FROM search_field').all() as unknown as Array<{ fid: number; type: string; field: string }>) {
        this.fieldIds.set(`${row.type}\u0000${row.field}`, row.fid);
      }
      await importLegacyLog(this.dataDir, this, this.options.log ?? (() => undefined));
      const log = this.options.log ?? (() => undefined);
      this.checkpointer = new Checkpointer(path.join(this.dataDir, DATABASE_FILE), (message) =>
        log(`Checkpoint of the embedded store's log failed (it runs again): ${message}`)
      );
      this.db.exec('PRAGMA wal_autocheckpoint = 0');
    } catch (err) {
      this.db?.close();
      this.db = undefined;
      this.unlock();
      throw err;
    }
  }

  /** The write-ahead log to sync before acknowledging, when power-loss safety is on (the default). */
  private logHandle(): Promise<FileHandle | undefined> {
    if ((this.options.synchronous ?? 'FULL') !== 'FULL') return Promise.resolve(undefined);
    // The log exists once the first transaction committed, which is before the first sync.
    this.log ??= fsp.open(path.join(this.dataDir, `${DATABASE_FILE}-wal`), 'r+').catch((err: unknown) => {
      this.log = undefined;
      throw err;
    });
    return this.log;
  }

  /** The database connection, for this adapter's own parts (the audit log, the import). */
  requireDb(): DatabaseSync {
    if (!this.db) throw new StoreUnavailableError('The embedded store is closed');
    return this.db;
  }

  statement(sql: string): StatementSync {
    let statement = this.statements.get(sql);
    if (!statement) {
      if (this.statements.size >= STATEMENT_CACHE) this.statements.delete(this.statements.keys().next().value as string);
      statement = this.requireDb().prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  async readCurrent(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    if (resourceType === AUDIT_TYPE) return this.auditLog.read(id);
    const row = this.statement(`SELECT ${CURRENT_COLUMNS} FROM ${CURRENT_JOIN} WHERE c.type = ? AND c.id = ?`).get(resourceType, id) as VersionRow | undefined;
    return row && toVersion(row);
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
    const sql =
      'SELECT type, id, vid, last_updated, deleted, resource FROM resource_version' +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY last_updated DESC, vid DESC LIMIT ? OFFSET ?';
    const rows = this.statement(sql).all(...params, query.limit, query.offset) as unknown as VersionRow[];
    return rows.map(toVersion);
  }

  /** The interned number of a type's index field, if any version ever had it. */
  fieldIdOf(resourceType: string, field: string): number | undefined {
    return this.fieldIds.get(`${resourceType}\u0000${field}`);
  }

  /** Interns a field name; runs inside a write, so the number is only kept if that write commits. */
  private internField(resourceType: string, field: string): number {
    const key = `${resourceType}\u0000${field}`;
    const known = this.fieldIds.get(key);
    if (known !== undefined) return known;
    this.statement('INSERT OR IGNORE INTO search_field (type, field) VALUES (?, ?)').run(resourceType, field);
    const row = this.statement('SELECT fid FROM search_field WHERE type = ? AND field = ?').get(resourceType, field) as { fid: number };
    return row.fid;
  }

  private where(resourceType: string, filter: Filter): { sql: string; params: SqlParam[] } {
    const condition = filterToSql(filter, { fieldId: (field) => this.fieldIdOf(resourceType, field), valueTable: 'search_value' });
    // The unary + keeps SQLite from walking the whole type by its index when the filter names its rows (hasDrivingCondition).
    const type = hasDrivingCondition(filter) ? '+c.type' : 'c.type';
    return { sql: `${type} = ? AND c.deleted = 0 AND ${condition.sql}`, params: [resourceType, ...condition.params] };
  }

  async search(query: StoreQuery): Promise<StoredVersion[]> {
    if (query.limit === 0) return [];
    if (query.resourceType === AUDIT_TYPE) return this.auditLog.search(query);
    const where = this.where(query.resourceType, query.filter);
    const order = orderToSql(query.sort);
    const sql = `SELECT ${CURRENT_COLUMNS} FROM ${CURRENT_JOIN} WHERE ${where.sql}${order.sql} LIMIT ? OFFSET ?`;
    const rows = this.statement(sql).all(...where.params, ...order.params, query.limit, query.offset) as unknown as VersionRow[];
    return rows.map(toVersion);
  }

  async count(resourceType: string, filter: Filter): Promise<number> {
    if (resourceType === AUDIT_TYPE) return this.auditLog.count(filter);
    const where = this.where(resourceType, filter);
    const row = this.statement(`SELECT count(*) AS n FROM current_resource c WHERE ${where.sql}`).get(...where.params) as { n: number };
    return row.n;
  }

  async commit(writes: VersionWrite[], access: AccessChange[] = []): Promise<void> {
    this.requireDb();
    if (writes.length === 0 && access.length === 0) return;
    // Field numbers interned by a write that is then undone are forgotten with it.
    const interned: string[] = [];
    await this.groupCommit
      .run(() => {
        try {
          for (const write of writes) this.writeVersion(write, interned);
          for (const change of access) this.applyAccessChange(change, interned);
        } catch (err) {
          interned.forEach((key) => this.fieldIds.delete(key));
          throw err;
        }
      })
      .catch((err: unknown) => {
        interned.forEach((key) => this.fieldIds.delete(key));
        throw err;
      });
  }

  /** One version, inside the group transaction: history row, current row (the optimistic lock), index rows. */
  private writeVersion({ version, expectedVersionId }: VersionWrite, interned: string[], withHistory = true): void {
    const { resourceType, id } = version;
    if (resourceType === AUDIT_TYPE) {
      // Append-only: an AuditEvent is written once and never replaced.
      if (expectedVersionId !== undefined || version.deleted) throw new VersionConflictError(resourceType, id);
      this.auditLog.append(version, interned);
      return;
    }
    const vid = Number(version.versionId);
    const current = this.statement('SELECT rid, vid, deleted, idx FROM current_resource WHERE type = ? AND id = ?').get(resourceType, id) as
      CurrentRow | undefined;
    if ((current ? String(current.vid) : undefined) !== expectedVersionId) throw new VersionConflictError(resourceType, id);
    const idx = version.deleted ? {} : version.idx;
    const idxJson = JSON.stringify(idx);
    const sortJson = JSON.stringify(version.deleted ? {} : version.sort);
    if (withHistory) {
      this.insertHistory(version, 'INSERT');
    }
    let rid: number;
    if (current) {
      const changed = this.statement('UPDATE current_resource SET vid = ?, last_updated = ?, deleted = ?, idx = ?, sort = ? WHERE rid = ? AND vid = ?').run(
        vid,
        version.lastUpdated,
        version.deleted ? 1 : 0,
        idxJson,
        sortJson,
        current.rid,
        current.vid
      );
      if (changed.changes !== 1) throw new VersionConflictError(resourceType, id);
      rid = current.rid;
    } else {
      const inserted = this.statement('INSERT INTO current_resource (type, id, vid, last_updated, deleted, idx, sort) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        resourceType,
        id,
        vid,
        version.lastUpdated,
        version.deleted ? 1 : 0,
        idxJson,
        sortJson
      );
      rid = Number(inserted.lastInsertRowid);
    }
    const before = current && current.deleted === 0 ? indexRows(JSON.parse(current.idx) as IndexFields) : new Map<string, IndexRow>();
    this.replaceIndexRows('search_value', resourceType, rid, before, indexRows(idx), interned);
  }

  /** New grants for the current version, read and written inside the group transaction, so concurrent changes compose. */
  private applyAccessChange(change: AccessChange, interned: string[]): void {
    const current = this.statement('SELECT rid, vid, deleted, idx FROM current_resource WHERE type = ? AND id = ?').get(change.resourceType, change.id) as
      CurrentRow | undefined;
    if (!current || current.deleted === 1) return;
    const idx = JSON.parse(current.idx) as IndexFields;
    const before = grantsOf({ idx });
    const after = applyAccessChange(before, change);
    if (after.length === before.length && after.every((g, i) => g === before[i])) return;
    const next = withGrants(idx, after);
    this.statement('UPDATE current_resource SET idx = ? WHERE rid = ?').run(JSON.stringify(next), current.rid);
    this.replaceIndexRows('search_value', change.resourceType, current.rid, indexRows(idx), indexRows(next), interned);
  }

  /** Moves a row's index values from one set of index fields to another, touching only what changed. */
  replaceIndexRows(
    valueTable: 'search_value' | 'audit_value',
    resourceType: string,
    rid: number,
    before: Map<string, IndexRow>,
    after: Map<string, IndexRow>,
    interned: string[]
  ): void {
    const remove = this.statement(`DELETE FROM ${valueTable} WHERE fid = ? AND value = ? AND rid = ?`);
    // New rows go in with one statement: a JSON array of [fid, value] pairs, read back with json_each.
    const addAll = this.statement(
      `INSERT OR IGNORE INTO ${valueTable} (fid, value, rid) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), ? FROM json_each(?)`
    );
    const added: Array<[number, string | number]> = [];
    for (const [key, row] of before) {
      if (after.has(key)) continue;
      const fid = this.fieldIdOf(resourceType, row.field);
      if (fid !== undefined) remove.run(fid, row.value, rid);
    }
    for (const [key, row] of after) {
      if (before.has(key)) continue;
      let fid = this.fieldIdOf(resourceType, row.field);
      if (fid === undefined) {
        fid = this.internField(resourceType, row.field);
        const fieldKey = `${resourceType}\u0000${row.field}`;
        this.fieldIds.set(fieldKey, fid);
        interned.push(fieldKey);
      }
      added.push([fid, row.value]);
    }
    if (added.length > 0) addAll.run(rid, JSON.stringify(added));
  }

  /** The history row of a version; `INSERT OR IGNORE` where a row already there is the same version. */
  private insertHistory(version: StoredVersion, insert: 'INSERT' | 'INSERT OR IGNORE'): void {
    this.statement(`${insert} INTO resource_version (type, id, vid, last_updated, deleted, resource) VALUES (?, ?, ?, ?, ?, ?)`).run(
      version.resourceType,
      version.id,
      Number(version.versionId),
      version.lastUpdated,
      version.deleted ? 1 : 0,
      version.resource ? JSON.stringify(version.resource) : null
    );
  }

  /** Replays one version of an earlier release's log (legacy-import.ts): idempotent, and current only if newest. */
  replayVersion(version: StoredVersion): void {
    const { resourceType, id } = version;
    if (resourceType === AUDIT_TYPE) {
      if (!version.deleted && version.resource) this.auditLog.append(version, []);
      return;
    }
    const vid = Number(version.versionId);
    // A version already replayed stays as it is: the replay is idempotent.
    this.insertHistory(version, 'INSERT OR IGNORE');
    const current = this.statement('SELECT rid, vid, deleted, idx FROM current_resource WHERE type = ? AND id = ?').get(resourceType, id) as
      CurrentRow | undefined;
    if (current && current.vid >= vid) return;
    this.writeVersion({ version: { ...version, resource: undefined }, expectedVersionId: current ? String(current.vid) : undefined }, [], false);
  }

  /** Replays one index update of an earlier release's log. */
  replayIndexUpdate(update: IndexUpdate): void {
    this.applyIndexUpdate(update, []);
  }

  private applyIndexUpdate(update: IndexUpdate, interned: string[]): void {
    if (update.resourceType === AUDIT_TYPE) return this.auditLog.updateIndex(update, interned);
    const current = this.statement('SELECT rid, vid, deleted, idx FROM current_resource WHERE type = ? AND id = ?').get(update.resourceType, update.id) as
      CurrentRow | undefined;
    // A version written meanwhile already has fresh index fields.
    if (!current || String(current.vid) !== update.versionId || current.deleted === 1) return;
    this.statement('UPDATE current_resource SET idx = ?, sort = ? WHERE rid = ?').run(JSON.stringify(update.idx), JSON.stringify(update.sort), current.rid);
    this.replaceIndexRows('search_value', update.resourceType, current.rid, indexRows(JSON.parse(current.idx) as IndexFields), indexRows(update.idx), interned);
  }

  async updateIndexes(updates: IndexUpdate[]): Promise<void> {
    this.requireDb();
    if (updates.length === 0) return;
    const interned: string[] = [];
    await this.groupCommit
      .run(() => updates.forEach((update) => this.applyIndexUpdate(update, interned)))
      .catch((err: unknown) => {
        interned.forEach((key) => this.fieldIds.delete(key));
        throw err;
      });
  }

  async removeAuditEventsBefore(instant: string, limit: number): Promise<number> {
    this.requireDb();
    return this.groupCommit.run(() => this.auditLog.removeBefore(instant, limit));
  }

  async writeExportChunk(jobId: string, file: string, seq: number, text: string): Promise<void> {
    this.requireDb();
    await this.groupCommit.run(() =>
      this.statement('INSERT OR REPLACE INTO export_chunk (job, file, seq, text) VALUES (?, ?, ?, ?)').run(jobId, file, Math.trunc(seq), text)
    );
  }

  async readExportChunk(jobId: string, file: string, seq: number): Promise<string | undefined> {
    const row = this.statement('SELECT text FROM export_chunk WHERE job = ? AND file = ? AND seq = ?').get(jobId, file, Math.trunc(seq)) as
      { text: string } | undefined;
    return row?.text;
  }

  async deleteExportFiles(jobId: string): Promise<void> {
    this.requireDb();
    await this.groupCommit.run(() => this.statement('DELETE FROM export_chunk WHERE job = ?').run(jobId));
  }

  async ping(): Promise<void> {
    this.requireDb();
  }

  async close(): Promise<void> {
    if (!this.db) return;
    const db = this.db;
    // Let writes already queued finish (committed and synced) before the connection goes.
    await this.groupCommit.idle();
    this.db = undefined;
    await this.checkpointer?.close();
    this.checkpointer = undefined;
    await (await this.log?.catch(() => undefined))?.close();
    this.log = undefined;
    this.statements.clear();
    try {
      db.exec('PRAGMA optimize');
    } catch {
      // Only planner statistics: never a reason to fail a shutdown.
    }
    db.close();
    this.unlock?.();
  }
}
