// Parses search query parameters into a SearchRequest (FHIR search.html).
// Written here rather than taken from @medplum/core's parseSearchRequest
// because that parser drops reference type modifiers (subject:Patient=1),
// passes unknown modifiers through and turns a bad _count into null; a server
// must instead reject what it does not understand with a 400.
import { badRequest } from './outcomes';

export type Prefix = 'eq' | 'ne' | 'gt' | 'lt' | 'ge' | 'le' | 'sa' | 'eb' | 'ap';
export const PREFIXES: readonly Prefix[] = ['eq', 'ne', 'gt', 'lt', 'ge', 'le', 'sa', 'eb', 'ap'];

/** One link of a parameter name: `subject:Patient` in `subject:Patient.identifier`. */
export interface ParameterLink {
  code: string;
  /** A search modifier (`exact`, `missing`, ...) or, on a reference, a resource type. */
  modifier?: string;
}

/** One `name=value` pair; its comma-separated values are ORed (search.html#combining). */
export interface SearchClause {
  /** The name as written, for messages and self links. */
  name: string;
  /** The parameter itself, then any chained parameters. */
  chain: ParameterLink[];
  values: string[];
  /** Reverse chaining (search.html#has): _has:<resourceType>:<searchParam>:<inner clause>. */
  has?: { resourceType: string; searchParam: string; inner: SearchClause };
}

export interface IncludeTarget {
  /** A resource type, or '*' (any). */
  resourceType: string;
  /** A reference search parameter, or '*' (all of them). */
  searchParam: string;
  targetType?: string;
  /** :iterate — also applies to the resources included (search.html#revinclude). */
  iterate?: boolean;
}

export interface SortRule {
  code: string;
  descending: boolean;
}

export interface SearchRequest {
  resourceType: string;
  clauses: SearchClause[];
  count: number;
  offset: number;
  /** A keyset page link (store/search/cursor.ts), instead of an offset. */
  cursor?: string;
  sort: SortRule[];
  include: IncludeTarget[];
  revinclude: IncludeTarget[];
  summary?: 'count' | 'true' | 'text' | 'data';
  /** _elements: the top-level elements to return. */
  elements?: string[];
  total?: 'none' | 'estimate' | 'accurate';
}

export type QueryParams = Record<string, string[]>;

/** Result parameters handled here rather than compiled into the query. */
const IGNORED_RESULT_PARAMS = new Set(['_format', '_pretty']);

export interface ParseOptions {
  defaultCount: number;
  maxCount: number;
}

function integer(name: string, raw: string, min: number, max: number): number {
  if (!/^\d+$/.test(raw) || Number(raw) < min || Number(raw) > max) {
    throw badRequest(`Parameter ${name} must be a whole number from ${min} to ${max}, not "${raw}"`, [name]);
  }
  return Number(raw);
}

function parseInclude(name: string, raw: string): IncludeTarget {
  const iterate = name.endsWith(':iterate') || name.endsWith(':recurse');
  if (raw === '*') return { resourceType: '*', searchParam: '*', iterate };
  const parts = raw.split(':');
  if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '')) {
    throw badRequest(`${name} must look like Type:parameter[:targetType], not "${raw}"`, [name]);
  }
  return { resourceType: parts[0], searchParam: parts[1], targetType: parts[2], iterate };
}

/** A clause from its name: a parameter (with modifier and chain), or a _has reverse chain. */
export function parseClause(name: string, values: string[]): SearchClause {
  if (name.startsWith('_has:')) {
    const [, resourceType, searchParam, ...rest] = name.split(':');
    const innerName = rest.join(':');
    if (!resourceType || !searchParam || !innerName) {
      throw badRequest(`${name} must look like _has:Type:parameter:innerParameter`, [name]);
    }
    return { name, chain: [], values, has: { resourceType, searchParam, inner: parseClause(innerName, values) } };
  }
  return { name, chain: parseChain(name), values };
}

export function parseChain(name: string): ParameterLink[] {
  return name.split('.').map((link) => {
    const [code, modifier, ...rest] = link.split(':');
    if (!code || rest.length > 0 || modifier === '') {
      throw badRequest(`Search parameter name "${name}" is malformed`, [name]);
    }
    return modifier ? { code, modifier } : { code };
  });
}

export function parseSearchParams(resourceType: string, query: QueryParams, options: ParseOptions): SearchRequest {
  const request: SearchRequest = {
    resourceType,
    clauses: [],
    count: options.defaultCount,
    offset: 0,
    sort: [],
    include: [],
    revinclude: [],
  };
  for (const [name, rawValues] of Object.entries(query)) {
    for (const raw of rawValues) {
      switch (name) {
        case '_count':
          request.count = integer(name, raw, 0, options.maxCount);
          break;
        case '_offset':
          request.offset = integer(name, raw, 0, 1_000_000);
          break;
        case '_cursor':
          request.cursor = raw;
          break;
        case '_sort':
          for (const key of raw.split(',')) {
            const code = key.replace(/^-/, '');
            if (!code) throw badRequest(`_sort has an empty key in "${raw}"`, ['_sort']);
            request.sort.push({ code, descending: key.startsWith('-') });
          }
          break;
        case '_include':
        case '_include:iterate':
        case '_include:recurse':
          request.include.push(parseInclude(name, raw));
          break;
        case '_revinclude':
        case '_revinclude:iterate':
        case '_revinclude:recurse':
          request.revinclude.push(parseInclude(name, raw));
          break;
        case '_summary':
          if (raw === 'false') break;
          if (raw !== 'count' && raw !== 'true' && raw !== 'text' && raw !== 'data') {
            throw badRequest(`_summary must be true, text, data, count or false, not "${raw}"`, ['_summary']);
          }
          request.summary = raw;
          break;
        case '_elements':
          request.elements = [
            ...(request.elements ?? []),
            ...raw
              .split(',')
              .map((e) => e.trim())
              .filter(Boolean),
          ];
          break;
        case '_total':
          if (raw !== 'none' && raw !== 'estimate' && raw !== 'accurate') {
            throw badRequest(`_total must be none, estimate or accurate, not "${raw}"`, ['_total']);
          }
          request.total = raw;
          break;
        default:
          if (IGNORED_RESULT_PARAMS.has(name)) break;
          request.clauses.push(parseClause(name, splitValues(name, raw)));
      }
    }
  }
  if (request.cursor !== undefined && request.offset > 0) throw badRequest('_cursor and _offset cannot be used together', ['_cursor']);
  return request;
}

/** Splits a leading comparison prefix off a date or number value (search.html#prefix). */
export function splitPrefix(value: string): [Prefix, string] {
  const p = value.slice(0, 2) as Prefix;
  if (PREFIXES.includes(p) && /^[0-9+-.]/.test(value.slice(2))) return [p, value.slice(2)];
  return ['eq', value];
}

/**
 * Splits a value on unescaped commas (OR) and removes the escapes FHIR defines:
 * \, \$ \| and \\ (search.html#escaping). Another backslash stays literal.
 * An empty value is refused rather than read as "match anything".
 */
export function splitValues(name: string, raw: string): string[] {
  const values: string[] = [];
  let current = '';
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i];
    if (ch === '\\' && i + 1 < raw.length && ',$|\\'.includes(raw[i + 1])) {
      current += raw[++i];
    } else if (ch === ',') {
      values.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  values.push(current);
  if (values.some((v) => v === '')) throw badRequest(`Parameter ${name} has an empty value`, [name]);
  return values;
}
