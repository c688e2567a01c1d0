// Whose organisation may see which resources (docs/security.md), as rules on
// the access grants every resource carries (store/access-index.ts). A grant
// "<role>|<ODS code>" lets that role at that organisation see the resource.
// For each resource type and role, the grants come from exactly one place:
//
//   Task            referrer            its requester's organisation        (own)
//                   link worker,        its owner's organisation            (own)
//                   community provider
//   ServiceRequest  referrer            its requester's organisation        (own)
//                   link worker         as its patient                      (inherited)
//                   community provider  owners of the Tasks that fulfil it  (derived)
//   Patient         referrer            requesters of referrals about them  (derived)
//                   link worker         owners of Tasks for them            (derived)
//   other records   referrer,           as their patient (types with a      (inherited)
//   about a patient link worker         `patient` search parameter)
//
// One source per (type, role) lets each part be recomputed on its own.
import { getResourceTypeNames } from '../base/definitions';
import { grantedTo } from '../store/access-index';
import { getIndexedParameters } from '../store/indexer';
import type { Filter } from '../store/search/filter';
import type { Role } from './roles';

/** The roles kept to their organisation's data. */
export type GrantRole = Extract<Role, 'referrer' | 'link-worker' | 'community-provider'>;
export const GRANT_ROLES: readonly GrantRole[] = ['referrer', 'link-worker', 'community-provider'];

/** Grants a resource takes from the organisation of a reference of its own (a search parameter). */
export const OWN_GRANTS: Record<string, { param: string; roles: GrantRole[] }[]> = {
  Task: [
    { param: 'requester', roles: ['referrer'] },
    { param: 'owner', roles: ['link-worker', 'community-provider'] },
  ],
  ServiceRequest: [{ param: 'requester', roles: ['referrer'] }],
};

/**
 * Grants a resource takes from the resources that refer to it: the target's
 * part for the role is the union of the sources' own grants for it.
 */
export interface Derivation {
  targetType: string;
  role: GrantRole;
  sourceType: string;
  /** The sources' reference search parameter that names the target. */
  via: string;
}

export const DERIVATIONS: readonly Derivation[] = [
  { targetType: 'Patient', role: 'referrer', sourceType: 'ServiceRequest', via: 'patient' },
  { targetType: 'Patient', role: 'link-worker', sourceType: 'Task', via: 'patient' },
  { targetType: 'ServiceRequest', role: 'community-provider', sourceType: 'Task', via: 'focus' },
];

/** The audit trail is the admins' (its patient index serves Patient/$everything, not access). */
const NOT_PATIENT_RECORDS = new Set(['Patient', 'Task', 'AuditEvent']);

/** The roles whose grants a resource of this type takes from the patients it is about. */
export function inheritedRoles(resourceType: string): GrantRole[] {
  if (NOT_PATIENT_RECORDS.has(resourceType) || !getIndexedParameters(resourceType).has('patient')) return [];
  return resourceType === 'ServiceRequest' ? ['link-worker'] : ['referrer', 'link-worker'];
}

let recordTypes: string[] | undefined;

/** The types of records about a patient that take grants from them. */
export function patientRecordTypes(): string[] {
  recordTypes ??= getResourceTypeNames().filter((type) => inheritedRoles(type).length > 0);
  return recordTypes;
}

/** The roles whose grants a type takes from the resources referring to it. */
export const derivedRoles = (resourceType: string): Derivation[] => DERIVATIONS.filter((d) => d.targetType === resourceType);

/** Whether a type carries grants at all. */
export const hasGrants = (resourceType: string): boolean =>
  resourceType in OWN_GRANTS || derivedRoles(resourceType).length > 0 || inheritedRoles(resourceType).length > 0;

/** The grants of a list for one role. */
export const forRole = (grants: Iterable<string>, role: GrantRole): string[] => [...grants].filter((g) => g.startsWith(`${role}|`));

/** Types a community provider sees only through its Tasks; the other roles' grants cover every record about a patient. */
const COMMUNITY_PROVIDER_TYPES = new Set(['Task', 'ServiceRequest']);

/**
 * What keeps a role at an organisation to its own data of a type: one
 * equality on the grants, or undefined where the role sees all of the type
 * (the directory, definitions). Records about patients that carry no grant
 * for the role (the audit trail) are simply not found.
 */
export function organisationRestriction(role: GrantRole, ods: string, resourceType: string): Filter | undefined {
  const patientData = resourceType === 'Patient' || resourceType === 'Task' || getIndexedParameters(resourceType).has('patient');
  if (role === 'community-provider' ? !COMMUNITY_PROVIDER_TYPES.has(resourceType) : !patientData) return undefined;
  return grantedTo(role, ods);
}

export const isGrantRole = (role: string | undefined): role is GrantRole => (GRANT_ROLES as readonly string[]).includes(role ?? '');
