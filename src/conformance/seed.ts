// Stores the shipped conformance resources (profiles, SearchParameters,
// CodeSystems, ValueSets) as ordinary resources at start, so they are served
// and searchable at /fhir/StructureDefinition, /fhir/ValueSet, ... Only what
// changed since the last start is written, so restarts add no versions.
import type { Resource } from '@medplum/fhirtypes';
import type { Repository } from '../store/repository';
import { OperationOutcomeError } from '../base/outcomes';
import type { ConformanceRegistry } from './registry';

/** JSON with object keys sorted, so equal content compares equal whatever the key order. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v
  );
}

const withoutMeta = (resource: Resource): unknown => ({ ...resource, meta: undefined });

export function storeShippedResources(repo: Repository, registry: ConformanceRegistry): Promise<number> {
  return storeResources(repo, registry.shipped);
}

/** Stores each resource (with its id) unless the store already holds the same content; returns how many were written. */
export async function storeResources(repo: Repository, resources: Resource[]): Promise<number> {
  let written = 0;
  for (const resource of resources) {
    if (!resource.id) continue;
    const current = await repo.readLatest(resource.resourceType, resource.id);
    if (current?.resource && canonical(withoutMeta(current.resource)) === canonical(withoutMeta(resource))) continue;
    try {
      await repo.update(resource);
      written++;
    } catch (err) {
      // Another server process starting at the same time stored it first.
      if (err instanceof OperationOutcomeError && err.outcome.id === 'conflict') continue;
      throw err;
    }
  }
  return written;
}
