// Evaluates a compiled Filter against a stored document, with the same
// meaning MongoDB gives the translated query (see ../mongo/translate.ts):
// a path through arrays yields every element, and a condition holds when
// any element satisfies it.
import type { Filter, Scalar } from '../search/filter';
import type { SortKey } from '../port';

type Doc = Record<string, unknown>;

/** The values at a dotted path; a path through arrays yields every element. */
export function valuesAt(doc: unknown, path: string[]): unknown[] {
  let current: unknown[] = [doc];
  for (const key of path) {
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

export type Predicate = (doc: unknown) => boolean;

/** Compiles a filter once per query into a predicate (paths split up front). */
export function compileMatcher(filter: Filter): Predicate {
  switch (filter.kind) {
    case 'all':
      return () => true;
    case 'none':
      return () => false;
    case 'and': {
      const parts = filter.filters.map(compileMatcher);
      return (doc) => parts.every((p) => p(doc));
    }
    case 'or': {
      const parts = filter.filters.map(compileMatcher);
      return (doc) => parts.some((p) => p(doc));
    }
    case 'not': {
      const inner = compileMatcher(filter.filter);
      return (doc) => !inner(doc);
    }
    case 'eq': {
      const path = filter.field.split('.');
      return (doc) => valuesAt(doc, path).some((v) => v === filter.value);
    }
    case 'in': {
      const path = filter.field.split('.');
      const wanted = new Set<Scalar>(filter.values);
      return (doc) => valuesAt(doc, path).some((v) => wanted.has(v as Scalar));
    }
    case 'cmp': {
      const path = filter.field.split('.');
      return (doc) => valuesAt(doc, path).some((v) => compare(v, filter.op, filter.value));
    }
    case 'prefix': {
      const path = filter.field.split('.');
      return (doc) => valuesAt(doc, path).some((v) => typeof v === 'string' && v.startsWith(filter.value));
    }
    case 'contains': {
      const path = filter.field.split('.');
      return (doc) => valuesAt(doc, path).some((v) => typeof v === 'string' && v.includes(filter.value));
    }
    case 'within':
      // The box; the repository then applies the exact distance (search/near.ts).
      return compileMatcher(filter.box);
    case 'exists': {
      const path = filter.field.split('.');
      return (doc) => valuesAt(doc, path).length > 0 === filter.exists;
    }
  }
}

type SortValue = string | number | undefined;

/**
 * Sorts as MongoDB does on scalar keys: a missing key sorts first ascending,
 * last descending. Keys are read once per document, not once per comparison.
 */
export function sortBySortKeys<T>(docs: T[], keys: SortKey[]): T[] {
  const paths = keys.map((k) => k.field.split('.'));
  const keyed = docs.map((doc) => ({ doc, values: paths.map((p) => valuesAt(doc, p)[0] as SortValue) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < keys.length; i++) {
      const x = a.values[i];
      const y = b.values[i];
      let order = 0;
      if (x === undefined && y !== undefined) order = -1;
      else if (x !== undefined && y === undefined) order = 1;
      else if (x !== undefined && y !== undefined && x !== y) order = x < y ? -1 : 1;
      if (order !== 0) return keys[i].descending ? -order : order;
    }
    return 0;
  });
  return keyed.map((k) => k.doc);
}
