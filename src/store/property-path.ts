// Search parameter expressions that are a plain path of elements from the
// resource (`Patient.name.given`, `Task.owner`): most of those the indexer
// evaluates. For them the indexer steps through the elements itself, with the
// FHIRPath engine's own property access (getTypedPropertyValue, which knows
// the element types and choices of type), and skips the engine's evaluation
// of the expression tree, which costs four to five times as much here (a
// Patient's 11 such parameters: 119 µs through the engine, 28 µs so).
//
// Each step does what the engine's evaluation of a name does: keep a resource
// of that type, else take the element's values (flattening repeats), and drop
// values that are absent.
import { getTypedPropertyValue, SymbolAtom, type Atom, type TypedValue } from '@medplum/core';
import { dotChain } from '../base/expression-roots';

/** The element names after the type, when the expression is `<resourceType>.<name>.<name>...`; otherwise undefined. */
export function propertyPath(atom: Atom, resourceType: string): string[] | undefined {
  const { head, steps } = dotChain(atom);
  if (!(head instanceof SymbolAtom) || head.name !== resourceType || steps.length === 0) return undefined;
  if (!steps.every((s): s is SymbolAtom => s instanceof SymbolAtom)) return undefined;
  const names = steps.map((s) => s.name);
  // `$this` and `%variables` mean something else than an element.
  return names.some((s) => s.startsWith('$') || s.startsWith('%')) ? undefined : names;
}

/** The values at a path from a resource's typed value, as the engine would select them. */
export function followPath(steps: readonly string[], resource: TypedValue): TypedValue[] {
  let values: TypedValue[] = [resource];
  for (const step of steps) {
    const next: TypedValue[] = [];
    for (const typed of values) {
      const value = typed.value as unknown;
      if (!value || typeof value !== 'object') continue;
      if ((value as { resourceType?: unknown }).resourceType === step) {
        next.push(typed);
        continue;
      }
      const found = getTypedPropertyValue(typed, step);
      for (const v of Array.isArray(found) ? found : [found]) if (v?.value !== undefined) next.push(v);
    }
    values = next;
  }
  return values;
}
