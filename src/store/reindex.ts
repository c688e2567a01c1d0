// SearchParameters added at runtime (search.html#custom), shared by every
// server process on one store.
//
// - A SearchParameter written through the API joins the index of the process
//   that wrote it at once; every other process finds it in the store within
//   the refresh interval (SEARCH_PARAMETER_REFRESH_SECONDS, 5 s by default),
//   so after that no process writes a resource without its index field.
// - A background job recomputes the index fields of the resources already
//   stored. Its state is a Basic resource (Basic/reindex-<SearchParameter id>)
//   holding a lease: one process runs it, renews the lease with every batch,
//   and saves its place; when that process dies another takes it over once the
//   lease has run out and resumes after the last batch saved.
// - The parameter is searchable only when the job has completed, in every
//   process. Before completing, the job waits until every process must have
//   learned the parameter (its write time plus two refresh intervals) and then
//   reindexes once more what was written since the parameter was: writes made
//   meanwhile by a process that did not know it yet are not missed.
import { indexSearchParameterBundle } from '@medplum/core';
import type { Basic, Extension, SearchParameter } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { getBaseSearchParameters } from '../base/definitions';
import { PROJECT_BASE } from '../base/project';
import { clearIndexedParameters, clearPending, markPending } from './indexer';
import { reindexVersions } from './resolved-index';
import type { StoragePort } from './port';
import type { Repository } from './repository';
import type { Filter } from './search/filter';

const JOB_URL = `${PROJECT_BASE}/StructureDefinition/reindex-job`;

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

/** The stored job: its status, and what another process needs to take it over. */
interface ReindexJob extends ReindexStatus {
  /** full: every resource, by id; catch-up: what was written since the parameter was. */
  phase: 'full' | 'catch-up';
  /** Index into the parameter's base types of the type being reindexed, and the last id done there. */
  typeIndex: number;
  after?: string;
  leaseOwner?: string;
  leaseUntil?: string;
  /** The Basic's versionId: the optimistic lock of the next save. */
  versionId?: string;
}

const jobId = (sp: SearchParameter): string => `reindex-${sp.id}`;

function toBasic(sp: SearchParameter, job: ReindexJob): Basic {
  const ext = (url: string, value: Partial<Extension>): Extension => ({ url, ...value }) as Extension;
  const optional = (url: string, value: string | undefined, key: 'valueString' | 'valueInstant'): Extension[] =>
    value === undefined ? [] : [ext(url, { [key]: value })];
  return {
    resourceType: 'Basic',
    id: jobId(sp),
    ...(job.versionId ? { meta: { versionId: job.versionId } } : {}),
    code: { coding: [{ system: `${PROJECT_BASE}/CodeSystem/sp-local-concepts`, code: 'reindex-job' }], text: 'Reindex job' },
    subject: { reference: `SearchParameter/${sp.id}` },
    extension: [
      {
        url: JOB_URL,
        extension: [
          ext('status', { valueCode: job.status }),
          ext('processed', { valueInteger: job.processed }),
          ext('total', { valueInteger: job.total }),
          ext('searchParameter', { valueUri: job.searchParameter }),
          ext('phase', { valueCode: job.phase }),
          ext('typeIndex', { valueInteger: job.typeIndex }),
          ...optional('after', job.after, 'valueString'),
          ...optional('leaseOwner', job.leaseOwner, 'valueString'),
          ...optional('leaseUntil', job.leaseUntil, 'valueInstant'),
        ],
      },
    ],
  };
}

function fromBasic(basic: Basic | undefined): ReindexJob | undefined {
  const parts = basic?.extension?.find((e) => e.url === JOB_URL)?.extension;
  if (!basic || !parts) return undefined;
  const get = (url: string) => parts.find((e) => e.url === url);
  return {
    status: get('status')?.valueCode as ReindexStatus['status'],
    processed: get('processed')?.valueInteger ?? 0,
    total: get('total')?.valueInteger ?? 0,
    searchParameter: get('searchParameter')?.valueUri ?? '',
    phase: (get('phase')?.valueCode as ReindexJob['phase'] | undefined) ?? 'full',
    typeIndex: get('typeIndex')?.valueInteger ?? 0,
    after: get('after')?.valueString,
    leaseOwner: get('leaseOwner')?.valueString,
    leaseUntil: get('leaseUntil')?.valueInstant,
    versionId: basic.meta?.versionId,
  };
}

const statusOf = (job: ReindexJob): ReindexStatus => ({ status: job.status, processed: job.processed, total: job.total, searchParameter: job.searchParameter });

/** Another process saved the job first: this process no longer holds it. */
class LeaseLost extends Error {}
/** This process is stopping: the job keeps its saved place. */
class JobStopped extends Error {}

const BASE_URLS = new Set<string>();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SearchParameterService {
  private readonly running = new Map<string, Promise<void>>();
  /** Live status of jobs running in this process (stored copies may lag a batch behind). */
  private readonly live = new Map<string, ReindexStatus>();
  /** SearchParameters this process indexes by, with the version it registered. */
  private readonly known = new Map<string, string>();
  /** This process, as lease owner. */
  private readonly worker = `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
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
  }

  /** At start: stored custom SearchParameters join the index, unfinished jobs resume; then the store is read again every refresh interval. */
  async start(): Promise<void> {
    await this.refresh(true);
    this.timer = setInterval(() => void this.refreshOnce(), this.settings.refreshSeconds * 1000);
    this.timer.unref();
  }

  private refreshOnce(): Promise<void> {
    this.refreshing ??= this.refresh(false)
      .catch((err: unknown) => this.logger.warn({ err }, 'could not read SearchParameters from the store; trying again later'))
      .finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Registers SearchParameters other processes wrote, marks what is searchable, and takes over jobs whose process died. */
  private async refresh(starting: boolean): Promise<void> {
    if (this.stopped) return;
    for (const match of await this.repo.find('SearchParameter', { status: ['active'] }, 1000)) {
      const sp = match.resource as SearchParameter;
      // R4's own and the release's are indexed by every process from its start (conformance/registry.ts).
      if (!sp.url || BASE_URLS.has(sp.url) || this.shipped.has(sp.url)) continue;
      const isNew = this.known.get(sp.id as string) !== match.versionId;
      if (isNew) this.register(sp, match.versionId);
      const job = fromBasic((await this.repo.readLatest('Basic', jobId(sp)))?.resource as Basic | undefined);
      if (job?.status === 'completed') {
        if (isNew || this.pending(sp)) this.searchable(sp);
        continue;
      }
      if (isNew) this.markPending(sp);
      if (this.running.has(sp.id as string)) continue;
      // The embedded store allows one process per data directory, so at start any lease is a dead process's.
      const takeAnyLease = starting && this.store.kind === 'embedded';
      const abandoned = !job || !job.leaseUntil || job.leaseUntil < new Date().toISOString() || takeAnyLease;
      if (abandoned && job?.status !== 'failed') void this.runJob(sp, job);
    }
  }

  private register(sp: SearchParameter, versionId: string): void {
    indexSearchParameterBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: sp }] });
    clearIndexedParameters();
    this.known.set(sp.id as string, versionId);
    this.onChange();
  }

  private readonly pendingIds = new Set<string>();
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

  /** A SearchParameter was written through this process: it joins the index and its reindex starts. */
  onWrite(sp: SearchParameter): void {
    if (!sp.url || BASE_URLS.has(sp.url) || sp.status !== 'active') return;
    this.register(sp, sp.meta?.versionId ?? '');
    void this.reindex(sp);
  }

  async status(sp: SearchParameter): Promise<ReindexStatus | undefined> {
    const live = this.live.get(sp.id as string);
    if (live) return { ...live };
    const stored = fromBasic((await this.repo.readLatest('Basic', jobId(sp)))?.resource as Basic | undefined);
    return stored && statusOf(stored);
  }

  /** Starts the job again from the beginning (a new write, or $reindex); the returned promise is for tests and shutdown. */
  reindex(sp: SearchParameter): Promise<void> {
    this.markPending(sp);
    this.live.set(sp.id as string, { status: 'in-progress', processed: 0, total: 0, searchParameter: sp.url as string });
    return this.runJob(sp, undefined, true);
  }

  /** Runs the job here, after any run of it already going in this process. */
  private runJob(sp: SearchParameter, stored: ReindexJob | undefined, restart = false): Promise<void> {
    const id = sp.id as string;
    const previous = this.running.get(id) ?? Promise.resolve();
    const job = previous
      .then(() => this.run(sp, stored, restart))
      .finally(() => {
        if (this.running.get(id) === job) {
          this.running.delete(id);
          this.live.delete(id);
        }
      });
    this.running.set(id, job);
    return job;
  }

  private leaseEnd(): string {
    return new Date(Date.now() + this.settings.leaseSeconds * 1000).toISOString();
  }

  /** Saves the job, renewing the lease; a save that loses the optimistic lock means another process holds the job. */
  private async save(sp: SearchParameter, job: ReindexJob): Promise<void> {
    job.leaseOwner = job.status === 'in-progress' ? this.worker : undefined;
    job.leaseUntil = job.status === 'in-progress' ? this.leaseEnd() : undefined;
    try {
      const { version } = await this.repo.update(toBasic(sp, job), job.versionId ? { ifMatch: job.versionId, lockOnly: true } : {});
      job.versionId = version.versionId;
    } catch (err) {
      if ((err as { outcome?: { id?: string } }).outcome?.id === 'conflict') throw new LeaseLost();
      throw err;
    }
  }

  private async run(sp: SearchParameter, stored: ReindexJob | undefined, restart: boolean): Promise<void> {
    const types = (sp.base ?? []) as string[];
    const current = restart ? fromBasic((await this.repo.readLatest('Basic', jobId(sp)))?.resource as Basic | undefined) : stored;
    const job: ReindexJob =
      !restart && current
        ? { ...current, status: 'in-progress' }
        : { status: 'in-progress', processed: 0, total: 0, searchParameter: sp.url as string, phase: 'full', typeIndex: 0, versionId: current?.versionId };
    this.live.set(sp.id as string, statusOf(job));
    try {
      if (job.total === 0) for (const type of types) job.total += await this.store.count(type, { kind: 'all' });
      await this.save(sp, job);
      if (job.phase === 'full') {
        await this.pass(sp, job, types, () => ({ kind: 'all' }));
        job.phase = 'catch-up';
        job.typeIndex = 0;
        job.after = undefined;
        await this.save(sp, job);
      }
      // Nothing can have been written without the parameter where there is one process per data directory
      // (the embedded store), or where every process has it from its start (shipped with the release).
      if (this.store.kind !== 'embedded' && !this.shipped.has(sp.url as string)) await this.catchUp(sp, job, types);
      job.status = 'completed';
      await this.save(sp, job);
      this.searchable(sp);
      this.logger.info({ searchParameter: sp.url, processed: job.processed }, 'reindex completed');
    } catch (err) {
      if (err instanceof LeaseLost) {
        this.logger.info({ searchParameter: sp.url }, 'reindex: another process holds this job');
        return;
      }
      if (err instanceof JobStopped) return;
      this.logger.error({ err, searchParameter: sp.url }, 'reindex failed');
      job.status = 'failed';
      await this.save(sp, job).catch(() => undefined);
    }
  }

  /**
   * Waits until every process must have learned the parameter (its write time
   * plus two refresh intervals) and what they wrote before has settled (the
   * store's settle horizon, settle.ts), renewing the lease, then reindexes
   * what was written since the parameter was: a process that did not know it
   * yet wrote those without its index field.
   */
  private async catchUp(sp: SearchParameter, job: ReindexJob, types: string[]): Promise<void> {
    const written = Date.parse(sp.meta?.lastUpdated ?? new Date().toISOString());
    const settledAt = written + 2 * this.settings.refreshSeconds * 1000 + Math.max(1000, this.repo.settleMs);
    while (Date.now() < settledAt) {
      if (this.stopped) throw new JobStopped();
      await sleep(Math.min(settledAt - Date.now(), 1000));
      await this.save(sp, job);
    }
    const since = new Date(written - 1000).toISOString();
    // Resources counted already in the full pass: processed stays within total.
    await this.pass(sp, job, types, (type) => this.repo.compileFilter(type, { _lastUpdated: [`ge${since}`] }), false);
  }

  /** Reindexes, type by type and in id order, the resources the filter selects, saving the place after each batch. */
  private async pass(sp: SearchParameter, job: ReindexJob, types: string[], filterOf: (type: string) => Filter | Promise<Filter>, count = true): Promise<void> {
    for (; job.typeIndex < types.length; job.typeIndex++, job.after = undefined) {
      const type = types[job.typeIndex];
      const filter = await filterOf(type);
      for (;;) {
        if (this.stopped) throw new JobStopped();
        const after = job.after;
        const rows = await this.store.search({
          resourceType: type,
          filter: after ? { kind: 'and', filters: [filter, { kind: 'cmp', field: 'id', op: 'gt', value: after }] } : filter,
          sort: [{ field: 'id', descending: false }],
          offset: 0,
          limit: this.settings.batchSize,
        });
        if (rows.length === 0) break;
        await reindexVersions(this.store, this.baseUrl, rows);
        if (count) job.processed = Math.min(job.total, job.processed + rows.length);
        job.after = rows[rows.length - 1].id;
        this.live.set(sp.id as string, statusOf(job));
        await this.save(sp, job);
      }
    }
  }

  /** Waits for running jobs (tests). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }

  /** Stops reading the store and running jobs; a running job keeps its saved place for another process or the next start. */
  async close(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.refreshing;
    await this.idle();
  }
}
