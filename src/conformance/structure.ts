// Structure validation against a StructureDefinition, with @medplum/core's
// validator: the CPU-heaviest step of a write, and the same on every thread
// that runs it (the serving thread, or a validation thread: validation-threads.ts).
import { loadDataType, OperationOutcomeError, validateResource, validateTypedValue } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';

/**
 * Profiles parsed once. @medplum/core's validateResource parses the profile's
 * StructureDefinition on every call (about 1.7 of the 2.1 ms an SPReferral
 * took); loaded once as a data type under a key of its own, the parsed schema
 * is reused through validateTypedValue, with the same issues.
 */
const parsedProfiles = new Map<string, string>();
function parsedProfileType(profile: StructureDefinition): string {
  const id = `${profile.url}|${profile.version ?? ''}`;
  let key = parsedProfiles.get(id);
  if (!key) {
    key = `${profile.url}#validation`;
    loadDataType({ ...profile, type: key });
    parsedProfiles.set(id, key);
  }
  return key;
}

/** The issues of a resource against a profile, or against the base R4 definition of its type when none is given. */
export function structureIssues(resource: Resource, profile?: StructureDefinition): OperationOutcomeIssue[] {
  try {
    if (profile && profile.type === resource.resourceType) return validateTypedValue({ type: parsedProfileType(profile), value: resource });
    return validateResource(resource, profile ? { profile } : undefined);
  } catch (err) {
    if (err instanceof OperationOutcomeError) return err.outcome.issue ?? [];
    throw err;
  }
}
