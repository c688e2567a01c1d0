// Compiles a parsed SearchRequest into a Filter over index fields
// (see ../indexer.ts for how those fields are written). Semantics follow
// FHIR R4 search.html; each parameter type has one compile function.
import type { ParameterLink, Prefix, SearchClause, SearchRequest } from '../../base/search-request';
import { splitPrefix } from '../../base/search-request';
import { badRequest, notSupported } from '../../base/outcomes';
import { getSearchParameters } from '@medplum/core';
import {
  compositeKey,
  exactField,
  getIndexedParameters,
  pendingParameter,
  identifierField,
  indexField,
  ofTypeField,
  sortField,
  textField,
  type IndexedParameter,
} from '../indexer';
import { normalizeReference } from '../../base/references';
import type { SortKey } from '../port';
import { and, not, NONE, or, type Filter } from './filter';
import { dateRange, normalizeString } from './values';
import { ID_PATTERN } from '../../base/ids';

/** Runs a chained search: the ids of `resourceType` resources matching the clause. */
export type ChainResolver = (resourceType: string, clause: SearchClause) => Promise<string[]>;

/** Runs a reverse chain: the ids of `targetType` resources that matching `resourceType` resources refer to through `searchParam`. */
export type HasResolver = (resourceType: string, clause: SearchClause, searchParam: string, targetType: string) => Promise<string[]>;

/** What token modifiers need from the terminology service (:in, :not-in, :above, :below). */
export interface TokenTerminology {
  /** "system|code" of every code in the ValueSet; undefined when unknown or not enumerable. */
  valueSetCodes(url: string): Promise<string[] | undefined>;
  /** Codes subsumed by (below) or subsuming (above) the code, itself included; undefined when unknown. */
  relatedCodes(system: string, code: string, direction: 'above' | 'below'): Promise<string[] | undefined>;
}

export interface CompileContext {
  baseUrl: string;
  terminology?: TokenTerminology;
  /** With Prefer: handling=lenient, unknown parameters are ignored instead of refused. */
  lenient: boolean;
  resolveChain: ChainResolver;
  resolveHas?: HasResolver;
  /** The distance of a near search that gives none, in km (limits.ts). */
  nearDefaultKm: number;
  /** Set by a near clause, for the repository to order by distance. */
  near?: NearPoint;
}

export interface NearPoint {
  lat: number;
  lng: number;
  km: number;
  field: string;
}

export interface CompiledSearch {
  filter: Filter;
  sort: SortKey[];
  /** A near clause: results are those within the distance, nearest first. */
  near?: NearPoint;
  /** Clause names ignored under lenient handling; left out of the self link. */
  ignored: string[];
}

/** _id searches the top-level id field rather than an index field. */
const ID_PARAMETER = { code: '_id', type: 'token' } as IndexedParameter;

export async function compileSearch(request: SearchRequest, ctx: CompileContext): Promise<CompiledSearch> {
  const ignored: string[] = [];
  const filters: Filter[] = [];
  for (const clause of request.clauses) {
    if (clause.has) {
      filters.push(await compileHas(request.resourceType, clause, ctx));
      continue;
    }
    const param = lookupParameter(request.resourceType, clause.chain[0].code, clause.name, ctx.lenient);
    if (!param) {
      ignored.push(clause.name);
      continue;
    }
    filters.push(await compileClause(request.resourceType, param, clause, ctx));
  }
  return { filter: and(filters), sort: compileSort(request), ignored, near: ctx.near };
}

async function compileHas(resourceType: string, clause: SearchClause, ctx: CompileContext): Promise<Filter> {
  const has = clause.has as NonNullable<SearchClause['has']>;
  const param = getIndexedParameters(has.resourceType).get(has.searchParam);
  if (!param || param.type !== 'reference') {
    throw badRequest(`${clause.name}: ${has.resourceType} has no reference search parameter ${has.searchParam}`, [clause.name]);
  }
  if (param.targets.length > 0 && !param.targets.includes(resourceType)) {
    throw badRequest(`${clause.name}: ${has.resourceType}.${has.searchParam} does not refer to ${resourceType}`, [clause.name]);
  }
  if (!ctx.resolveHas) throw notSupported('_has is not available here');
  const ids = await ctx.resolveHas(has.resourceType, has.inner, has.searchParam, resourceType);
  return ids.length === 0 ? NONE : { kind: 'in', field: 'id', values: ids };
}

function lookupParameter(resourceType: string, code: string, name: string, lenient: boolean): IndexedParameter | undefined {
  if (code === '_id') return ID_PARAMETER;
  const param = getIndexedParameters(resourceType).get(code);
  const reindexing = param && pendingParameter(resourceType, code);
  if (reindexing) {
    if (lenient) return undefined;
    throw badRequest(`Search parameter ${code} (${reindexing}) is not yet searchable: existing ${resourceType} resources are being reindexed`, [name]);
  }
  if (param) return param;
  if (lenient) return undefined;
  const known = getSearchParameters(resourceType);
  if (known && Object.hasOwn(known, code)) {
    throw notSupported(`Search parameter ${code} of ${resourceType} is of a type this server does not search yet`);
  }
  throw badRequest(`Unknown search parameter "${name}" for ${resourceType}`, [name]);
}

async function compileClause(resourceType: string, param: IndexedParameter, clause: SearchClause, ctx: CompileContext): Promise<Filter> {
  const [link, ...rest] = clause.chain;
  if (rest.length > 0) return compileChain(resourceType, param, link, rest, clause, ctx);
  if (param.code === '_id') return compileId(link, clause);
  if (link.modifier === 'missing') return compileMissing(param, clause);
  switch (param.type) {
    case 'token':
      return compileToken(param, link, clause, ctx);
    case 'string':
      return compileString(param, link, clause);
    case 'reference':
      return compileReference(param, link, clause, ctx);
    case 'date':
      return compileDate(param, link, clause);
    case 'uri':
      return compileUri(param, link, clause);
    case 'number':
      return compileNumber(param, link, clause);
    case 'quantity':
      return compileQuantity(param, link, clause);
    case 'special':
      return compileNear(param, link, clause, ctx);
    case 'composite':
      return compileComposite(param, link, clause);
  }
}

/** first$second (search.html#composite): the token part picks the sub-field, the second part is compared in it. */
function compileComposite(param: IndexedParameter, link: ParameterLink, clause: SearchClause): Filter {
  if (link.modifier) unsupportedModifier(param, link);
  const second = param.composite?.second.type;
  return or(
    clause.values.map((value) => {
      const at = value.indexOf('$');
      if (at <= 0 || at === value.length - 1) throw badRequest(`${clause.name} takes token$value, not "${value}"`, [clause.name]);
      // The token part is written as system|code, |code or code: each is one of the forms indexed.
      const token = value.slice(0, at);
      const rest = value.slice(at + 1);
      const field = `${indexField(param.code)}.${compositeKey(token)}.v`;
      switch (second) {
        case 'token':
          return tokenFilter(field, rest);
        case 'quantity': {
          const [number, system, code] = rest.split('|');
          const compared = numberFilter(`${field}.v`, ...splitPrefix(number), clause.name);
          if (!code) return compared;
          return and([compared, { kind: 'eq', field: `${field}.u`, value: system ? `${system}|${code}` : code }]);
        }
        case 'date': {
          const [prefix, text] = splitPrefix(rest);
          return dateFilter(field, prefix, parseDate(clause, text));
        }
        default:
          return { kind: 'prefix', field, value: normalizeString(rest) };
      }
    })
  );
}

function unsupportedModifier(param: IndexedParameter, link: ParameterLink): never {
  throw badRequest(`Modifier :${link.modifier} is not supported on ${param.type} parameter ${param.code}`, [`${param.code}:${link.modifier}`]);
}

function compileMissing(param: IndexedParameter, clause: SearchClause): Filter {
  const value = clause.values[0];
  if (clause.values.length !== 1 || (value !== 'true' && value !== 'false')) {
    throw badRequest(`${clause.name} takes true or false`, [clause.name]);
  }
  const field = param.type === 'date' ? `${indexField(param.code)}.lo` : indexField(param.code);
  return { kind: 'exists', field, exists: value === 'false' };
}

function compileId(link: ParameterLink, clause: SearchClause): Filter {
  if (link.modifier && link.modifier !== 'not') {
    throw badRequest(`Modifier :${link.modifier} is not supported on _id`, [clause.name]);
  }
  const ids = clause.values.filter((v) => ID_PATTERN.test(v));
  const filter: Filter = ids.length === 0 ? NONE : { kind: 'in', field: 'id', values: ids };
  return link.modifier === 'not' ? not(filter) : filter;
}

/** token: [system]|[code], |code (no system), code (any system), system| (any code). */
function tokenFilter(field: string, value: string): Filter {
  const bar = value.indexOf('|');
  if (bar < 0) return { kind: 'eq', field, value };
  const system = value.slice(0, bar);
  const code = value.slice(bar + 1);
  if (system === '') return { kind: 'eq', field, value: `|${code}` };
  if (code === '') return { kind: 'prefix', field, value: `${system}|` };
  return { kind: 'eq', field, value };
}

async function compileToken(param: IndexedParameter, link: ParameterLink, clause: SearchClause, ctx: CompileContext): Promise<Filter> {
  const field = indexField(param.code);
  switch (link.modifier) {
    case undefined:
      return or(clause.values.map((v) => tokenFilter(field, v)));
    case 'not':
      // :not matches resources without the code, including those with no value (search.html#token).
      return not(or(clause.values.map((v) => tokenFilter(field, v))));
    case 'text':
      return or(clause.values.map((v) => ({ kind: 'contains', field: textField(param.code), value: normalizeString(v) })));
    case 'of-type':
      return or(clause.values.map((value) => ({ kind: 'eq', field: ofTypeField(param.code), value })));
    case 'in':
    case 'not-in': {
      const codes = (await Promise.all(clause.values.map((url) => valueSetCodes(ctx, url, clause)))).flat();
      const filter: Filter = codes.length === 0 ? NONE : { kind: 'in', field, values: codes };
      return link.modifier === 'in' ? filter : not(filter);
    }
    case 'above':
    case 'below': {
      const direction = link.modifier;
      const codes = (await Promise.all(clause.values.map((v) => relatedCodes(ctx, v, direction, clause)))).flat();
      return codes.length === 0 ? NONE : { kind: 'in', field, values: codes };
    }
    default:
      return unsupportedModifier(param, link);
  }
}

async function valueSetCodes(ctx: CompileContext, url: string, clause: SearchClause): Promise<string[]> {
  const codes = await ctx.terminology?.valueSetCodes(url);
  if (!codes) throw badRequest(`${clause.name}: ValueSet ${url} is not known to this server or cannot be enumerated`, [clause.name]);
  return codes;
}

async function relatedCodes(ctx: CompileContext, value: string, direction: 'above' | 'below', clause: SearchClause): Promise<string[]> {
  const bar = value.indexOf('|');
  if (bar <= 0) throw badRequest(`${clause.name} takes system|code`, [clause.name]);
  const system = value.slice(0, bar);
  const codes = await ctx.terminology?.relatedCodes(system, value.slice(bar + 1), direction);
  if (!codes) throw badRequest(`${clause.name}: ${value} is not a code of a CodeSystem this server holds`, [clause.name]);
  return codes.map((c) => `${system}|${c}`);
}

function compileString(param: IndexedParameter, link: ParameterLink, clause: SearchClause): Filter {
  if (link.modifier === 'exact') {
    return or(clause.values.map((value) => ({ kind: 'eq', field: exactField(param.code), value })));
  }
  if (link.modifier === 'contains') {
    return or(clause.values.map((v) => ({ kind: 'contains', field: indexField(param.code), value: normalizeString(v) })));
  }
  if (link.modifier) unsupportedModifier(param, link);
  // Default string search: starts with, ignoring case and accents.
  return or(clause.values.map((v) => ({ kind: 'prefix', field: indexField(param.code), value: normalizeString(v) })));
}

function referenceValues(param: IndexedParameter, type: string | undefined, value: string, baseUrl: string): string[] {
  if (type) return ID_PATTERN.test(value) ? [`${type}/${value}`] : [normalizeReference(value, baseUrl)];
  if (ID_PATTERN.test(value)) return param.targets.map((t) => `${t}/${value}`);
  return [normalizeReference(value, baseUrl)];
}

function compileReference(param: IndexedParameter, link: ParameterLink, clause: SearchClause, ctx: CompileContext): Filter {
  if (link.modifier === 'identifier') {
    return or(clause.values.map((v) => tokenFilter(identifierField(param.code), v)));
  }
  const type = link.modifier;
  if (type && !param.targets.includes(type)) {
    throw badRequest(`${type} is not a target type of ${param.code}`, [clause.name]);
  }
  const refs = clause.values.flatMap((v) => referenceValues(param, type, v, ctx.baseUrl));
  return refs.length === 0 ? NONE : { kind: 'in', field: indexField(param.code), values: refs };
}

async function compileChain(
  resourceType: string,
  param: IndexedParameter,
  link: ParameterLink,
  rest: ParameterLink[],
  clause: SearchClause,
  ctx: CompileContext
): Promise<Filter> {
  if (param.type !== 'reference') {
    throw badRequest(`${param.code} of ${resourceType} is not a reference, so it cannot be chained`, [clause.name]);
  }
  if (link.modifier && !param.targets.includes(link.modifier)) {
    throw badRequest(`${link.modifier} is not a target type of ${param.code}`, [clause.name]);
  }
  // Without a type modifier, the chain applies to every target type that has the parameter.
  const targets = link.modifier ? [link.modifier] : param.targets.filter((t) => getIndexedParameters(t).has(rest[0].code));
  if (targets.length === 0) {
    throw badRequest(`No target of ${param.code} has a search parameter ${rest[0].code}`, [clause.name]);
  }
  const refs: string[] = [];
  for (const target of targets) {
    const inner: SearchClause = { name: clause.name, chain: rest, values: clause.values };
    for (const id of await ctx.resolveChain(target, inner)) refs.push(`${target}/${id}`);
  }
  return refs.length === 0 ? NONE : { kind: 'in', field: indexField(param.code), values: refs };
}

function parseDate(clause: SearchClause, value: string) {
  const range = dateRange(value);
  if (!range) throw badRequest(`"${value}" is not a valid date for ${clause.name}`, [clause.name]);
  return range;
}

/** Date prefixes compare ranges (search.html#prefix): each value covers [lo, hi]. */
function dateFilter(field: string, prefix: Prefix, q: { lo: string; hi: string }): Filter {
  const lo = `${field}.lo`;
  const hi = `${field}.hi`;
  switch (prefix) {
    case 'eq':
      return and([
        { kind: 'cmp', field: lo, op: 'ge', value: q.lo },
        { kind: 'cmp', field: hi, op: 'le', value: q.hi },
      ]);
    case 'ne':
      return not(dateFilter(field, 'eq', q));
    case 'gt':
      return { kind: 'cmp', field: hi, op: 'gt', value: q.hi };
    case 'lt':
      return { kind: 'cmp', field: lo, op: 'lt', value: q.lo };
    case 'ge':
      return { kind: 'cmp', field: hi, op: 'ge', value: q.lo };
    case 'le':
      return { kind: 'cmp', field: lo, op: 'le', value: q.hi };
    case 'sa':
      return { kind: 'cmp', field: lo, op: 'gt', value: q.hi };
    case 'eb':
      return { kind: 'cmp', field: hi, op: 'lt', value: q.lo };
    case 'ap': {
      // "Approximately": within 10% of the distance from now (search.html#prefix).
      const now = Date.now();
      const slack = Math.abs(now - Date.parse(q.lo)) * 0.1;
      const from = new Date(Math.max(Date.parse(q.lo) - slack, -62135596800000)).toISOString();
      const to = new Date(Math.min(Date.parse(q.hi) + slack, 253402300799999)).toISOString();
      return and([
        { kind: 'cmp', field: lo, op: 'le', value: to },
        { kind: 'cmp', field: hi, op: 'ge', value: from },
      ]);
    }
  }
}

function compileDate(param: IndexedParameter, link: ParameterLink, clause: SearchClause): Filter {
  if (link.modifier) unsupportedModifier(param, link);
  return or(
    clause.values.map((v) => {
      const [prefix, value] = splitPrefix(v);
      return dateFilter(indexField(param.code), prefix, parseDate(clause, value));
    })
  );
}

/** Every leading part of a URI at a '/' boundary: what a stored value must be for :above. */
function uriAncestors(uri: string): string[] {
  const out: string[] = [];
  for (let i = uri.indexOf('/'); i >= 0; i = uri.indexOf('/', i + 1)) if (i > 0) out.push(uri.slice(0, i));
  return [...out, uri];
}

function compileUri(param: IndexedParameter, link: ParameterLink, clause: SearchClause): Filter {
  const field = indexField(param.code);
  if (link.modifier === 'below') return or(clause.values.map((value) => ({ kind: 'prefix', field, value })));
  if (link.modifier === 'above') return { kind: 'in', field, values: clause.values.flatMap(uriAncestors) };
  if (link.modifier) unsupportedModifier(param, link);
  return or(clause.values.map((value) => ({ kind: 'eq', field, value })));
}

/**
 * A number compared with a prefix. eq and ne take the precision of the value
 * written (search.html#number): 100 means [99.5, 100.5), 5.4 means [5.35, 5.45).
 */
function numberFilter(field: string, prefix: Prefix, text: string, name: string): Filter {
  const value = Number(text);
  if (text === '' || !Number.isFinite(value)) throw badRequest(`"${text}" is not a number for ${name}`, [name]);
  const decimals = /\.(\d+)/.exec(text)?.[1].length ?? 0;
  const half = 0.5 * 10 ** -decimals;
  const eq: Filter = and([
    { kind: 'cmp', field, op: 'ge', value: value - half },
    { kind: 'cmp', field, op: 'lt', value: value + half },
  ]);
  switch (prefix) {
    case 'eq':
      return eq;
    case 'ne':
      return not(eq);
    case 'gt':
    case 'sa':
      return { kind: 'cmp', field, op: 'gt', value };
    case 'lt':
    case 'eb':
      return { kind: 'cmp', field, op: 'lt', value };
    case 'ge':
      return { kind: 'cmp', field, op: 'ge', value };
    case 'le':
      return { kind: 'cmp', field, op: 'le', value };
    case 'ap': {
      // "Approximately": within 10% of the value (search.html#prefix).
      const slack = Math.abs(value) * 0.1;
      return and([
        { kind: 'cmp', field, op: 'ge', value: value - slack },
        { kind: 'cmp', field, op: 'le', value: value + slack },
      ]);
    }
  }
}

function compileNumber(param: IndexedParameter, link: ParameterLink, clause: SearchClause): Filter {
  if (link.modifier) unsupportedModifier(param, link);
  return or(clause.values.map((v) => numberFilter(indexField(param.code), ...splitPrefix(v), clause.name)));
}

/** [prefix]number|system|code, [prefix]number||code or [prefix]number (search.html#quantity). */
function compileQuantity(param: IndexedParameter, link: ParameterLink, clause: SearchClause): Filter {
  if (link.modifier) unsupportedModifier(param, link);
  const field = indexField(param.code);
  return or(
    clause.values.map((v) => {
      const [number, system, code] = v.split('|');
      const [prefix, text] = splitPrefix(number);
      const value = numberFilter(`${field}.v`, prefix, text, clause.name);
      if (code === undefined || code === '') return value;
      const unit = system ? `${system}|${code}` : code;
      return and([value, { kind: 'eq', field: `${field}.u`, value: unit }]);
    })
  );
}

const KM_PER_UNIT: Record<string, number> = { km: 1, '[km]': 1, m: 0.001, mi: 1.609344, '[mi_i]': 1.609344 };

/**
 * near=latitude|longitude|distance|unit (Location-near): a circle, with its
 * bounding box for stores without a geospatial index; the repository then keeps
 * what is truly within the distance and orders by it (store/search/near.ts).
 */
function compileNear(param: IndexedParameter, link: ParameterLink, clause: SearchClause, ctx: CompileContext): Filter {
  if (link.modifier) unsupportedModifier(param, link);
  if (clause.values.length !== 1) throw badRequest(`${clause.name} takes one point`, [clause.name]);
  const [latText, lngText, distanceText, unit = 'km'] = clause.values[0].split('|');
  const lat = Number(latText);
  const lng = Number(lngText);
  const distance = distanceText ? Number(distanceText) : ctx.nearDefaultKm;
  const perUnit = KM_PER_UNIT[unit];
  if (!latText || !lngText || !Number.isFinite(lat) || !Number.isFinite(lng) || Math.abs(lat) > 90 || Math.abs(lng) > 180 || !(distance >= 0) || !perUnit) {
    throw badRequest(`${clause.name} must be latitude|longitude|distance|unit (km, m or mi), not "${clause.values[0]}"`, [clause.name]);
  }
  const km = distance * perUnit;
  ctx.near = { lat, lng, km, field: indexField(param.code) };
  const dLat = km / 111.32;
  const dLng = km / (111.32 * Math.max(Math.cos((lat * Math.PI) / 180), 0.01));
  const field = indexField(param.code);
  const box = and([
    { kind: 'cmp', field: `${field}.lat`, op: 'ge', value: lat - dLat },
    { kind: 'cmp', field: `${field}.lat`, op: 'le', value: lat + dLat },
    { kind: 'cmp', field: `${field}.lng`, op: 'ge', value: lng - dLng },
    { kind: 'cmp', field: `${field}.lng`, op: 'le', value: lng + dLng },
  ]);
  return { kind: 'within', field, lat, lng, km, box };
}

function compileSort(request: SearchRequest): SortKey[] {
  const params = getIndexedParameters(request.resourceType);
  const keys: SortKey[] = request.sort.map(({ code, descending }) => {
    if (code === '_id') return { field: 'id', descending };
    // A version's own lastUpdated: the parameter's only value, kept beside the row in both stores; indexed there, a
    // page of the most recently changed (_sort=-_lastUpdated) is read in that order instead of sorting the whole type.
    if (code === '_lastUpdated') return { field: 'lastUpdated', descending };
    if (!params.has(code)) throw badRequest(`Cannot sort ${request.resourceType} by unknown parameter "${code}"`, ['_sort']);
    return { field: sortField(code), descending };
  });
  // The id is the final tie-breaker so that pages never overlap.
  if (!keys.some((k) => k.field === 'id')) keys.push({ field: 'id', descending: false });
  return keys;
}
