// Registers the terminology operations, each with the OperationDefinition the
// FHIR specification publishes for it; the CapabilityStatement lists them.
import type { FhirContext } from '../context';
import { expandOperation } from './expand';
import { lookupOperation } from './lookup';
import { registerOperation } from './registry';
import { subsumesOperation } from './subsumes';
import { translateOperation } from './translate';
import { codeSystemValidateCode, valueSetValidateCode } from './validate-code';

const HL7 = 'http://hl7.org/fhir/OperationDefinition/';

/** Reading terminology is what every terminology operation needs. */
const readTerminology = (ctx: FhirContext, resourceType: string | undefined): void => ctx.access.require(resourceType ?? 'ValueSet', 'r');

export function registerTerminologyOperations(): void {
  const both = { system: false, type: true, instance: true, affectsState: false, authorize: readTerminology };
  registerOperation({
    description: 'Looks up a code in a code system: its display, designations and properties.',
    name: 'lookup',
    definition: `${HL7}CodeSystem-lookup`,
    resourceTypes: ['CodeSystem'],
    ...both,
    handler: lookupOperation,
  });
  registerOperation({
    description: 'Checks that a code is in a code system, and its display.',
    name: 'validate-code',
    definition: `${HL7}CodeSystem-validate-code`,
    resourceTypes: ['CodeSystem'],
    ...both,
    handler: codeSystemValidateCode,
  });
  registerOperation({
    description: 'Checks that a code is in a value set, and its display.',
    name: 'validate-code',
    definition: `${HL7}ValueSet-validate-code`,
    resourceTypes: ['ValueSet'],
    ...both,
    handler: valueSetValidateCode,
  });
  registerOperation({
    description: 'Expands a value set into its codes, filtered and paged.',
    name: 'expand',
    definition: `${HL7}ValueSet-expand`,
    resourceTypes: ['ValueSet'],
    ...both,
    handler: expandOperation,
  });
  registerOperation({
    description: 'Tests whether one code subsumes another in a code system.',
    name: 'subsumes',
    definition: `${HL7}CodeSystem-subsumes`,
    resourceTypes: ['CodeSystem'],
    ...both,
    handler: subsumesOperation,
  });
  registerOperation({
    description: 'Translates a code through a concept map.',
    name: 'translate',
    definition: `${HL7}ConceptMap-translate`,
    resourceTypes: ['ConceptMap'],
    ...both,
    handler: translateOperation,
  });
}
