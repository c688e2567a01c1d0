// The audit trail of the embedded store: an append-only table, not versioned
// resources. An AuditEvent is one row (no history copy), plus the index
// values of the few fields audit search needs (store/indexer.ts keeps
// AuditEvent's search parameters to those), in audit_value. Appends run in
// the group commit like any write, so a write's AuditEvent commits in the
// same transaction as the write, and reads' AuditEvents share a sync.
// Rows leave only by the retention sweep, oldest first.
import type { StatementSync } from 'node:sqlite';
import type { Filter } from '../search/filter';
import type { HistoryQuery, IndexFields, IndexUpdate, StoredVersion, StoreQuery } from '../port';
import { indexRows, type IndexRow } from './index-rows';
import { filterToSql, orderToSql, type SqlParam } from './sql-filter';

export const AUDIT_TYPE = 'AuditEvent';

/** What the audit log needs of the store: statements, and the shared upkeep of index rows. */
export interface AuditLogHost {
  statement(sql: string): StatementSync;
  fieldIdOf(resourceType: string, field: string): number | undefined;
  replaceIndexRows(
    valueTable: 'audit_value',
    resourceType: string,
    rid: number,
    before: Map<string, IndexRow>,
    after: Map<string, IndexRow>,
    interned: string[]
  ): void;
}

interface AuditRow {
  rid: number;
  id: string;
  last_updated: string;
  resource: string;
  idx: string;
  sort: string;
}

const COLUMNS = 'c.rid, c.id, c.last_updated, c.resource, c.idx, c.sort';

function toVersion(row: AuditRow): StoredVersion {
  return {
    resourceType: AUDIT_TYPE,
    id: row.id,
    versionId: '1',
    lastUpdated: row.last_updated,
    deleted: false,
    resource: JSON.parse(row.resource),
    idx: JSON.parse(row.idx) as IndexFields,
    sort: JSON.parse(row.sort) as Record<string, string | number>,
  };
}

export class AuditLog {
  constructor(private readonly host: AuditLogHost) {}

  /** Appends one AuditEvent, inside the caller's transaction. An id already there is left as it is (a replay). */
  append(version: StoredVersion, interned: string[]): void {
    const inserted = this.host
      .statement('INSERT OR IGNORE INTO audit_event (id, last_updated, resource, idx, sort) VALUES (?, ?, ?, ?, ?)')
      .run(version.id, version.lastUpdated, JSON.stringify(version.resource), JSON.stringify(version.idx), JSON.stringify(version.sort));
    if (inserted.changes === 0) return;
    this.host.replaceIndexRows('audit_value', AUDIT_TYPE, Number(inserted.lastInsertRowid), new Map(), indexRows(version.idx), interned);
  }

  read(id: string): StoredVersion | undefined {
    const row = this.host.statement(`SELECT ${COLUMNS} FROM audit_event c WHERE c.id = ?`).get(id) as AuditRow | undefined;
    return row && toVersion(row);
  }

  private where(filter: Filter): { sql: string; params: SqlParam[] } {
    return filterToSql(filter, { fieldId: (field) => this.host.fieldIdOf(AUDIT_TYPE, field), valueTable: 'audit_value' });
  }

  search(query: StoreQuery): StoredVersion[] {
    const where = this.where(query.filter);
    const order = orderToSql(query.sort);
    const sql = `SELECT ${COLUMNS} FROM audit_event c WHERE ${where.sql}${order.sql} LIMIT ? OFFSET ?`;
    return (this.host.statement(sql).all(...where.params, ...order.params, query.limit, query.offset) as unknown as AuditRow[]).map(toVersion);
  }

  count(filter: Filter): number {
    const where = this.where(filter);
    return (this.host.statement(`SELECT count(*) AS n FROM audit_event c WHERE ${where.sql}`).get(...where.params) as { n: number }).n;
  }

  /** Each AuditEvent has one version: its history is itself; the type's history is the log, newest first. */
  history(query: HistoryQuery): StoredVersion[] {
    const where: string[] = [];
    const params: SqlParam[] = [];
    if (query.id) {
      where.push('c.id = ?');
      params.push(query.id);
    }
    if (query.since) {
      where.push('c.last_updated > ?');
      params.push(query.since);
    }
    const sql = `SELECT ${COLUMNS} FROM audit_event c${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.last_updated DESC, c.rid DESC LIMIT ? OFFSET ?`;
    return (this.host.statement(sql).all(...params, query.limit, query.offset) as unknown as AuditRow[]).map(toVersion);
  }

  /** New index fields after a reindex of AuditEvent's parameters. */
  updateIndex(update: IndexUpdate, interned: string[]): void {
    const row = this.host.statement('SELECT rid, idx FROM audit_event WHERE id = ?').get(update.id) as { rid: number; idx: string } | undefined;
    if (!row || update.versionId !== '1') return;
    this.host.statement('UPDATE audit_event SET idx = ?, sort = ? WHERE rid = ?').run(JSON.stringify(update.idx), JSON.stringify(update.sort), row.rid);
    this.host.replaceIndexRows('audit_value', AUDIT_TYPE, row.rid, indexRows(JSON.parse(row.idx) as IndexFields), indexRows(update.idx), interned);
  }

  /** Removes up to limit AuditEvents recorded before the instant, oldest first; returns how many. */
  removeBefore(instant: string, limit: number): number {
    const rows = this.host
      .statement('SELECT rid, idx FROM audit_event WHERE last_updated < ? ORDER BY last_updated LIMIT ?')
      .all(instant, limit) as unknown as Array<{
      rid: number;
      idx: string;
    }>;
    const remove = this.host.statement('DELETE FROM audit_event WHERE rid = ?');
    for (const row of rows) {
      this.host.replaceIndexRows('audit_value', AUDIT_TYPE, row.rid, indexRows(JSON.parse(row.idx) as IndexFields), new Map(), []);
      remove.run(row.rid);
    }
    return rows.length;
  }
}
