// Runs bulk export jobs (export.html). A job's state lives in the store
// (job.ts), so:
// - any server process answers its status and serves its files;
// - the process running it holds a lease that it renews with every page; when
//   that process dies, another one (or the same one restarted) takes the job
//   over once the lease has run out and resumes after the last page saved;
// - output is written page by page as chunks through the storage port and read
//   back chunk by chunk, so memory holds one page whatever the export's size;
// - completed jobs expire: their files and records are removed by a sweep
//   that every process runs.
import type { Basic } from '@medplum/fhirtypes';
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { OperationOutcomeError } from '../base/outcomes';
import type { StoragePort } from '../store/port';
import type { Repository } from '../store/repository';
import { and, type Filter } from '../store/search/filter';
import { CommissionerView } from './commissioner-view';
import { compileScope } from './export-scope';
import { basicIdOf, fromBasic, JOB_CODE, JOB_CODE_SYSTEM, toBasic, type ExportFile, type ExportJob, type ExportParameters } from './job';
import type { Pseudonyms } from './pseudonym';

/**
 * A job starts reading this long after its transaction time, or the store's
 * settle horizon if longer (store/settle.ts), so that every write stamped
 * before that time has been committed: nothing falls between one export and
 * the next _since.
 */
const SETTLE_MS = 1000;

export interface ExportSettings {
  pageSize: number;
  leaseSeconds: number;
  retentionSeconds: number;
}

/** What a status request learns about a job. */
export type JobView = { job: ExportJob; running: boolean };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function requesterKey(identity: string): string {
  return createHash('sha256').update(identity).digest('hex');
}

/** The job record changed under us (cancelled, or taken over): a lost optimistic lock. */
function isConflict(err: unknown): boolean {
  return err instanceof OperationOutcomeError && ['conflict', 'precondition-failed'].includes(err.outcome.id ?? '');
}

export class ExportService {
  /** This process, as lease owner. */
  private readonly worker = randomUUID();
  private readonly running = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private closing = false;
  private firstSweep = true;

  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort,
    private readonly pseudonyms: Pseudonyms,
    private readonly settings: ExportSettings,
    private readonly logger: Logger
  ) {}

  /** Resumes unfinished jobs, and from then on sweeps for orphaned and expired ones. */
  async start(): Promise<void> {
    await this.sweep();
    const every = Math.max(250, Math.min(10_000, (this.settings.leaseSeconds * 1000) / 3));
    this.timer = setInterval(() => void this.sweep().catch((err: unknown) => this.logger.warn({ err }, 'export sweep failed')), every);
    this.timer.unref();
  }

  async kickOff(parameters: ExportParameters, request: string, requester: string): Promise<ExportJob> {
    const job: ExportJob = {
      id: randomUUID(),
      status: 'accepted',
      request,
      transactionTime: new Date().toISOString(),
      requester: requesterKey(requester),
      parameters,
      progress: { typeIndex: 0, files: [], exported: 0 },
    };
    await this.save(job);
    void this.claim(job);
    return job;
  }

  async read(jobId: string): Promise<ExportJob | undefined> {
    const latest = await this.repo.readLatest('Basic', basicIdOf(jobId));
    if (!latest || latest.deleted) return undefined;
    return fromBasic(latest.resource as Basic);
  }

  /** DELETE on the status URL: the record goes at once; the process running the job sees that at its next save and stops. */
  async cancel(job: ExportJob): Promise<void> {
    // The running job saves its progress often; a delete that races a save is simply tried again.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.repo.delete('Basic', basicIdOf(job.id));
        break;
      } catch (err) {
        if (!isConflict(err) || attempt >= 10) throw err;
        await sleep(10 * attempt);
      }
    }
    await this.store.deleteExportFiles(job.id);
  }

  /** The text of one output file, chunk by chunk. */
  async *chunks(job: ExportJob, file: ExportFile): AsyncGenerator<string> {
    for (let seq = 0; seq < file.chunks; seq++) {
      const text = await this.store.readExportChunk(job.id, file.type, seq);
      if (text === undefined) throw new Error(`Export ${job.id} lost chunk ${seq} of ${file.type}`);
      yield text;
    }
  }

  /** Stops taking work; running jobs save their place and give up their lease, for another process or the next start. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await Promise.allSettled([...this.running.values()]);
  }

  private async save(job: ExportJob): Promise<void> {
    const result = await this.repo.update(toBasic(job), job.versionId ? { ifMatch: job.versionId, lockOnly: true } : {});
    job.versionId = result.version.versionId;
  }

  private async sweep(): Promise<void> {
    if (this.closing) return;
    // The embedded store allows one process per data directory, so at start any lease is a dead process's.
    const takeAnyLease = this.firstSweep && this.store.kind === 'embedded';
    this.firstSweep = false;
    const now = new Date().toISOString();
    const records = await this.repo.find('Basic', { code: [`${JOB_CODE_SYSTEM}|${JOB_CODE}`] }, 1000);
    for (const record of records) {
      const job = fromBasic(record.resource as Basic);
      if (!job || this.running.has(job.id)) continue;
      if (job.status === 'accepted' || job.status === 'in-progress') {
        if (takeAnyLease || !job.leaseUntil || job.leaseUntil < now) void this.claim(job);
      } else if (job.expires && job.expires < now) {
        await this.expire(job);
      }
    }
  }

  private async expire(job: ExportJob): Promise<void> {
    try {
      await this.repo.delete('Basic', basicIdOf(job.id), { ifMatch: job.versionId });
    } catch (err) {
      if (isConflict(err)) return; // changed meanwhile: the next sweep looks again
      throw err;
    }
    await this.store.deleteExportFiles(job.id);
    this.logger.info({ job: job.id }, 'export expired and removed');
  }

  /** Takes the lease (an optimistic-locked save decides between processes), then runs the job here. */
  private async claim(job: ExportJob): Promise<void> {
    if (this.closing || this.running.has(job.id)) return;
    const run = (async () => {
      try {
        job.status = 'in-progress';
        job.leaseOwner = this.worker;
        job.leaseUntil = this.leaseEnd();
        await this.save(job);
      } catch (err) {
        if (!isConflict(err)) this.logger.warn({ err, job: job.id }, 'could not claim export job');
        return;
      }
      await this.run(job);
    })();
    this.running.set(job.id, run);
    try {
      await run;
    } finally {
      this.running.delete(job.id);
    }
  }

  private leaseEnd(): string {
    return new Date(Date.now() + this.settings.leaseSeconds * 1000).toISOString();
  }

  private async run(job: ExportJob): Promise<void> {
    try {
      await sleep(Math.max(0, Date.parse(job.transactionTime) + Math.max(SETTLE_MS, this.repo.settleMs) - Date.now()));
      const scope = await compileScope(this.repo, job);
      if (job.progress.total === undefined) {
        let total = 0;
        for (const [type, filter] of scope) total += await this.store.count(type, filter);
        job.progress.total = total;
      }
      const view = job.parameters.commissioner
        ? new CommissionerView(await this.pseudonyms.forCommissioner(job.parameters.commissioner), job.transactionTime)
        : undefined;
      const types = job.parameters.types;
      for (; job.progress.typeIndex < types.length; job.progress.typeIndex++, job.progress.after = undefined) {
        const type = types[job.progress.typeIndex];
        const done = await this.exportType(job, type, scope.get(type) as Filter, view);
        if (!done) return;
      }
      job.status = 'completed';
      job.expires = new Date(Date.now() + this.settings.retentionSeconds * 1000).toISOString();
      job.leaseOwner = job.leaseUntil = undefined;
      await this.save(job);
      this.logger.info({ job: job.id, exported: job.progress.exported }, 'export completed');
    } catch (err) {
      if (isConflict(err)) return this.lostLease(job);
      this.logger.error({ err, job: job.id }, 'export failed');
      await this.fail(job, err).catch((e: unknown) => this.logger.error({ err: e, job: job.id }, 'could not record a failed export'));
    }
  }

  /** Pages through one type by id, writing each page as a chunk; false when the job must stop here. */
  private async exportType(job: ExportJob, type: string, filter: Filter, view: CommissionerView | undefined): Promise<boolean> {
    const { pageSize } = this.settings;
    for (;;) {
      if (this.closing) {
        // Shutting down: give the job up at once for whoever starts next.
        job.leaseUntil = new Date().toISOString();
        await this.save(job);
        return false;
      }
      const after = job.progress.after;
      const rows = await this.store.search({
        resourceType: type,
        filter: after ? and([filter, { kind: 'cmp', field: 'id', op: 'gt', value: after }]) : filter,
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: pageSize,
      });
      if (rows.length === 0) return true;
      let text = '';
      for (const row of rows) text += JSON.stringify(view ? view.apply(row.resource as never) : row.resource) + '\n';
      let file = job.progress.files.find((f) => f.type === type);
      if (!file) {
        file = { type, count: 0, chunks: 0 };
        job.progress.files.push(file);
      }
      // The chunk number comes from the saved progress: a page redone after a crash overwrites its own chunk.
      await this.store.writeExportChunk(job.id, type, file.chunks, text);
      file.chunks++;
      file.count += rows.length;
      job.progress.exported += rows.length;
      job.progress.after = rows[rows.length - 1].id;
      job.leaseUntil = this.leaseEnd();
      await this.save(job);
      if (rows.length < pageSize) return true;
    }
  }

  /** Our save lost: the job was cancelled (its record deleted) or another process took it over. */
  private async lostLease(job: ExportJob): Promise<void> {
    const current = await this.read(job.id);
    if (!current) await this.store.deleteExportFiles(job.id);
  }

  private async fail(job: ExportJob, err: unknown): Promise<void> {
    const current = await this.read(job.id);
    if (!current) return;
    current.status = 'failed';
    // Only what the client may see: details go to the log.
    current.error = err instanceof OperationOutcomeError ? (err.outcome.issue?.[0]?.diagnostics ?? 'Export failed') : 'The export failed on the server';
    current.expires = new Date(Date.now() + this.settings.retentionSeconds * 1000).toISOString();
    current.leaseOwner = current.leaseUntil = undefined;
    await this.save(current);
    await this.store.deleteExportFiles(job.id);
  }
}
