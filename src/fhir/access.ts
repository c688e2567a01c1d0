// What a caller may do and see (security: SMART scopes, roles, organisations).
//
// may(): the token's scopes grant the permission on the type, and the role
// (roles.ts) allows it. restriction(): the search clauses that keep a caller to
// their own data, added to every search they make (hidden from page links) and
// used to decide whether they may see one resource:
//   referrer            ServiceRequests and Tasks they requested; those patients
//   link worker         Tasks their service owns; the patients of those Tasks and
//                       those patients' plans, goals, observations, referrals
//   community provider  Tasks addressed to them; the referrals those Tasks fulfil
//   patient/ scopes     the patient in context and their compartment
// The caller's organisation is the Organization with their ODS code, and the
// HealthcareServices and PractitionerRoles that belong to it.
import type { Resource } from '@medplum/fhirtypes';
import type { Caller } from '../auth/caller';
import { roleAllows } from '../auth/roles';
import { ODS_ORGANIZATION_SYSTEM } from '../conformance/checks/nhs-number';
import { grantingScopes, PERMISSION_NAMES, type Permission } from '../auth/scopes';
import { getIndexedParameters } from '../store/indexer';
import type { StoredVersion } from '../store/port';
import type { Repository } from '../store/repository';
import { OWNER_TAG_SYSTEM, ownerCode } from '../subscriptions/records';
import { forbidden } from '../base/outcomes';
import { parseSearchParams, type QueryParams } from '../base/search-request';

/** The most organisations' members, or patients, a restriction lists before refusing. */
export const RESTRICTION_LIMIT = 5000;
/** Roles whose data is their organisation's: what they may see and change follows from it. */
const ORGANISATION_ROLES = new Set(['referrer', 'link-worker', 'community-provider']);
/** Matches nothing: a restriction for a caller who has no data of this type. */
const NOTHING: QueryParams = { _id: ['none.visible'] };

export class Access {
  private orgRefs?: Promise<string[]>;
  private patients?: Promise<string[]>;

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

  /** Clauses that keep this caller to their own data of this type; undefined when they see all of it. */
  async restriction(resourceType: string): Promise<QueryParams | undefined> {
    const { caller } = this;
    if (caller.unrestricted) return undefined;
    // A subscription is its owner's alone: it may carry the receiver's credentials (channel.header).
    if (resourceType === 'Subscription') return { _tag: [`${OWNER_TAG_SYSTEM}|${ownerCode(caller)}`] };
    const onlyPatientScopes = !grantingScopes(caller.scopes, resourceType, 'r')
      .concat(grantingScopes(caller.scopes, resourceType, 's'))
      .some((s) => s.context !== 'patient');
    if (onlyPatientScopes && caller.patient) return this.patientCompartment(resourceType, [`Patient/${caller.patient}`]);
    switch (caller.role) {
      case 'referrer':
        if (resourceType === 'ServiceRequest' || resourceType === 'Task') return { requester: [await this.organisationList()] };
        return this.patientLinked(resourceType);
      case 'link-worker':
        if (resourceType === 'Task') return { owner: [await this.organisationList()] };
        return this.patientLinked(resourceType);
      case 'community-provider':
        if (resourceType === 'Task') return { owner: [await this.organisationList()] };
        if (resourceType === 'ServiceRequest') return { '_has:Task:focus:owner': [await this.organisationList()] };
        return undefined;
      default:
        return undefined;
    }
  }

  /** Patient data types, for roles that see their own patients only. */
  private async patientLinked(resourceType: string): Promise<QueryParams | undefined> {
    const params = getIndexedParameters(resourceType);
    if (resourceType !== 'Patient' && !params.has('patient')) return undefined;
    return this.patientCompartment(resourceType, await this.ownPatients());
  }

  private patientCompartment(resourceType: string, patients: string[]): QueryParams {
    if (patients.length === 0) return NOTHING;
    if (resourceType === 'Patient') return { _id: [patients.map((p) => p.slice('Patient/'.length)).join(',')] };
    if (getIndexedParameters(resourceType).has('patient')) return { patient: [patients.join(',')] };
    // A type outside the patient compartment: nothing of it belongs to the patient in context.
    return NOTHING;
  }

  /** Whether the caller may read this resource: the type, and their restriction. */
  async canSee(version: StoredVersion): Promise<boolean> {
    return (await this.visible([version])).length === 1;
  }

  /** The versions the caller may read (included resources, history entries). */
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
      for (let i = 0; i < ids.length; i += 1000) {
        const chunk = ids.slice(i, i + 1000);
        const query = { ...restriction, _id: [...(restriction._id ?? []), chunk.join(',')], _count: ['1000'] };
        const result = await this.repo.search(parseSearchParams(type, query, { defaultCount: 1000, maxCount: 1000 }));
        result.matches.forEach((v) => seen.add(`${type}/${v.id}`));
      }
    }
    return versions.filter((v) => seen.has(`${v.resourceType}/${v.id}`));
  }

  /**
   * Whether the caller acts for whoever this reference names: their own
   * organisation, its services or its roles. Roles kept to their organisation's
   * data need it to change what their organisation made (a referral's requester,
   * in an update or cancellation message); other callers act for anyone.
   */
  async actsFor(reference: string | undefined): Promise<boolean> {
    const { caller } = this;
    if (caller.unrestricted || !caller.role || !ORGANISATION_ROLES.has(caller.role)) return true;
    if (!reference) return false;
    return (await this.organisationList()).split(',').includes(reference);
  }

  /** References to the caller's organisation and what belongs to it. */
  private organisationList(): Promise<string> {
    this.orgRefs ??= this.findOrganisation();
    return this.orgRefs.then((refs) => (refs.length > 0 ? refs.join(',') : 'Organization/none.visible'));
  }

  private async findOrganisation(): Promise<string[]> {
    const ods = this.caller.organization;
    if (!ods) throw forbidden(`Access denied: a ${this.caller.role} token must name its organisation (ods_code claim)`);
    const orgs = await this.ids('Organization', { identifier: [`${ODS_ORGANIZATION_SYSTEM}|${ods}`] });
    if (orgs.length === 0) return [];
    const members = { organization: [orgs.map((id) => `Organization/${id}`).join(',')] };
    const services = await this.ids('HealthcareService', members);
    const roles = await this.ids('PractitionerRole', members);
    return [...orgs.map((id) => `Organization/${id}`), ...services.map((id) => `HealthcareService/${id}`), ...roles.map((id) => `PractitionerRole/${id}`)];
  }

  /** The patients the caller works with: of the referrals they made, or of the Tasks they own. */
  private ownPatients(): Promise<string[]> {
    this.patients ??= (async () => {
      const orgs = await this.organisationList();
      const [type, param, field] = this.caller.role === 'referrer' ? ['ServiceRequest', 'requester', 'subject'] : ['Task', 'owner', 'for'];
      const rows = await this.search(type, { [param]: [orgs] });
      const refs = rows.map((v) => (v.resource as Resource & Record<string, { reference?: string }>)[field]?.reference ?? '');
      return [...new Set(refs.filter((r) => r.startsWith('Patient/')))];
    })();
    return this.patients;
  }

  private async ids(type: string, query: QueryParams): Promise<string[]> {
    return (await this.search(type, query)).map((v) => v.id);
  }

  private async search(type: string, query: QueryParams): Promise<StoredVersion[]> {
    const result = await this.repo.search(
      parseSearchParams(type, { ...query, _count: [String(RESTRICTION_LIMIT)] }, { defaultCount: RESTRICTION_LIMIT, maxCount: RESTRICTION_LIMIT })
    );
    if (result.next) throw forbidden(`Access denied: the caller's ${type} records are more than ${RESTRICTION_LIMIT}, too many to check access against`);
    return result.matches;
  }
}
