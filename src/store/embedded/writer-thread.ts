// The writer thread of the embedded store: the one connection that changes
// the database. node:sqlite is synchronous, so every insert, commit and sync
// made on the thread that serves requests would stop it for that long; here
// they run beside it, on the machine's other core, while reads stay on the
// serving thread's own connection (WAL: readers never wait for the writer).
// Requests queue while a commit and its sync to disk run, and share the next
// commit (log-sync.ts).
import { parentPort, workerData } from 'node:worker_threads';
import { openConnection } from './schema';
import { GroupCommit } from './group-commit';
import { LogSync } from './log-sync';
import { SqliteWriter } from './writer';
import { StatisticsRefresh } from './planner-statistics';
import { LogRestart } from './log-restart';
import type { WriterOp, WriterOptions, WriterRequest } from './writer-protocol';

const options = workerData as WriterOptions;
const port = parentPort;
if (!port) throw new Error('writer-thread runs as a worker thread');

const db = openConnection(options.file, options.cacheMiB, options.logLimitBytes);
// Checkpoints run on a thread of their own (checkpointer.ts), never inside a commit here.
db.exec('PRAGMA wal_autocheckpoint = 0');
const writer = new SqliteWriter(db);
const statistics = new StatisticsRefresh(db);
const logRestart = new LogRestart(db, `${options.file}-wal`, options.logLimitBytes);

function apply(op: WriterOp, interned: Array<[string, number]>): unknown {
  switch (op.kind) {
    case 'commit':
      for (const write of op.writes) writer.writeVersion(write, interned);
      for (const change of op.access) writer.applyAccessChange(change, interned);
      return undefined;
    case 'updateIndexes':
      for (const update of op.updates) writer.applyIndexUpdate(update, interned);
      return undefined;
    case 'removeAuditEventsBefore':
      return writer.removeAuditEventsBefore(op.instant, op.limit);
    case 'writeExportChunk':
      return writer.writeExportChunk(op.job, op.file, op.seq, op.text);
    case 'deleteExportFiles':
      return writer.deleteExportFiles(op.job);
    case 'writeJob':
      return writer.writeJob(op.jobKind, op.id, op.data, op.expected);
    case 'deleteJob':
      return writer.deleteJob(op.jobKind, op.id, op.expected);
    case 'buildLateIndexes':
      return writer.buildLateIndexes();
  }
}

const groupCommit = new GroupCommit(
  db,
  (request, interned) => apply(request.op, interned),
  (interned) => writer.forget(interned),
  writer.statement
);
const logSync = new LogSync(options.syncLog ? `${options.file}-wal` : undefined, (batch) => port.postMessage(batch));

let queue: WriterRequest[] = [];
let scheduled = false;
let closed = false;

// Refreshes come between commits, and when none comes (a load that ended before the refresh was due), from this timer,
// which fires just after the due time (a timer may fire a little early, and refreshIfDue would then do nothing).
let statisticsTimer: NodeJS.Timeout | undefined;
function scheduleStatistics(): void {
  statisticsTimer = setTimeout(() => {
    statistics.refreshIfDue();
    scheduleStatistics();
  }, statistics.msUntilDue() + 100);
}
scheduleStatistics();

function flush(): void {
  scheduled = false;
  // A flush still scheduled when the connection closed finds nothing to do.
  if (closed) return;
  const waiting = queue;
  queue = [];
  // After a failed sync nothing commits again (log-sync.ts says why).
  if (waiting.length > 0) {
    if (logSync.failed) logSync.refuse(waiting);
    else {
      const { left, ...batch } = groupCommit.run(waiting);
      logSync.committed(batch);
      // What the batch left is the next batch's first part; messages that arrive before it runs join it after.
      if (left.length > 0) {
        queue = left;
        scheduled = true;
        setImmediate(flush);
      }
    }
    // After the batch is answered, before the next begins: the next commit may then start the log again.
    logRestart.afterCommit();
  }
  // After the batch is answered: the requests that waited for it do not wait for the refresh.
  statistics.refreshIfDue();
}

function close(): void {
  clearTimeout(statisticsTimer);
  // Everything sent before 'close' commits, however many batches it takes.
  do flush();
  while (queue.length > 0);
  closed = true;
  logSync.close();
  try {
    db.exec('PRAGMA optimize');
  } catch {
    // Only planner statistics: never a reason to fail a shutdown.
  }
  db.close();
  port?.postMessage('closed');
}

let closing = false;
port.on('message', (message: WriterRequest[] | 'close') => {
  if (message === 'close') {
    closing = true;
    close();
    return;
  }
  // The client sends nothing after 'close'.
  if (closing) return;
  queue.push(...message);
  // Messages already waiting are delivered before the immediate runs: they join this batch.
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
