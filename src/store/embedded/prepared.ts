// The statements of one connection, each prepared once and kept by its SQL
// text: exec() and prepare() compile their SQL on every call. The SQL is the
// code's own (values are bound). The writer's set is closed, so it is not
// bounded; a reading connection's searches vary in shape (lists of values,
// page sizes: sql-filter.ts), so it keeps the most recently used.
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { LRUCache } from 'lru-cache';

/** A function answering the connection's prepared statement for an SQL text, preparing it the first time. */
export function preparedOnce(db: DatabaseSync): (sql: string) => StatementSync {
  const statements = new Map<string, StatementSync>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };
}

/** Compiled statements kept per distinct search SQL; searches come in few shapes (and page sizes: sql-filter.ts, limitSql). */
const RECENT_STATEMENTS = 500;

/** Prepared statements kept by their SQL, the most recently used RECENT_STATEMENTS of them. */
export interface RecentStatements {
  (sql: string): StatementSync;
  /** Drops them all (their connection is closing, or was replaced). */
  clear(): void;
}

/** @param db the connection, asked each time a statement is prepared (it may be replaced: planner-statistics.ts) */
export function preparedRecent(db: () => DatabaseSync): RecentStatements {
  // lru-cache drops the least recently used first.
  const statements = new LRUCache<string, StatementSync>({ max: RECENT_STATEMENTS });
  const statement = (sql: string): StatementSync => {
    let prepared = statements.get(sql);
    if (!prepared) {
      prepared = db().prepare(sql);
      statements.set(sql, prepared);
    }
    return prepared;
  };
  return Object.assign(statement, { clear: () => statements.clear() });
}
