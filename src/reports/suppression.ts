// Small-number suppression (DOMAIN.md section 8; NHS practice): a count from 1
// to 7 is not shown, and neither is a statistic computed from 1 to 7 people.
// What is withheld is marked with the core data-absent-reason extension, code
// "masked", on the element that would have held it (for a primitive such as
// count, in its JSON "_count" sibling, as FHIR JSON carries primitive extensions).
import type { Extension } from '@medplum/fhirtypes';

export const SUPPRESS_FROM = 1;
export const SUPPRESS_TO = 7;
export const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason';

export const MASKED: Extension = { url: DATA_ABSENT_REASON, valueCode: 'masked' };

export function isSuppressed(count: number): boolean {
  return count >= SUPPRESS_FROM && count <= SUPPRESS_TO;
}

/** A population's count, or its masked marker. */
export function countElement(count: number): { count: number } | { _count: { extension: Extension[] } } {
  return isSuppressed(count) ? { _count: { extension: [MASKED] } } : { count };
}
