// Upgrade from the embedded store of earlier releases, which kept every
// version in memory and on disk as snapshot.jsonl (one version per line) and
// wal.jsonl (one commit per line: {"w": [versions]} or {"x": [index updates]}).
// On the first start over such a directory, both files are read line by line
// from a stream (never whole: they can be larger than a string can hold) and
// replayed into the database, in order, in transactions of a few thousand
// lines. Replaying is idempotent, so an import cut short by a crash simply
// runs again at the next start. Only then are the old files renamed, as a
// backup nobody's data depends on.
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import type { DatabaseSync } from 'node:sqlite';
import type { IndexUpdate, StoredVersion } from '../port';

const SNAPSHOT = 'snapshot.jsonl';
const LOG = 'wal.jsonl';
/** The old files are kept under these names once imported. */
export const BACKUP_SUFFIX = '.imported-backup';
const LINES_PER_TRANSACTION = 2000;
const PROGRESS_EVERY_MS = 5000;

/** What the import needs of the store's writer: idempotent replays of one version and one index update. */
export interface LegacyTarget {
  replayVersion(version: StoredVersion): void;
  replayIndexUpdate(update: IndexUpdate): void;
}

export async function importLegacyLog(dataDir: string, db: DatabaseSync, target: LegacyTarget, log: (message: string) => void): Promise<void> {
  const files = [SNAPSHOT, LOG].map((name) => path.join(dataDir, name)).filter((file) => fs.existsSync(file));
  if (files.length === 0) return;
  const totalBytes = files.reduce((sum, file) => sum + fs.statSync(file).size, 0);
  log(`Importing the data directory of an earlier release (${files.map((f) => path.basename(f)).join(', ')}, ${mib(totalBytes)} MiB) into the SQLite store`);
  const progress = { bytes: 0, lines: 0, versions: 0, lastReport: Date.now() };
  for (const file of files) {
    await replayFile(file, db, target, progress, (done) => {
      if (Date.now() - progress.lastReport < PROGRESS_EVERY_MS && !done) return;
      progress.lastReport = Date.now();
      log(`Import: ${progress.lines} lines, ${progress.versions} versions, ${mib(progress.bytes)} of ${mib(totalBytes)} MiB`);
    });
  }
  // Everything imported is on disk (a checkpoint syncs the log and the database) before the old files step aside.
  db.exec('PRAGMA wal_checkpoint(FULL)');
  for (const file of files) fs.renameSync(file, file + BACKUP_SUFFIX);
  log(`Import complete: ${progress.versions} versions; the old files are kept as ${files.map((f) => path.basename(f) + BACKUP_SUFFIX).join(', ')}`);
}

const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

async function replayFile(
  file: string,
  db: DatabaseSync,
  target: LegacyTarget,
  progress: { bytes: number; lines: number; versions: number },
  report: (done: boolean) => void
): Promise<void> {
  const isLog = path.basename(file) === LOG;
  const lines = readline.createInterface({ input: fs.createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity });
  let inTransaction = 0;
  try {
    for await (const line of lines) {
      progress.bytes += Buffer.byteLength(line, 'utf8') + 1;
      if (!line) continue;
      // Only the last line of the log can be torn (a commit never acknowledged): replay stops there, as it always did.
      let record: unknown;
      try {
        record = JSON.parse(line);
      } catch {
        if (!isLog) throw new Error(`${path.basename(file)} holds a line that is not JSON: ${line.slice(0, 80)}`);
        break;
      }
      if (inTransaction === 0) db.exec('BEGIN');
      if (isLog) {
        const commit = record as { w?: StoredVersion[]; x?: IndexUpdate[] };
        commit.w?.forEach((v) => target.replayVersion(v));
        commit.x?.forEach((u) => target.replayIndexUpdate(u));
        progress.versions += commit.w?.length ?? 0;
      } else {
        target.replayVersion(record as StoredVersion);
        progress.versions++;
      }
      progress.lines++;
      if (++inTransaction >= LINES_PER_TRANSACTION) {
        db.exec('COMMIT');
        inTransaction = 0;
        report(false);
      }
    }
    if (inTransaction > 0) db.exec('COMMIT');
    report(true);
  } catch (err) {
    if (db.isTransaction) db.exec('ROLLBACK');
    throw err;
  } finally {
    lines.close();
  }
}
