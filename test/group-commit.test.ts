// The embedded store acknowledges a write only after its COMMIT and a sync
// of the log that began after it (power-loss safety, group-commit.ts and
// log-sync.ts), while the next batch commits meanwhile. Nothing over HTTP can
// tell a synced write from one still in the page cache, and a sync cannot be
// made to fail on demand, so this holds the group commit to both directly.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { GroupCommit } from '../src/store/embedded/group-commit';
import { LogSync } from '../src/store/embedded/log-sync';
import { openDatabase } from '../src/store/embedded/schema';
import type { BatchReply, WriterRequest } from '../src/store/embedded/writer-protocol';

type SyncDone = (err: NodeJS.ErrnoException | null) => void;

describe('embedded store: group commit and the sync of its log', () => {
  let dir: string;
  let file: string;
  let db: DatabaseSync;
  let commit: GroupCommit;
  let logSync: LogSync;
  /** Batches answered, in the order they were. */
  let answered: BatchReply[];
  /** Syncs begun and not yet finished (the test finishes them), with what was committed when each began. */
  let syncs: Array<{ committedAtStart: number; done: SyncDone }>;
  const finishSync = async (err: NodeJS.ErrnoException | null = null) => {
    (syncs.shift() as { done: SyncDone }).done(err);
    await new Promise((r) => setImmediate(r));
  };

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
    commit = new GroupCommit(db, apply, () => undefined);
    answered = [];
    syncs = [];
    logSync = new LogSync(`${file}-wal`, (batch) => answered.push(batch));
    jest.spyOn(fs, 'fdatasync').mockImplementation(((_fd: number, done: SyncDone) => {
      syncs.push({ committedAtStart: committedJobs(), done });
    }) as unknown as typeof fs.fdatasync);
  });
  afterEach(async () => {
    while (syncs.length > 0) await finishSync();
    await logSync.close();
    jest.restoreAllMocks();
    db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('a batch is synced after its COMMIT and answered only once that sync is done', async () => {
    logSync.committed(commit.run([request(1), request(2)]));
    expect(syncs.map((s) => s.committedAtStart)).toEqual([2]);
    expect(answered).toEqual([]);
    await finishSync();
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

  test('batches committed while a sync runs wait for the next one, which begins after their COMMIT, and are answered in order', async () => {
    logSync.committed(commit.run([request(1)]));
    logSync.committed(commit.run([request(2)]));
    logSync.committed(commit.run([request(3)]));
    // One sync under way, begun after the first COMMIT; the second and third batches committed meanwhile.
    expect(syncs.map((s) => s.committedAtStart)).toEqual([1]);
    await finishSync();
    expect(answered.map((b) => b.replies[0].seq)).toEqual([1]);
    expect(syncs.map((s) => s.committedAtStart)).toEqual([3]);
    await finishSync();
    expect(answered.map((b) => b.replies[0].seq)).toEqual([1, 2, 3]);
  });

  test('after a failed sync no batch is acknowledged again: a later sync cannot show the failed one reached the disk', async () => {
    logSync.committed(commit.run([request(1)]));
    // Committed while the sync that is to fail runs: it waits for the next sync, which would succeed.
    logSync.committed(commit.run([request(2)]));
    await finishSync(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
    expect(answered[0].replies).toEqual([{ seq: 1, error: { unavailable: expect.stringContaining('EIO') } }]);
    expect(answered[0].failure).toMatch(/refused until the server is restarted/);
    // The next batch is refused without a sync: before, a sync that succeeded acknowledged it.
    await new Promise((r) => setImmediate(r));
    expect(syncs).toHaveLength(0);
    expect(answered[1].replies).toEqual([{ seq: 2, error: { unavailable: expect.stringContaining('EIO') } }]);
    // The writer thread refuses later batches before they commit (writer-thread.ts), by this.
    expect(logSync.failed).toMatch(/EIO/);
  });

  test('closing waits for the sync under way and answers every batch', async () => {
    logSync.committed(commit.run([request(1)]));
    const closed = logSync.close();
    await finishSync();
    await closed;
    expect(answered.map((b) => b.replies[0].seq)).toEqual([1]);
  });
});
