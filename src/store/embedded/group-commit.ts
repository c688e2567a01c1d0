// Group commit: the writes of every request that arrives while the event
// loop is busy share one SQLite transaction and so one sync to disk, instead
// of each paying its own. A write is queued, and the queue is flushed on the
// next turn of the event loop (setImmediate); each write runs in a savepoint
// of its own, so one that fails (a lost optimistic lock) is undone alone
// while the rest commit. If COMMIT fails (a full disk), every write of the
// batch is refused.
//
// node:sqlite is synchronous, so a sync inside COMMIT would stop the whole
// event loop for the length of an fsync. Instead SQLite commits without
// syncing (synchronous=NORMAL) and the write-ahead log is then synced here,
// asynchronously on libuv's thread pool; a write is acknowledged only once a
// sync that started after its COMMIT has completed. Acknowledged writes are
// thus on disk exactly as with synchronous=FULL, while the event loop keeps
// serving, and every batch committed during one sync shares the next.
import type { FileHandle } from 'node:fs/promises';
import type { DatabaseSync } from 'node:sqlite';
import { StoreUnavailableError, VersionConflictError } from '../port';

interface QueuedWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** SQLite result codes that mean the disk or the database file, not the request: 503, try again. */
const UNAVAILABLE_CODES = new Set([5 /* BUSY */, 6 /* LOCKED */, 8 /* READONLY */, 10 /* IOERR */, 13 /* FULL */, 14 /* CANTOPEN */]);

/** The error a caller sees: conflicts as they are, the disk's failures as an unavailable store. */
export function storeError(err: unknown): Error {
  if (err instanceof VersionConflictError || err instanceof StoreUnavailableError) return err;
  const code = (err as { errcode?: number }).errcode;
  if (typeof code === 'number' && UNAVAILABLE_CODES.has(code & 0xff)) {
    return new StoreUnavailableError(`Write to the embedded store failed: ${(err as Error).message}`);
  }
  return err instanceof Error ? err : new Error(String(err));
}

export class GroupCommit {
  private queue: QueuedWrite[] = [];
  private scheduled = false;
  /** Commits made and writes they carried, for the benchmark's report. */
  readonly stats = { commits: 0, writes: 0 };

  /** Writes committed and waiting for the log to reach the disk. */
  private unsynced: QueuedWrite[] = [];
  private unsyncedValues: unknown[] = [];
  private syncing: Promise<void> | undefined;

  /**
   * @param db the connection
   * @param log the write-ahead log to sync before acknowledging, or undefined
   *   when acknowledging at COMMIT is enough (a process crash loses nothing, a power loss may)
   */
  constructor(
    private readonly db: () => DatabaseSync,
    private readonly log: () => Promise<FileHandle | undefined>
  ) {}

  /** Runs work inside the next group transaction; resolves with its result once that transaction is on disk. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (value: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue.splice(0);
    if (batch.length === 0) return;
    let db: DatabaseSync;
    try {
      db = this.db();
      db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      batch.forEach((w) => w.reject(storeError(err)));
      return;
    }
    const done: Array<{ write: QueuedWrite; value: unknown }> = [];
    for (const write of batch) {
      try {
        db.exec('SAVEPOINT write');
      } catch (err) {
        this.abort(db, err, batch);
        return;
      }
      try {
        const value = write.work();
        db.exec('RELEASE write');
        done.push({ write, value });
      } catch (err) {
        try {
          db.exec('ROLLBACK TO write');
          db.exec('RELEASE write');
        } catch (rollbackError) {
          this.abort(db, rollbackError, batch);
          return;
        }
        write.reject(storeError(err));
      }
    }
    try {
      db.exec('COMMIT');
    } catch (err) {
      this.abort(
        db,
        err,
        done.map((d) => d.write)
      );
      return;
    }
    this.stats.commits++;
    this.stats.writes += done.length;
    for (const { write, value } of done) {
      this.unsynced.push(write);
      this.unsyncedValues.push(value);
    }
    // Cleared once the sync loop ends, before any later flush can run (microtasks come first).
    if (!this.syncing && this.unsynced.length > 0) this.syncing = this.syncLog().finally(() => (this.syncing = undefined));
  }

  /** Syncs the log until no committed write waits for it, acknowledging each batch once its sync is done. */
  private async syncLog(): Promise<void> {
    while (this.unsynced.length > 0) {
      const writes = this.unsynced.splice(0);
      const values = this.unsyncedValues.splice(0);
      try {
        const log = await this.log();
        await log?.datasync();
        writes.forEach((w, i) => w.resolve(values[i]));
      } catch (err) {
        const error = new StoreUnavailableError(`Sync of the embedded store's log failed: ${(err as Error).message}`);
        writes.forEach((w) => w.reject(error));
      }
    }
  }

  /** Resolves once every write queued so far is committed and synced. */
  async idle(): Promise<void> {
    while (this.queue.length > 0 || this.scheduled || this.syncing) {
      await (this.syncing ?? new Promise((resolve) => setImmediate(resolve)));
    }
  }

  /** The transaction cannot complete: undo all of it and refuse every write still waiting on it. */
  private abort(db: DatabaseSync, err: unknown, writes: QueuedWrite[]): void {
    try {
      if (db.isTransaction) db.exec('ROLLBACK');
    } catch {
      // The connection rolls back by itself when it cannot; the writes are refused either way.
    }
    const error = storeError(err);
    const refusal = error instanceof StoreUnavailableError ? error : new StoreUnavailableError(`Write to the embedded store failed: ${error.message}`);
    writes.forEach((w) => w.reject(refusal));
  }
}
