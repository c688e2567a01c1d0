// Job records in the embedded store (port.ts JobRecord): one row per job,
// replaced in place. Reads run on the serving thread's connection; writes on
// the writer thread (writer.ts), in its group commit like every write, so an
// acknowledged save survives a kill -9. The compare-and-set is an UPDATE
// conditioned on the revision, checked by its change count.
import type { StatementSync } from 'node:sqlite';
import type { JobRecord } from '../port';

type Statement = (sql: string) => StatementSync;

export function readJobRecord(statement: Statement, kind: string, id: string): JobRecord | undefined {
  return statement('SELECT kind, id, revision, data FROM job_record WHERE kind = ? AND id = ?').get(kind, id) as JobRecord | undefined;
}

export function listJobRecords(statement: Statement, kind: string): JobRecord[] {
  return statement('SELECT kind, id, revision, data FROM job_record WHERE kind = ? ORDER BY id').all(kind) as unknown as JobRecord[];
}

/** Writes revision expected + 1; false when the record's revision is not `expected` (0: it must not exist). */
export function writeJobRecord(statement: Statement, kind: string, id: string, data: string, expected: number): boolean {
  const result =
    expected === 0
      ? statement('INSERT OR IGNORE INTO job_record (kind, id, revision, data) VALUES (?, ?, 1, ?)').run(kind, id, data)
      : statement('UPDATE job_record SET revision = revision + 1, data = ? WHERE kind = ? AND id = ? AND revision = ?').run(data, kind, id, expected);
  return Number(result.changes) === 1;
}

export function deleteJobRecord(statement: Statement, kind: string, id: string, expected?: number): boolean {
  const result =
    expected === undefined
      ? statement('DELETE FROM job_record WHERE kind = ? AND id = ?').run(kind, id)
      : statement('DELETE FROM job_record WHERE kind = ? AND id = ? AND revision = ?').run(kind, id, expected);
  return Number(result.changes) === 1;
}
