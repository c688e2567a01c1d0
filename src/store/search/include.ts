// _include and _revinclude (search.html#include): the resources matches refer
// to, and the resources that refer to matches, through reference parameters;
// '*' stands for every reference parameter, and :iterate applies a target to
// what was included too (at most limits.includeIterations rounds). At most
// limits.include resources are included; hitting the cap is reported, never silent.
import { badRequest } from '../../base/outcomes';
import type { IncludeTarget, SearchRequest } from '../../base/search-request';
import { getIndexedParameters, indexField, type IndexedParameter } from '../indexer';
import type { StoragePort, StoredVersion } from '../port';
import { or } from './filter';
import type { SearchLimits } from './limits';

/** The reference parameters a target names on a type ('*': all of them). */
function referenceParameters(resourceType: string, target: IncludeTarget, name: string, strict: boolean): IndexedParameter[] {
  const params = [...getIndexedParameters(resourceType).values()].filter((p) => p.type === 'reference');
  if (target.searchParam === '*') return params;
  const param = params.find((p) => p.code === target.searchParam);
  if (!param) {
    if (!strict) return [];
    throw badRequest(`${name}=${target.resourceType}:${target.searchParam}: not a reference search parameter`, [name]);
  }
  if (target.targetType && !param.targets.includes(target.targetType)) {
    throw badRequest(`${name}: ${target.targetType} is not a target of ${target.resourceType}:${target.searchParam}`, [name]);
  }
  return [param];
}

const key = (v: StoredVersion): string => `${v.resourceType}/${v.id}`;

class Inclusion {
  readonly included: StoredVersion[] = [];
  capped = false;
  private readonly seen: Set<string>;

  constructor(
    matches: StoredVersion[],
    private readonly limit: number
  ) {
    this.seen = new Set(matches.map(key));
  }

  /** Adds what is new; returns it. */
  add(versions: StoredVersion[]): StoredVersion[] {
    const added: StoredVersion[] = [];
    for (const v of versions) {
      if (this.seen.has(key(v))) continue;
      if (this.included.length >= this.limit) {
        this.capped = true;
        break;
      }
      this.seen.add(key(v));
      this.included.push(v);
      added.push(v);
    }
    return added;
  }
}

async function include(store: StoragePort, target: IncludeTarget, sources: StoredVersion[], strict: boolean, limit: number): Promise<StoredVersion[]> {
  const idsByType = new Map<string, Set<string>>();
  for (const source of sources) {
    if (target.resourceType !== '*' && source.resourceType !== target.resourceType) continue;
    for (const param of referenceParameters(source.resourceType, target, '_include', strict && target.resourceType !== '*')) {
      for (const ref of (source.idx[param.code] as string[] | undefined) ?? []) {
        const [type, id, extra] = ref.split('/');
        if (!id || extra !== undefined || !/^[A-Z]/.test(type) || (target.targetType && type !== target.targetType)) continue;
        if (!idsByType.has(type)) idsByType.set(type, new Set());
        idsByType.get(type)?.add(id);
      }
    }
  }
  const found: StoredVersion[] = [];
  for (const [type, ids] of idsByType) {
    found.push(
      ...(await store.search({
        resourceType: type,
        filter: { kind: 'in', field: 'id', values: [...ids] },
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: limit + 1,
      }))
    );
  }
  return found;
}

async function revinclude(store: StoragePort, target: IncludeTarget, sources: StoredVersion[], limit: number): Promise<StoredVersion[]> {
  if (target.resourceType === '*') throw badRequest('_revinclude needs a resource type: _revinclude=Type:parameter', ['_revinclude']);
  const params = referenceParameters(target.resourceType, target, '_revinclude', true);
  const refs = sources.map(key);
  if (refs.length === 0 || params.length === 0) return [];
  return store.search({
    resourceType: target.resourceType,
    filter: or(params.map((p) => ({ kind: 'in', field: indexField(p.code), values: refs }))),
    sort: [{ field: 'id', descending: false }],
    offset: 0,
    limit: limit + 1,
  });
}

export async function fetchIncludes(
  store: StoragePort,
  request: SearchRequest,
  matches: StoredVersion[],
  limits: Pick<SearchLimits, 'include' | 'includeIterations'>
): Promise<{ included: StoredVersion[]; warnings: string[] }> {
  for (const target of request.include) {
    if (!target.iterate && target.resourceType !== '*' && target.resourceType !== request.resourceType) {
      throw badRequest(`_include=${target.resourceType}:${target.searchParam} does not apply to ${request.resourceType}`, ['_include']);
    }
  }
  const inclusion = new Inclusion(matches, limits.include);
  let frontier = matches;
  for (let round = 0; round <= limits.includeIterations && frontier.length > 0; round++) {
    const next: StoredVersion[] = [];
    // The first round applies every target to the matches; later rounds only the :iterate ones, to what was just included.
    for (const target of request.include.filter((t) => round === 0 || t.iterate)) {
      next.push(...inclusion.add(await include(store, target, frontier, round === 0, limits.include)));
    }
    for (const target of request.revinclude.filter((t) => round === 0 || t.iterate)) {
      next.push(...inclusion.add(await revinclude(store, target, frontier, limits.include)));
    }
    frontier = next;
  }
  const warnings = inclusion.capped ? [`Included resources were capped at ${limits.include}; narrow the search to see them all`] : [];
  return { included: inclusion.included, warnings };
}
