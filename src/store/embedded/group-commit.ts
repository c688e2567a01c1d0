// Group commit, on the writer thread: every request that arrives while the
// thread is busy (with the last commit, or its sync) shares the next SQLite
// transaction and the next sync to disk. Each request runs in a savepoint of
// its own, so one that fails (a lost optimistic lock) is undone alone while
// the rest commit. If COMMIT fails (a full disk), every request of the batch
// is refused.
//
// SQLite commits without syncing (synchronous=NORMAL); with power-loss
// safety on, the write-ahead log is then synced here, and a request is
// acknowledged only after a sync that began after its COMMIT: acknowledged
// writes are on disk exactly as with synchronous=FULL. The sync runs on
// libuv's thread pool, so this thread applies the next batch while the last
// one's sync is under way (measured, a sync took about as long as a batch's
// COMMIT); batches that commit during a sync share the next one.
import fs from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { encodeError, type BatchReply, type WriterError, type WriterReply, type WriterRequest } from './writer-protocol';

export class GroupCommit {
  private walFd: number | undefined;
  private syncing = false;
  /** Batches committed since the sync under way began: the next sync answers them. */
  private waiting: Array<(error: string | undefined) => void> = [];
  private whenIdle: (() => void) | undefined;

  /**
   * @param db the writer's connection
   * @param apply runs one request's changes, adding the field numbers it interns
   * @param forget drops field numbers interned by changes that were undone
   * @param wal the write-ahead log to sync before acknowledging, or undefined
   */
  constructor(
    private readonly db: DatabaseSync,
    private readonly apply: (request: WriterRequest, interned: Array<[string, number]>) => unknown,
    private readonly forget: (interned: Array<[string, number]>) => void,
    private readonly wal: string | undefined
  ) {}

  /** Applies and commits a batch; answer gets its replies once they may be acknowledged (after the sync, where there is one). */
  run(batch: WriterRequest[], answer: (reply: BatchReply) => void): void {
    const reply = this.commit(batch);
    if (!reply.replies.some((r) => !r.error)) {
      answer(reply);
      return;
    }
    this.afterSync((syncError) => {
      // Committed, so the field numbers stand; but not known to be on disk, so not acknowledged.
      if (syncError) reply.replies = reply.replies.map((r) => (r.error ? r : { seq: r.seq, error: { unavailable: syncError } }));
      answer(reply);
    });
  }

  private commit(batch: WriterRequest[]): BatchReply {
    const replies = new Map<number, WriterReply>();
    const interned: Array<[string, number]> = [];
    const refuseRest = (err: unknown): BatchReply => {
      try {
        if (this.db.isTransaction) this.db.exec('ROLLBACK');
      } catch {
        // The connection rolls back by itself when it cannot; the requests are refused either way.
      }
      this.forget(interned);
      const encoded = encodeError(err);
      const error: WriterError = 'message' in encoded ? { unavailable: `Write to the embedded store failed: ${encoded.message}` } : encoded;
      return { replies: batch.map((r) => (replies.get(r.seq)?.error ? (replies.get(r.seq) as WriterReply) : { seq: r.seq, error })), fields: [] };
    };
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      return refuseRest(err);
    }
    for (const request of batch) {
      const mark = interned.length;
      try {
        this.db.exec('SAVEPOINT write');
      } catch (err) {
        return refuseRest(err);
      }
      try {
        const value = this.apply(request, interned);
        this.db.exec('RELEASE write');
        replies.set(request.seq, { seq: request.seq, value });
      } catch (err) {
        this.forget(interned.splice(mark));
        try {
          this.db.exec('ROLLBACK TO write');
          this.db.exec('RELEASE write');
        } catch (rollbackError) {
          return refuseRest(rollbackError);
        }
        replies.set(request.seq, { seq: request.seq, error: encodeError(err) });
      }
    }
    try {
      this.db.exec('COMMIT');
    } catch (err) {
      return refuseRest(err);
    }
    return { replies: [...replies.values()], fields: interned };
  }

  /** Calls done after a sync of the write-ahead log that began after this call, with why it failed, if it did. */
  private afterSync(done: (error: string | undefined) => void): void {
    if (!this.wal) {
      done(undefined);
      return;
    }
    this.waiting.push(done);
    if (!this.syncing) this.syncLog(this.wal);
  }

  private syncLog(wal: string): void {
    const answered = this.waiting;
    this.waiting = [];
    this.syncing = true;
    const finish = (err: Error | null): void => {
      this.syncing = false;
      const message = err ? `Sync of the embedded store's log failed: ${err.message}` : undefined;
      for (const done of answered) done(message);
      if (this.waiting.length > 0) this.syncLog(wal);
      else this.whenIdle?.();
    };
    try {
      // The log exists once the first transaction committed, which is before the first sync.
      this.walFd ??= fs.openSync(wal, 'r+');
    } catch (err) {
      finish(err as Error);
      return;
    }
    fs.fdatasync(this.walFd, finish);
  }

  /** Closes the log once every batch committed so far is answered. */
  close(closed: () => void): void {
    const closeLog = (): void => {
      this.whenIdle = undefined;
      if (this.walFd !== undefined) fs.closeSync(this.walFd);
      this.walFd = undefined;
      closed();
    };
    if (this.syncing) this.whenIdle = closeLog;
    else closeLog();
  }
}
