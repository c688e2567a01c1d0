// Patient/[id]/$everything (R4 OperationDefinition patient-everything): the
// patient and every resource in their compartment (conformance/compartment.ts),
// as a searchset Bundle paged by a keyset cursor over (type, id). Parameters:
// _since (only resources changed at or after it), _type (only these types),
// _count (page size). AuditEvent (the audit trail, which records who looked
// at the record rather than being part of it) comes only when _type names it.
// start and end (care dates) are refused: they need a
// clinical date per type that R4 does not define uniformly.
//
// Each type's search carries the caller's access exactly as a search of that
// type would: types the caller may not search are left out (and named in an
// outcome entry), and the caller's restriction clauses (access.ts) are added.
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { patientCompartment } from '../../conformance/compartment';
import { and, or, type Filter } from '../../store/search/filter';
import { queryOfParameters } from '../../bulk/kickoff';
import { fullUrl, link, urlWithQuery } from '../bundle/entries';
import type { FhirContext, FhirHandler } from '../context';
import { allOk, badRequest, notSupported } from '../../base/outcomes';
import type { QueryParams } from '../../base/search-request';
import { registerOperation } from './registry';

export const EVERYTHING_DEFINITION = 'http://hl7.org/fhir/OperationDefinition/Patient-everything';

const KNOWN = new Set(['_since', '_type', '_count', '_cursor']);
const INSTANT = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

/** Where a page starts: the part (its key) and the last id shown of it. */
interface Position {
  type: string;
  after?: string;
}

function single(query: QueryParams, name: string): string | undefined {
  const values = query[name];
  if (values && values.length > 1) throw badRequest(`${name} may be given once`, [name]);
  return values?.[0];
}

function encodePosition(p: Position): string {
  return Buffer.from(JSON.stringify([p.type, p.after ?? null]), 'utf8').toString('base64url');
}

function decodePosition(text: string, keys: string[]): Position {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const ok = Array.isArray(parsed) && parsed.length === 2 && keys.includes(parsed[0]) && (parsed[1] === null || typeof parsed[1] === 'string');
  if (!ok) throw badRequest('_cursor is not a page link of this $everything; follow the links the server gave', ['_cursor']);
  const [type, after] = parsed as [string, string | null];
  return { type, after: after ?? undefined };
}

interface EverythingRequest {
  patientId: string;
  types: string[];
  /** Whether _type chose the types. */
  typesAsked: boolean;
  since?: string;
  count: number;
  cursor?: string;
}

function parseRequest(patientId: string, query: QueryParams, ctx: FhirContext): EverythingRequest {
  if (query.start || query.end) throw notSupported('$everything does not support start and end (care dates); use _since for resources changed since a time');
  const unknown = Object.keys(query).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw badRequest(`Unknown parameter ${unknown.join(', ')} for $everything`, unknown);
  const compartment = patientCompartment();
  const asked = (query._type ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  for (const t of asked) if (!compartment.has(t)) throw badRequest(`_type ${t} is not a resource type of the Patient compartment`, ['_type']);
  // Patient first (the subject of the compartment), then the other types by name.
  const all = ['Patient', ...[...compartment.keys()].filter((t) => t !== 'Patient')];
  // The audit trail records who looked at the record; it is not part of it, and would grow with every call: only on request.
  const types = asked.length > 0 ? all.filter((t) => asked.includes(t)) : all.filter((t) => t !== 'AuditEvent');
  const since = single(query, '_since');
  if (since !== undefined && (!INSTANT.test(since) || Number.isNaN(Date.parse(since))))
    throw badRequest('_since must be an instant such as 2026-04-01T00:00:00Z', ['_since']);
  const countText = single(query, '_count');
  let count = ctx.defaultPageSize;
  if (countText !== undefined) {
    if (!/^\d+$/.test(countText) || Number(countText) < 1) throw badRequest('_count must be a whole number of at least 1', ['_count']);
    count = Math.min(Number(countText), ctx.maxPageSize);
  }
  return { patientId, types, typesAsked: asked.length > 0, since, count, cursor: single(query, '_cursor') };
}

/** One run of the answer: the patient, then the patients linked to them, then each other type. */
interface Part {
  key: string;
  type: string;
  filter: Filter;
}

/** The store filters of the compartment, with the caller's restriction; types the caller may not search are listed in withheld. */
async function compartmentParts(ctx: FhirContext, request: EverythingRequest): Promise<{ parts: Part[]; withheld: string[] }> {
  const patient = `Patient/${request.patientId}`;
  const parts: Part[] = [];
  const withheld: string[] = [];
  for (const type of request.types) {
    if (!ctx.access.may(type, 's')) {
      withheld.push(type);
      continue;
    }
    const common: Filter[] = [];
    const restriction = await ctx.access.restriction(type);
    if (restriction) common.push(restriction);
    if (request.since) common.push(await ctx.repo.compileFilter(type, { _lastUpdated: [`ge${request.since}`] }));
    const membership = await Promise.all((patientCompartment().get(type) ?? []).map((p) => ctx.repo.compileFilter(type, { [p]: [patient] })));
    // The patient comes first, as the subject of the compartment.
    if (type === 'Patient') parts.push({ key: 'Patient', type, filter: and([await ctx.repo.compileFilter(type, { _id: [request.patientId] }), ...common]) });
    const key = type === 'Patient' ? 'Patient:link' : type;
    parts.push({ key, type, filter: and([or(membership), ...common]) });
  }
  return { parts, withheld };
}

const byId = [{ field: 'id', descending: false }];

async function everything(request: EverythingRequest, ctx: FhirContext): Promise<Bundle> {
  const { parts, withheld } = await compartmentParts(ctx, request);
  const live = parts.filter((p) => p.filter.kind !== 'none');
  const keys = parts.map((p) => p.key);
  const start = request.cursor ? decodePosition(request.cursor, keys) : { type: keys[0] };
  let total = 0;
  for (const part of live) total += await ctx.repo.store.count(part.type, part.filter);
  const rows: Resource[] = [];
  let next: Position | undefined;
  const from = keys.indexOf(start.type);
  for (const part of live) {
    if (keys.indexOf(part.key) < from) continue;
    if (rows.length === request.count) {
      // The page is full: the next one starts at the first part with anything left.
      const probe = await ctx.repo.store.search({ resourceType: part.type, filter: part.filter, sort: byId, offset: 0, limit: 1 });
      if (probe.length === 0) continue;
      next = { type: part.key };
      break;
    }
    const after = part.key === start.type ? start.after : undefined;
    const limit = request.count - rows.length;
    const page = await ctx.repo.store.search({
      resourceType: part.type,
      filter: after ? and([part.filter, { kind: 'cmp', field: 'id', op: 'gt', value: after }]) : part.filter,
      sort: byId,
      offset: 0,
      limit: limit + 1,
    });
    rows.push(...page.slice(0, limit).map((v) => v.resource as Resource));
    if (page.length > limit) {
      next = { type: part.key, after: page[limit - 1].id };
      break;
    }
  }

  const base = `${ctx.baseUrl}/Patient/${request.patientId}/$everything`;
  const query: QueryParams = {
    ...(request.since ? { _since: [request.since] } : {}),
    ...(request.typesAsked ? { _type: [request.types.join(',')] } : {}),
    _count: [String(request.count)],
  };
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: [link('self', urlWithQuery(base, request.cursor ? { ...query, _cursor: [request.cursor] } : query))],
  };
  if (next) bundle.link?.push(link('next', urlWithQuery(base, { ...query, _cursor: [encodePosition(next)] })));
  const entries: BundleEntry[] = rows.map((r) => ({ fullUrl: fullUrl(ctx.baseUrl, r.resourceType, r.id as string), resource: r, search: { mode: 'match' } }));
  if (withheld.length > 0 && !request.cursor) {
    const note: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: [{ severity: 'information', code: 'suppressed', diagnostics: `Left out: resource types this caller may not search (${withheld.join(', ')})` }],
    };
    entries.push({ resource: note, search: { mode: 'outcome' } });
  }
  bundle.entry = entries;
  return bundle;
}

const handler: FhirHandler = async (request, ctx) => {
  const query = request.method === 'POST' ? { ...request.query, ...queryOfParameters(request.body) } : request.query;
  const patientId = request.segments[1];
  // The patient must exist (authorize.ts has already checked the caller may see them).
  await ctx.repo.read('Patient', patientId);
  return [allOk(), await everything(parseRequest(patientId, query, ctx), ctx)];
};

export function registerEverythingOperation(): void {
  registerOperation({
    name: 'everything',
    definition: EVERYTHING_DEFINITION,
    resourceTypes: ['Patient'],
    system: false,
    type: false,
    instance: true,
    description: 'The patient and every resource of their compartment the caller may see, paged; _since, _type and _count narrow it.',
    affectsState: false,
    // The patient's record; each type in it is then searched under the caller's access (compartmentParts).
    authorize: (ctx) => ctx.access.require('Patient', 'r'),
    handler,
    parameters: [
      { name: '_since', description: 'Only resources changed at or after this instant, e.g. 2026-04-01T00:00:00Z' },
      { name: '_type', description: 'Only these resource types of the Patient compartment, comma-separated, e.g. Task,CarePlan,Goal' },
      { name: '_count', description: 'Entries per page' },
    ],
  });
}
