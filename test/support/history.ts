// Writes resources with the history they would have had, straight through the
// storage port: the one way to give a test data whose versions are dated in
// the past (the server stamps every write it accepts with the present), as the
// medians of the activity report and _since need. Each entry becomes the next
// version of its resource, with its index fields computed as a write would.
import type { Resource } from '@medplum/fhirtypes';
import { computeIndex } from '../../src/store/indexer';
import type { StoragePort, StoredVersion } from '../../src/store/port';
import { BASE_URL } from './server';

export interface DatedVersion {
  resource: Resource;
  /** When this version was written (an instant). */
  at: string;
}

export async function loadHistory(store: StoragePort, versions: DatedVersion[]): Promise<void> {
  const latest = new Map<string, string>();
  for (const { resource, at } of versions) {
    const key = `${resource.resourceType}/${resource.id}`;
    const previous = latest.get(key) ?? (await store.readCurrent(resource.resourceType, resource.id as string))?.versionId;
    const versionId = String(Number(previous ?? 0) + 1);
    const lastUpdated = new Date(at).toISOString();
    const stored = { ...resource, meta: { ...resource.meta, versionId, lastUpdated } } as Resource;
    const version: StoredVersion = {
      resourceType: resource.resourceType,
      id: resource.id as string,
      versionId,
      lastUpdated,
      deleted: false,
      resource: stored,
      ...computeIndex(stored, BASE_URL),
    };
    await store.commit([{ version, expectedVersionId: previous }]);
    latest.set(key, versionId);
  }
}
