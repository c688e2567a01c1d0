// Who may see a resource, kept as an index field written with it: the access
// grants, strings "<role>|<ODS code>" (for example "link-worker|S10001"), each
// naming a role at an organisation whose members may see the resource. A
// caller kept to their organisation's data then searches, reads and includes
// through one equality on this field, whatever the size of their caseload: no
// list of ids is built per request. Which grants a resource has is decided
// where the write path asks for them (auth/access-grants.ts); the field is not
// a SearchParameter, so clients can neither search by it nor see it.
import type { AccessChange, IndexFields, StoredVersion } from './port';
import type { Filter } from './search/filter';

export const ACCESS_CODE = '_access';
export const ACCESS_FIELD = `idx.${ACCESS_CODE}`;

export const accessGrant = (role: string, ods: string): string => `${role}|${ods}`;

/** The filter that keeps a search to what a role at an organisation may see. */
export const grantedTo = (role: string, ods: string): Filter => ({ kind: 'eq', field: ACCESS_FIELD, value: accessGrant(role, ods) });

export function grantsOf(version: { idx: IndexFields } | undefined): string[] {
  return (version?.idx[ACCESS_CODE] as string[] | undefined) ?? [];
}

/** Index fields with these grants (sorted, so equal sets store alike), and none of the field when there are none. */
export function withGrants(idx: IndexFields, grants: Iterable<string>): IndexFields {
  const list = [...new Set(grants)].sort();
  const rest = Object.fromEntries(Object.entries(idx).filter(([code]) => code !== ACCESS_CODE));
  return list.length > 0 ? { ...rest, [ACCESS_CODE]: list } : rest;
}

/** Sets the grants of a version about to be written. */
export function setGrants(version: StoredVersion, grants: Iterable<string>): void {
  version.idx = withGrants(version.idx, grants);
}

/** Fresh index fields that keep the grants of the version they replace (a reindex recomputes SearchParameters only). */
export function keepGrants(fresh: IndexFields, stored: IndexFields): IndexFields {
  const grants = stored[ACCESS_CODE];
  return grants === undefined ? fresh : { ...fresh, [ACCESS_CODE]: grants };
}

/** The grants after a change. */
export function applyAccessChange(grants: string[], change: Pick<AccessChange, 'add' | 'remove'>): string[] {
  const removed = new Set(change.remove);
  return [...new Set([...grants.filter((g) => !removed.has(g)), ...change.add])].sort();
}

/** The access side of a commit: changes committed with its writes, and work too large for it. */
export interface AccessPlan {
  changes: AccessChange[];
  /** Runs once the writes are committed (grants of everything naming an organisation whose ODS code changed). */
  afterCommit?: () => Promise<void>;
}

/**
 * Decides the grants of the versions a commit writes and the access changes
 * they cause to stored resources. Given the versions in write order; sets
 * their grants in place, before they are stored.
 */
export interface AccessIndexer {
  plan(versions: StoredVersion[]): Promise<AccessPlan>;
}
