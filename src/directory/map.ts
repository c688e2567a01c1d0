// One ORUK service -> SPCommunityService (HealthcareService), its provider
// SPOrganization and its SPLocations (DOMAIN.md section 7). Pure: the ids
// of the FHIR resources are chosen by the caller (import.ts), which knows
// what is already stored under each ORUK id.
import type {
  Address,
  ContactPoint,
  HealthcareService,
  HealthcareServiceAvailableTime,
  HealthcareServiceEligibility,
  Location,
  Organization,
} from '@medplum/fhirtypes';
import { PROJECT_BASE } from '../base/project';
import type { OrukAddress, OrukCostOption, OrukLocation, OrukOrganization, OrukPhone, OrukSchedule, OrukService } from './oruk';
import { classify, taxonomyTermsOf } from './taxonomy';

/** Identifier systems for ORUK ids: the key of the conditional update on each resource. */
export const ORUK_SERVICE_ID = `${PROJECT_BASE}/Id/oruk-service`;
export const ORUK_ORGANIZATION_ID = `${PROJECT_BASE}/Id/oruk-organization`;
export const ORUK_LOCATION_ID = `${PROJECT_BASE}/Id/oruk-location`;

export const PROFILE = {
  service: `${PROJECT_BASE}/StructureDefinition/SPCommunityService`,
  organization: `${PROJECT_BASE}/StructureDefinition/SPOrganization`,
  location: `${PROJECT_BASE}/StructureDefinition/SPLocation`,
};

/** A service that cannot be mapped: rejected with this message. */
export class MappingError extends Error {}

/** FHIR ids of the resources a service refers to, by ORUK id. */
export interface FhirIds {
  organization: (orukId: string) => string;
  location: (orukId: string) => string;
}

export interface MappedService {
  service: HealthcareService;
  organization?: Organization;
  locations: Location[];
}

type Day = NonNullable<HealthcareServiceAvailableTime['daysOfWeek']>[number];
const DAYS: Record<string, Day> = { MO: 'mon', TU: 'tue', WE: 'wed', TH: 'thu', FR: 'fri', SA: 'sat', SU: 'sun' };

const present = <T>(v: T | null | undefined): v is T => v !== null && v !== undefined && v !== '';

function telecom(phones: OrukPhone[] | undefined, email?: string | null, url?: string | null): ContactPoint[] | undefined {
  const points: ContactPoint[] = [
    ...(phones ?? []).map((p): ContactPoint => ({ system: 'phone', value: p.number, ...(p.type === 'text' || p.type === 'sms' ? { system: 'sms' } : {}) })),
    ...(present(email) ? [{ system: 'email', value: email } as ContactPoint] : []),
    ...(present(url) ? [{ system: 'url', value: url } as ContactPoint] : []),
  ];
  return points.length > 0 ? points : undefined;
}

/** "09:30" -> "09:30:00": FHIR time has seconds; an offset is dropped (UK local time is meant). */
function fhirTime(t: string): string {
  const hm = t.slice(0, 5);
  return /^\d{2}:\d{2}:\d{2}/.test(t) ? t.slice(0, 8) : `${hm}:00`;
}

/**
 * Weekly opening times become availableTime; RRULEs that availableTime cannot
 * say (monthly, "first Monday" ordinals) become availabilityExceptions text.
 */
export function mapSchedules(schedules: OrukSchedule[]): Pick<HealthcareService, 'availableTime' | 'availabilityExceptions'> {
  const availableTime: HealthcareServiceAvailableTime[] = [];
  const exceptions: string[] = [];
  for (const s of schedules) {
    const days = (s.byday ?? '').split(',').filter(present);
    const weekly = (s.freq ?? 'WEEKLY') === 'WEEKLY' && days.every((d) => DAYS[d]);
    if (weekly && (days.length > 0 || s.opens_at)) {
      availableTime.push({
        ...(days.length > 0 ? { daysOfWeek: days.map((d) => DAYS[d]) } : {}),
        ...(s.opens_at ? { availableStartTime: fhirTime(s.opens_at) } : {}),
        ...(s.closes_at ? { availableEndTime: fhirTime(s.closes_at) } : {}),
      });
      if (present(s.notes)) exceptions.push(s.notes);
    } else {
      const when = [s.opens_at && s.closes_at ? `${s.opens_at}-${s.closes_at}` : undefined, s.byday ? `(${s.freq ?? 'WEEKLY'} ${s.byday})` : undefined]
        .filter(present)
        .join(' ');
      exceptions.push([s.description, s.notes].filter(present).join('. ') || when);
    }
  }
  return {
    ...(availableTime.length > 0 ? { availableTime } : {}),
    ...(exceptions.filter(present).length > 0 ? { availabilityExceptions: exceptions.filter(present).join('; ') } : {}),
  };
}

function ageText(min?: number | null, max?: number | null): string | undefined {
  if (present(min) && present(max)) return `Ages ${min} to ${max}`;
  if (present(min)) return `Ages ${min} and over`;
  if (present(max)) return `Ages up to ${max}`;
  return undefined;
}

/** eligibility_description and the age range, one eligibility entry each. */
export function mapEligibility(service: OrukService): HealthcareServiceEligibility[] | undefined {
  const entries: HealthcareServiceEligibility[] = [];
  if (present(service.eligibility_description)) entries.push({ code: { text: 'Eligibility' }, comment: service.eligibility_description });
  const ages = ageText(service.minimum_age, service.maximum_age);
  if (ages) entries.push({ code: { text: 'Age range' }, comment: ages });
  return entries.length > 0 ? entries : undefined;
}

function money(c: OrukCostOption): string | undefined {
  if (!present(c.amount)) return undefined;
  const currency = c.currency ?? 'GBP';
  return currency === 'GBP' ? `£${c.amount.toFixed(2)}` : `${c.amount.toFixed(2)} ${currency}`;
}

/**
 * cost_options have no FHIR R4 element of their own (DOMAIN.md: "extension or
 * comment"): they become extraDetails, the element for what fits nowhere else.
 */
export function mapCostOptions(options: OrukCostOption[]): string | undefined {
  const lines = options.map((c) => `- ${[c.option, money(c), c.amount_description].filter(present).join(': ')}`).filter((l) => l !== '- ');
  return lines.length > 0 ? `Costs:\n${lines.join('\n')}` : undefined;
}

function mapAddress(a: OrukAddress): Address {
  const line = [a.address_1, a.address_2].filter(present);
  const address: Address = {
    use: 'work',
    type: 'physical',
    ...(line.length > 0 ? { line } : {}),
    ...(present(a.city) ? { city: a.city } : {}),
    ...(present(a.state_province ?? a.region) ? { district: (a.state_province ?? a.region) as string } : {}),
    ...(present(a.postal_code) ? { postalCode: a.postal_code } : {}),
    ...(present(a.country) ? { country: a.country } : {}),
  };
  return address;
}

export function mapOrganization(org: OrukOrganization, id: string): Organization {
  return {
    resourceType: 'Organization',
    id,
    meta: { profile: [PROFILE.organization] },
    identifier: [{ system: ORUK_ORGANIZATION_ID, value: org.id }],
    active: true,
    name: org.name,
    ...(present(org.alternate_name) ? { alias: [org.alternate_name] } : {}),
    ...(telecom(org.phones, org.email, org.website ?? org.url) ? { telecom: telecom(org.phones, org.email, org.website ?? org.url) } : {}),
  };
}

/**
 * A location is often shared by the services of several organizations, so it
 * takes nothing from the service that names it: its managing organization is
 * its own organization_id (when that is the service's provider, whose FHIR id
 * is known), and a location without a name is named by its address or id.
 * Whichever service is imported first, the Location comes out the same.
 */
export function mapLocation(location: OrukLocation, id: string, managingOrganizationId?: string): Location {
  const addresses = location.addresses ?? location.physical_addresses ?? [];
  const hasPosition = present(location.latitude) && present(location.longitude);
  return {
    resourceType: 'Location',
    id,
    meta: { profile: [PROFILE.location] },
    identifier: [{ system: ORUK_LOCATION_ID, value: location.id }],
    status: 'active',
    // SPLocation requires a name; ORUK does not.
    name: location.name || location.alternate_name || addresses[0]?.address_1 || `Location ${location.id}`,
    ...(present(location.description) ? { description: location.description } : {}),
    ...(addresses[0] ? { address: mapAddress(addresses[0]) } : {}),
    ...(hasPosition ? { position: { latitude: location.latitude as number, longitude: location.longitude as number } } : {}),
    ...(managingOrganizationId ? { managingOrganization: { reference: `Organization/${managingOrganizationId}` } } : {}),
  };
}

/** Maps a validated ORUK service; throws MappingError when it cannot be. */
export function mapService(oruk: OrukService, ids: FhirIds, serviceId: string): MappedService {
  const orgOrukId = oruk.organization?.id ?? oruk.organization_id ?? undefined;
  if (!orgOrukId) throw new MappingError('The service names no organization (organization or organization_id); SPCommunityService requires providedBy');
  if (oruk.organization_id && oruk.organization && oruk.organization.id !== oruk.organization_id) {
    throw new MappingError(`organization_id ${oruk.organization_id} differs from organization.id ${oruk.organization.id}`);
  }
  const organizationId = ids.organization(orgOrukId);
  const organization = oruk.organization ? mapOrganization(oruk.organization, organizationId) : undefined;

  const locations: Location[] = [];
  const schedules: OrukSchedule[] = [...(oruk.schedules ?? [])];
  for (const sal of oruk.service_at_locations ?? []) {
    schedules.push(...(sal.schedules ?? []));
    const loc = sal.location;
    if (!loc) continue;
    if (sal.location_id && sal.location_id !== loc.id)
      throw new MappingError(`service_at_location ${sal.id}: location_id ${sal.location_id} differs from location.id ${loc.id}`);
    const managedBy = loc.organization_id && loc.organization_id === orgOrukId ? organizationId : undefined;
    if (!locations.some((l) => l.identifier?.[0].value === loc.id)) locations.push(mapLocation(loc, ids.location(loc.id), managedBy));
  }
  const locationRefs = [
    ...locations.map((l) => `Location/${l.id}`),
    // A service_at_location that names a location without embedding it refers to one imported before.
    ...(oruk.service_at_locations ?? []).filter((s) => !s.location && s.location_id).map((s) => `Location/${ids.location(s.location_id as string)}`),
  ];
  const { category, type } = classify(taxonomyTermsOf(oruk));
  const eligibility = mapEligibility(oruk);
  const extraDetails = mapCostOptions(oruk.cost_options ?? []);
  const contactPhones = (oruk.contacts ?? []).flatMap((c) => c.phones ?? []);
  const points = telecom([...(oruk.phones ?? []), ...contactPhones], oruk.email ?? oruk.contacts?.find((c) => c.email)?.email, oruk.url);

  const service: HealthcareService = {
    resourceType: 'HealthcareService',
    id: serviceId,
    meta: { profile: [PROFILE.service] },
    identifier: [{ system: ORUK_SERVICE_ID, value: oruk.id }],
    // HSDS status: only "active" is open to referrals; inactive, defunct and temporarily closed are not.
    active: oruk.status === 'active',
    providedBy: { reference: `Organization/${organizationId}`, ...(oruk.organization ? { display: oruk.organization.name } : {}) },
    ...(category.length > 0 ? { category } : {}),
    ...(type.length > 0 ? { type } : {}),
    ...(locationRefs.length > 0 ? { location: [...new Set(locationRefs)].map((reference) => ({ reference })) } : {}),
    name: oruk.name,
    ...(present(oruk.description) ? { comment: oruk.description } : {}),
    ...(extraDetails ? { extraDetails } : {}),
    ...(points ? { telecom: points } : {}),
    ...(eligibility ? { eligibility } : {}),
    ...mapSchedules(schedules),
  };
  return { service, organization, locations };
}
