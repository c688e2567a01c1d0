// The SQL of a search of current resources: the rows of a page, and the
// count of a total. A broad search's runs on the reader thread
// (reader-thread.ts), on a connection of its own, so the serving thread is
// not held while SQLite gathers, sorts and counts the matches; a search by
// exact values runs on the serving connection (store.ts says why).
import type { StatementSync } from 'node:sqlite';
import type { Filter } from '../search/filter';
import type { StoreQuery } from '../port';
import { conditionOf, hasDrivingCondition, indexOnlyCount, limitSql, orderToSql, type FilterContext, type SqlFragment, type SqlParam } from './sql-filter';
import { walkedPage } from './index-walk';
import type { FieldIds } from './field-ids';
import type { VersionRow } from './current-row-cache';

/** The columns of a current version's row (VersionRow), the current row aliased c and its version v. */
export const CURRENT_COLUMNS = 'c.type, c.id, c.vid, c.last_updated, c.deleted, c.idx, c.sort, v.resource';
export const VERSION_JOIN = 'JOIN resource_version v ON v.type = c.type AND v.id = c.id AND v.vid = c.vid';

export class SearchSql {
  /**
   * @param statement the connection's prepared statements
   * @param fieldIds the index fields' numbers, as this connection reads them
   */
  constructor(
    private readonly statement: (sql: string) => StatementSync,
    private readonly fieldIds: FieldIds
  ) {}

  /** The rows of a search's page. */
  pageRows(query: StoreQuery): VersionRow[] {
    const where = this.where(query.resourceType, query.filter);
    if (!where) return [];
    const order = orderToSql(query.sort);
    const walked = this.walkedPage(query);
    if (walked) {
      const sql = `SELECT ${CURRENT_COLUMNS} FROM (${walked.sql}) p CROSS JOIN current_resource c ON c.rid = p.rid ${VERSION_JOIN}${order.sql}`;
      const rows = this.statement(sql).all(...walked.params, ...order.params) as unknown as VersionRow[];
      if (rows.length === query.limit) return rows;
    }
    // The page is chosen first, sorting only the matches' rids and sort keys, and only its rows are then read whole:
    // sorting whole rows (resource JSON and all) cost 28 ms where this takes 11, for 6,600 matches of a name prefix.
    // The order ends with the id, so the outer ORDER BY gives the page the order the inner one chose.
    const page = `SELECT c.rid FROM current_resource c WHERE ${where.sql}${order.sql}${limitSql(query.limit)} OFFSET ?`;
    const sql = `SELECT ${CURRENT_COLUMNS} FROM (${page}) p CROSS JOIN current_resource c ON c.rid = p.rid ${VERSION_JOIN}${order.sql}`;
    return this.statement(sql).all(...where.params, ...order.params, query.offset, ...order.params) as unknown as VersionRow[];
  }

  /** How many current versions match. */
  countRows(resourceType: string, filter: Filter): number {
    // Look-ups alone are counted in the value index (a field no version ever had: a count of nothing, no table read).
    const indexOnly = indexOnlyCount(filter, this.filterContext(resourceType));
    if (indexOnly) return (this.statement(indexOnly.sql).get(...indexOnly.params) as { n: number }).n;
    const where = this.where(resourceType, filter);
    if (!where) return 0;
    const row = this.statement(`SELECT count(*) AS n FROM current_resource c WHERE ${where.sql}`).get(...where.params) as { n: number };
    return row.n;
  }

  private filterContext(resourceType: string): FilterContext {
    return { fieldId: (field) => this.fieldIds.of(resourceType, field), valueTable: 'search_value' };
  }

  /** The filter as a condition on current resources of the type; undefined when none can meet it (answered without a query). */
  private where(resourceType: string, filter: Filter): { sql: string; params: SqlParam[] } | undefined {
    const condition = conditionOf(filter, this.filterContext(resourceType));
    if (!condition) return undefined;
    // The unary + keeps SQLite from walking the whole type by its index when the filter names its rows (hasDrivingCondition).
    const type = hasDrivingCondition(filter) ? '+c.type' : 'c.type';
    return { sql: `${type} = ? AND c.deleted = 0 AND ${condition.sql}`, params: [resourceType, ...condition.params] };
  }

  /** The page's rids by a walk along an index in the query's order (index-walk.ts), when the query is a broad look-up. */
  private walkedPage(query: StoreQuery): SqlFragment | undefined {
    const scope = { table: 'current_resource', rows: { sql: 'c.type = ?', params: [query.resourceType] }, live: 'c.deleted = 0' };
    return walkedPage(this.statement, query, this.filterContext(query.resourceType), scope);
  }
}
