// The embedded store acknowledges a write only after its COMMIT and a sync
// of the log (power-loss safety, group-commit.ts). Nothing over HTTP can
// tell a synced write from one still in the page cache, and a sync cannot be
// made to fail on demand, so this holds the group commit to both directly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { GroupCommit } from '../src/store/embedded/group-commit';
import { openDatabase } from '../src/store/embedded/schema';
import type { WriterRequest } from '../src/store/embedded/writer-protocol';

describe('embedded store: group commit and the sync of its log', () => {
  let dir: string;
  let file: string;
  let db: DatabaseSync;
  let commit: GroupCommit;

  const request = (seq: number): WriterRequest => ({ seq, op: { kind: 'writeJob', jobKind: 'test', id: `job-${seq}`, data: '{}', expected: 0 } });
  const apply = (r: WriterRequest): unknown => {
    db.prepare('INSERT INTO job_record (kind, id, revision, data) VALUES (?, ?, 1, ?)').run('test', `job-${r.seq}`, '{}');
    return true;
  };
  /** What another connection (the serving thread's) sees. */
  const committedJobs = (): number => {
    const reader = new DatabaseSync(file, { readOnly: true });
    try {
      return (reader.prepare('SELECT count(*) AS n FROM job_record').get() as { n: number }).n;
    } finally {
      reader.close();
    }
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'group-commit-'));
    file = path.join(dir, 'fhir.sqlite');
    db = openDatabase(file, 8);
    commit = new GroupCommit(db, apply, () => undefined, `${file}-wal`);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    commit.close();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a batch is synced after its COMMIT and before it is answered', () => {
    const seenAtSync: number[] = [];
    const sync = jest.spyOn(fs, 'fdatasyncSync').mockImplementation(() => void seenAtSync.push(committedJobs()));
    const reply = commit.run([request(1), request(2)]);
    expect(sync).toHaveBeenCalledTimes(1);
    expect(seenAtSync).toEqual([2]);
    expect(reply.replies).toEqual([
      { seq: 1, value: true },
      { seq: 2, value: true },
    ]);
  });

  test('a failed sync answers that the store is unavailable, and the next batch syncs again', () => {
    jest.spyOn(fs, 'fdatasyncSync').mockImplementationOnce(() => {
      throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    });
    const failed = commit.run([request(1)]);
    expect(failed.replies[0]).toEqual({ seq: 1, error: { unavailable: expect.stringContaining('EIO') } });
    const next = commit.run([request(2)]);
    expect(next.replies).toEqual([{ seq: 2, value: true }]);
  });
});
