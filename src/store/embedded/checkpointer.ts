// Checkpoints of the write-ahead log, off the event loop. SQLite normally
// checkpoints inside the COMMIT that fills the log past a threshold, which
// would copy pages into the database and sync both files on the thread that
// serves requests. Here a worker thread with a connection of its own runs a
// PASSIVE checkpoint every interval instead (it never blocks the writer or
// readers), and the other connections' automatic checkpoints are turned off.
//
// A PASSIVE checkpoint copies the log into the database but never starts the
// log again from its beginning; the writer thread does that between two
// commits once the log has grown past a limit (log-restart.ts), and the
// limit also decides how often: a larger log costs nothing to readers (they
// search only the part of it not yet copied), and the recovery of a full one
// after kill -9 took under 2 s at 10,000 patients. Past half the limit, this
// thread copies the log every tick (ten times a second) instead of every
// second, so the writer has at most a tick of commits left to copy. Under the
// bench's heaviest writes the log grows some 60-100 MB a second.
//
// A reader that keeps a transaction open (a backup, an operator's sqlite3
// shell) holds back only what it still reads: a PASSIVE checkpoint never
// waits for it, and the log grows meanwhile.
import { Worker } from 'node:worker_threads';

// Plain JavaScript, run with eval: the worker needs no compiled file of its own.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
// A frame of the log: a page and its header.
const frameBytes = db.prepare('PRAGMA page_size').get().page_size + 24;
let reported = false;
let sinceCheckpoint = 0;
// Past half its limit, the log is copied every tick: the writer starts it again past the limit, once it has copied
// what is left (log-restart.ts), and what is left is then at most a tick of commits.
let nearLimit = false;
const tick = () => {
  sinceCheckpoint += TICK_MS;
  if (!nearLimit && sinceCheckpoint < workerData.intervalMs) return;
  sinceCheckpoint = 0;
  try {
    const { log } = checkpoint.get();
    nearLimit = log * frameBytes > workerData.logLimitBytes / 2;
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

/**
 * The log starts again from its beginning once it passes this size
 * (log-restart.ts), and its file is cut back to it. When a RESTART
 * checkpoint did this, each held commits back for 10-25 ms, and at 64 MiB the
 * bench's reads passed the limit every second and a half: the stalls were the
 * reads' p99 (26 ms against a p50 of 7); at 256 MiB they were four times
 * rarer. Readers search only the part of the log not yet copied, so a larger
 * log does not slow them, and the recovery of a full one after kill -9 took
 * under 2 s at 10,000 patients.
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
    this.worker = new Worker(SOURCE, { eval: true, workerData: { file, intervalMs, logLimitBytes } });
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
