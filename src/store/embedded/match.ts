// Evaluates a compiled Filter against a stored document, with the same
// meaning MongoDB gives the translated query (see ../mongo/translate.ts):
// a path through arrays yields every element, and a condition holds when
// any element satisfies it.
import type { Filter, Scalar } from '../search/filter';
import type { SortKey } from '../port';

type Doc = Record<string, unknown>;

export function valuesAt(doc: unknown, path: string): unknown[] {
  let current: unknown[] = [doc];
  for (const key of path.split('.')) {
    const next: unknown[] = [];
    for (const item of current) {
      if (item === null || typeof item !== 'object') continue;
      const value = (item as Doc)[key];
      if (value === undefined) continue;
      if (Array.isArray(value)) next.push(...value);
      else next.push(value);
    }
    current = next;
  }
  return current;
}

function compare(a: unknown, op: 'gt' | 'ge' | 'lt' | 'le', b: string | number): boolean {
  if (typeof a !== typeof b) return false;
  const x = a as string | number;
  switch (op) {
    case 'gt':
      return x > b;
    case 'ge':
      return x >= b;
    case 'lt':
      return x < b;
    case 'le':
      return x <= b;
  }
}

export function matches(doc: unknown, filter: Filter): boolean {
  switch (filter.kind) {
    case 'all':
      return true;
    case 'none':
      return false;
    case 'and':
      return filter.filters.every((f) => matches(doc, f));
    case 'or':
      return filter.filters.some((f) => matches(doc, f));
    case 'not':
      return !matches(doc, filter.filter);
    case 'eq':
      return valuesAt(doc, filter.field).some((v) => v === filter.value);
    case 'in': {
      const wanted = new Set<Scalar>(filter.values);
      return valuesAt(doc, filter.field).some((v) => wanted.has(v as Scalar));
    }
    case 'cmp':
      return valuesAt(doc, filter.field).some((v) => compare(v, filter.op, filter.value));
    case 'prefix':
      return valuesAt(doc, filter.field).some((v) => typeof v === 'string' && v.startsWith(filter.value));
    case 'exists':
      return valuesAt(doc, filter.field).length > 0 === filter.exists;
  }
}

/** Sorts as MongoDB does on scalar keys: a missing key sorts first ascending, last descending. */
export function compareBySortKeys(a: unknown, b: unknown, keys: SortKey[]): number {
  for (const { field, descending } of keys) {
    const x = valuesAt(a, field)[0] as string | number | undefined;
    const y = valuesAt(b, field)[0] as string | number | undefined;
    let order = 0;
    if (x === undefined && y !== undefined) order = -1;
    else if (x !== undefined && y === undefined) order = 1;
    else if (x !== undefined && y !== undefined && x !== y) order = x < y ? -1 : 1;
    if (order !== 0) return descending ? -order : order;
  }
  return 0;
}
