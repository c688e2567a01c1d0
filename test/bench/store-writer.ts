// The fastest real way to write the bench population: a referral transaction
// Bundle turned into versions and committed straight through the storage port
// (as npm run bench:search does), with the search index the server computes
// (indexer, including the parameters that read through references), so the
// server finds every resource as if it had been written through the API.
// Skipped, and so much faster: validation, the referral rules (the Task the
// server adds to each onward referral is not written) and the audit. Used by
// the scale run's --seed store, for sizes the FHIR layer takes hours to load.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import type { App } from '../../src/app';
import type { StoredVersion, VersionWrite } from '../../src/store/port';
import { indexWithReferences } from '../../src/store/resolved-index';

/** Each entry's urn:uuid becomes its id (a UUID is a valid FHIR id), and references to it "Type/uuid". */
function resolveUuids(bundle: Bundle): Resource[] {
  const typeOf = new Map<string, string>();
  for (const e of bundle.entry ?? []) if (e.fullUrl && e.resource) typeOf.set(e.fullUrl, e.resource.resourceType);
  return (bundle.entry ?? []).map((e) => {
    const json = JSON.stringify(e.resource).replace(/"urn:uuid:([0-9a-f-]{36})"/g, (whole, uuid: string) => {
      const type = typeOf.get(`urn:uuid:${uuid}`);
      return type ? `"${type}/${uuid}"` : whole;
    });
    return { ...(JSON.parse(json) as Resource), id: (e.fullUrl as string).slice('urn:uuid:'.length) };
  });
}

/** Returns a function that writes a transaction Bundle's resources as one commit; it resolves to the number written. */
export function storeWriter(app: App, baseUrl: string): (bundle: Bundle) => Promise<number> {
  return async (bundle) => {
    const lastUpdated = new Date().toISOString();
    const pending = new Map<string, StoredVersion>();
    const writes: VersionWrite[] = [];
    for (const resource of resolveUuids(bundle)) {
      const stored = { ...resource, meta: { versionId: '1', lastUpdated } } as Resource;
      // References inside the same Bundle resolve to the versions about to be written.
      const read = async (type: string, id: string) => pending.get(`${type}/${id}`) ?? (await app.store.readCurrent(type, id));
      const version: StoredVersion = {
        resourceType: stored.resourceType,
        id: stored.id as string,
        versionId: '1',
        lastUpdated,
        deleted: false,
        resource: stored,
        ...(await indexWithReferences(stored, baseUrl, read)),
      };
      pending.set(`${version.resourceType}/${version.id}`, version);
      writes.push({ version, expectedVersionId: undefined });
    }
    await app.store.commit(writes);
    return writes.length;
  };
}
