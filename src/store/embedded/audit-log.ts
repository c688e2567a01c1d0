// The audit trail of the embedded store: an append-only table, not versioned
// resources. An AuditEvent is one row (no history copy), plus the index
// values of the few fields audit search needs (store/indexer.ts keeps
// AuditEvent's search parameters to those), in audit_value. Appends run in
// the group commit like any write (writer.ts), so a write's AuditEvent
// commits in the same transaction as the write, and reads' AuditEvents share
// a sync. Rows leave only by the retention sweep, oldest first. This is the
// reading side.
//
// An event's time fields (date, _lastUpdated) are read from its own row,
// which the log indexes by both (schema.ts), and have no value rows: each
// took two, at the end of its field's range, on pages of their own. Appending
// reads' events 9 to a commit on the 10,000-patient database, a commit wrote
// 55.5 log pages with them and 43.0 without, and took 0.97 ms of the writer
// thread against 0.87. Value rows that events written before still have are
// left as they are, and no longer read.
import type { Filter } from '../search/filter';
import type { StatementSync } from 'node:sqlite';
import { unpackAuditEvent } from './audit-compression';
import type { HistoryQuery, IndexFields, StoredVersion, StoreQuery } from '../port';
import { conditionOf, indexOnlyCount, limitSql, orderToSql, type FilterContext, type SqlParam } from './sql-filter';
import { walkedPage, type WalkScope } from './index-walk';
import { AUDIT_DATE } from './schema';

export const AUDIT_TYPE = 'AuditEvent';

/** What the audit log needs of the store: statements, and the numbers of index fields. */
export interface AuditLogHost {
  statement(sql: string): StatementSync;
  fieldIdOf(resourceType: string, field: string): number | undefined;
}

interface AuditRow {
  rid: number;
  id: string;
  last_updated: string;
  /** Deflated (audit-compression.ts), or JSON text for events written before. */
  resource: string | Uint8Array;
  idx: string;
  sort: string;
}

const COLUMNS = 'c.rid, c.id, c.last_updated, c.resource, c.idx, c.sort';
/** A sort by date, or a condition on it, reads the log's index by date (schema.ts). */
const BY_DATE = { 'sort.date': AUDIT_DATE };

/**
 * The index fields an event's row answers, and the field of the row each is:
 * an event was recorded and last updated at one instant each, so a date's
 * range is that instant and both of its bounds are it.
 */
const ROW_FIELDS: Record<string, string> = {
  'idx.date.lo': 'sort.date',
  'idx.date.hi': 'sort.date',
  'idx._lastUpdated.lo': 'lastUpdated',
  'idx._lastUpdated.hi': 'lastUpdated',
};

/** Whether an index field of an event is read from its row, and so has no value rows (writer.ts). */
export const isAuditRowField = (field: string): boolean => Object.hasOwn(ROW_FIELDS, field);

/** The filter with conditions on the time fields put on the row's own columns; every event has both fields. */
function onRows(filter: Filter): Filter {
  switch (filter.kind) {
    case 'and':
    case 'or':
      return { ...filter, filters: filter.filters.map(onRows) };
    case 'not':
      return { ...filter, filter: onRows(filter.filter) };
    case 'within':
      return { ...filter, box: onRows(filter.box) };
    case 'all':
    case 'none':
      return filter;
    default:
      if (!isAuditRowField(filter.field)) return filter;
      if (filter.kind === 'exists') return { kind: filter.exists ? 'all' : 'none' };
      return { ...filter, field: ROW_FIELDS[filter.field] };
  }
}

const onRowsQuery = (query: StoreQuery): StoreQuery => ({ ...query, filter: onRows(query.filter) });
/** Every event: the log keeps no deleted ones. */
const WALK_SCOPE: WalkScope = { table: 'audit_event', rows: { sql: '1', params: [] } };

function toVersion(row: AuditRow): StoredVersion {
  return {
    resourceType: AUDIT_TYPE,
    id: row.id,
    versionId: '1',
    lastUpdated: row.last_updated,
    deleted: false,
    resource: JSON.parse(unpackAuditEvent(row.resource)),
    idx: JSON.parse(row.idx) as IndexFields,
    sort: JSON.parse(row.sort) as Record<string, string | number>,
  };
}

export class AuditLog {
  constructor(private readonly host: AuditLogHost) {}

  read(id: string): StoredVersion | undefined {
    const row = this.host.statement(`SELECT ${COLUMNS} FROM audit_event c WHERE c.id = ?`).get(id) as AuditRow | undefined;
    return row && toVersion(row);
  }

  private readonly context: FilterContext = { fieldId: (field) => this.host.fieldIdOf(AUDIT_TYPE, field), valueTable: 'audit_value', scalars: BY_DATE };

  search(asked: StoreQuery): StoredVersion[] {
    const query = onRowsQuery(asked);
    const where = conditionOf(query.filter, this.context);
    if (!where) return [];
    const order = orderToSql(query.sort, BY_DATE);
    // A broad look-up (every event of one agent, of one subtype) in id or time order walks the log's index in that order.
    const walked = walkedPage((sql) => this.host.statement(sql), query, this.context, WALK_SCOPE);
    if (walked) {
      const sql = `SELECT ${COLUMNS} FROM (${walked.sql}) p CROSS JOIN audit_event c ON c.rid = p.rid${order.sql}`;
      const rows = this.host.statement(sql).all(...walked.params, ...order.params) as unknown as AuditRow[];
      if (rows.length === query.limit) return rows.map(toVersion);
    }
    const sql = `SELECT ${COLUMNS} FROM audit_event c WHERE ${where.sql}${order.sql}${limitSql(query.limit)} OFFSET ?`;
    return (this.host.statement(sql).all(...where.params, ...order.params, query.offset) as unknown as AuditRow[]).map(toVersion);
  }

  count(asked: Filter): number {
    const filter = onRows(asked);
    // An event's value rows live and go with it (the retention sweep removes both).
    const indexOnly = indexOnlyCount(filter, this.context);
    if (indexOnly) return (this.host.statement(indexOnly.sql).get(...indexOnly.params) as { n: number }).n;
    const where = conditionOf(filter, this.context);
    if (!where) return 0;
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
    const sql = `SELECT ${COLUMNS} FROM audit_event c${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY c.last_updated DESC, c.rid DESC${limitSql(query.limit)} OFFSET ?`;
    return (this.host.statement(sql).all(...params, query.offset) as unknown as AuditRow[]).map(toVersion);
  }
}
