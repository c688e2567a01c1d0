// A SearchParameter stored here becomes part of the index: its code names
// index fields (idx.<code>), so it must be a plain name, and its expression
// must be FHIRPath the indexer can evaluate.
import { parseFhirPath } from '@medplum/core';
import type { OperationOutcomeIssue, Resource, SearchParameter } from '@medplum/fhirtypes';
import { RESOLVE_FORM } from '../../base/references';

const CODE = /^[A-Za-z_][A-Za-z0-9_-]{0,63}$/;

export function checkSearchParameter(resource: Resource): OperationOutcomeIssue[] {
  if (resource.resourceType !== 'SearchParameter') return [];
  const sp = resource as SearchParameter;
  const issues: OperationOutcomeIssue[] = [];
  if (sp.code && !CODE.test(sp.code)) {
    issues.push({
      severity: 'error',
      code: 'value',
      expression: ['SearchParameter.code'],
      diagnostics: `code "${sp.code}" must be letters, digits, - and _ only`,
    });
  }
  if (sp.expression) {
    try {
      parseFhirPath(sp.expression);
      if (/\.resolve\(\)\./.test(sp.expression) && !RESOLVE_FORM.test(sp.expression.trim())) {
        issues.push({
          severity: 'error',
          code: 'not-supported',
          expression: ['SearchParameter.expression'],
          diagnostics:
            'A value read through resolve() must have the form <reference>.resolve().ofType(<Type>).<path>, where <reference> is the expression of a reference search parameter of the same type',
        });
      }
    } catch (err) {
      issues.push({
        severity: 'error',
        code: 'value',
        expression: ['SearchParameter.expression'],
        diagnostics: `expression is not valid FHIRPath: ${(err as Error).message}`,
      });
    }
  } else if (sp.type !== 'composite' && sp.type !== 'special') {
    issues.push({
      severity: 'error',
      code: 'required',
      expression: ['SearchParameter.expression'],
      diagnostics: 'A SearchParameter the server indexes needs an expression',
    });
  }
  return issues;
}
