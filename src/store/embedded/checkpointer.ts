// Checkpoints of the write-ahead log, off the event loop. SQLite normally
// checkpoints inside the COMMIT that fills the log past a threshold, which
// would copy pages into the database and sync both files on the thread that
// serves requests. Here a worker thread with a connection of its own runs a
// PASSIVE checkpoint every interval instead (it never blocks the writer or
// readers), and the other connections' automatic checkpoints are turned off.
//
// A PASSIVE checkpoint copies the log into the database but never starts the
// log again from its beginning: SQLite does that only when a commit begins
// while the whole log is copied and no reader is reading from it, which under
// steady reads and writes never happens. Measured: a log of 8.8 GB beside a
// database of 345 MB after ten minutes of the bench. So once the log is
// larger than a limit, a RESTART checkpoint follows the PASSIVE one: with
// nearly everything already copied, it waits only for the readers of the
// moment and holds commits back for as long as copying the last few commits
// takes; the next commit then writes the log from its start, and cuts the
// file back to the limit (journal_size_limit, schema.ts). (TRUNCATE, which
// empties the file itself, held commits back twice as long: reads' p99,
// which wait for their AuditEvent's commit, went from 29 to 63 ms.)
// The size is looked at ten times a second: under the bench's heaviest
// writes the log grows some 60 MB a second.
//
// While a RESTART checkpoint waits for the readers of the old log, it holds
// every writer back. So it waits briefly (RESTART_WAIT_MS), then gives up
// until the next tick: a reader that keeps a transaction open (a backup, an
// operator's sqlite3 shell) lets the log grow meanwhile, never stalls writes.
// Waiting as long as the writer waits for its lock (5 s) stalled every write
// for seconds at a time and had some refused ("database is locked").
import { Worker } from 'node:worker_threads';

// Plain JavaScript, run with eval: the worker needs no compiled file of its own.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const fs = require('node:fs');
const db = new DatabaseSync(workerData.file);
// The wait of a RESTART for readers, during which no write commits.
db.exec('PRAGMA busy_timeout = ' + workerData.restartWaitMs);
const logSize = () => {
  try {
    return fs.statSync(workerData.file + '-wal').size;
  } catch {
    return 0;
  }
};
let reported = false;
let sinceCheckpoint = 0;
// The log's size is looked at every tick (a stat), a checkpoint made every intervalMs or as soon as the log is past the limit.
const tick = () => {
  sinceCheckpoint += TICK_MS;
  const large = logSize() > workerData.logLimitBytes;
  if (!large && sinceCheckpoint < workerData.intervalMs) return;
  sinceCheckpoint = 0;
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    if (large) db.exec('PRAGMA wal_checkpoint(RESTART)');
    reported = false;
  } catch (err) {
    // A full disk, a busy lock: the log keeps every commit, the next checkpoint tries again.
    if (!reported) parentPort.postMessage({ error: String(err && err.message) });
    reported = true;
  }
};
const TICK_MS = 100;
const timer = setInterval(tick, TICK_MS);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.postMessage({ closed: true });
});
`;

/** How long a RESTART checkpoint waits for readers of the old log, holding writes back, before it tries again later. */
const RESTART_WAIT_MS = 50;

/**
 * The log starts again from its beginning once it passes this size, and its
 * file is cut back to it. Each RESTART holds commits back for 10-25 ms (it
 * copies the commits since the last checkpoint and syncs the database), and
 * under the bench's reads the log passed 64 MiB every second and a half: the
 * stalls were the reads' p99 (26 ms against a p50 of 7). At 256 MiB they
 * are four times rarer (reads' p99 15 ms). Readers search only the part of
 * the log not yet copied, so a larger log does not slow them, and the
 * recovery of a full one after kill -9 took under 2 s at 10,000 patients.
 */
export const LOG_LIMIT_BYTES = 256 * 1024 * 1024;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly closed: Promise<void>;

  constructor(
    file: string,
    onError: (message: string) => void,
    {
      intervalMs = 1000,
      logLimitBytes = LOG_LIMIT_BYTES,
    }: {
      /** How often a checkpoint copies the log into the database. */
      intervalMs?: number;
      /** The size of the log above which it starts again from its beginning. */
      logLimitBytes?: number;
    } = {}
  ) {
    this.worker = new Worker(SOURCE, { eval: true, workerData: { file, intervalMs, logLimitBytes, restartWaitMs: RESTART_WAIT_MS } });
    this.closed = new Promise((resolve) => {
      this.worker.on('message', (message: { error?: string; closed?: boolean }) => {
        if (message.error) onError(message.error);
        if (message.closed) resolve();
      });
      this.worker.once('exit', () => resolve());
      this.worker.once('error', (err) => {
        onError(err.message);
        resolve();
      });
    });
    // Never what keeps the process alive.
    this.worker.unref();
  }

  async close(): Promise<void> {
    // Kept alive until its connection is closed, so a shutdown never cuts it short.
    this.worker.ref();
    this.worker.postMessage('close');
    await this.closed;
    await this.worker.terminate();
  }
}
