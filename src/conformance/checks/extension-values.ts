// The value of a known extension: its value[x] must be of a type the
// extension's definition allows, and a valueReference must point at a resource
// type it allows (targetProfile). The profile validator checks neither inside
// an extension, so they are checked here (extensibility.html#Extension,
// references.html#Reference).
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { walkResource } from './walk';

export interface ExtensionValue {
  /** Extension.value[x] type codes, e.g. CodeableConcept, Reference. */
  types: string[];
  /** Resource types a valueReference may point at; undefined for any. */
  targets?: string[];
}

const TYPED = /(?:^|\/)([A-Z][A-Za-z]+)\/[A-Za-z0-9\-.]{1,64}(?:\/_history\/[^/]+)?$/;
const capitalised = (code: string): string => code.charAt(0).toUpperCase() + code.slice(1);

/** The type a reference names: Type/id (relative or absolute), a contained resource, or a Bundle entry's fullUrl. */
function targetType(reference: string, contained: Map<string, string>, entries: Map<string, string>): string | undefined {
  if (reference.startsWith('#')) return contained.get(reference.slice(1));
  if (entries.has(reference)) return entries.get(reference);
  return TYPED.exec(reference)?.[1];
}

export function checkExtensionValues(resource: Resource, extensions: ReadonlyMap<string, ExtensionValue>): OperationOutcomeIssue[] {
  if (extensions.size === 0) return [];
  const contained = new Map(((resource as { contained?: Resource[] }).contained ?? []).map((c) => [c.id as string, c.resourceType]));
  const entries = new Map<string, string>();
  if (resource.resourceType === 'Bundle') {
    for (const e of (resource as Bundle).entry ?? []) if (e.fullUrl && e.resource) entries.set(e.fullUrl, e.resource.resourceType);
  }
  const issues: OperationOutcomeIssue[] = [];
  walkResource(resource, (node, path, key) => {
    if (key !== 'extension' || typeof node.url !== 'string') return;
    const definition = extensions.get(node.url);
    if (!definition) return;
    for (const field of Object.keys(node).filter((k) => k.startsWith('value'))) {
      if (!definition.types.some((t) => field === `value${capitalised(t)}`)) {
        issues.push({
          severity: 'error',
          code: 'structure',
          expression: [`${path}.${field}`],
          diagnostics: `${path}.${field} is not allowed: extension ${node.url} takes a value of type ${definition.types.join(' or ')}`,
        });
      }
    }
    const reference = (node.valueReference as { reference?: unknown } | undefined)?.reference;
    if (!definition.targets || definition.targets.includes('Resource') || typeof reference !== 'string') return;
    const type = targetType(reference, contained, entries);
    if (type && !definition.targets.includes(type)) {
      issues.push({
        severity: 'error',
        code: 'structure',
        expression: [`${path}.valueReference`],
        diagnostics: `${path}.valueReference points at a ${type}, but extension ${node.url} allows only ${definition.targets.join(', ')}`,
      });
    }
  });
  return issues;
}
