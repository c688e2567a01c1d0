// The embedded store's durability: an append-only write-ahead log of commits,
// one JSON line per commit, plus a snapshot written on start and close.
// A commit is acknowledged only after its line is fsynced, so a kill -9 loses
// nothing acknowledged; a torn last line (never acknowledged) is dropped on
// recovery. Concurrent commits share one fsync (group commit).
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { StoreUnavailableError, type IndexUpdate, type StoredVersion } from '../port';

interface Pending {
  line: string;
  resolve: () => void;
  reject: (err: Error) => void;
}

/** A write to the log failed; the store stays readable but refuses writes. */
export class LogWriteError extends StoreUnavailableError {}

const SNAPSHOT = 'snapshot.jsonl';
const LOG = 'wal.jsonl';

export class WriteAheadLog {
  private queue: Pending[] = [];
  private flushing = false;
  private broken: Error | undefined;

  private constructor(
    private readonly dir: string,
    private handle: fsp.FileHandle,
    private size: number
  ) {}

  /**
   * Opens the log in dir, replaying the snapshot and then every complete
   * commit through apply, in order. Returns the log and the number of commits replayed.
   */
  static async open(
    dir: string,
    apply: (version: StoredVersion) => void,
    applyIndex: (update: IndexUpdate) => void
  ): Promise<{ log: WriteAheadLog; commits: number }> {
    await fsp.mkdir(dir, { recursive: true });
    const snapshotPath = path.join(dir, SNAPSHOT);
    if (fs.existsSync(snapshotPath)) {
      for (const line of (await fsp.readFile(snapshotPath, 'utf8')).split('\n')) {
        if (line) apply(JSON.parse(line) as StoredVersion);
      }
    }
    const logPath = path.join(dir, LOG);
    const content = fs.existsSync(logPath) ? await fsp.readFile(logPath) : Buffer.alloc(0);
    let good = 0;
    let commits = 0;
    // Batches are written only after the previous one is fsynced, so damage
    // can only be in the final, unacknowledged batch: replay stops there.
    while (good < content.length) {
      const end = content.indexOf(10, good);
      if (end < 0) break;
      let record: { w?: StoredVersion[]; x?: IndexUpdate[] };
      try {
        record = JSON.parse(content.subarray(good, end).toString('utf8')) as typeof record;
      } catch {
        break;
      }
      record.w?.forEach(apply);
      record.x?.forEach(applyIndex);
      commits++;
      good = end + 1;
    }
    const handle = await fsp.open(logPath, 'a+');
    if (good < content.length) await handle.truncate(good);
    return { log: new WriteAheadLog(dir, handle, good), commits };
  }

  /** Appends one commit; resolves once it is on disk. */
  append(versions: StoredVersion[]): Promise<void> {
    return this.appendRecord({ w: versions });
  }

  /** Appends index updates (a reindex): replayed after the versions they belong to. */
  appendIndexes(updates: IndexUpdate[]): Promise<void> {
    return this.appendRecord({ x: updates });
  }

  private appendRecord(record: object): Promise<void> {
    if (this.broken) return Promise.reject(new LogWriteError(`Store is read-only after a write failure: ${this.broken.message}`));
    const line = JSON.stringify(record) + '\n';
    return new Promise((resolve, reject) => {
      this.queue.push({ line, resolve, reject });
      if (!this.flushing) void this.flush();
    });
  }

  private async flush(): Promise<void> {
    this.flushing = true;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0);
      const data = Buffer.from(batch.map((p) => p.line).join(''), 'utf8');
      try {
        await this.writeFully(data);
        await this.handle.datasync();
        this.size += data.length;
        batch.forEach((p) => p.resolve());
      } catch (err) {
        await this.recoverFromWriteFailure(err as Error);
        // Everything queued behind a failed batch may depend on it: fail it too.
        const failed = [...batch, ...this.queue.splice(0)];
        const error = new LogWriteError(`Write to the embedded store failed: ${(err as Error).message}`);
        failed.forEach((p) => p.reject(error));
      }
    }
    this.flushing = false;
  }

  /**
   * Writes all of data at the end of the log. A write can be cut short (a full
   * disk, a file-size limit): write the rest, and if no progress can be made,
   * fail, so a commit is never acknowledged with only part of it on disk.
   */
  private async writeFully(data: Buffer): Promise<void> {
    let written = 0;
    while (written < data.length) {
      const { bytesWritten } = await this.handle.write(data, written, data.length - written, this.size + written);
      if (bytesWritten <= 0) throw new Error('the disk accepted no more bytes');
      written += bytesWritten;
    }
  }

  /** Cuts a partly written batch off, so the log stays a sequence of whole commits. */
  private async recoverFromWriteFailure(err: Error): Promise<void> {
    try {
      await this.handle.truncate(this.size);
      await this.handle.datasync();
    } catch {
      this.broken = err;
    }
  }

  /** Replaces snapshot + log by a new snapshot of these versions (every version of every resource). */
  async compact(allVersions: Iterable<StoredVersion>): Promise<void> {
    const tmp = path.join(this.dir, SNAPSHOT + '.tmp');
    const out = await fsp.open(tmp, 'w');
    try {
      let chunk: string[] = [];
      for (const version of allVersions) {
        chunk.push(JSON.stringify(version));
        if (chunk.length >= 1000) {
          await out.write(chunk.join('\n') + '\n');
          chunk = [];
        }
      }
      if (chunk.length > 0) await out.write(chunk.join('\n') + '\n');
      await out.sync();
    } finally {
      await out.close();
    }
    await fsp.rename(tmp, path.join(this.dir, SNAPSHOT));
    await syncDirectory(this.dir);
    // A crash before this truncate replays commits the snapshot already has; replay is idempotent.
    await this.handle.truncate(0);
    await this.handle.datasync();
    this.size = 0;
  }

  get bytes(): number {
    return this.size;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}

async function syncDirectory(dir: string): Promise<void> {
  const handle = await fsp.open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
