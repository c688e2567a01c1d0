// The validation pipeline every write passes through (the Repository calls it,
// so nothing bypasses it: not bundles, not patches). This is step 1: structure
// against base R4 (types, cardinality, unknown elements, primitive formats).
import { OperationOutcomeError, validateResource } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { unprocessable } from '../fhir/outcomes';

export type ResourceValidator = (resource: Resource) => OperationOutcomeIssue[];

/** Returns warnings; throws a 422 OperationOutcomeError listing every error. */
export const validateBaseStructure: ResourceValidator = (resource) => {
  try {
    return validateResource(resource);
  } catch (err) {
    if (err instanceof OperationOutcomeError) throw unprocessable(err.outcome.issue ?? []);
    throw err;
  }
};
