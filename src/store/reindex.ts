// SearchParameters added at runtime (search.html#custom): a SearchParameter
// written through the API joins the index at once, so new writes are indexed
// by it, and a background job recomputes the index fields of the resources
// already stored. Until the job ends the parameter is reported as not yet
// searchable (indexer.ts pendingParameter). The job's state is a Basic
// resource (Basic/reindex-<SearchParameter id>) in the store, so its progress
// can be read from any server process and an unfinished job resumes at start.
import { indexSearchParameterBundle } from '@medplum/core';
import type { Basic, Extension, SearchParameter } from '@medplum/fhirtypes';
import type { Logger } from 'pino';
import { getBaseSearchParameters } from '../base/definitions';
import { PROJECT_BASE } from '../base/project';
import { clearIndexedParameters, clearPending, markPending } from './indexer';
import { reindexVersions } from './resolved-index';
import type { StoragePort } from './port';
import type { Repository } from './repository';

const JOB_URL = `${PROJECT_BASE}/StructureDefinition/reindex-job`;
const BATCH = 200;

export interface ReindexStatus {
  status: 'in-progress' | 'completed' | 'failed';
  processed: number;
  total: number;
  searchParameter: string;
}

const jobId = (sp: SearchParameter): string => `reindex-${sp.id}`;

function toBasic(sp: SearchParameter, status: ReindexStatus): Basic {
  const ext = (url: string, value: Partial<Extension>): Extension => ({ url, ...value }) as Extension;
  return {
    resourceType: 'Basic',
    id: jobId(sp),
    code: { coding: [{ system: `${PROJECT_BASE}/CodeSystem/sp-local-concepts`, code: 'reindex-job' }], text: 'Reindex job' },
    subject: { reference: `SearchParameter/${sp.id}` },
    extension: [
      {
        url: JOB_URL,
        extension: [
          ext('status', { valueCode: status.status }),
          ext('processed', { valueInteger: status.processed }),
          ext('total', { valueInteger: status.total }),
          ext('searchParameter', { valueUri: status.searchParameter }),
        ],
      },
    ],
  };
}

function fromBasic(basic: Basic | undefined): ReindexStatus | undefined {
  const parts = basic?.extension?.find((e) => e.url === JOB_URL)?.extension;
  if (!parts) return undefined;
  const get = (url: string) => parts.find((e) => e.url === url);
  return {
    status: get('status')?.valueCode as ReindexStatus['status'],
    processed: get('processed')?.valueInteger ?? 0,
    total: get('total')?.valueInteger ?? 0,
    searchParameter: get('searchParameter')?.valueUri ?? '',
  };
}

const BASE_URLS = new Set<string>();

export class SearchParameterService {
  private readonly running = new Map<string, Promise<void>>();
  /** Live status of jobs running in this process (stored copies may lag a batch behind). */
  private readonly live = new Map<string, ReindexStatus>();

  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort,
    private readonly baseUrl: string,
    private readonly logger: Logger,
    private readonly onChange: () => void
  ) {
    if (BASE_URLS.size === 0) getBaseSearchParameters().forEach((sp) => sp.url && BASE_URLS.add(sp.url));
  }

  /** At start: stored custom SearchParameters join the index; unfinished jobs resume. */
  async start(): Promise<void> {
    for (const match of await this.repo.find('SearchParameter', { status: ['active'] }, 1000)) {
      const sp = match.resource as SearchParameter;
      if (!sp.url || BASE_URLS.has(sp.url)) continue;
      this.register(sp);
      const job = fromBasic((await this.repo.readLatest('Basic', jobId(sp)))?.resource as Basic | undefined);
      // Runs in the background; its failures are recorded in the job's state (run()).
      if (job && job.status !== 'completed') void this.reindex(sp);
    }
  }

  private register(sp: SearchParameter): void {
    indexSearchParameterBundle({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: sp }] });
    clearIndexedParameters();
    this.onChange();
  }

  /** A SearchParameter was written: it joins the index and its reindex starts. */
  onWrite(sp: SearchParameter): void {
    if (!sp.url || BASE_URLS.has(sp.url) || sp.status !== 'active') return;
    this.register(sp);
    void this.reindex(sp);
  }

  async status(sp: SearchParameter): Promise<ReindexStatus | undefined> {
    const live = this.live.get(sp.id as string);
    if (live) return { ...live };
    return fromBasic((await this.repo.readLatest('Basic', jobId(sp)))?.resource as Basic | undefined);
  }

  /** Starts (or restarts) the background job; the returned promise is for tests and shutdown. */
  reindex(sp: SearchParameter): Promise<void> {
    const types = (sp.base ?? []) as string[];
    markPending(types, sp.code as string, sp.url as string);
    this.live.set(sp.id as string, { status: 'in-progress', processed: 0, total: 0, searchParameter: sp.url as string });
    this.onChange();
    const previous = this.running.get(sp.id as string) ?? Promise.resolve();
    const job = previous
      .then(() => this.run(sp, types))
      .finally(() => {
        if (this.running.get(sp.id as string) === job) {
          this.running.delete(sp.id as string);
          this.live.delete(sp.id as string);
        }
      });
    this.running.set(sp.id as string, job);
    return job;
  }

  private async save(sp: SearchParameter, status: ReindexStatus): Promise<void> {
    await this.repo.update(toBasic(sp, status));
  }

  private async run(sp: SearchParameter, types: string[]): Promise<void> {
    const status: ReindexStatus = { status: 'in-progress', processed: 0, total: 0, searchParameter: sp.url as string };
    this.live.set(sp.id as string, status);
    try {
      for (const type of types) status.total += await this.store.count(type, { kind: 'all' });
      await this.save(sp, status);
      for (const type of types) {
        let after: string | undefined;
        for (;;) {
          const rows = await this.store.search({
            resourceType: type,
            filter: after ? { kind: 'cmp', field: 'id', op: 'gt', value: after } : { kind: 'all' },
            sort: [{ field: 'id', descending: false }],
            offset: 0,
            limit: BATCH,
          });
          if (rows.length === 0) break;
          await reindexVersions(this.store, this.baseUrl, rows);
          status.processed += rows.length;
          after = rows[rows.length - 1].id;
          await this.save(sp, status);
        }
      }
      status.status = 'completed';
      await this.save(sp, status);
      clearPending(types, sp.code as string);
      this.onChange();
      this.logger.info({ searchParameter: sp.url, processed: status.processed }, 'reindex completed');
    } catch (err) {
      this.logger.error({ err, searchParameter: sp.url }, 'reindex failed');
      status.status = 'failed';
      await this.save(sp, status).catch(() => undefined);
    }
  }

  /** Waits for running jobs (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running.values()]);
  }
}
