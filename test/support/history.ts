// Writes resources with the history they would have had, straight through the
// storage port: the one way to give a test data whose versions are dated in
// the past (the server stamps every write it accepts with the present), as the
// medians of the activity report and _since need. Each entry becomes the next
// version of its resource, with its index fields computed as a write would.
import type { Resource } from '@medplum/fhirtypes';
import { computeIndex } from '../../src/store/indexer';
import type { StoragePort, StoredVersion, VersionWrite } from '../../src/store/port';
import { BASE_URL } from './server';

export interface DatedVersion {
  resource: Resource;
  /** When this version was written (an instant). */
  at: string;
}

/** Where the store allows it, versions are committed this many at a time (a MongoDB without transactions takes one per commit). */
const BATCH = 500;

export async function loadHistory(store: StoragePort, versions: DatedVersion[]): Promise<void> {
  const latest = new Map<string, string>();
  let batch: VersionWrite[] = [];
  const flush = async () => {
    if (batch.length > 0) await store.commit(batch);
    batch = [];
  };
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
    if (batch.some((w) => w.version.resourceType === version.resourceType && w.version.id === version.id)) await flush();
    batch.push({ version, expectedVersionId: previous });
    if (!store.supportsTransactions || batch.length >= BATCH) await flush();
    latest.set(key, versionId);
  }
  await flush();
}
