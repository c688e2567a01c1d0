// Runs one kind of background job (job.ts) in this process, sharing the work
// with every other process on the store:
// - a job is created holding a lease; the process running it renews the lease
//   with every checkpoint and, between checkpoints, every third of a lease;
// - every save is a compare-and-set on the record's revision, so a process
//   whose save loses has lost the job (taken over, restarted or cancelled) and
//   stops at once;
// - a sweep, run by every process, takes over jobs whose lease ran out (their
//   process died) and resumes them from their last checkpoint, and removes
//   finished jobs once they expire, with what they keep beside their record.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { OperationOutcomeError } from '../../base/outcomes';
import type { StoragePort } from '../port';
import { isUnfinished, parseJob, serializeJob, type Job, type JobStatus } from './job';

export interface JobSettings {
  /** How long a process holds a job without renewing before another may take it over. */
  leaseSeconds: number;
  /** How long a finished job is kept before it expires; kept until removed when absent. */
  retentionSeconds?: number;
}

export interface JobDefinition<S> {
  kind: string;
  /** Runs the job, or resumes it from run.job.state; saves its place through run.checkpoint. */
  run(run: JobRun<S>): Promise<void>;
  /** Removes what the job keeps beside its record (input, output files): on expiry, and when it is cancelled. */
  removeFiles?(job: Job<S>): Promise<void>;
  /** Told once the job is saved completed, in the process that completed it. */
  completed?(job: Job<S>): void | Promise<void>;
  /** What the client is told of a failure; the error itself goes to the log. */
  failureMessage?(err: unknown): string;
}

/** This process no longer holds the job: another saved it first, or its record was removed (cancelled). */
export class LeaseLost extends Error {}
/** This process is stopping: the job keeps its last checkpoint, and its lease is given up for the next process. */
export class JobStopped extends Error {}

const iso = (ms: number): string => new Date(ms).toISOString();

function defaultFailureMessage(err: unknown): string {
  return err instanceof OperationOutcomeError ? (err.outcome.issue?.[0]?.diagnostics ?? 'The job failed') : 'The job failed on the server; see the server log';
}

/** A job as it runs in this process: its saved record, and its live progress. */
export class JobRun<S> {
  private saved: Job<S>;
  private processed: number;
  private total: number | undefined;
  /** Saves go one at a time, each on the revision the one before it left. */
  private saving: Promise<unknown> = Promise.resolve();
  private lost = false;

  constructor(
    private readonly queue: JobQueue<S>,
    job: Job<S>
  ) {
    this.saved = job;
    this.processed = job.processed;
    this.total = job.total;
  }

  /** The job as last saved, with the progress since; its state is a copy, the runner's to change. */
  get job(): Job<S> {
    return { ...this.saved, state: structuredClone(this.saved.state), processed: this.processed, total: this.total };
  }

  get stopping(): boolean {
    return this.queue.closing;
  }

  /** Progress shown to status reads in this process at once, and saved with the next checkpoint. */
  progress(processed: number, total?: number): void {
    this.processed = processed;
    if (total !== undefined) this.total = total;
  }

  /**
   * Saves the job's place (a copy of state, taken now) and its progress,
   * renewing the lease. Throws LeaseLost when the job is no longer this
   * process's, and JobStopped, once the place is saved, when the process is stopping.
   */
  async checkpoint(change: { state?: S; processed?: number; total?: number } = {}): Promise<void> {
    if (change.processed !== undefined || change.total !== undefined) this.progress(change.processed ?? this.processed, change.total);
    const state = change.state === undefined ? this.saved.state : structuredClone(change.state);
    const { processed, total } = this;
    const stopping = this.stopping;
    await this.save((job) => ({ ...job, state, processed, total, leaseUntil: stopping ? iso(Date.now()) : this.queue.leaseEnd() }));
    if (stopping) throw new JobStopped();
  }

  /** Renews the lease alone, keeping the last checkpoint (a job between checkpoints). */
  renew(): Promise<void> {
    // A stopping job has given its lease up (renewing would keep the next process waiting); a finished one holds none.
    if (this.stopping) return Promise.resolve();
    return this.save((job) => (job.status === 'in-progress' ? { ...job, leaseUntil: this.queue.leaseEnd() } : job));
  }

  /** Saves the job finished: no lease, and an expiry when finished jobs expire. */
  finish(status: Exclude<JobStatus, 'in-progress'>, error?: string): Promise<void> {
    const { processed, total } = this;
    return this.save((job) => ({
      ...job,
      status,
      processed,
      total,
      leaseOwner: undefined,
      leaseUntil: undefined,
      expires: this.queue.expiry(),
      ...(error === undefined ? {} : { error }),
    }));
  }

  private save(change: (job: Job<S>) => Job<S>): Promise<void> {
    const next = this.saving.then(async () => {
      if (this.lost) throw new LeaseLost();
      const job = change(this.saved);
      if (!(await this.queue.store.writeJob(job.kind, job.id, serializeJob(job), this.saved.revision))) {
        this.lost = true;
        throw new LeaseLost();
      }
      this.saved = { ...job, revision: this.saved.revision + 1 };
    });
    this.saving = next.catch(() => undefined);
    return next;
  }
}

export class JobQueue<S> {
  /** This process, as lease owner. */
  readonly worker = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  private readonly running = new Map<string, { run: JobRun<S>; done: Promise<void> }>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping: Promise<void> | undefined;
  private firstSweep = true;
  closing = false;

  constructor(
    readonly store: StoragePort,
    private readonly definition: JobDefinition<S>,
    private readonly settings: JobSettings,
    private readonly logger: Logger
  ) {}

  get kind(): string {
    return this.definition.kind;
  }

  leaseEnd(): string {
    return iso(Date.now() + this.settings.leaseSeconds * 1000);
  }

  expiry(): string | undefined {
    return this.settings.retentionSeconds === undefined ? undefined : iso(Date.now() + this.settings.retentionSeconds * 1000);
  }

  /** Takes over abandoned jobs and removes expired ones now, then every third of a lease (at most every 10 s). */
  async start(): Promise<void> {
    await this.sweep();
    const every = Math.max(250, Math.min(10_000, (this.settings.leaseSeconds * 1000) / 3));
    this.timer = setInterval(() => void this.sweep(), every);
    this.timer.unref();
  }

  /** A new job, held by this process and started here; false when a job of that id exists already. */
  async create(id: string, state: S, total?: number): Promise<Job<S> | undefined> {
    const job = this.fresh(id, state, total);
    if (!(await this.store.writeJob(this.kind, id, serializeJob(job), 0))) return undefined;
    const stored = { ...job, revision: 1 };
    void this.execute(stored);
    return stored;
  }

  /** Stores a job that finished elsewhere (a record carried over from an earlier release); false when one exists already. */
  async recordFinished(id: string, state: S, status: Exclude<JobStatus, 'in-progress'>, processed: number, total: number): Promise<boolean> {
    const job: Job<S> = { ...this.fresh(id, state, total), status, processed, leaseOwner: undefined, leaseUntil: undefined, expires: this.expiry() };
    return this.store.writeJob(this.kind, id, serializeJob(job), 0);
  }

  /**
   * Starts the job again from the beginning, whatever its record says: a run
   * elsewhere (or here) loses its lease at its next save. Resolves once the
   * new record is stored, with the run's end in `done`.
   */
  async restart(id: string, state: S, total?: number): Promise<{ done: Promise<void> }> {
    const job = this.fresh(id, state, total);
    for (;;) {
      const revision = (await this.store.readJob(this.kind, id))?.revision ?? 0;
      if (await this.store.writeJob(this.kind, id, serializeJob(job), revision)) {
        job.revision = revision + 1;
        break;
      }
    }
    const previous = this.running.get(id)?.done;
    const done = (async () => {
      await previous;
      await this.execute(job);
    })();
    return { done };
  }

  /** The job as stored, with its live progress where this process runs it (and still holds it: not cancelled, not taken over). */
  async read(id: string): Promise<Job<S> | undefined> {
    const record = await this.store.readJob(this.kind, id);
    if (!record) return undefined;
    const here = this.running.get(id)?.run.job;
    return here?.revision === record.revision ? here : parseJob<S>(record.kind, record.id, record.revision, record.data);
  }

  /** Removes the job and what it keeps; a process running it stops at its next save. */
  async cancel(job: Job<S>): Promise<void> {
    await this.store.deleteJob(this.kind, job.id);
    await this.definition.removeFiles?.(job);
  }

  /** Waits for the jobs running in this process (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Stops taking work; running jobs save their place and give up their lease, for another process or the next start. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.timer) clearInterval(this.timer);
    await this.sweeping;
    await this.idle();
  }

  private fresh(id: string, state: S, total?: number): Job<S> {
    const running = !this.closing;
    return {
      kind: this.kind,
      id,
      status: 'in-progress',
      processed: 0,
      total,
      state,
      // A closing process creates the job for the next one to take up.
      ...(running ? { leaseOwner: this.worker, leaseUntil: this.leaseEnd() } : {}),
      created: iso(Date.now()),
      revision: 0,
    };
  }

  private sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce()
      .catch((err: unknown) => this.logger.warn({ err, kind: this.kind }, 'job sweep failed; it runs again'))
      .finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  private async sweepOnce(): Promise<void> {
    if (this.closing) return;
    // The embedded store allows one process per data directory, so at start any lease is a dead process's.
    const takeAnyLease = this.firstSweep && this.store.kind === 'embedded';
    this.firstSweep = false;
    const now = iso(Date.now());
    for (const record of await this.store.listJobs(this.kind)) {
      if (this.running.has(record.id)) continue;
      const job = parseJob<S>(record.kind, record.id, record.revision, record.data);
      if (isUnfinished(job)) {
        if (takeAnyLease || !job.leaseUntil || job.leaseUntil < now) await this.takeOver(job);
      } else if (job.expires && job.expires < now) {
        if (await this.store.deleteJob(this.kind, job.id, job.revision)) {
          await this.definition.removeFiles?.(job);
          this.logger.info({ kind: this.kind, job: job.id }, 'job expired and removed');
        }
      }
    }
  }

  /** Takes the lease of a job whose process died (the compare-and-set decides between processes), and resumes it here. */
  private async takeOver(job: Job<S>): Promise<void> {
    if (this.closing) return;
    const claimed: Job<S> = { ...job, leaseOwner: this.worker, leaseUntil: this.leaseEnd() };
    if (!(await this.store.writeJob(this.kind, job.id, serializeJob(claimed), job.revision))) return;
    this.logger.info({ kind: this.kind, job: job.id, from: job.leaseOwner }, 'took over a job whose lease ran out');
    void this.execute({ ...claimed, revision: job.revision + 1 });
  }

  private execute(job: Job<S>): Promise<void> {
    const run = new JobRun(this, job);
    const heartbeat = setInterval(
      () => void run.renew().catch((err: unknown) => err instanceof LeaseLost || this.logger.warn({ err, job: job.id }, 'could not renew a job lease')),
      (this.settings.leaseSeconds * 1000) / 3
    );
    heartbeat.unref();
    const done = this.runToEnd(run).finally(() => {
      clearInterval(heartbeat);
      if (this.running.get(job.id)?.run === run) this.running.delete(job.id);
    });
    this.running.set(job.id, { run, done });
    return done;
  }

  private async runToEnd(run: JobRun<S>): Promise<void> {
    const { id } = run.job;
    try {
      if (this.closing) throw new JobStopped();
      await this.definition.run(run);
      await run.finish('completed');
    } catch (err) {
      if (err instanceof JobStopped) return;
      if (err instanceof LeaseLost) return this.lost(run.job);
      this.logger.error({ err, kind: this.kind, job: id }, 'job failed');
      await run
        .finish('failed', (this.definition.failureMessage ?? defaultFailureMessage)(err))
        .catch((e: unknown) => e instanceof LeaseLost || this.logger.error({ err: e, job: id }, 'could not record a failed job'));
      return;
    }
    this.logger.info({ kind: this.kind, job: id, processed: run.job.processed }, 'job completed');
    // The job stands completed whatever its follow-up does.
    await (async () => this.definition.completed?.(run.job))().catch((err: unknown) =>
      this.logger.error({ err, kind: this.kind, job: id }, 'could not act on a completed job')
    );
  }

  /** Our save lost: another process holds the job, or it was cancelled (its record removed, and so what it kept). */
  private async lost(job: Job<S>): Promise<void> {
    this.logger.info({ kind: this.kind, job: job.id }, 'another process holds this job, or it was cancelled');
    if (!(await this.store.readJob(this.kind, job.id))) await this.definition.removeFiles?.(job);
  }
}
