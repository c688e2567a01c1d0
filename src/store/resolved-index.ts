// Index fields that come from another resource: parameters of the form
// `<reference>.resolve().ofType(<Type>).<path>` (indexer.ts, ResolvePath), such
// as a referral's patient's NHS number. The referenced resources are read when
// a resource is indexed; when one of them changes, the resources that refer to
// it are reindexed, so a search never answers from a value that has changed.
import type { Resource } from '@medplum/fhirtypes';
import { computeIndex, indexField, referencesToResolve, resolveDependents, type IndexResult } from './indexer';
import type { StoragePort, StoredVersion } from './port';
import { keepGrants } from './access-index';

export type VersionReader = (resourceType: string, id: string) => Promise<StoredVersion | undefined>;

/** The index of a resource, with the resources its resolve() parameters read. */
export async function indexWithReferences(resource: Resource, baseUrl: string, read: VersionReader): Promise<IndexResult> {
  const resolved = new Map<string, Resource>();
  for (const ref of referencesToResolve(resource, baseUrl)) {
    const [type, id] = ref.split('/');
    const target = await read(type, id);
    if (target?.resource && !target.deleted) resolved.set(ref, target.resource);
  }
  return computeIndex(resource, baseUrl, resolved);
}

/** Fresh index fields for stored current versions (a reindex, or dependents of a changed resource). */
export async function reindexVersions(store: StoragePort, baseUrl: string, rows: StoredVersion[]): Promise<void> {
  const updates = [];
  for (const row of rows) {
    const index = await indexWithReferences(row.resource as Resource, baseUrl, (type, id) => store.readCurrent(type, id));
    updates.push({ resourceType: row.resourceType, id: row.id, versionId: row.versionId, idx: keepGrants(index.idx, row.idx), sort: index.sort });
  }
  await store.updateIndexes(updates);
}

const PAGE = 500;

/**
 * Reindexes the current resources whose resolve() parameters read from these
 * versions. A first version has no dependents yet (a reference must resolve
 * before it is written, so anything written with it already read it).
 */
export async function refreshDependents(store: StoragePort, baseUrl: string, versions: StoredVersion[]): Promise<void> {
  for (const changed of versions) {
    if (changed.versionId === '1') continue;
    for (const { resourceType, param } of resolveDependents(changed.resourceType)) {
      const field = indexField(param.resolve.viaCode);
      let after: string | undefined;
      for (;;) {
        const rows = await store.search({
          resourceType,
          filter: {
            kind: 'and',
            filters: [
              { kind: 'eq', field, value: `${changed.resourceType}/${changed.id}` },
              ...(after ? [{ kind: 'cmp' as const, field: 'id', op: 'gt' as const, value: after }] : []),
            ],
          },
          sort: [{ field: 'id', descending: false }],
          offset: 0,
          limit: PAGE,
        });
        if (rows.length === 0) break;
        await reindexVersions(store, baseUrl, rows);
        after = rows[rows.length - 1].id;
      }
    }
  }
}
