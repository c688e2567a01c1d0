// Every change the embedded store makes to its database, on one connection:
// history rows, current rows (the optimistic lock), index rows, the audit
// log's appends and sweep, export chunks, job records. It runs on the writer thread
// (writer-thread.ts), and on the serving thread only at start, for the import
// of an earlier release's data directory, before that thread exists.
//
// Versions arrive encoded (encodeWrite): their JSON is made on the serving
// thread, where the objects are, so that only strings cross to this thread.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { VersionConflictError, type AccessChange, type IndexFields, type IndexUpdate, type StoredVersion, type VersionWrite } from '../port';
import { ACCESS_CODE, applyAccessChange } from '../access-index';
import { fieldKey, indexRows, type IndexRow } from './index-rows';
import { keyPath, limitSql } from './sql-filter';
import { AUDIT_TYPE, isAuditRowField } from './audit-log';
import { packAuditEvent } from './audit-compression';
import { deleteJobRecord, writeJobRecord } from './job-records';
import { LATE_INDEXES } from './schema';
import { preparedOnce } from './prepared';

/** A version as the writer stores it: JSON text, made before it crosses to the writer thread. */
export interface EncodedVersion {
  type: string;
  id: string;
  vid: number;
  lastUpdated: string;
  deleted: boolean;
  /** The resource's JSON, or null for a deletion. */
  resource: string | null;
  idx: string;
  sort: string;
}

export interface EncodedWrite {
  version: EncodedVersion;
  expectedVersionId?: string;
}

export interface EncodedIndexUpdate {
  type: string;
  id: string;
  versionId: string;
  idx: string;
  sort: string;
}

export function encodeWrite({ version, expectedVersionId }: VersionWrite): EncodedWrite {
  return {
    version: {
      type: version.resourceType,
      id: version.id,
      vid: Number(version.versionId),
      lastUpdated: version.lastUpdated,
      deleted: version.deleted,
      resource: version.resource ? JSON.stringify(version.resource) : null,
      // A deleted version has no index fields: it is found by no search.
      idx: version.deleted ? '{}' : JSON.stringify(version.idx),
      sort: version.deleted ? '{}' : JSON.stringify(version.sort),
    },
    expectedVersionId,
  };
}

export function encodeIndexUpdate(update: IndexUpdate): EncodedIndexUpdate {
  return { type: update.resourceType, id: update.id, versionId: update.versionId, idx: JSON.stringify(update.idx), sort: JSON.stringify(update.sort) };
}

interface CurrentRow {
  rid: number;
  vid: number;
  deleted: number;
  idx: string;
}

type ValueTable = 'search_value' | 'audit_value';

/** Index rows inserted by one statement at most (insertValues). */
const ROWS_PER_INSERT = 32;

/** Each value table's INSERT of n rows, at [n]: written once, so a write does not build SQL text to find its statement. */
const INSERT_SQL = Object.fromEntries(
  (['search_value', 'audit_value'] as const).map((table) => [
    table,
    Array.from(
      { length: ROWS_PER_INSERT + 1 },
      (_, rows) => `INSERT OR IGNORE INTO ${table} (fid, value, rid) VALUES ${Array.from({ length: rows }, () => '(?, ?, ?)').join(', ')}`
    ),
  ])
) as Record<ValueTable, string[]>;

const accessRows = (grants: string[]): Map<string, IndexRow> => indexRows({ [ACCESS_CODE]: grants });
const ACCESS_PATH = keyPath(ACCESS_CODE);
const rowsOf = (idxJson: string): Map<string, IndexRow> => indexRows(JSON.parse(idxJson) as IndexFields);

export class SqliteWriter {
  /** The connection's statements, prepared once; the group commit's transaction statements are among them (writer-thread.ts). */
  readonly statement: (sql: string) => StatementSync;
  /** "type\u0000field" -> fid, for every index field in the database. */
  private readonly fieldIds = new Map<string, number>();

  constructor(private readonly db: DatabaseSync) {
    this.statement = preparedOnce(db);
    for (const row of db.prepare('SELECT fid, type, field FROM search_field').all() as unknown as Array<{ fid: number; type: string; field: string }>) {
      this.fieldIds.set(fieldKey(row.type, row.field), row.fid);
    }
  }

  /** Forgets field numbers interned by writes that were then undone (their rows went with them). */
  forget(interned: Array<[string, number]>): void {
    for (const [key] of interned) this.fieldIds.delete(key);
  }

  /** One version: history row, current row (the optimistic lock), index rows. */
  writeVersion({ version, expectedVersionId }: EncodedWrite, interned: Array<[string, number]>, withHistory = true): void {
    const { type, id } = version;
    if (type === AUDIT_TYPE) {
      // Append-only: an AuditEvent is written once and never replaced.
      if (expectedVersionId !== undefined || version.deleted) throw new VersionConflictError(type, id);
      this.appendAuditEvent(version, interned);
      return;
    }
    const current = this.currentRow(type, id);
    if ((current ? String(current.vid) : undefined) !== expectedVersionId) throw new VersionConflictError(type, id);
    if (withHistory) this.insertHistory(version, 'INSERT');
    let rid: number;
    if (current) {
      const changed = this.statement('UPDATE current_resource SET vid = ?, last_updated = ?, deleted = ?, idx = ?, sort = ? WHERE rid = ? AND vid = ?').run(
        version.vid,
        version.lastUpdated,
        version.deleted ? 1 : 0,
        version.idx,
        version.sort,
        current.rid,
        current.vid
      );
      if (changed.changes !== 1) throw new VersionConflictError(type, id);
      rid = current.rid;
    } else {
      const inserted = this.statement('INSERT INTO current_resource (type, id, vid, last_updated, deleted, idx, sort) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        type,
        id,
        version.vid,
        version.lastUpdated,
        version.deleted ? 1 : 0,
        version.idx,
        version.sort
      );
      rid = Number(inserted.lastInsertRowid);
    }
    const before = current && current.deleted === 0 ? rowsOf(current.idx) : new Map<string, IndexRow>();
    this.replaceIndexRows('search_value', type, rid, before, rowsOf(version.idx), interned);
  }

  private currentRow(type: string, id: string): CurrentRow | undefined {
    return this.statement('SELECT rid, vid, deleted, idx FROM current_resource WHERE type = ? AND id = ?').get(type, id) as CurrentRow | undefined;
  }

  /** The history row of a version; `INSERT OR IGNORE` where a row already there is the same version. */
  private insertHistory(version: EncodedVersion, insert: 'INSERT' | 'INSERT OR IGNORE'): void {
    this.statement(`${insert} INTO resource_version (type, id, vid, last_updated, deleted, resource) VALUES (?, ?, ?, ?, ?, ?)`).run(
      version.type,
      version.id,
      version.vid,
      version.lastUpdated,
      version.deleted ? 1 : 0,
      version.resource
    );
  }

  /** Appends one AuditEvent. An id already there is left as it is (a replay). */
  private appendAuditEvent(version: EncodedVersion, interned: Array<[string, number]>): void {
    const inserted = this.statement('INSERT OR IGNORE INTO audit_event (id, last_updated, resource, idx, sort) VALUES (?, ?, ?, ?, ?)').run(
      version.id,
      version.lastUpdated,
      // Deflated here, on the writer thread, not on the thread that serves requests.
      packAuditEvent(version.resource ?? '{}'),
      version.idx,
      version.sort
    );
    if (inserted.changes === 0) return;
    // The time fields are read from the row itself (audit-log.ts).
    const rows = rowsOf(version.idx);
    for (const [key, row] of rows) if (isAuditRowField(row.field)) rows.delete(key);
    this.replaceIndexRows('audit_value', AUDIT_TYPE, Number(inserted.lastInsertRowid), new Map(), rows, interned);
  }

  /** New index fields for a current version; a version written meanwhile already has fresh ones. */
  applyIndexUpdate(update: EncodedIndexUpdate, interned: Array<[string, number]>): void {
    if (update.type === AUDIT_TYPE) {
      const row = this.statement('SELECT rid, idx FROM audit_event WHERE id = ?').get(update.id) as { rid: number; idx: string } | undefined;
      if (!row || update.versionId !== '1') return;
      this.statement('UPDATE audit_event SET idx = ?, sort = ? WHERE rid = ?').run(update.idx, update.sort, row.rid);
      this.replaceIndexRows('audit_value', AUDIT_TYPE, row.rid, rowsOf(row.idx), rowsOf(update.idx), interned);
      return;
    }
    const current = this.currentRow(update.type, update.id);
    if (!current || String(current.vid) !== update.versionId || current.deleted === 1) return;
    this.statement('UPDATE current_resource SET idx = ?, sort = ? WHERE rid = ?').run(update.idx, update.sort, current.rid);
    this.replaceIndexRows('search_value', update.type, current.rid, rowsOf(current.idx), rowsOf(update.idx), interned);
  }

  /**
   * New grants for the current version, read and written inside the group
   * transaction, so concurrent changes compose. SQLite reads and sets the one
   * field in the index JSON: a patient's re-grant changes a dozen records at a
   * time, and parsing and writing out each one's whole index fields here cost
   * more than the rows themselves.
   */
  applyAccessChange(change: AccessChange, interned: Array<[string, number]>): void {
    const current = this.statement('SELECT rid, idx -> ? AS grants FROM current_resource WHERE type = ? AND id = ? AND deleted = 0').get(
      ACCESS_PATH,
      change.resourceType,
      change.id
    ) as { rid: number; grants: string | null } | undefined;
    if (!current) return;
    const before = current.grants === null ? [] : (JSON.parse(current.grants) as string[]);
    const after = applyAccessChange(before, change);
    if (after.length === before.length && after.every((g, i) => g === before[i])) return;
    // Sorted, as withGrants stores them; no grants, no field.
    if (after.length > 0)
      this.statement('UPDATE current_resource SET idx = json_set(idx, ?, json(?)) WHERE rid = ?').run(ACCESS_PATH, JSON.stringify(after), current.rid);
    else this.statement('UPDATE current_resource SET idx = json_remove(idx, ?) WHERE rid = ?').run(ACCESS_PATH, current.rid);
    // Only the grants' rows change: the rest of the index stays as it is.
    this.replaceIndexRows('search_value', change.resourceType, current.rid, accessRows(before), accessRows(after), interned);
  }

  /** Removes up to limit AuditEvents recorded before the instant, oldest first; returns how many. */
  removeAuditEventsBefore(instant: string, limit: number): number {
    const rows = this.statement(`SELECT rid, idx FROM audit_event WHERE last_updated < ? ORDER BY last_updated${limitSql(limit)}`).all(
      instant
    ) as unknown as Array<{
      rid: number;
      idx: string;
    }>;
    const remove = this.statement('DELETE FROM audit_event WHERE rid = ?');
    for (const row of rows) {
      this.replaceIndexRows('audit_value', AUDIT_TYPE, row.rid, rowsOf(row.idx), new Map(), []);
      remove.run(row.rid);
    }
    return rows.length;
  }

  writeExportChunk(jobId: string, file: string, seq: number, text: string): void {
    this.statement('INSERT OR REPLACE INTO export_chunk (job, file, seq, text) VALUES (?, ?, ?, ?)').run(jobId, file, Math.trunc(seq), text);
  }

  deleteExportFiles(jobId: string): void {
    this.statement('DELETE FROM export_chunk WHERE job = ?').run(jobId);
  }

  /** Builds the indexes added since the first release (schema.ts), where they are missing. */
  buildLateIndexes(): void {
    for (const sql of LATE_INDEXES) this.db.exec(sql);
  }

  /** A job record's compare-and-set (job-records.ts). */
  writeJob(kind: string, id: string, data: string, expected: number): boolean {
    return writeJobRecord((sql) => this.statement(sql), kind, id, data, expected);
  }

  deleteJob(kind: string, id: string, expected?: number): boolean {
    return deleteJobRecord((sql) => this.statement(sql), kind, id, expected);
  }

  /** Replays one version of an earlier release's log (legacy-import.ts): idempotent, and current only if newest. */
  replayVersion(stored: StoredVersion): void {
    const { version } = encodeWrite({ version: stored, expectedVersionId: undefined });
    if (version.type === AUDIT_TYPE) {
      if (!version.deleted && version.resource) this.appendAuditEvent(version, []);
      return;
    }
    // A version already replayed stays as it is: the replay is idempotent.
    this.insertHistory(version, 'INSERT OR IGNORE');
    const current = this.currentRow(version.type, version.id);
    if (current && current.vid >= version.vid) return;
    this.writeVersion({ version, expectedVersionId: current ? String(current.vid) : undefined }, [], false);
  }

  /** Replays one index update of an earlier release's log. */
  replayIndexUpdate(update: IndexUpdate): void {
    this.applyIndexUpdate(encodeIndexUpdate(update), []);
  }

  /** Moves a row's index values from one set of index fields to another, touching only what changed. */
  private replaceIndexRows(
    valueTable: ValueTable,
    resourceType: string,
    rid: number,
    before: Map<string, IndexRow>,
    after: Map<string, IndexRow>,
    interned: Array<[string, number]>
  ): void {
    const remove = this.statement(`DELETE FROM ${valueTable} WHERE fid = ? AND value = ? AND rid = ?`);
    for (const [key, row] of before) {
      if (after.has(key)) continue;
      const fid = this.fieldIds.get(fieldKey(resourceType, row.field));
      if (fid !== undefined) remove.run(fid, row.value, rid);
    }
    const added: Array<number | string> = [];
    for (const [key, row] of after) {
      if (!before.has(key)) added.push(this.fieldId(resourceType, row.field, interned), row.value, rid);
    }
    this.insertValues(valueTable, added);
  }

  /**
   * Index rows (fid, value, rid triples, flattened), several to a statement:
   * a create adds about 20, and one statement per row cost each its own call
   * into SQLite. Measured faster than one INSERT of a JSON array read back
   * with json_each.
   */
  private insertValues(valueTable: ValueTable, values: Array<number | string>): void {
    for (let at = 0; at < values.length; at += ROWS_PER_INSERT * 3) {
      const chunk = values.slice(at, at + ROWS_PER_INSERT * 3);
      this.statement(INSERT_SQL[valueTable][chunk.length / 3]).run(...chunk);
    }
  }

  /** The number of a type's index field, interned on first use; runs inside a write, so it is kept only if that write commits. */
  private fieldId(resourceType: string, field: string, interned: Array<[string, number]>): number {
    const key = fieldKey(resourceType, field);
    const known = this.fieldIds.get(key);
    if (known !== undefined) return known;
    this.statement('INSERT OR IGNORE INTO search_field (type, field) VALUES (?, ?)').run(resourceType, field);
    const { fid } = this.statement('SELECT fid FROM search_field WHERE type = ? AND field = ?').get(resourceType, field) as { fid: number };
    this.fieldIds.set(key, fid);
    interned.push([key, fid]);
    return fid;
  }
}
