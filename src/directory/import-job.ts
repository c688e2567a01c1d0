// A directory import running in the background ($import-directory with
// Prefer: respond-async). As with reindex jobs (store/reindex.ts), the job's
// state is a Basic resource in the store (Basic/import-directory-<uuid>), so
// any server process can answer a status poll; the process running it keeps
// a live copy that is fresher than the stored one. The ORUK input lives only
// in the running process: a job cut short by a restart stays "in-progress"
// in the store and is not resumed; importing again is safe (idempotent).
import type { Basic, Extension } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { PROJECT_BASE } from '../base/project';
import type { Repository } from '../store/repository';
import { importDirectory, type ImportCounts, type ImportOptions, type ImportSummary } from './import';
import type { DirectoryContent, Rejection } from './read';

const JOB_URL = `${PROJECT_BASE}/StructureDefinition/directory-import-job`;
/** The stored state is refreshed at most this often while the job runs. */
const SAVE_INTERVAL_MS = 1000;
/** Rejection reasons kept in the stored state; the counts stay exact beyond it. */
const MAX_STORED_REJECTIONS = 1000;

export interface ImportJobState {
  status: 'in-progress' | 'completed' | 'failed';
  counts: ImportCounts;
  summary?: ImportSummary;
  error?: string;
}

const COUNT_NAMES: (keyof ImportCounts)[] = ['total', 'processed', 'created', 'updated', 'unchanged', 'deactivated', 'rejected'];

const live = new Map<string, ImportJobState>();
const running = new Set<Promise<void>>();

export const jobResourceId = (jobId: string): string => `import-directory-${jobId}`;

function toBasic(jobId: string, state: ImportJobState): Basic {
  const part = (url: string, value: Partial<Extension>): Extension => ({ url, ...value }) as Extension;
  const summary = state.summary;
  return {
    resourceType: 'Basic',
    id: jobResourceId(jobId),
    code: { coding: [{ system: `${PROJECT_BASE}/CodeSystem/sp-local-concepts`, code: 'directory-import-job' }], text: 'Directory import job' },
    extension: [
      {
        url: JOB_URL,
        extension: [
          part('status', { valueCode: state.status }),
          ...COUNT_NAMES.map((name) => part(name, { valueInteger: state.counts[name] })),
          ...(summary
            ? [
                part('wholeDirectory', { valueBoolean: summary.wholeDirectory }),
                ...(summary.deactivationSkipped ? [part('deactivationSkipped', { valueString: summary.deactivationSkipped })] : []),
                part('dryRun', { valueBoolean: summary.dryRun }),
                part('seconds', { valueDecimal: summary.seconds }),
              ]
            : []),
          ...(summary?.rejections ?? []).slice(0, MAX_STORED_REJECTIONS).map((r) => part('rejection', { valueString: JSON.stringify(r) })),
          ...(state.error ? [part('error', { valueString: state.error })] : []),
        ],
      },
    ],
  };
}

function fromBasic(basic: Basic | undefined): ImportJobState | undefined {
  const parts = basic?.extension?.find((e) => e.url === JOB_URL)?.extension;
  if (!parts) return undefined;
  const get = (url: string) => parts.find((e) => e.url === url);
  const counts = Object.fromEntries(COUNT_NAMES.map((name) => [name, get(name)?.valueInteger ?? 0])) as unknown as ImportCounts;
  const status = get('status')?.valueCode as ImportJobState['status'];
  const rejections = parts.filter((e) => e.url === 'rejection').map((e) => JSON.parse(e.valueString as string) as Rejection);
  return {
    status,
    counts,
    ...(status === 'completed'
      ? {
          summary: {
            ...counts,
            rejections,
            wholeDirectory: get('wholeDirectory')?.valueBoolean ?? false,
            ...(get('deactivationSkipped') ? { deactivationSkipped: get('deactivationSkipped')?.valueString } : {}),
            dryRun: get('dryRun')?.valueBoolean ?? false,
            seconds: get('seconds')?.valueDecimal ?? 0,
          },
        }
      : {}),
    ...(get('error') ? { error: get('error')?.valueString } : {}),
  };
}

/** Starts an import in the background; returns the job id at once. */
export async function startImportJob(repo: Repository, input: DirectoryContent, options: ImportOptions, logger?: Logger): Promise<string> {
  const jobId = randomUUID();
  const state: ImportJobState = {
    status: 'in-progress',
    counts: { total: 0, processed: 0, created: 0, updated: 0, unchanged: 0, deactivated: 0, rejected: 0 },
  };
  live.set(jobId, state);
  await repo.update(toBasic(jobId, state));
  let lastSave = Date.now();
  let saving: Promise<unknown> = Promise.resolve();
  const onProgress = (counts: ImportCounts): void => {
    state.counts = counts;
    if (Date.now() - lastSave < SAVE_INTERVAL_MS) return;
    lastSave = Date.now();
    // One save at a time; a failed progress save is not worth stopping the import for.
    saving = saving.then(() => repo.update(toBasic(jobId, { ...state }))).catch(() => undefined);
  };
  const job: Promise<void> = importDirectory(repo, input, { ...options, onProgress })
    .then(
      (summary) => {
        state.status = 'completed';
        state.counts = summary;
        state.summary = summary;
      },
      (err: unknown) => {
        logger?.error({ err, job: jobId }, 'directory import failed');
        state.status = 'failed';
        state.error = 'The import stopped on a server error; see the server log. Importing again is safe.';
      }
    )
    .then(() => saving)
    .then(() => repo.update(toBasic(jobId, state)))
    .then(() => undefined)
    .catch((err: unknown) => logger?.error({ err, job: jobId }, 'could not store the final state of a directory import'))
    .finally(() => {
      live.delete(jobId);
      running.delete(job);
    });
  running.add(job);
  return jobId;
}

/** The job's state: live in the process running it, else as stored; undefined when unknown. */
export async function importJobState(repo: Repository, jobId: string): Promise<ImportJobState | undefined> {
  const current = live.get(jobId);
  if (current) return { ...current, counts: { ...current.counts } };
  const stored = await repo.readLatest('Basic', jobResourceId(jobId));
  return stored && !stored.deleted ? fromBasic(stored.resource as Basic) : undefined;
}

/** Waits for the imports running in this process (shutdown, tests). */
export async function importJobsIdle(): Promise<void> {
  while (running.size > 0) await Promise.allSettled([...running]);
}
