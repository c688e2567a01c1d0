// NHS number check digit (Modulus 11), and the spelling of NHS identifier
// systems: checks no FHIRPath invariant in a profile can express.
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { walkResource } from './walk';
import { NHS_NUMBER_SYSTEM, ODS_ORGANIZATION_SYSTEM, ODS_SITE_SYSTEM } from '../../base/identifier-systems';

export { NHS_NUMBER_SYSTEM, ODS_ORGANIZATION_SYSTEM, ODS_SITE_SYSTEM };

const NHS_SYSTEMS = new Set([NHS_NUMBER_SYSTEM, ODS_ORGANIZATION_SYSTEM, ODS_SITE_SYSTEM, 'https://fhir.nhs.uk/Id/sds-role-profile-id']);

/**
 * Modulus 11: digits 1-9 weighted 10..2, check = 11 - (sum mod 11), 11 -> 0,
 * 10 -> invalid; the check must equal digit 10.
 */
export function isValidNhsNumber(value: string): boolean {
  if (!/^\d{10}$/.test(value)) return false;
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += Number(value[i]) * (10 - i);
  let check = 11 - (sum % 11);
  if (check === 11) check = 0;
  return check !== 10 && check === Number(value[9]);
}

/** A system meant to be one of the NHS identifier systems but written differently. */
function isMisspeltNhsSystem(system: string): boolean {
  if (NHS_SYSTEMS.has(system)) return false;
  const folded = system
    .toLowerCase()
    .replace(/^https?:\/\//, '')
    .replace(/\/+$/, '');
  return /(^|\.)nhs\.uk\//.test(folded) && /(nhs-?number|ods|sds)/.test(folded);
}

export function checkNhsIdentifiers(resource: Resource): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  walkResource(resource, (node, path, key) => {
    if (key !== 'identifier' || typeof node.system !== 'string') return;
    if (isMisspeltNhsSystem(node.system)) {
      issues.push({
        severity: 'error',
        code: 'value',
        expression: [`${path}.system`],
        diagnostics: `Identifier system "${node.system}" looks like an NHS system but is not spelt as one; use ${NHS_NUMBER_SYSTEM}, ${ODS_ORGANIZATION_SYSTEM} or ${ODS_SITE_SYSTEM}`,
      });
    }
    if (node.system === NHS_NUMBER_SYSTEM && typeof node.value === 'string' && !isValidNhsNumber(node.value)) {
      issues.push({
        severity: 'error',
        code: 'value',
        expression: [`${path}.value`],
        diagnostics: `"${node.value}" is not a valid NHS number: it must be 10 digits whose last is the Modulus 11 check digit`,
      });
    }
  });
  return issues;
}
