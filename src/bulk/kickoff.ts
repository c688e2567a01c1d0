// The kick-off request of a bulk export (export.html#bulk-data-kick-off-request):
// its parameters, from the query string (GET) or a Parameters body (POST),
// checked up front so that a job never starts on a request it cannot honour.
import type { Parameters } from '@medplum/fhirtypes';
import { getResourceTypeNames, isKnownResourceType } from '../base/definitions';
import { badRequest } from '../base/outcomes';
import type { QueryParams } from '../base/search-request';
import { dateRange } from '../store/search/values';
import type { Repository } from '../store/repository';
import { COMMISSIONER_TYPES } from './commissioner-view';
import { DEFINITIONAL_TYPES, parseTypeFilter, patientCompartment } from './export-scope';
import type { ExportLevel, ExportParameters } from './job';
import { ID_PATTERN } from '../base/ids';

export const NDJSON_FORMATS = new Set(['application/fhir+ndjson', 'application/ndjson', 'ndjson']);
const KNOWN = new Set(['_type', '_since', '_typeFilter', '_outputFormat', '_commissioner']);

/** A POST kick-off's Parameters, as the query parameters a GET would carry. */
export function queryOfParameters(body: unknown): QueryParams {
  const params = body as Parameters | undefined;
  if (!params) return {};
  if (params.resourceType !== 'Parameters') throw badRequest('A POST kick-off takes a Parameters resource');
  const query: QueryParams = {};
  for (const p of params.parameter ?? []) {
    const value = p.valueString ?? p.valueCode ?? p.valueInstant ?? p.valueDateTime ?? p.valueUri;
    if (!p.name || value === undefined) throw badRequest(`Parameter ${p.name ?? '(unnamed)'} needs a string, code, uri or instant value`);
    (query[p.name] ??= []).push(value);
  }
  return query;
}

function single(query: QueryParams, name: string): string | undefined {
  const values = query[name];
  if (values && values.length > 1) throw badRequest(`${name} may be given once`, [name]);
  return values?.[0];
}

export interface KickOff {
  level: ExportLevel;
  groupId?: string;
  query: QueryParams;
  /** Prefer: handling=lenient: unknown parameters are ignored instead of refused. */
  lenient: boolean;
}

export async function parseKickOff(repo: Repository, { level, groupId, query, lenient }: KickOff): Promise<ExportParameters> {
  const unknown = Object.keys(query).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0 && !lenient) throw badRequest(`Unsupported export parameter ${unknown.join(', ')}`, unknown);

  const format = single(query, '_outputFormat');
  if (format !== undefined && !NDJSON_FORMATS.has(format)) {
    throw badRequest(`_outputFormat ${format} is not supported; use application/fhir+ndjson`, ['_outputFormat']);
  }

  const commissioner = single(query, '_commissioner');
  if (commissioner !== undefined && !ID_PATTERN.test(commissioner)) {
    throw badRequest('_commissioner must be an id of 1 to 64 letters, digits, - or .', ['_commissioner']);
  }

  const sinceText = single(query, '_since');
  let since: string | undefined;
  if (sinceText !== undefined) {
    const range = dateRange(sinceText);
    if (!range || !sinceText.includes('T')) throw badRequest('_since must be an instant, such as 2026-01-31T09:00:00Z', ['_since']);
    // Resources changed after the instant: after the last millisecond before it.
    since = new Date(Date.parse(range.lo) - 1).toISOString();
  }

  const allowed = allowedTypes(level, commissioner !== undefined);
  const requested = (query._type ?? [])
    .flatMap((v) => v.split(','))
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
  for (const type of requested) {
    if (!isKnownResourceType(type)) throw badRequest(`_type names an unknown resource type ${type}`, ['_type']);
    if (!allowed.includes(type)) throw badRequest(`${type} cannot be exported ${exportScopeText(level, commissioner !== undefined)}`, ['_type']);
  }
  const types = requested.length > 0 ? [...new Set(requested)] : allowed.filter((t) => !DEFINITIONAL_TYPES.has(t));

  const typeFilters: Record<string, string[]> = {};
  for (const value of (query._typeFilter ?? []).flatMap(splitTypeFilters)) {
    const parsed = parseTypeFilter(value);
    if (!parsed) throw badRequest(`_typeFilter ${value} is not of the form Type?search-parameters`, ['_typeFilter']);
    if (!types.includes(parsed.type)) throw badRequest(`_typeFilter ${value} is for a type this export does not include`, ['_typeFilter']);
    // Compiled now, so a bad parameter is a 400 at kick-off rather than a failed job.
    await repo.compileFilter(parsed.type, parsed.query);
    (typeFilters[parsed.type] ??= []).push(value.slice(value.indexOf('?') + 1));
  }

  if (level === 'group') await repo.read('Group', groupId as string);
  return { level, ...(groupId ? { groupId } : {}), types, ...(since ? { since } : {}), typeFilters, ...(commissioner ? { commissioner } : {}) };
}

/** _typeFilter values are comma-separated queries; a comma inside a query is percent-encoded (%2C). */
function splitTypeFilters(value: string): string[] {
  return value.split(/,(?=[A-Z][A-Za-z]+\?)/).filter((v) => v.length > 0);
}

function allowedTypes(level: ExportLevel, commissioner: boolean): string[] {
  let types = level === 'system' ? [...getResourceTypeNames()] : [...patientCompartment().keys()];
  if (commissioner) types = types.filter((t) => COMMISSIONER_TYPES.includes(t));
  return types.sort();
}

function exportScopeText(level: ExportLevel, commissioner: boolean): string {
  if (commissioner) return 'to a commissioner';
  return level === 'system' ? 'here' : 'at patient level: it is not in the Patient compartment';
}
