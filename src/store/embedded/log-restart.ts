// Starts the write-ahead log again from its beginning once it has grown past
// its limit, from the writer thread, between two commits, without holding
// anyone up.
//
// SQLite starts the log again by itself when a write transaction begins on a
// log that is wholly copied into the database and that no reader reads from:
// the first frame of that transaction is then written at the start of the
// file, and the file is cut back to journal_size_limit (schema.ts). Under
// steady traffic the log is never wholly copied: the checkpointer thread
// (checkpointer.ts) copies what was committed before it began, and commits go
// on meanwhile. The writer thread is the only one that commits, so a PASSIVE
// checkpoint run on it between two commits copies all that is left (what
// the checkpointer has not copied yet: at most a tick of commits), and the
// next commit starts the log again. A reader still on the old log (a search
// begun before the copy ended) only means the log is not started again this
// time; SQLite never waits for it, and the writer tries again a little later.
//
// Before, the checkpointer thread ran a RESTART checkpoint, which holds the
// writer's lock while it copies the last commits, syncs the database and
// waits for readers of the old log. The writer waited on its busy handler,
// which sleeps in steps (1, 2, 5, 10, 15, 20 ms...), so a stall was rounded
// up: measured under $expand on the 10,000-patient bench (7,000 requests a
// second, each with its AuditEvent, the log past 256 MiB every two seconds),
// each RESTART took 10-18 ms, the first one after start 86-101 ms, and every
// request in flight waited for it.
import fs from 'node:fs';
import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** The shortest time between two tries, so a reader that keeps the old log does not make every commit copy. */
const TRY_EVERY_MS = 50;

export class LogRestart {
  private readonly checkpoint: StatementSync;
  private nextTry = 0;

  /**
   * @param db the writer's connection
   * @param wal the log's file
   * @param limitBytes the size past which the log starts again
   */
  constructor(
    db: DatabaseSync,
    private readonly wal: string,
    private readonly limitBytes: number,
    private readonly now: () => number = Date.now
  ) {
    this.checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
  }

  /** Run between commits: copies what is left of a log past its limit, so that the next commit starts it again. */
  afterCommit(): void {
    const now = this.now();
    if (now < this.nextTry) return;
    this.nextTry = now + TRY_EVERY_MS;
    let size: number;
    try {
      size = fs.statSync(this.wal).size;
    } catch {
      return;
    }
    if (size <= this.limitBytes) return;
    try {
      this.checkpoint.get();
    } catch {
      // A busy checkpointer thread, a full disk: the log keeps every commit, and the next try copies it.
    }
  }
}
