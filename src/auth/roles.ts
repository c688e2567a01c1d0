// The roles of social prescribing, what each may do (a cap on the token's
// scopes) and whose data each sees (access.ts). A token names its role in the
// `sp_role` claim and its organisation's ODS code in `ods_code`; without a role
// claim, the token's scopes alone decide (an integrator's system client, say).
import type { Permission } from './scopes';

export const ROLES = ['referrer', 'link-worker', 'community-provider', 'integrator', 'commissioner', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Definitions of the server itself: written by admins only. */
export const CONFORMANCE_TYPES = new Set([
  'StructureDefinition',
  'SearchParameter',
  'CodeSystem',
  'ValueSet',
  'ConceptMap',
  'OperationDefinition',
  'CapabilityStatement',
]);
/** The community directory, which everyone involved in a referral may read. */
const DIRECTORY_TYPES = ['HealthcareService', 'Location', 'Organization', 'PractitionerRole', 'Practitioner'];
const READ: Permission[] = ['r', 's'];

type Grants = Record<string, Permission[]>;

function grants(entries: [string[], Permission[]][]): Grants {
  const out: Grants = {};
  for (const [types, permissions] of entries) for (const type of types) out[type] = [...new Set([...(out[type] ?? []), ...permissions])];
  return out;
}

/** Profiles, SearchParameters and terminology describe the API: every role reads them. */
const DEFINITIONS: [string[], Permission[]] = [[...CONFORMANCE_TYPES], READ];

/** Notifications instead of polling: each role may keep subscriptions of its own (access.ts). */
const SUBSCRIPTIONS: [string[], Permission[]] = [['Subscription'], ['c', 'r', 'u', 'd', 's']];

/** Per role: resource type -> permissions ('*' for every type not named). */
export const ROLE_GRANTS: Record<Role, Grants> = {
  // Creates referrals (with the patient, consent and the referral's Task) and follows their status.
  referrer: grants([
    [
      ['ServiceRequest', 'Patient', 'Consent'],
      ['c', 'r', 's'],
    ],
    [['Task'], READ],
    [DIRECTORY_TYPES, READ],
    [['Organization', 'PractitionerRole', 'Practitioner'], ['c']],
    SUBSCRIPTIONS,
    DEFINITIONS,
  ]),
  // Works their service's referrals: Tasks, plans, goals, outcomes, onward referrals.
  'link-worker': grants([
    [['Task'], ['c', 'r', 'u', 's']],
    [
      ['CarePlan', 'Goal', 'Observation', 'ServiceRequest', 'Consent'],
      ['c', 'r', 'u', 's'],
    ],
    [['Patient'], ['r', 's', 'u']],
    [DIRECTORY_TYPES, READ],
    SUBSCRIPTIONS,
    DEFINITIONS,
  ]),
  // Receives onward referrals: the Tasks addressed to them, and keeps its own directory entry.
  'community-provider': grants([
    [['Task'], ['r', 'u', 's']],
    [['ServiceRequest'], READ],
    [DIRECTORY_TYPES, READ],
    [['HealthcareService', 'Location'], ['u']],
    SUBSCRIPTIONS,
    DEFINITIONS,
  ]),
  // A system client of another organisation: everything but the server's own definitions and its audit trail.
  integrator: grants([[['*'], ['c', 'r', 'u', 'd', 's']], DEFINITIONS]),
  // Reports and minimised exports; Task status for incremental pulls; no patient-identifying reads.
  commissioner: grants([[['Task', ...DIRECTORY_TYPES, 'MeasureReport', 'Measure'], READ], DEFINITIONS]),
  // Profiles, terminology, SearchParameters, the directory, background jobs, and the audit trail.
  admin: grants([
    [[...CONFORMANCE_TYPES], ['c', 'r', 'u', 'd', 's']],
    [
      ['HealthcareService', 'Location', 'Organization'],
      ['c', 'r', 'u', 'd', 's'],
    ],
    [['AuditEvent', 'Basic'], READ],
  ]),
};

/** Types only admins write (and, for the audit trail, read), whatever a token's scopes say. */
const ADMIN_ONLY = new Set([...CONFORMANCE_TYPES, 'AuditEvent']);

export function roleAllows(role: Role, resourceType: string, permission: Permission): boolean {
  const granted = ROLE_GRANTS[role];
  const definitionRead = CONFORMANCE_TYPES.has(resourceType) && (permission === 'r' || permission === 's');
  if (role !== 'admin' && ADMIN_ONLY.has(resourceType) && !definitionRead) return false;
  return (granted[resourceType] ?? granted['*'] ?? []).includes(permission);
}

/** The SMART scopes a role's token carries when none are asked for (npm run token). */
export function defaultScopes(role: Role): string {
  const context = role === 'integrator' || role === 'commissioner' || role === 'admin' ? 'system' : 'user';
  return Object.entries(ROLE_GRANTS[role])
    .map(([type, permissions]) => `${context}/${type}.${['c', 'r', 'u', 'd', 's'].filter((p) => permissions.includes(p as Permission)).join('')}`)
    .join(' ');
}
