// Conditional creates unique across server processes (http.html#ccreate). A
// key record, with an id derived from the type, the normalised criteria and
// the caller's visibility, is written with every conditional create, and the
// store's optimistic lock on it decides between twins, whichever process
// they run in: exactly one creates, the other searches again and finds it.
// (HAPI FHIR's search-URL table is the model.)
//
// - With transactions the key commits in the same unit as the resource.
// - Without (FerretDB, a standalone MongoDB) the key is claimed first, then the
//   resource is written; a claim whose resource never appears (its write
//   failed) is taken over once it is older than CLAIM_TTL_MS.
// - A key is never deleted: one whose resource has since changed so that it
//   no longer matches (the search found nothing) is superseded by the next
//   conditional create, through the same optimistic lock.
// The key records are a record type of the store's own, not a FHIR type: the
// API never serves them (history leaves them out).
import type { Resource } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { OperationOutcomeError } from '../base/outcomes';
import type { StoredVersion, VersionWrite } from './port';

export const CONDITIONAL_KEY_TYPE = 'ConditionalCreateKey';

/** A claim younger than this is a twin still writing its resource: wait for it rather than take the key. */
export const CLAIM_TTL_MS = 10_000;

/** A twin holds the key: search again (it created the match, or will in a moment). */
export class ConditionalKeyTaken extends OperationOutcomeError {
  constructor() {
    super({
      resourceType: 'OperationOutcome',
      id: 'conflict',
      issue: [{ severity: 'error', code: 'conflict', diagnostics: 'Another request is creating a resource matching the same criteria; send this one again' }],
    });
  }
}

/** The key's record id: a hash, so criteria of any length and any characters fit an id. */
export const conditionalKeyId = (key: string): string => `ck-${createHash('sha256').update(key).digest('hex').slice(0, 56)}`;

/**
 * The write that claims a key for `target` ("Type/id"), given the key's
 * current record; throws ConditionalKeyTaken when a twin claimed it lately.
 */
export function claimWrite(key: string, target: string, previous: StoredVersion | undefined, now = new Date()): VersionWrite {
  const claimedAt = (previous?.resource as { claimedAt?: string } | undefined)?.claimedAt;
  if (previous && claimedAt && now.getTime() - Date.parse(claimedAt) < CLAIM_TTL_MS) throw new ConditionalKeyTaken();
  const id = conditionalKeyId(key);
  const versionId = previous ? String(Number(previous.versionId) + 1) : '1';
  const lastUpdated = now.toISOString();
  const record = { resourceType: CONDITIONAL_KEY_TYPE, id, key, target, claimedAt: lastUpdated, meta: { versionId, lastUpdated } } as unknown as Resource;
  return {
    version: { resourceType: CONDITIONAL_KEY_TYPE, id, versionId, lastUpdated, deleted: false, resource: record, idx: {}, sort: {} },
    expectedVersionId: previous?.versionId,
  };
}
