// The embedded store acknowledges a write only after a sync of its log that
// began after the write's COMMIT (power-loss safety), while the sync runs
// beside the next batch (group-commit.ts). Nothing over HTTP can tell a
// synced write from one still in the page cache, so this holds the group
// commit to it directly: its syncs are held here and released one by one.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { GroupCommit } from '../src/store/embedded/group-commit';
import { openDatabase } from '../src/store/embedded/schema';
import type { BatchReply, WriterRequest } from '../src/store/embedded/writer-protocol';

type SyncCallback = (err: NodeJS.ErrnoException | null) => void;

describe('embedded store: group commit and the sync of its log', () => {
  let dir: string;
  let db: DatabaseSync;
  let commit: GroupCommit;
  let syncs: SyncCallback[];
  let spy: jest.SpyInstance;

  const request = (seq: number): WriterRequest => ({ seq, op: { kind: 'writeJob', jobKind: 'test', id: `job-${seq}`, data: '{}', expected: 0 } });
  const apply = (r: WriterRequest): unknown => {
    db.prepare('INSERT INTO job_record (kind, id, revision, data) VALUES (?, ?, 1, ?)').run('test', `job-${r.seq}`, '{}');
    return true;
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'group-commit-'));
    const file = path.join(dir, 'fhir.sqlite');
    db = openDatabase(file, 8);
    syncs = [];
    spy = jest.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, callback: SyncCallback) => void syncs.push(callback)) as typeof fs.fdatasync);
    commit = new GroupCommit(db, apply, () => undefined, `${file}-wal`);
  });
  afterEach(async () => {
    spy.mockRestore();
    await new Promise<void>((resolve) => {
      commit.close(resolve);
      for (const s of syncs.splice(0)) s(null);
    });
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a batch is answered only once its sync is done, and is committed before it', () => {
    const answers: BatchReply[] = [];
    commit.run([request(1), request(2)], (reply) => answers.push(reply));
    // Committed (the next batch and the readers see it), not yet answered.
    expect((db.prepare('SELECT count(*) AS n FROM job_record').get() as { n: number }).n).toBe(2);
    expect(syncs).toHaveLength(1);
    expect(answers).toHaveLength(0);
    syncs[0](null);
    expect(answers).toHaveLength(1);
    expect(answers[0].replies).toEqual([
      { seq: 1, value: true },
      { seq: 2, value: true },
    ]);
  });

  test('batches committed during a sync wait for the next one, which covers them all', () => {
    const answered: number[] = [];
    const answer = (reply: BatchReply): void => void answered.push(...reply.replies.map((r) => r.seq));
    commit.run([request(1)], answer);
    commit.run([request(2)], answer);
    commit.run([request(3)], answer);
    // One sync under way, for the first batch: the other two committed after it began.
    expect(syncs).toHaveLength(1);
    syncs[0](null);
    expect(answered).toEqual([1]);
    expect(syncs).toHaveLength(2);
    syncs[1](null);
    expect(answered).toEqual([1, 2, 3]);
  });

  test('a failed sync answers that the store is unavailable, and the next batch syncs again', () => {
    const answers: BatchReply[] = [];
    commit.run([request(1)], (reply) => answers.push(reply));
    syncs[0](Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    expect(answers[0].replies[0].error).toEqual({ unavailable: expect.stringContaining('EIO') });
    commit.run([request(2)], (reply) => answers.push(reply));
    syncs[1](null);
    expect(answers[1].replies).toEqual([{ seq: 2, value: true }]);
  });

  test('a batch whose every request failed is answered at once, with nothing to sync', () => {
    const answers: BatchReply[] = [];
    commit.run([request(1)], () => undefined);
    // The same job again: the primary key refuses it.
    commit.run([request(1)], (reply) => answers.push(reply));
    expect(answers).toHaveLength(1);
    expect(answers[0].replies[0].error).toBeDefined();
    expect(syncs).toHaveLength(1);
  });
});
