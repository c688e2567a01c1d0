// Registers the terminology operations, each with the OperationDefinition the
// FHIR specification publishes for it; the CapabilityStatement lists them.
import { expandOperation } from './expand';
import { lookupOperation } from './lookup';
import { registerOperation } from './registry';
import { subsumesOperation } from './subsumes';
import { translateOperation } from './translate';
import { codeSystemValidateCode, valueSetValidateCode } from './validate-code';

const HL7 = 'http://hl7.org/fhir/OperationDefinition/';

export function registerTerminologyOperations(): void {
  const both = { system: false, type: true, instance: true };
  registerOperation({ name: 'lookup', definition: `${HL7}CodeSystem-lookup`, resourceTypes: ['CodeSystem'], ...both, handler: lookupOperation });
  registerOperation({ name: 'validate-code', definition: `${HL7}CodeSystem-validate-code`, resourceTypes: ['CodeSystem'], ...both, handler: codeSystemValidateCode });
  registerOperation({ name: 'validate-code', definition: `${HL7}ValueSet-validate-code`, resourceTypes: ['ValueSet'], ...both, handler: valueSetValidateCode });
  registerOperation({ name: 'expand', definition: `${HL7}ValueSet-expand`, resourceTypes: ['ValueSet'], ...both, handler: expandOperation });
  registerOperation({ name: 'subsumes', definition: `${HL7}CodeSystem-subsumes`, resourceTypes: ['CodeSystem'], ...both, handler: subsumesOperation });
  registerOperation({ name: 'translate', definition: `${HL7}ConceptMap-translate`, resourceTypes: ['ConceptMap'], ...both, handler: translateOperation });
}
