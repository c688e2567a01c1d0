// A code that a CodeSystem with content "complete" does not define is an
// error wherever it appears, whatever the binding strength or with no binding
// at all (codesystem-definitions.html#CodeSystem.content): the system says it
// lists every code. Fragments and systems the server does not hold are left
// to the bindings.
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { walkResource } from './checks/walk';
import { indexCodeSystem, type ConceptIndex } from './terminology/codesystem';
import type { TerminologyService } from './terminology/service';

export async function checkCodeSystemMembership(resource: Resource, terminology: TerminologyService): Promise<OperationOutcomeIssue[]> {
  const codings: { path: string; system: string; code: string }[] = [];
  walkResource(resource, (node, path, key) => {
    // Identifiers carry a system and a value, never a code; Codings (and Quantities) carry both.
    if (key === 'identifier' || typeof node.system !== 'string' || typeof node.code !== 'string') return;
    codings.push({ path, system: node.system, code: node.code });
  });
  const issues: OperationOutcomeIssue[] = [];
  // One look-up per system, not per coding: this runs on every write.
  const systems = new Map<string, ConceptIndex | undefined>();
  for (const system of new Set(codings.map((c) => c.system))) {
    const cs = await terminology.codeSystem(system);
    systems.set(system, cs ? indexCodeSystem(cs) : undefined);
  }
  for (const { path, system, code } of codings) {
    const index = systems.get(system);
    if (!index?.complete || index.byCode.has(code)) continue;
    issues.push({
      severity: 'error',
      code: 'code-invalid',
      expression: [path],
      diagnostics: `${code} is not a code of ${system}, whose CodeSystem is complete`,
    });
  }
  return issues;
}
