// Checkpoints of the write-ahead log, off the event loop. SQLite normally
// checkpoints inside the COMMIT that fills the log past a threshold, which
// would copy pages into the database and sync both files on the thread that
// serves requests. Here a worker thread with a connection of its own runs a
// PASSIVE checkpoint every interval instead (a checkpoint never blocks the
// writer or readers in WAL mode), and the serving connection's automatic
// checkpoints are turned off.
import { Worker } from 'node:worker_threads';

// Plain JavaScript, run with eval: the worker needs no compiled file of its own.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file);
db.exec('PRAGMA busy_timeout = 5000');
let reported = false;
const checkpoint = () => {
  try {
    db.exec('PRAGMA wal_checkpoint(PASSIVE)');
    reported = false;
  } catch (err) {
    // A full disk, a busy lock: the log keeps every commit, the next checkpoint tries again.
    if (!reported) parentPort.postMessage({ error: String(err && err.message) });
    reported = true;
  }
};
const timer = setInterval(checkpoint, workerData.intervalMs);
parentPort.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort.postMessage({ closed: true });
});
`;

export class Checkpointer {
  private readonly worker: Worker;
  private readonly closed: Promise<void>;

  constructor(file: string, onError: (message: string) => void, intervalMs = 1000) {
    this.worker = new Worker(SOURCE, { eval: true, workerData: { file, intervalMs } });
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
