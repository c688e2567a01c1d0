// The ODS code of the organisation a reference stands for: an Organization's
// own ODS identifier, or that of the Organization a HealthcareService
// (providedBy) or PractitionerRole (organization) belongs to. Access grants and
// "acting for" a referral's requester both follow from it.
import type { HealthcareService, Organization, PractitionerRole } from '@medplum/fhirtypes';
import { ODS_ORGANIZATION_SYSTEM } from '../base/identifier-systems';
import { normalizeReference } from '../base/references';
import type { StoredVersion } from '../store/port';

export type VersionRead = (resourceType: string, id: string) => Promise<StoredVersion | undefined>;

/** Reads each resource once: one resolver per commit or per request. */
export class OrganisationCodes {
  private readonly codes = new Map<string, Promise<string[]>>();

  constructor(
    private readonly read: VersionRead,
    private readonly baseUrl: string
  ) {}

  /** The ODS codes for a "Type/id" reference (or one written in any form on this server); none for other references. */
  of(reference: string | undefined): Promise<string[]> {
    if (!reference) return Promise.resolve([]);
    const ref = normalizeReference(reference, this.baseUrl);
    let codes = this.codes.get(ref);
    if (!codes) {
      codes = this.resolve(ref);
      this.codes.set(ref, codes);
    }
    return codes;
  }

  private async resolve(ref: string): Promise<string[]> {
    const [type, id] = ref.split('/');
    if (!id || !['Organization', 'HealthcareService', 'PractitionerRole'].includes(type)) return [];
    const version = await this.read(type, id);
    if (!version?.resource || version.deleted) return [];
    if (type === 'Organization') {
      const org = version.resource as Organization;
      return [...new Set((org.identifier ?? []).filter((i) => i.system === ODS_ORGANIZATION_SYSTEM && i.value).map((i) => i.value as string))];
    }
    const owner =
      type === 'HealthcareService'
        ? (version.resource as HealthcareService).providedBy?.reference
        : (version.resource as PractitionerRole).organization?.reference;
    const org = owner ? normalizeReference(owner, this.baseUrl) : '';
    // One step only: a service or role belongs to an Organization, never to another service.
    return org.startsWith('Organization/') ? this.of(org) : [];
  }
}
