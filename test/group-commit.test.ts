// The embedded store acknowledges a write only after its COMMIT and a sync
// of the log made after it (power-loss safety, group-commit.ts and
// log-sync.ts). Nothing over HTTP can tell a synced write from one still in
// the page cache, so this holds the group commit to it directly (a failed
// sync is also tested over HTTP, on a file system that fails it on demand:
// reliability/sync-failure.test.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { BATCH_BUDGET_MS, GroupCommit } from '../src/store/embedded/group-commit';
import { LogSync } from '../src/store/embedded/log-sync';
import { openDatabase } from '../src/store/embedded/schema';
import type { BatchReply, WriterRequest } from '../src/store/embedded/writer-protocol';

describe('embedded store: group commit and the sync of its log', () => {
  let dir: string;
  let file: string;
  let db: DatabaseSync;
  let commit: GroupCommit;
  let logSync: LogSync;
  /** Batches answered, in the order they were. */
  let answered: BatchReply[];
  /** The syncs made: what was committed, and how many batches answered, when each was. */
  let syncs: Array<{ committed: number; answered: number }>;
  /** The error the next sync fails with, if any. */
  let failNext: NodeJS.ErrnoException | undefined;

  const request = (seq: number): WriterRequest => ({ seq, op: { kind: 'writeJob', jobKind: 'test', id: `job-${seq}`, data: '{}', expected: 0 } });
  /** How long each change takes beyond its insert (a slow change: the batch's budget). */
  let changeMs = 0;
  const apply = (r: WriterRequest): unknown => {
    const until = performance.now() + changeMs;
    while (performance.now() < until);
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

  /** Commits the whole queue as one batch, as it does when its changes are quick. */
  const run = (requests: WriterRequest[]): BatchReply => {
    const { left, ...batch } = commit.run(requests);
    expect(left).toEqual([]);
    return batch;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'group-commit-'));
    file = path.join(dir, 'fhir.sqlite');
    db = openDatabase(file, 8);
    commit = new GroupCommit(db, apply, () => undefined);
    answered = [];
    syncs = [];
    failNext = undefined;
    changeMs = 0;
    logSync = new LogSync(`${file}-wal`, (batch) => answered.push(batch));
    jest.spyOn(fs, 'fdatasyncSync').mockImplementation(() => {
      syncs.push({ committed: committedJobs(), answered: answered.length });
      const err = failNext;
      failNext = undefined;
      if (err) throw err;
    });
  });
  afterEach(() => {
    logSync.close();
    jest.restoreAllMocks();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a batch is synced after its COMMIT and answered only once that sync is done', () => {
    logSync.committed(run([request(1), request(2)]));
    // The sync was made with both writes committed, before the batch was answered.
    expect(syncs).toEqual([{ committed: 2, answered: 0 }]);
    expect(answered).toEqual([
      {
        fields: [],
        replies: [
          { seq: 1, value: true },
          { seq: 2, value: true },
        ],
      },
    ]);
  });

  test('a batch stops taking requests once its changes have run for its budget, and leaves the rest, in order, to the next', () => {
    // Two changes run past the budget: the batch takes one or two (one, if the machine stalls the first), never more.
    changeMs = BATCH_BUDGET_MS * 0.6;
    const first = commit.run([request(1), request(2), request(3), request(4)]);
    const taken = first.replies.map((r) => r.seq);
    expect([1, 2]).toContain(taken.length);
    expect([...taken, ...first.left.map((r) => r.seq)]).toEqual([1, 2, 3, 4]);
    expect(first.replies.every((r) => r.value === true)).toBe(true);
    logSync.committed({ replies: first.replies, fields: first.fields });
    expect(syncs).toEqual([{ committed: taken.length, answered: 0 }]);
    // A change slower than the whole budget still commits, one a batch.
    changeMs = BATCH_BUDGET_MS * 1.5;
    const slow = commit.run(first.left);
    expect(slow.replies.map((r) => r.seq)).toEqual([first.left[0].seq]);
    expect(slow.left).toEqual(first.left.slice(1));
    expect(committedJobs()).toBe(taken.length + 1);
  });

  test('each batch is synced after its own COMMIT, and batches are answered in the order they committed', () => {
    logSync.committed(run([request(1)]));
    logSync.committed(run([request(2)]));
    logSync.committed(run([request(3)]));
    expect(syncs).toEqual([
      { committed: 1, answered: 0 },
      { committed: 2, answered: 1 },
      { committed: 3, answered: 2 },
    ]);
    expect(answered.map((b) => b.replies[0].seq)).toEqual([1, 2, 3]);
  });

  test('after a failed sync no batch is acknowledged again: a later sync cannot show the failed one reached the disk', () => {
    failNext = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    logSync.committed(run([request(1)]));
    expect(answered[0].replies).toEqual([{ seq: 1, error: { unavailable: expect.stringContaining('EIO') } }]);
    expect(answered[0].failure).toMatch(/refused until the server is restarted/);
    // Were a batch committed after it, it would be refused without a sync: one that succeeded would have acknowledged it.
    logSync.committed(run([request(2)]));
    expect(syncs).toHaveLength(1);
    expect(answered[1].replies).toEqual([{ seq: 2, error: { unavailable: expect.stringContaining('EIO') } }]);
    // The writer thread refuses later batches before they commit (writer-thread.ts), by these.
    expect(logSync.failed).toMatch(/EIO/);
    logSync.refuse([request(3)]);
    expect(answered[2].replies).toEqual([{ seq: 3, error: { unavailable: expect.stringContaining('EIO') } }]);
    expect(committedJobs()).toBe(2);
  });

  test('without power-loss safety a batch is answered at its COMMIT, with no sync', () => {
    const unsynced = new LogSync(undefined, (batch) => answered.push(batch));
    unsynced.committed(commit.run([request(1)]));
    expect(syncs).toEqual([]);
    expect(answered.map((b) => b.replies[0].seq)).toEqual([1]);
  });
});
