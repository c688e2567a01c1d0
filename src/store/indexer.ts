// Computes a resource's search index fields at write time from the
// SearchParameters registered for its type (FHIR search.html). Queries then
// touch only these fields: tokens as "system|code", "|code" and "code";
// strings normalised; references as "Type/id"; dates as [lo, hi] instants.
import { evalFhirPathTyped, getSearchParameterDetails, getSearchParameters, globalSchema, parseFhirPath, toTypedValue, type TypedValue } from '@medplum/core';
import { createHash } from 'node:crypto';
import { getBaseSearchParameters } from '../base/definitions';
import type { Resource, SearchParameter } from '@medplum/fhirtypes';
import type { FhirPathAtom } from '@medplum/core';
import type { DateIndex, IndexFields } from './port';
import { dateRange, MAX_INSTANT, MIN_INSTANT, normalizeString } from './search/values';
import { normalizeReference, RESOLVE_FORM } from '../base/references';
import { expressionRoots, mayHaveValues, type ElementPath } from '../base/expression-roots';
import { followPath, propertyPath } from './property-path';

/** The search parameter types indexed so far; others are refused at query time. */
export type IndexedType = 'token' | 'string' | 'reference' | 'date' | 'uri' | 'number' | 'quantity' | 'special' | 'composite';
const INDEXED_TYPES = new Set<string>(['token', 'string', 'reference', 'date', 'uri', 'number', 'quantity', 'composite']);
/** Special parameters the server knows how to index: Location.near (a position). */
const INDEXED_SPECIAL = new Set(['near']);

/**
 * Not indexed: Medplum's own multi-tenancy parameters (not R4), and _id,
 * which searches the top-level id field every store already indexes.
 */
const EXCLUDED = new Set(['_compartment', '_project', '_id']);

/**
 * The audit trail is an append-only log indexed only for what audit search
 * needs (who, what, when, which interaction, how it ended, and whose record:
 * the patient, by which Patient/$everything finds a patient's trail), not
 * every AuditEvent parameter: one is written per request, so each field costs.
 */
const AUDIT_EVENT_PARAMETERS = new Set(['date', 'agent', 'entity', 'patient', 'subtype', 'outcome', 'action', 'type', '_lastUpdated']);

/** A composite parameter's second part: what is compared once the first (a token) matched. */
export interface CompositePart {
  type: 'token' | 'quantity' | 'date' | 'string';
  expression: FhirPathAtom;
}

export interface IndexedParameter {
  code: string;
  type: IndexedType;
  expression: FhirPathAtom;
  /** For composite parameters: the token part, then the part it qualifies (search.html#composite). */
  composite?: { first: FhirPathAtom; second: CompositePart };
  /** Resource types a reference parameter may point to. */
  targets: string[];
  /** For a parameter whose values come from another resource (resolve(); see below). */
  resolve?: ResolvePath;
  /** The elements the expression starts from, when known: without them it has no values (expression-roots.ts). */
  roots?: ElementPath[];
  /** The expression's element names, when it is a plain path from the resource (property-path.ts). */
  path?: string[];
  definition: SearchParameter;
}

/**
 * An expression of the form `<Base>.<reference path>.resolve().ofType(<Type>).<rest>`:
 * the values are read from the referenced resource (for example a referral's
 * patient's NHS number). The referenced resource is read when the resource is
 * indexed, and resources that refer to it are reindexed when it changes
 * (store/resolved-index.ts). `via` must be the expression of one of the base
 * type's reference parameters, so those dependents can be found by its index.
 */
export interface ResolvePath {
  via: FhirPathAtom;
  /** The reference parameter whose index finds the dependents. */
  viaCode: string;
  targetType: string;
  rest: FhirPathAtom;
}

function resolvePath(expression: string, params: Record<string, SearchParameter>): ResolvePath | undefined {
  const m = RESOLVE_FORM.exec(expression.trim());
  if (!m) return undefined;
  const viaCode = Object.entries(params).find(([, sp]) => sp.type === 'reference' && sp.expression?.trim() === m[1].trim())?.[0];
  if (!viaCode) return undefined;
  return { via: parseFhirPath(m[1]), viaCode, targetType: m[2], rest: parseFhirPath(m[3]) };
}

const paramsByType = new Map<string, Map<string, IndexedParameter>>();

/** Parameters being reindexed: indexed on write already, but not searchable until their job ends. */
const pending = new Map<string, string>();
const pendingKey = (resourceType: string, code: string): string => `${resourceType}|${code}`;

export function markPending(resourceTypes: string[], code: string, url: string): void {
  for (const type of resourceTypes) pending.set(pendingKey(type, code), url);
}

export function clearPending(resourceTypes: string[], code: string): void {
  for (const type of resourceTypes) pending.delete(pendingKey(type, code));
}

/** The url of the SearchParameter whose reindex is still running, if this one is. */
export function pendingParameter(resourceType: string, code: string): string | undefined {
  return pending.get(pendingKey(resourceType, code));
}

/** Forgets the computed parameter lists, after SearchParameters were added. */
export function clearIndexedParameters(): void {
  paramsByType.clear();
  dependentsByTarget = undefined;
}

export interface ResolveDependent {
  resourceType: string;
  param: IndexedParameter & { resolve: ResolvePath };
}
let dependentsByTarget: Map<string, ResolveDependent[]> | undefined;

/** The parameters, of any resource type, whose values are read from resources of targetType. */
export function resolveDependents(targetType: string): ResolveDependent[] {
  if (!dependentsByTarget) {
    dependentsByTarget = new Map();
    for (const [type, info] of Object.entries(globalSchema.types)) {
      const searchParams = Object.values(info.searchParams ?? {});
      if (!searchParams.some((sp) => sp.expression && RESOLVE_FORM.test(sp.expression.trim()))) continue;
      for (const param of getIndexedParameters(type).values()) {
        if (!param.resolve) continue;
        const list = dependentsByTarget.get(param.resolve.targetType) ?? [];
        list.push({ resourceType: type, param: param as ResolveDependent['param'] });
        dependentsByTarget.set(param.resolve.targetType, list);
      }
    }
  }
  return dependentsByTarget.get(targetType) ?? [];
}

/** The indexed search parameters of a resource type, by code. */
export function getIndexedParameters(resourceType: string): Map<string, IndexedParameter> {
  let params = paramsByType.get(resourceType);
  if (params) return params;
  params = new Map();
  const all = getSearchParameters(resourceType) ?? {};
  for (const [code, sp] of Object.entries(all)) {
    if (EXCLUDED.has(code) || !sp.expression) continue;
    if (resourceType === 'AuditEvent' && !AUDIT_EVENT_PARAMETERS.has(code)) continue;
    if (!INDEXED_TYPES.has(sp.type as string) && !(sp.type === 'special' && INDEXED_SPECIAL.has(code))) continue;
    const composite = sp.type === 'composite' ? compositeParts(sp) : undefined;
    if (sp.type === 'composite' && !composite) continue;
    // Values read from another resource (ResolvePath). R4's own `where(resolve() is Patient)`
    // only tests a reference's type, which the FHIRPath engine answers from the reference.
    const resolve = RESOLVE_FORM.test(sp.expression.trim()) ? resolvePath(sp.expression, all) : undefined;
    if (RESOLVE_FORM.test(sp.expression.trim()) && !resolve) continue;
    const expression = resolve ? resolve.rest : getSearchParameterDetails(resourceType, sp).parsedExpression;
    params.set(code, {
      code,
      type: sp.type as IndexedType,
      expression,
      roots: resolve ? undefined : expressionRoots(expression, resourceType),
      path: resolve ? undefined : propertyPath(expression, resourceType),
      targets: (sp.target as string[] | undefined) ?? [],
      definition: sp,
      composite,
      resolve,
    });
  }
  paramsByType.set(resourceType, params);
  return params;
}

const COMPOSITE_SECOND = new Set(['token', 'quantity', 'date', 'string']);
let parametersByUrl: Map<string, SearchParameter> | undefined;

/** A composite of two parts whose first is a token: the form of nearly every R4 composite. */
function compositeParts(sp: SearchParameter): IndexedParameter['composite'] {
  parametersByUrl ??= new Map(getBaseSearchParameters().map((p) => [p.url as string, p]));
  const [first, second, ...rest] = sp.component ?? [];
  if (!first || !second || rest.length > 0 || !first.expression || !second.expression) return undefined;
  const firstType = parametersByUrl.get(first.definition as string)?.type;
  const secondType = parametersByUrl.get(second.definition as string)?.type as string | undefined;
  if (firstType !== 'token' || !secondType || !COMPOSITE_SECOND.has(secondType)) return undefined;
  return { first: parseFhirPath(first.expression), second: { type: secondType as CompositePart['type'], expression: parseFhirPath(second.expression) } };
}

/** The sub-field of a composite for one value of its token part: a hash keeps field names safe. */
export function compositeKey(token: string): string {
  return 'k' + createHash('sha1').update(token).digest('hex').slice(0, 16);
}

/** Field names for a parameter's index; kept here so compiler and indexer agree. */
export const indexField = (code: string): string => `idx.${code}`;
export const exactField = (code: string): string => `idx.${code}:exact`;
export const identifierField = (code: string): string => `idx.${code}:identifier`;
export const textField = (code: string): string => `idx.${code}:text`;
export const ofTypeField = (code: string): string => `idx.${code}:of-type`;
export const sortField = (code: string): string => `sort.${code}`;

export interface IndexResult {
  idx: IndexFields;
  sort: Record<string, string | number>;
}

/** Referenced resources, by "Type/id", for parameters with resolve(). */
export type ResolvedReferences = ReadonlyMap<string, Resource>;

/** The "Type/id" references this resource's resolve() parameters read values from. */
export function referencesToResolve(resource: Resource, baseUrl: string): string[] {
  const refs = new Set<string>();
  const input = [toTypedValue(resource)];
  for (const param of getIndexedParameters(resource.resourceType).values()) {
    if (param.resolve) referencesThrough(param.resolve, input, baseUrl).forEach((r) => refs.add(r));
  }
  return [...refs];
}

function referencesThrough(path: ResolvePath, input: TypedValue[], baseUrl: string): string[] {
  return evalFhirPathTyped(path.via, input)
    .map((v) => (typeof v.value?.reference === 'string' ? normalizeReference(v.value.reference, baseUrl) : ''))
    .filter((ref) => ref.startsWith(`${path.targetType}/`));
}

export function computeIndex(resource: Resource, baseUrl: string, resolved: ResolvedReferences = new Map()): IndexResult {
  const idx: IndexFields = {};
  const sort: Record<string, string | number> = {};
  const input = [toTypedValue(resource)];
  for (const param of getIndexedParameters(resource.resourceType).values()) {
    if (!mayHaveValues(resource, param.roots)) continue;
    const from = param.resolve
      ? referencesThrough(param.resolve, input, baseUrl).flatMap((ref) => {
          const target = resolved.get(ref);
          return target ? [toTypedValue(target)] : [];
        })
      : input;
    const values = param.path ? followPath(param.path, input[0]) : from.length === 0 ? [] : evalFhirPathTyped(param.expression, from);
    indexValues(param, values, idx, sort, baseUrl);
  }
  return { idx, sort };
}

/**
 * Adds one parameter's values, as its expression selects them, to the index
 * fields and sort keys. Exported for index fields built without evaluating
 * the expression, where the values are known (audit-index.ts).
 */
export function indexValues(param: IndexedParameter, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>, baseUrl: string): void {
  if (values.length === 0) return;
  switch (param.type) {
    case 'token':
      indexTokens(param.code, values, idx, sort);
      break;
    case 'string':
      indexStrings(param.code, values, idx, sort);
      break;
    case 'reference':
      indexReferences(param.code, values, idx, sort, baseUrl);
      break;
    case 'date':
      indexDates(param.code, values, idx, sort);
      break;
    case 'uri':
      putStrings(idx, sort, param.code, values.map((v) => v.value).filter(isString));
      break;
    case 'number':
      indexNumbers(param.code, values, idx, sort);
      break;
    case 'quantity':
      indexQuantities(param.code, values, idx, sort);
      break;
    case 'special':
      indexPositions(param.code, values, idx);
      break;
    case 'composite':
      indexComposite(param, values, idx);
      break;
  }
}

const isString = (v: unknown): v is string => typeof v === 'string' && v.length > 0;

/** Stores distinct values and the smallest as the sort key (search.html#_sort). */
function putStrings(idx: IndexFields, sort: Record<string, string | number>, key: string, values: string[], sortValues = values): void {
  if (values.length === 0) return;
  idx[key] = [...new Set(values)];
  if (sortValues.length > 0) sort[key] = sortValues.reduce((a, b) => (b < a ? b : a));
}

function codingTokens(system: unknown, code: unknown, out: string[], bare: string[]): void {
  if (!isString(code)) return;
  out.push(isString(system) ? `${system}|${code}` : `|${code}`, code);
  bare.push(code);
}

function indexTokens(code: string, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>): void {
  const tokens: string[] = [];
  const bare: string[] = [];
  // For :text (search.html#modifiers): the text and displays, normalised.
  const texts: string[] = [];
  // For :of-type: "type system|type code|value" of typed identifiers.
  const ofType: string[] = [];
  for (const { type, value } of values) {
    if (value === null || value === undefined) continue;
    switch (type) {
      case 'Coding':
        codingTokens(value.system, value.code, tokens, bare);
        if (isString(value.display)) texts.push(value.display);
        break;
      case 'CodeableConcept':
        for (const coding of value.coding ?? []) {
          codingTokens(coding.system, coding.code, tokens, bare);
          if (isString(coding.display)) texts.push(coding.display);
        }
        if (isString(value.text)) texts.push(value.text);
        break;
      case 'Identifier':
        codingTokens(value.system, value.value, tokens, bare);
        if (isString(value.type?.text)) texts.push(value.type.text);
        for (const t of value.type?.coding ?? []) {
          if (isString(t.code) && isString(value.value)) ofType.push(`${t.system ?? ''}|${t.code}|${value.value}`);
        }
        break;
      case 'ContactPoint':
        codingTokens(undefined, value.value, tokens, bare);
        break;
      case 'boolean':
        codingTokens(undefined, String(value), tokens, bare);
        break;
      default:
        if (typeof value === 'string') codingTokens(undefined, value, tokens, bare);
    }
  }
  putStrings(idx, sort, code, tokens, bare);
  if (texts.length > 0) idx[`${code}:text`] = [...new Set(texts.map(normalizeString))];
  if (ofType.length > 0) idx[`${code}:of-type`] = [...new Set(ofType)];
}

function stringsOf({ type, value }: TypedValue): string[] {
  if (type === 'HumanName') {
    return [value.text, value.family, ...(value.given ?? []), ...(value.prefix ?? []), ...(value.suffix ?? [])];
  }
  if (type === 'Address') {
    return [value.text, ...(value.line ?? []), value.city, value.district, value.state, value.postalCode, value.country];
  }
  return typeof value === 'string' ? [value] : [];
}

function indexStrings(code: string, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>): void {
  const exact = values.flatMap(stringsOf).filter(isString);
  putStrings(idx, sort, code, exact.map(normalizeString));
  if (exact.length > 0) idx[`${code}:exact`] = [...new Set(exact)];
}

/** "Type/id" for a literal reference to this server, whatever form it was written in. */
function indexReferences(code: string, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>, baseUrl: string): void {
  const refs: string[] = [];
  const identifiers: string[] = [];
  for (const { type, value } of values) {
    if (type === 'Reference') {
      // Contained references (#id) are not searchable by reference.
      if (isString(value.reference) && !value.reference.startsWith('#')) {
        refs.push(normalizeReference(value.reference, baseUrl));
      }
      if (value.identifier) codingTokens(value.identifier.system, value.identifier.value, identifiers, []);
    } else if (isString(value)) {
      // canonical and uri references are stored as written.
      refs.push(value);
    }
  }
  putStrings(idx, sort, code, refs);
  if (identifiers.length > 0) idx[`${code}:identifier`] = [...new Set(identifiers)];
}

function rangeOf({ type, value }: TypedValue): { lo: string; hi: string }[] {
  if (type === 'Period') {
    const start = isString(value.start) ? dateRange(value.start) : undefined;
    const end = isString(value.end) ? dateRange(value.end) : undefined;
    if (!start && !end) return [];
    return [{ lo: start?.lo ?? MIN_INSTANT, hi: end?.hi ?? MAX_INSTANT }];
  }
  if (type === 'Timing') {
    const events = ((value.event as string[] | undefined) ?? []).map((e) => dateRange(e));
    const bounds = value.repeat?.boundsPeriod ? rangeOf({ type: 'Period', value: value.repeat.boundsPeriod }) : [];
    return [...events.filter((r): r is { lo: string; hi: string } => !!r), ...bounds];
  }
  if (isString(value)) {
    const range = dateRange(value);
    return range ? [range] : [];
  }
  return [];
}

function indexDates(code: string, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>): void {
  const ranges = values.flatMap(rangeOf);
  if (ranges.length === 0) return;
  const index: DateIndex = { lo: ranges.map((r) => r.lo), hi: ranges.map((r) => r.hi) };
  idx[code] = index;
  sort[code] = index.lo.reduce((a, b) => (b < a ? b : a));
}

function indexNumbers(code: string, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>): void {
  const numbers = values.map((v) => v.value).filter((v): v is number => typeof v === 'number' && Number.isFinite(v));
  if (numbers.length === 0) return;
  idx[code] = [...new Set(numbers)];
  sort[code] = Math.min(...numbers);
}

/** Quantities as their values (v) and units (u: "system|code", "|code" and "code", and the unit text). */
function indexQuantities(code: string, values: TypedValue[], idx: IndexFields, sort: Record<string, string | number>): void {
  const numbers: number[] = [];
  const units: string[] = [];
  for (const { value } of values) {
    if (!value || typeof value.value !== 'number' || !Number.isFinite(value.value)) continue;
    numbers.push(value.value);
    codingTokens(value.system, value.code ?? value.currency, units, []);
    if (isString(value.unit)) units.push(value.unit);
  }
  if (numbers.length === 0) return;
  idx[code] = { v: [...new Set(numbers)], u: [...new Set(units)] };
  sort[code] = Math.min(...numbers);
}

/** Positions (Location.position) as latitude and longitude, for near. */
function indexPositions(code: string, values: TypedValue[], idx: IndexFields): void {
  const lat: number[] = [];
  const lng: number[] = [];
  for (const { value } of values) {
    if (typeof value?.latitude === 'number' && typeof value?.longitude === 'number') {
      lat.push(value.latitude);
      lng.push(value.longitude);
    }
  }
  if (lat.length > 0) idx[code] = { lat, lng };
}

/**
 * Composite (search.html#composite): for each root the expression selects (an
 * Observation, each of its components), the second part's values are stored
 * under a sub-field named after each form of the first part's token, so a
 * query compares them with plain field conditions (no $elemMatch).
 */
function indexComposite(param: IndexedParameter, roots: TypedValue[], idx: IndexFields): void {
  const { first, second } = param.composite as NonNullable<IndexedParameter['composite']>;
  const out: Record<string, IndexFields> = {};
  for (const root of roots) {
    const tokens: IndexFields = {};
    indexTokens('t', evalFhirPathTyped(first, [root]), tokens, {});
    const forms = (tokens.t as string[] | undefined) ?? [];
    if (forms.length === 0) continue;
    const part: IndexFields = {};
    const values = evalFhirPathTyped(second.expression, [root]);
    if (second.type === 'token') indexTokens('v', values, part, {});
    else if (second.type === 'quantity') indexQuantities('v', values, part, {});
    else if (second.type === 'date') indexDates('v', values, part, {});
    else indexStrings('v', values, part, {});
    if (part.v === undefined) continue;
    for (const form of forms) {
      const key = compositeKey(form);
      out[key] = mergeParts(out[key], part);
    }
  }
  if (Object.keys(out).length > 0) idx[param.code] = out as unknown as IndexFields[string];
}

/** Joins two index parts of the same shape (arrays, or objects of arrays). */
function mergeParts(a: IndexFields | undefined, b: IndexFields): IndexFields {
  if (!a) return b;
  const merge = (x: unknown, y: unknown): unknown =>
    Array.isArray(x) && Array.isArray(y)
      ? [...new Set([...x, ...y])]
      : Object.fromEntries(
          Object.keys({ ...(x as object), ...(y as object) }).map((k) => [
            k,
            merge((x as Record<string, unknown>)?.[k] ?? [], (y as Record<string, unknown>)?.[k] ?? []),
          ])
        );
  return { v: merge(a.v, b.v) } as IndexFields;
}
