// A directory import running in the background ($import-directory with
// Prefer: respond-async), as a job of the store's one job model
// (store/jobs/): its input is kept in the store beside its record
// (stored-input.ts) and its place saved after every batch of services, so
// when the process running it dies another takes it over once the lease has
// run out and carries on from the last batch saved. Any process answers a
// status poll; the one running the job adds the services done since the
// last batch. Finished jobs expire, with their input.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { JobQueue, type JobRun } from '../store/jobs/queue';
import type { JobStatus } from '../store/jobs/job';
import type { StoragePort } from '../store/port';
import type { Repository } from '../store/repository';
import { importDirectory, type ImportCounts, type ImportOptions, type ImportSummary } from './import';
import type { DirectoryContent, Rejection } from './read';
import { loadInput, removeInput, storeInput } from './stored-input';

const JOB_KIND = 'directory-import';
/** Rejection reasons kept in the job record; the counts stay exact beyond it. */
const MAX_STORED_REJECTIONS = 1000;

export interface DirectoryImportSettings {
  leaseSeconds: number;
  /** How long a finished job's summary is kept. */
  retentionSeconds: number;
  /** Services imported between saved places. */
  batchSize: number;
}

type JobOptions = Pick<ImportOptions, 'deactivateMissing' | 'dryRun' | 'minAcceptedShare'>;

/** The import's own state in its job record. */
interface ImportState {
  options: JobOptions;
  /** Services before this one (in input order) are done. */
  next: number;
  counts: ImportCounts;
  rejections: Rejection[];
  summary?: ImportSummary;
}

/** What a status poll learns. */
export interface ImportJobState {
  status: JobStatus;
  counts: ImportCounts;
  summary?: ImportSummary;
  error?: string;
}

const NO_COUNTS: ImportCounts = { total: 0, processed: 0, created: 0, updated: 0, unchanged: 0, deactivated: 0, rejected: 0 };

export class DirectoryImports {
  private readonly jobs: JobQueue<ImportState>;
  /** Counts of the jobs running here, fresher than the last batch saved. */
  private readonly live = new Map<string, ImportCounts>();

  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort,
    private readonly settings: DirectoryImportSettings,
    logger: Logger
  ) {
    this.jobs = new JobQueue<ImportState>(
      store,
      {
        kind: JOB_KIND,
        run: (run) => this.run(run),
        removeFiles: (job) => removeInput(store, job.id),
        failureMessage: () => 'The import stopped on a server error; see the server log. Importing again is safe.',
      },
      { leaseSeconds: settings.leaseSeconds, retentionSeconds: settings.retentionSeconds },
      logger
    );
  }

  /** Takes over imports whose process died, and from then on sweeps for those and for expired ones. */
  start(): Promise<void> {
    return this.jobs.start();
  }

  /** Keeps the input in the store and starts the import in the background; returns the job id at once. */
  async kickOff(input: DirectoryContent, options: JobOptions): Promise<string> {
    const id = randomUUID();
    await storeInput(this.store, id, input);
    const state: ImportState = { options, next: 0, counts: { ...NO_COUNTS }, rejections: [] };
    if (!(await this.jobs.create(id, state))) throw new Error('A new directory import job id was taken');
    return id;
  }

  /** The job's state, or undefined when unknown (or expired). */
  async state(id: string): Promise<ImportJobState | undefined> {
    const job = await this.jobs.read(id);
    if (!job) return undefined;
    const counts = (job.status === 'in-progress' ? this.live.get(id) : undefined) ?? job.state.summary ?? job.state.counts;
    return { status: job.status, counts: { ...counts }, summary: job.state.summary, error: job.error };
  }

  idle(): Promise<void> {
    return this.jobs.idle();
  }

  close(): Promise<void> {
    return this.jobs.close();
  }

  private async run(run: JobRun<ImportState>): Promise<void> {
    const { id, state } = run.job;
    const input = await loadInput(this.store, id);
    // A dry run writes nothing, so nothing of an earlier run is there to build on: it starts again.
    const resume = state.next > 0 && !state.options.dryRun ? { next: state.next, counts: state.counts, rejections: state.rejections } : undefined;
    try {
      const summary = await importDirectory(this.repo, input, {
        ...state.options,
        batchSize: this.settings.batchSize,
        resume,
        onProgress: (counts) => {
          this.live.set(id, counts);
          run.progress(counts.processed, counts.total);
        },
        onBatch: ({ next, counts, rejections }) =>
          run.checkpoint({
            state: { ...state, next, counts, rejections: rejections.slice(0, MAX_STORED_REJECTIONS) },
            processed: counts.processed,
            total: counts.total,
          }),
      });
      await run.checkpoint({
        state: { ...state, counts: summary, rejections: [], summary: { ...summary, rejections: summary.rejections.slice(0, MAX_STORED_REJECTIONS) } },
        processed: summary.processed,
        total: summary.total,
      });
    } finally {
      this.live.delete(id);
    }
  }
}
