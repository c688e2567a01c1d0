// A bulk export job (HL7 FHIR Bulk Data Access v2, export.html) as the server
// keeps it: a Basic resource (Basic/export-<job id>) in the store, like the
// reindex job (store/reindex.ts). Any server process can then answer its
// status, serve its files, take it over when the process running it dies
// (the lease), and clean it up when it expires.
import type { Filter } from '../store/search/filter';
import type { Basic, Extension } from '@medplum/fhirtypes';
import { PROJECT_BASE } from '../base/project';

export const JOB_URL = `${PROJECT_BASE}/StructureDefinition/export-job`;
export const JOB_CODE_SYSTEM = `${PROJECT_BASE}/CodeSystem/sp-local-concepts`;
export const JOB_CODE = 'export-job';

export type ExportLevel = 'system' | 'patient' | 'group';
export type ExportStatus = 'accepted' | 'in-progress' | 'completed' | 'failed';

/** What was asked for, checked at kick-off. */
export interface ExportParameters {
  level: ExportLevel;
  /** Group/[id]/$export: the group whose patients are exported. */
  groupId?: string;
  /** The types exported, in order. */
  types: string[];
  /** Only resources last updated after this instant (_since). */
  since?: string;
  /** _typeFilter queries per type, without the "Type?": a resource matching any of them is exported. */
  typeFilters: Record<string, string[]>;
  /** The commissioner view: minimised, with pseudonymous patients (bulk/commissioner-view.ts). */
  commissioner?: string;
  /** Per type, what keeps the export to what its client may see (a referrer's, link worker's or community provider's own data). */
  restrictions?: Record<string, Filter>;
}

/** One output file: a resource type's NDJSON, written as numbered chunks. */
export interface ExportFile {
  type: string;
  count: number;
  chunks: number;
}

export interface ExportProgress {
  /** Index into parameters.types of the type being exported. */
  typeIndex: number;
  /** The last id exported of that type: the keyset position to resume from. */
  after?: string;
  files: ExportFile[];
  exported: number;
  /** Resources the job expects to export, counted when it starts. */
  total?: number;
}

export interface ExportJob {
  id: string;
  status: ExportStatus;
  /** The kick-off request URL, echoed in the manifest. */
  request: string;
  /** Resources changed after this instant are left for the next export (manifest transactionTime). */
  transactionTime: string;
  /** Who asked, hashed (bulk/requester.ts): status and files are served to them only. */
  requester: string;
  parameters: ExportParameters;
  progress: ExportProgress;
  /** The server process running the job, and until when it holds it. */
  leaseOwner?: string;
  leaseUntil?: string;
  /** When the output files of a completed job are removed. */
  expires?: string;
  error?: string;
  /** The Basic's versionId: the optimistic lock for the next save. */
  versionId?: string;
}

export const basicIdOf = (jobId: string): string => `export-${jobId}`;

const ext = (url: string, value: Partial<Extension>): Extension => ({ url, ...value }) as Extension;

export function toBasic(job: ExportJob): Basic {
  const parts: Extension[] = [
    ext('status', { valueCode: job.status }),
    ext('request', { valueString: job.request }),
    ext('transactionTime', { valueInstant: job.transactionTime }),
    ext('requester', { valueString: job.requester }),
    // The parameters and progress are the job's own working memory, read back
    // whole and never searched: kept as JSON text rather than spelled out as extensions.
    ext('parameters', { valueString: JSON.stringify(job.parameters) }),
    ext('progress', { valueString: JSON.stringify(job.progress) }),
  ];
  if (job.leaseOwner) parts.push(ext('leaseOwner', { valueString: job.leaseOwner }));
  if (job.leaseUntil) parts.push(ext('leaseUntil', { valueInstant: job.leaseUntil }));
  if (job.expires) parts.push(ext('expires', { valueInstant: job.expires }));
  if (job.error) parts.push(ext('error', { valueString: job.error }));
  return {
    resourceType: 'Basic',
    id: basicIdOf(job.id),
    ...(job.versionId ? { meta: { versionId: job.versionId } } : {}),
    code: { coding: [{ system: JOB_CODE_SYSTEM, code: JOB_CODE }], text: 'Bulk export job' },
    extension: [{ url: JOB_URL, extension: parts }],
  };
}

export function fromBasic(basic: Basic | undefined): ExportJob | undefined {
  const parts = basic?.extension?.find((e) => e.url === JOB_URL)?.extension;
  if (!basic || !parts || !basic.id?.startsWith('export-')) return undefined;
  const get = (url: string) => parts.find((e) => e.url === url);
  return {
    id: basic.id.slice('export-'.length),
    status: get('status')?.valueCode as ExportStatus,
    request: get('request')?.valueString ?? '',
    transactionTime: get('transactionTime')?.valueInstant ?? '',
    requester: get('requester')?.valueString ?? '',
    parameters: JSON.parse(get('parameters')?.valueString ?? '{}') as ExportParameters,
    progress: JSON.parse(get('progress')?.valueString ?? '{}') as ExportProgress,
    leaseOwner: get('leaseOwner')?.valueString,
    leaseUntil: get('leaseUntil')?.valueInstant,
    expires: get('expires')?.valueInstant,
    error: get('error')?.valueString,
    versionId: basic.meta?.versionId,
  };
}

/** The file name a type's output is served under. */
export const fileNameOf = (type: string): string => `${type}.ndjson`;
