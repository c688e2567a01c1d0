// What a caller may do and see (security: SMART scopes, roles, organisations).
//
// may(): the token's scopes grant the permission on the type, and the role
// (roles.ts) allows it. restriction(): the store filter that keeps a caller to
// their own data, added to every search they make (hidden from page links) and
// used to decide whether they may see one resource:
//   referrer            ServiceRequests and Tasks they requested; those patients
//                       and their records
//   link worker         Tasks their service owns; the patients of those Tasks and
//                       those patients' plans, goals, observations, referrals
//   community provider  Tasks addressed to them; the referrals those Tasks fulfil
//   patient/ scopes     the patient in context and their compartment
// For the three roles the filter is one equality on the access grants every
// resource carries, "<role>|<the caller's ODS code>" (auth/access-rules.ts,
// store/access-index.ts), decided when resources are written: the same query
// at 50 Tasks or 500,000, with no list of ids built per request.
import type { Caller } from '../auth/caller';
import { roleAllows } from '../auth/roles';
import { grantingScopes, PERMISSION_NAMES, type Permission } from '../auth/scopes';
import { OrganisationCodes } from '../auth/organisation-ods';
import { isGrantRole, organisationRestriction } from '../auth/access-rules';
import { getIndexedParameters, indexField } from '../store/indexer';
import type { StoredVersion } from '../store/port';
import type { Repository } from '../store/repository';
import { and, NONE, type Filter } from '../store/search/filter';
import { OWNER_TAG_SYSTEM, ownerCode } from '../subscriptions/records';
import { forbidden } from '../base/outcomes';

/** Resources checked for visibility per store query (included resources, history entries). */
const VISIBLE_CHUNK = 1000;

export class Access {
  private codes?: OrganisationCodes;

  constructor(
    readonly caller: Caller,
    private readonly repo: Repository
  ) {}

  /** Whether the token's scopes and the caller's role allow this. */
  may(resourceType: string, permission: Permission): boolean {
    const { caller } = this;
    if (caller.unrestricted) return true;
    const scopes = grantingScopes(caller.scopes, resourceType, permission);
    // patient/ scopes need the patient in context.
    if (!scopes.some((s) => s.context !== 'patient' || caller.patient)) return false;
    return caller.role === undefined || roleAllows(caller.role, resourceType, permission);
  }

  require(resourceType: string, permission: Permission): void {
    if (!this.may(resourceType, permission)) {
      const who = this.caller.role ? `a ${this.caller.role}` : 'this token';
      throw forbidden(
        `Access denied: ${who} may not ${PERMISSION_NAMES[permission]} ${resourceType} (scope ${this.scopeNeeded(resourceType, permission)} is needed)`
      );
    }
  }

  private scopeNeeded(resourceType: string, permission: Permission): string {
    return `system/${resourceType}.${permission} or user/${resourceType}.${permission}`;
  }

  /** The filter that keeps this caller to their own data of this type; undefined when they see all of it. */
  async restriction(resourceType: string): Promise<Filter | undefined> {
    const { caller } = this;
    if (caller.unrestricted) return undefined;
    // A subscription is its owner's alone: it may carry the receiver's credentials (channel.header).
    if (resourceType === 'Subscription') return { kind: 'eq', field: indexField('_tag'), value: `${OWNER_TAG_SYSTEM}|${ownerCode(caller)}` };
    const onlyPatientScopes = !grantingScopes(caller.scopes, resourceType, 'r')
      .concat(grantingScopes(caller.scopes, resourceType, 's'))
      .some((s) => s.context !== 'patient');
    if (onlyPatientScopes && caller.patient) return patientCompartment(resourceType, caller.patient);
    if (!isGrantRole(caller.role)) return undefined;
    return organisationRestriction(caller.role, this.organisationCode(), resourceType);
  }

  /** The caller's ODS code: roles kept to their organisation's data cannot do without it. */
  private organisationCode(): string {
    const ods = this.caller.organization;
    if (!ods) throw forbidden(`Access denied: a ${this.caller.role} token must name its organisation (ods_code claim)`);
    return ods;
  }

  /** Whether the caller may read this resource: the type, and their restriction. */
  async canSee(version: StoredVersion): Promise<boolean> {
    return (await this.visible([version])).length === 1;
  }

  /** The versions the caller may read (included resources, history entries): their current versions must pass the restriction. */
  async visible(versions: StoredVersion[]): Promise<StoredVersion[]> {
    if (this.caller.unrestricted) return versions;
    const byType = new Map<string, StoredVersion[]>();
    for (const v of versions) byType.set(v.resourceType, [...(byType.get(v.resourceType) ?? []), v]);
    const seen = new Set<string>();
    for (const [type, list] of byType) {
      if (!this.may(type, 'r')) continue;
      const restriction = await this.restriction(type);
      if (!restriction) {
        list.forEach((v) => seen.add(`${type}/${v.id}`));
        continue;
      }
      const ids = [...new Set(list.map((v) => v.id))];
      for (let i = 0; i < ids.length; i += VISIBLE_CHUNK) {
        const chunk = ids.slice(i, i + VISIBLE_CHUNK);
        const filter = and([{ kind: 'in', field: 'id', values: chunk }, restriction]);
        const matches = await this.repo.store.search({ resourceType: type, filter, sort: [], offset: 0, limit: chunk.length });
        matches.forEach((v) => seen.add(`${type}/${v.id}`));
      }
    }
    return versions.filter((v) => seen.has(`${v.resourceType}/${v.id}`));
  }

  /**
   * Whether the caller acts for whoever this reference names: their own
   * organisation, its services or its roles (the ODS code they stand for).
   * Roles kept to their organisation's data need it to change what their
   * organisation made (a referral's requester, in an update or cancellation
   * message); other callers act for anyone.
   */
  async actsFor(reference: string | undefined): Promise<boolean> {
    const { caller } = this;
    if (caller.unrestricted || !isGrantRole(caller.role)) return true;
    const ods = this.organisationCode();
    this.codes ??= new OrganisationCodes((type, id) => this.repo.readLatest(type, id), this.repo.baseUrl);
    return (await this.codes.of(reference)).includes(ods);
  }
}

/** The patient in context and their compartment: the patient, and what refers to them through a patient parameter. */
function patientCompartment(resourceType: string, patient: string): Filter {
  if (resourceType === 'Patient') return { kind: 'in', field: 'id', values: [patient] };
  if (getIndexedParameters(resourceType).has('patient')) return { kind: 'eq', field: indexField('patient'), value: `Patient/${patient}` };
  // A type outside the patient compartment: nothing of it belongs to the patient in context.
  return NONE;
}
