// The statements of one connection, each prepared once and kept by its SQL
// text: exec() and prepare() compile their SQL on every call. The SQL is the
// code's own (values are bound), so the set is closed and is not bounded.
import type { DatabaseSync, StatementSync } from 'node:sqlite';

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
