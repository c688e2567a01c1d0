// Visits every object in a resource with its FHIRPath-style location
// (Patient.identifier[0]), for the checks that no FHIRPath invariant can express.
import type { Resource } from '@medplum/fhirtypes';

export type Visitor = (node: Record<string, unknown>, path: string, key: string) => void;

export function walkResource(resource: Resource, visit: Visitor): void {
  const walk = (value: unknown, path: string, key: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`, key));
      return;
    }
    if (value === null || typeof value !== 'object') return;
    const node = value as Record<string, unknown>;
    visit(node, path, key);
    for (const [child, childValue] of Object.entries(node)) walk(childValue, `${path}.${child}`, child);
  };
  walk(resource, resource.resourceType, '');
}
