// The server's own profile for each social prescribing type, enforced on every
// write even when meta.profile does not claim it (configurable per type with
// ENFORCE_PROFILES). A ServiceRequest is a social prescribing referral only
// when coded as one, so onward referrals to community services are not held
// to the referral profile.
import type { Resource, ServiceRequest } from '@medplum/fhirtypes';
import { profileUrl } from '../base/project';

export const SNOMED = 'http://snomed.info/sct';
export const SOCIAL_PRESCRIBING_REFERRAL = '871731000000106';

interface ServerProfile {
  profile: string;
  appliesTo?: (resource: Resource) => boolean;
}

const isSocialPrescribingReferral = (resource: Resource): boolean =>
  ((resource as ServiceRequest).code?.coding ?? []).some((c) => c.system === SNOMED && c.code === SOCIAL_PRESCRIBING_REFERRAL);

export const SERVER_PROFILES: Record<string, ServerProfile> = {
  ServiceRequest: { profile: profileUrl('SPReferral'), appliesTo: isSocialPrescribingReferral },
  Task: { profile: profileUrl('SPReferralTask') },
  CarePlan: { profile: profileUrl('SPPersonalisedCarePlan') },
  HealthcareService: { profile: profileUrl('SPCommunityService') },
};

export const DEFAULT_ENFORCED_TYPES = Object.keys(SERVER_PROFILES);

/** The server profile a resource must meet, if its type is enforced. */
export function serverProfileFor(resource: Resource, enforcedTypes: ReadonlySet<string>): string | undefined {
  const rule = SERVER_PROFILES[resource.resourceType];
  if (!rule || !enforcedTypes.has(resource.resourceType)) return undefined;
  return !rule.appliesTo || rule.appliesTo(resource) ? rule.profile : undefined;
}

/**
 * Types whose updates must carry If-Match, so that a link worker never
 * overwrites a newer state of a referral's Task (lost updates).
 */
export const IF_MATCH_REQUIRED = new Set(['Task']);
