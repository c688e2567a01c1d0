// Conditional writes that create (http.html#ccreate, #cond-update) unique
// across server processes. A key record, with an id derived from the type,
// the normalised criteria and the caller's visibility, is written with every
// resource a conditional create or a conditional update with no match
// creates, and the store's optimistic lock on it decides between twins,
// whichever process they run in and whichever of the two interactions they
// are: exactly one creates, the others search again and find it. (HAPI
// FHIR's search-URL table is the model.)
//
// - The key is read before the search it guards (a KeyTicket), and claimed
//   with the version read as the expected one: a twin that claimed it in
//   between, after a search that may have missed this one's resource, makes
//   the claim fail, and the search runs again.
// - With transactions the key commits in the same unit as the resource.
// - Without (FerretDB, a standalone MongoDB) the key is claimed first, then the
//   resource is written: a recent claim whose resource does not exist yet is
//   a twin still writing, waited for; one whose resource never appears (its
//   write failed) is taken over once it is older than CLAIM_TTL_MS.
// - A key is never deleted: one whose resource has since changed or been
//   deleted so that it no longer matches (the search found nothing) is
//   superseded by the next conditional write, through the same optimistic lock.
// The key records are a record type of the store's own, not a FHIR type: the
// API never serves them (history leaves them out).
import type { Resource } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import { OperationOutcomeError } from '../base/outcomes';
import type { StoredVersion, VersionWrite } from './port';

export const CONDITIONAL_KEY_TYPE = 'ConditionalCreateKey';

/** A claim younger than this is a twin still writing its resource: wait for it rather than take the key. */
export const CLAIM_TTL_MS = 10_000;

/** A twin holds or took the key: search again (it created the match, or will in a moment). */
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

/** A key's record as read before the search it guards; the claim supersedes exactly that version. */
export interface KeyTicket {
  key: string;
  previous: StoredVersion | undefined;
}

/** The resource ("Type/id") a key's record was claimed for. */
export const claimTarget = (record: StoredVersion): string | undefined => (record.resource as { target?: string } | undefined)?.target;

/** Whether a claim belongs to a twin still writing its resource: recent, and that resource not written yet. */
export function isPendingClaim(record: StoredVersion, targetWritten: boolean, now = new Date()): boolean {
  const claimedAt = (record.resource as { claimedAt?: string } | undefined)?.claimedAt;
  return !targetWritten && !!claimedAt && now.getTime() - Date.parse(claimedAt) < CLAIM_TTL_MS;
}

/** The write that claims a key for `target` ("Type/id"), superseding the version its ticket read. */
export function claimWrite({ key, previous }: KeyTicket, target: string, now = new Date()): VersionWrite {
  const id = conditionalKeyId(key);
  const versionId = previous ? String(Number(previous.versionId) + 1) : '1';
  const lastUpdated = now.toISOString();
  const record = { resourceType: CONDITIONAL_KEY_TYPE, id, key, target, claimedAt: lastUpdated, meta: { versionId, lastUpdated } } as unknown as Resource;
  return {
    version: { resourceType: CONDITIONAL_KEY_TYPE, id, versionId, lastUpdated, deleted: false, resource: record, idx: {}, sort: {} },
    expectedVersionId: previous?.versionId,
  };
}
