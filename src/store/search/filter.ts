// The compiled query: a small, closed language over index fields that both
// adapters execute (MongoDB by translation, the embedded store by evaluation).
// Values are always data; nothing from a request becomes an operator here.

export type Scalar = string | number | boolean;

export type Filter =
  | { kind: 'all' }
  | { kind: 'none' }
  | { kind: 'and'; filters: Filter[] }
  | { kind: 'or'; filters: Filter[] }
  | { kind: 'not'; filter: Filter }
  /** The field (or one of its array elements) equals the value. */
  | { kind: 'eq'; field: string; value: Scalar }
  | { kind: 'in'; field: string; values: Scalar[] }
  /**
   * One bound on one field. Bounds are never combined in one node, because on
   * array fields MongoDB lets each bound match a different element; keeping one
   * bound per node makes that the defined meaning in both stores.
   */
  | { kind: 'cmp'; field: string; op: 'gt' | 'ge' | 'lt' | 'le'; value: string | number }
  /** A string element starts with the value (literal, case-sensitive). */
  | { kind: 'prefix'; field: string; value: string }
  /** A string element contains the value (literal, case-sensitive). */
  | { kind: 'contains'; field: string; value: string }
  | { kind: 'exists'; field: string; exists: boolean }
  /**
   * A position field (idx.<code>.lat/.lng) within km of a point. `box` is the
   * latitude/longitude bounding box around the circle: a store without a
   * geospatial index runs the box, and the repository keeps only what is truly
   * within the distance, so every store gives the same answer.
   */
  | { kind: 'within'; field: string; lat: number; lng: number; km: number; box: Filter };

export const ALL: Filter = { kind: 'all' };
export const NONE: Filter = { kind: 'none' };

export function and(filters: Filter[]): Filter {
  const parts = filters.filter((f) => f.kind !== 'all');
  if (parts.some((f) => f.kind === 'none')) return NONE;
  if (parts.length === 0) return ALL;
  return parts.length === 1 ? parts[0] : { kind: 'and', filters: parts };
}

export function or(filters: Filter[]): Filter {
  const parts = filters.filter((f) => f.kind !== 'none');
  if (parts.some((f) => f.kind === 'all')) return ALL;
  if (parts.length === 0) return NONE;
  return parts.length === 1 ? parts[0] : { kind: 'or', filters: parts };
}

export function not(filter: Filter): Filter {
  if (filter.kind === 'all') return NONE;
  if (filter.kind === 'none') return ALL;
  return { kind: 'not', filter };
}
