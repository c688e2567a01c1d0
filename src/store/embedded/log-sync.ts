// Power-loss safety for the group commit (group-commit.ts), on the writer
// thread: a committed batch is acknowledged only once a sync of the
// write-ahead log that began after its COMMIT has finished.
//
// The sync runs off the thread (fs.fdatasync, on libuv's pool) so that the
// next batch's inserts and COMMIT go on meanwhile. The sync took a quarter
// of the writer thread's time when it waited for it (validated creates at
// 10,000 patients): that time now overlaps the next batch's work. Batches
// that commit while a sync runs share the next one, and batches are always
// answered in the order they committed.
//
// A failed sync stops acknowledgements for good (until the server restarts).
// Linux may drop the log's pages that a failed sync could not write, marking
// them clean, so a later sync that succeeds does not show they reached the
// disk. After a power loss SQLite would then read the log only up to the
// first lost frame, and batches acknowledged after the failure, written
// beyond it, would be lost with it. At the next start the log is read from
// the page cache and copied into the database by a checkpoint, which writes
// those pages again.
import fs from 'node:fs';
import type { BatchReply, WriterReply, WriterRequest } from './writer-protocol';

const refusal = (seq: number, why: string): WriterReply => ({ seq, error: { unavailable: why } });

/** A committed batch whose sync failed: committed, so its field numbers stand, but not known to be on disk, so not acknowledged. */
function unsynced(batch: BatchReply, why: string): BatchReply {
  return { fields: batch.fields, replies: batch.replies.map((reply) => (reply.error ? reply : refusal(reply.seq, why))), failure: why };
}

const failure = (err: unknown): string =>
  `Sync of the embedded store's log failed: ${(err as Error).message}. ` +
  'Writes are refused until the server is restarted: once a sync has failed, a later one cannot show that the writes before it are on disk';

export class LogSync {
  private fd: number | undefined;
  /** Committed batches waiting for the next sync. */
  private waiting: BatchReply[] = [];
  private syncing: Promise<void> | undefined;
  /** Why the first sync that failed did: every batch after it is refused. */
  private failure: string | undefined;

  /**
   * @param wal the write-ahead log to sync, or undefined to answer at once (power-loss safety off)
   * @param answer sends a batch's replies to the serving thread
   */
  constructor(
    private readonly wal: string | undefined,
    private readonly answer: (batch: BatchReply) => void
  ) {}

  /** Why writes are refused, once a sync has failed. */
  get failed(): string | undefined {
    return this.failure;
  }

  /** Refuses a batch before it commits, once a sync has failed: nothing a client is told failed is stored. */
  refuse(requests: WriterRequest[]): void {
    const why = this.failure as string;
    this.answer({ fields: [], replies: requests.map((r) => refusal(r.seq, why)), failure: why });
  }

  /** Answers a batch just committed, once it is on disk. */
  committed(batch: BatchReply): void {
    if (!this.wal) return this.answer(batch);
    this.waiting.push(batch);
    this.syncing ??= this.syncWaiting();
  }

  /** Waits for every batch committed so far to be answered, then closes the log. */
  async close(): Promise<void> {
    await this.syncing;
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private async syncWaiting(): Promise<void> {
    while (this.waiting.length > 0) {
      const covered = this.waiting;
      this.waiting = [];
      this.failure ??= await this.sync(this.wal as string);
      for (const batch of covered) this.answer(this.failure ? unsynced(batch, this.failure) : batch);
    }
    this.syncing = undefined;
  }

  /** Syncs the log; resolves with why it failed, if it did. */
  private sync(wal: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      try {
        // The log exists once the first transaction committed, which is before the first sync.
        this.fd ??= fs.openSync(wal, 'r+');
      } catch (err) {
        resolve(failure(err));
        return;
      }
      fs.fdatasync(this.fd, (err) => resolve(err ? failure(err) : undefined));
    });
  }
}
