// A bulk export job (HL7 FHIR Bulk Data Access v2, export.html) as the server
// keeps it: a job of the store's one job model (store/jobs/), so any server
// process can answer its status, serve its files, take it over when the
// process running it dies (the lease), and clean it up when it expires.
// Its progress counts resources exported, of those it counted at its start.
import type { Filter } from '../store/search/filter';
import { PROJECT_BASE } from '../base/project';
import type { Job } from '../store/jobs/job';

export const JOB_KIND = 'export';

/** Export jobs of earlier releases were Basic resources with this code; any left in a store are never exported. */
export const JOB_CODE_SYSTEM = `${PROJECT_BASE}/CodeSystem/sp-local-concepts`;
export const JOB_CODE = 'export-job';

export type ExportLevel = 'system' | 'patient' | 'group';

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

/** The export's own state in its job record. */
export interface ExportState {
  /** The kick-off request URL, echoed in the manifest. */
  request: string;
  /** Resources changed after this instant are left for the next export (manifest transactionTime). */
  transactionTime: string;
  /** Who asked, hashed (bulk/requester.ts): status and files are served to them only. */
  requester: string;
  parameters: ExportParameters;
  /** Index into parameters.types of the type being exported. */
  typeIndex: number;
  /** The last id exported of that type: the keyset position to resume from. */
  after?: string;
  files: ExportFile[];
}

export type ExportJob = Job<ExportState>;

/** The file name a type's output is served under. */
export const fileNameOf = (type: string): string => `${type}.ndjson`;
