// Visits every object in a resource with its FHIRPath-style location
// (Patient.identifier[0]), for the checks that no FHIRPath invariant can express.
import type { Resource } from '@medplum/fhirtypes';

export type Visitor = (node: Record<string, unknown>, path: string, key: string) => void;

/** Objects and arrays are walked into; a location is made only for them (most values are primitives). */
const isComposite = (value: unknown): value is object => value !== null && typeof value === 'object';

export function walkResource(resource: Resource, visit: Visitor): void {
  const walk = (value: object, path: string, key: string): void => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        if (isComposite(item)) walk(item, `${path}[${i}]`, key);
      });
      return;
    }
    const node = value as Record<string, unknown>;
    visit(node, path, key);
    for (const child in node) {
      const childValue = node[child];
      if (Object.hasOwn(node, child) && isComposite(childValue)) walk(childValue, `${path}.${child}`, child);
    }
  };
  walk(resource, resource.resourceType, '');
}
