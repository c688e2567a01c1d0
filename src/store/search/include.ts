// _include and _revinclude (search.html#include): the resources matches refer
// to, and the resources that refer to matches, through reference parameters.
// At most INCLUDE_LIMIT are returned; hitting the cap is reported, never silent.
import { badRequest } from '../../fhir/outcomes';
import type { IncludeTarget, SearchRequest } from '../../fhir/search/parse';
import { getIndexedParameters, indexField } from '../indexer';
import type { StoragePort, StoredVersion } from '../port';

export const INCLUDE_LIMIT = 1000;

function referenceParameter(target: IncludeTarget, name: string) {
  const param = getIndexedParameters(target.resourceType).get(target.searchParam);
  if (!param || param.type !== 'reference') {
    throw badRequest(`${name}=${target.resourceType}:${target.searchParam}: not a reference search parameter`, [name]);
  }
  if (target.targetType && !param.targets.includes(target.targetType)) {
    throw badRequest(`${name}: ${target.targetType} is not a target of ${target.resourceType}:${target.searchParam}`, [name]);
  }
  return param;
}

export async function fetchIncludes(
  store: StoragePort,
  request: SearchRequest,
  matches: StoredVersion[]
): Promise<{ included: StoredVersion[]; warnings: string[] }> {
  const seen = new Set(matches.map((m) => `${m.resourceType}/${m.id}`));
  const included: StoredVersion[] = [];
  const warnings: string[] = [];
  let capped = false;
  const add = (versions: StoredVersion[]): void => {
    for (const v of versions) {
      const key = `${v.resourceType}/${v.id}`;
      if (seen.has(key)) continue;
      if (included.length >= INCLUDE_LIMIT) {
        capped = true;
        return;
      }
      seen.add(key);
      included.push(v);
    }
  };

  for (const target of request.include) {
    if (target.resourceType !== request.resourceType) {
      throw badRequest(`_include=${target.resourceType}:${target.searchParam} does not apply to ${request.resourceType}`, ['_include']);
    }
    const param = referenceParameter(target, '_include');
    const idsByType = new Map<string, Set<string>>();
    for (const match of matches) {
      for (const ref of (match.idx[param.code] as string[] | undefined) ?? []) {
        const [type, id, extra] = ref.split('/');
        if (!id || extra !== undefined || (target.targetType && type !== target.targetType)) continue;
        if (!idsByType.has(type)) idsByType.set(type, new Set());
        idsByType.get(type)?.add(id);
      }
    }
    for (const [type, ids] of idsByType) {
      const found = await store.search({
        resourceType: type,
        filter: { kind: 'in', field: 'id', values: [...ids] },
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: INCLUDE_LIMIT + 1,
      });
      add(found);
    }
  }

  const refs = matches.map((m) => `${m.resourceType}/${m.id}`);
  for (const target of request.revinclude) {
    const param = referenceParameter(target, '_revinclude');
    if (refs.length === 0) continue;
    const found = await store.search({
      resourceType: target.resourceType,
      filter: { kind: 'in', field: indexField(param.code), values: refs },
      sort: [{ field: 'id', descending: false }],
      offset: 0,
      limit: INCLUDE_LIMIT + 1,
    });
    add(found);
  }
  if (capped) warnings.push(`Included resources were capped at ${INCLUDE_LIMIT}; narrow the search to see them all`);
  return { included, warnings };
}
