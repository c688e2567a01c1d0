// SearchParameters added at runtime (search.html#custom), shared by every
// server process on one store.
//
// - A SearchParameter written through the API joins the index of the process
//   that wrote it at once; every other process finds it in the store within
//   the refresh interval (SEARCH_PARAMETER_REFRESH_SECONDS, 5 s by default),
//   so after that no process writes a resource without its index field.
// - A background job recomputes the index fields of the resources already
//   stored: a job of the store's one job model (jobs/), keyed by the
//   SearchParameter's id. One process runs it, renews its lease and saves its
//   place after every batch; when that process dies another takes it over
//   once the lease has run out and resumes after the last batch saved.
//   Completed jobs are kept (they say the parameter is searchable).
// - The parameter is searchable only when the job has completed, in every
//   process. Before completing, the job waits until every process must have
//   learned the parameter (its write time plus two refresh intervals) and then
//   reindexes once more what was written since the parameter was: writes made
//   meanwhile by a process that did not know it yet are not missed.
import { indexSearchParameterBundle } from '@medplum/core';
import type { Basic, SearchParameter } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { getBaseSearchParameters } from '../base/definitions';
import { PROJECT_BASE } from '../base/project';
import { clearIndexedParameters, clearPending, markPending } from './indexer';
import { reindexVersions } from './resolved-index';
import { JobQueue, JobStopped, type JobRun } from './jobs/queue';
import type { Job } from './jobs/job';
import type { StoragePort } from './port';
import type { Repository } from './repository';
import type { Filter } from './search/filter';

const JOB_KIND = 'reindex';
/** Earlier releases kept a reindex job as a Basic resource with this extension. */
const LEGACY_JOB_URL = `${PROJECT_BASE}/StructureDefinition/reindex-job`;

export interface ReindexSettings {
  /** How often each process reads the store's SearchParameters and reindex jobs. */
  refreshSeconds: number;
  /** How long a job's lease lasts without renewal before another process may take the job over. */
  leaseSeconds: number;
  /** Resources reindexed per batch (and per saved place). */
  batchSize: number;
}

export const DEFAULT_REINDEX_SETTINGS: ReindexSettings = { refreshSeconds: 5, leaseSeconds: 30, batchSize: 200 };

export interface ReindexStatus {
  status: 'in-progress' | 'completed' | 'failed';
  processed: number;
  total: number;
  searchParameter: string;
}

/** The reindex's own state in its job record: where to resume. */
interface ReindexState {
  searchParameter: string;
  /** full: every resource, by id; catch-up: what was written since the parameter was. */
  phase: 'full' | 'catch-up';
  /** Index into the parameter's base types of the type being reindexed, and the last id done there. */
  typeIndex: number;
  after?: string;
}

const initialState = (sp: SearchParameter): ReindexState => ({ searchParameter: sp.url as string, phase: 'full', typeIndex: 0 });

const statusOf = (job: Job<ReindexState>): ReindexStatus => ({
  status: job.status,
  processed: job.processed,
  total: job.total ?? 0,
  searchParameter: job.state.searchParameter,
});

const BASE_URLS = new Set<string>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SearchParameterService {
  private readonly jobs: JobQueue<ReindexState>;
  /** SearchParameters this process indexes by, with the version it registered. */
  private readonly known = new Map<string, string>();
  private readonly pendingIds = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort,
    private readonly baseUrl: string,
    private readonly logger: Logger,
    private readonly onChange: () => void,
    private readonly settings: ReindexSettings = DEFAULT_REINDEX_SETTINGS,
    /** SearchParameters shipped with the release: every process indexes by them from its start. */
    private readonly shipped: ReadonlySet<string> = new Set()
  ) {
    if (BASE_URLS.size === 0) getBaseSearchParameters().forEach((sp) => sp.url && BASE_URLS.add(sp.url));
    this.jobs = new JobQueue<ReindexState>(
      store,
      {
        kind: JOB_KIND,
        run: (run) => this.run(run),
        completed: (job) => this.completed(job),
      },
      // No retention: a completed job is what says, to every process, that its parameter is searchable.
      { leaseSeconds: settings.leaseSeconds },
      logger
    );
  }

  /**
   * At start: stored custom SearchParameters join the index, unfinished jobs
   * resume (the job sweep); then the store is read again every refresh interval.
   */
  async start(): Promise<void> {
    await this.refresh();
    await this.jobs.start();
    this.timer = setInterval(() => void this.refreshOnce(), this.settings.refreshSeconds * 1000);
    this.timer.unref();
  }

  private refreshOnce(): Promise<void> {
    this.refreshing ??= this.refresh()
      .catch((err: unknown) => this.logger.warn({ err }, 'could not read SearchParameters from the store; trying again later'))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Registers SearchParameters other processes wrote, marks what is searchable, and starts jobs no process started. */
  private async refresh(): Promise<void> {
    if (this.stopped) return;
    for (const match of await this.repo.find('SearchParameter', { status: ['active'] }, 1000)) {
      const sp = match.resource as SearchParameter;
      // R4's own and the release's are indexed by every process from its start (conformance/registry.ts).
      if (!sp.url || BASE_URLS.has(sp.url) || this.shipped.has(sp.url)) continue;
      const isNew = this.known.get(sp.id as string) !== match.versionId;
      if (isNew) this.register(sp, match.versionId);
      const job = await this.jobs.read(sp.id as string);
      if (job?.status === 'completed') {
        if (isNew || this.pending(sp)) this.searchable(sp);
        continue;
      }
      if (isNew) this.markPending(sp);
      if (job) continue;
      // Reindexed under an earlier release, which kept the job as a Basic resource: searchable as it was.
      if (await this.carriedOver(sp)) {
        this.searchable(sp);
        continue;
      }
      // The process that wrote it died before starting its job: one process creates it (the job sweep takes over unfinished ones).
      await this.jobs.create(sp.id as string, initialState(sp));
    }
  }

  /** A completed reindex job of an earlier release (Basic/reindex-[id]), stored as a job record; false when there is none. */
  private async carriedOver(sp: SearchParameter): Promise<boolean> {
    const legacy = (await this.repo.readLatest('Basic', `reindex-${sp.id}`))?.resource as Basic | undefined;
    const parts = legacy?.extension?.find((e) => e.url === LEGACY_JOB_URL)?.extension;
    const value = (url: string) => parts?.find((e) => e.url === url);
    if (value('status')?.valueCode !== 'completed') return false;
    const [processed, total] = [value('processed')?.valueInteger ?? 0, value('total')?.valueInteger ?? 0];
    await this.jobs.recordFinished(sp.id as string, { ...initialState(sp), phase: 'catch-up' }, 'completed', processed, total);
    return (await this.jobs.read(sp.id as string))?.status === 'completed';
  }

  private register(sp: SearchParameter, versionId: string): void {
    indexSearchParameterBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: sp }] });
    clearIndexedParameters();
    this.known.set(sp.id as string, versionId);
    this.onChange();
  }

  private pending(sp: SearchParameter): boolean {
    return this.pendingIds.has(sp.id as string);
  }
  private markPending(sp: SearchParameter): void {
    markPending((sp.base ?? []) as string[], sp.code as string, sp.url as string);
    this.pendingIds.add(sp.id as string);
    this.onChange();
  }
  private searchable(sp: SearchParameter): void {
    clearPending((sp.base ?? []) as string[], sp.code as string);
    this.pendingIds.delete(sp.id as string);
    this.onChange();
  }

  /**
   * A SearchParameter was written through this process: it joins the index
   * and its reindex starts. Resolves once the job is stored (not when it
   * ends), so $reindex can report it as soon as the write is answered.
   */
  async onWrite(sp: SearchParameter): Promise<void> {
    if (!sp.url || BASE_URLS.has(sp.url) || sp.status !== 'active') return;
    this.register(sp, sp.meta?.versionId ?? '');
    // The write stands whatever happens here: the refresh of another process, or the next start, creates a missing job.
    await this.reindex(sp).catch((err: unknown) => this.logger.error({ err, searchParameter: sp.url }, 'could not start a reindex'));
  }

  async status(sp: SearchParameter): Promise<ReindexStatus | undefined> {
    const job = await this.jobs.read(sp.id as string);
    return job && statusOf(job);
  }

  /** Starts the job again from the beginning (a new write, or $reindex); resolves once it is stored, with its end in `done`. */
  reindex(sp: SearchParameter): Promise<{ done: Promise<void> }> {
    this.markPending(sp);
    return this.jobs.restart(sp.id as string, initialState(sp));
  }

  private async completed(job: Job<ReindexState>): Promise<void> {
    const sp = (await this.repo.readLatest('SearchParameter', job.id))?.resource as SearchParameter | undefined;
    if (sp) this.searchable(sp);
    this.logger.info({ searchParameter: job.state.searchParameter, processed: job.processed }, 'reindex completed');
  }

  private async run(run: JobRun<ReindexState>): Promise<void> {
    const { id, state } = run.job;
    const latest = await this.repo.readLatest('SearchParameter', id);
    // Deleted since: nothing is left to index by.
    if (!latest || latest.deleted) return;
    const sp = latest.resource as SearchParameter;
    // Taken over from another process, possibly before this one's first refresh registered it.
    if (this.known.get(id) !== latest.versionId) this.register(sp, latest.versionId);
    if (!this.pending(sp)) this.markPending(sp);
    const types = (sp.base ?? []) as string[];
    let total = run.job.total;
    if (total === undefined) {
      total = 0;
      for (const type of types) total += await this.store.count(type, { kind: 'all' });
      await run.checkpoint({ total });
    }
    if (state.phase === 'full') {
      await this.pass(run, state, types, total, () => ({ kind: 'all' }));
      Object.assign(state, { phase: 'catch-up', typeIndex: 0, after: undefined });
      await run.checkpoint({ state });
    }
    // Nothing can have been written without the parameter where there is one process per data directory
    // (the embedded store), or where every process has it from its start (shipped with the release).
    if (this.store.kind !== 'embedded' && !this.shipped.has(sp.url as string)) await this.catchUp(run, sp, state, types, total);
  }

  /**
   * Waits until every process must have learned the parameter (its write time
   * plus two refresh intervals) and what they wrote before has settled (the
   * store's settle horizon, settle.ts), renewing the lease, then reindexes
   * what was written since the parameter was: a process that did not know it
   * yet wrote those without its index field.
   */
  private async catchUp(run: JobRun<ReindexState>, sp: SearchParameter, state: ReindexState, types: string[], total: number): Promise<void> {
    const written = Date.parse(sp.meta?.lastUpdated ?? new Date().toISOString());
    const settledAt = written + 2 * this.settings.refreshSeconds * 1000 + Math.max(1000, this.repo.settleMs);
    while (Date.now() < settledAt) {
      if (run.stopping) throw new JobStopped();
      await sleep(Math.min(settledAt - Date.now(), 250));
    }
    const since = new Date(written - 1000).toISOString();
    // Resources counted already in the full pass: processed stays as it is.
    await this.pass(run, state, types, total, (type) => this.repo.compileFilter(type, { _lastUpdated: [`ge${since}`] }), false);
  }

  /** Reindexes, type by type and in id order, the resources the filter selects, saving the place after each batch. */
  private async pass(
    run: JobRun<ReindexState>,
    state: ReindexState,
    types: string[],
    total: number,
    filterOf: (type: string) => Filter | Promise<Filter>,
    count = true
  ): Promise<void> {
    for (; state.typeIndex < types.length; state.typeIndex++, state.after = undefined) {
      const type = types[state.typeIndex];
      const filter = await filterOf(type);
      for (;;) {
        const after = state.after;
        const rows = await this.store.search({
          resourceType: type,
          filter: after ? { kind: 'and', filters: [filter, { kind: 'cmp', field: 'id', op: 'gt', value: after }] } : filter,
          sort: [{ field: 'id', descending: false }],
          offset: 0,
          limit: this.settings.batchSize,
        });
        if (rows.length === 0) break;
        await reindexVersions(this.store, this.baseUrl, rows);
        state.after = rows[rows.length - 1].id;
        await run.checkpoint({ state, processed: count ? Math.min(total, run.job.processed + rows.length) : undefined });
      }
    }
  }

  /** Waits for running jobs (tests). */
  idle(): Promise<void> {
    return this.jobs.idle();
  }

  /** Stops reading the store and running jobs; a running job keeps its saved place for another process or the next start. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await this.jobs.close();
  }
}
