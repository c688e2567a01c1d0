// References to resources on this server must resolve (a resource may not
// point at something that is not there), unless they are contained (#id).
// urn:uuid references are only meaningful inside a Bundle: a transaction
// rewrites them before its entries reach validation, and a Bundle validated
// as a whole ($validate) resolves them to its entries' fullUrls
// (bundle.html#references).
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { normalizeReference, type ReferenceResolver } from '../../base/references';
import { walkResource } from './walk';
import { ID } from '../../base/ids';

const LOCAL = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})$`);

export async function checkReferences(resource: Resource, baseUrl: string, resolve: ReferenceResolver): Promise<OperationOutcomeIssue[]> {
  const found: { path: string; reference: string }[] = [];
  walkResource(resource, (node, path) => {
    if (typeof node.reference === 'string') found.push({ path: `${path}.reference`, reference: node.reference });
  });
  const contained = new Set(((resource as { contained?: Resource[] }).contained ?? []).map((c) => `#${c.id}`));
  const entries = new Set((resource.resourceType === 'Bundle' ? ((resource as Bundle).entry ?? []) : []).map((e) => e.fullUrl).filter((u): u is string => !!u));
  const issues: OperationOutcomeIssue[] = [];
  for (const { path, reference } of found) {
    if (reference.startsWith('#')) {
      if (reference !== '#' && !contained.has(reference)) {
        issues.push({
          severity: 'error',
          code: 'not-found',
          expression: [path],
          diagnostics: `Contained reference ${reference} matches no contained resource`,
        });
      }
      continue;
    }
    if (entries.has(reference)) continue;
    if (reference.startsWith('urn:uuid:') || reference.startsWith('urn:oid:') || /^[A-Z][A-Za-z]+\?/.test(reference)) {
      issues.push({
        severity: 'error',
        code: 'not-found',
        expression: [path],
        diagnostics: `Reference ${reference} can only be resolved inside a transaction Bundle`,
      });
      continue;
    }
    const local = LOCAL.exec(normalizeReference(reference, baseUrl));
    if (!local) continue; // a reference to another server, or a canonical
    if (!(await resolve(local[1], local[2]))) {
      issues.push({
        severity: 'error',
        code: 'not-found',
        expression: [path],
        diagnostics: `Reference ${reference} does not resolve to a resource on this server`,
      });
    }
  }
  return issues;
}
