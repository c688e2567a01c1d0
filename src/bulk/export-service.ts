// Runs bulk export jobs (export.html) as jobs of the store's one job model
// (store/jobs/), so:
// - any server process answers a job's status and serves its files;
// - the process running it holds a lease that it renews with every page; when
//   that process dies, another one (or the same one restarted) takes the job
//   over once the lease has run out and resumes after the last page saved;
// - output is written page by page as chunks through the storage port and read
//   back chunk by chunk, so memory holds one page whatever the export's size;
// - finished jobs expire: their files and records are removed by a sweep
//   that every process runs.
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { OperationOutcomeError } from '../base/outcomes';
import { JobQueue, type JobRun } from '../store/jobs/queue';
import type { StoragePort } from '../store/port';
import type { Repository } from '../store/repository';
import { and, type Filter } from '../store/search/filter';
import { CommissionerView } from './commissioner-view';
import { compileScope } from './export-scope';
import { JOB_KIND, type ExportFile, type ExportJob, type ExportParameters, type ExportState } from './job';
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function requesterKey(identity: string): string {
  return createHash('sha256').update(identity).digest('hex');
}

export class ExportService {
  private readonly jobs: JobQueue<ExportState>;

  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort,
    private readonly pseudonyms: Pseudonyms,
    private readonly settings: ExportSettings,
    logger: Logger
  ) {
    this.jobs = new JobQueue<ExportState>(
      store,
      {
        kind: JOB_KIND,
        run: (run) => this.run(run),
        removeFiles: (job) => store.deleteExportFiles(job.id),
        // Only what the client may see: details go to the log.
        failureMessage: (err) =>
          err instanceof OperationOutcomeError ? (err.outcome.issue?.[0]?.diagnostics ?? 'Export failed') : 'The export failed on the server',
      },
      { leaseSeconds: settings.leaseSeconds, retentionSeconds: settings.retentionSeconds },
      logger
    );
  }

  /** Resumes unfinished jobs, and from then on sweeps for orphaned and expired ones. */
  start(): Promise<void> {
    return this.jobs.start();
  }

  async kickOff(parameters: ExportParameters, request: string, requester: string): Promise<ExportJob> {
    const state: ExportState = {
      request,
      transactionTime: new Date().toISOString(),
      requester: requesterKey(requester),
      parameters,
      typeIndex: 0,
      files: [],
    };
    const job = await this.jobs.create(randomUUID(), state);
    if (!job) throw new Error('A new export job id was taken');
    return job;
  }

  read(jobId: string): Promise<ExportJob | undefined> {
    return this.jobs.read(jobId);
  }

  /** DELETE on the status URL: the record and files go at once; the process running the job sees that at its next save and stops. */
  cancel(job: ExportJob): Promise<void> {
    return this.jobs.cancel(job);
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
  close(): Promise<void> {
    return this.jobs.close();
  }

  private async run(run: JobRun<ExportState>): Promise<void> {
    const { state, total } = run.job;
    await sleep(Math.max(0, Date.parse(state.transactionTime) + Math.max(SETTLE_MS, this.repo.settleMs) - Date.now()));
    const scope = await compileScope(this.repo, state);
    if (total === undefined) {
      let counted = 0;
      for (const [type, filter] of scope) counted += await this.store.count(type, filter);
      await run.checkpoint({ total: counted });
    }
    const view = state.parameters.commissioner
      ? new CommissionerView(await this.pseudonyms.forCommissioner(state.parameters.commissioner), state.transactionTime)
      : undefined;
    const types = state.parameters.types;
    for (; state.typeIndex < types.length; state.typeIndex++, state.after = undefined) {
      const type = types[state.typeIndex];
      await this.exportType(run, state, type, scope.get(type) as Filter, view);
    }
    await run.checkpoint({ state });
  }

  /** Pages through one type by id, writing each page as a chunk and saving the place after it. */
  private async exportType(run: JobRun<ExportState>, state: ExportState, type: string, filter: Filter, view: CommissionerView | undefined): Promise<void> {
    const { pageSize } = this.settings;
    for (;;) {
      const after = state.after;
      const rows = await this.store.search({
        resourceType: type,
        filter: after ? and([filter, { kind: 'cmp', field: 'id', op: 'gt', value: after }]) : filter,
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: pageSize,
      });
      if (rows.length === 0) return;
      let text = '';
      for (const row of rows) text += JSON.stringify(view ? view.apply(row.resource as never) : row.resource) + '\n';
      let file = state.files.find((f) => f.type === type);
      if (!file) {
        file = { type, count: 0, chunks: 0 };
        state.files.push(file);
      }
      // The chunk number comes from the saved state: a page redone after a crash overwrites its own chunk.
      await this.store.writeExportChunk(run.job.id, type, file.chunks, text);
      file.chunks++;
      file.count += rows.length;
      state.after = rows[rows.length - 1].id;
      await run.checkpoint({ state, processed: run.job.processed + rows.length });
      if (rows.length < pageSize) return;
    }
  }
}
