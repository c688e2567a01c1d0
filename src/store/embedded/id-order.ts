// Ids of each resource type in sorted order, for the embedded store's queries
// sorted by id alone (bulk export and other keyset walks: id > last, by id,
// a page at a time). Walking the sorted ids from the last one seen touches a
// page's worth of resources, where filtering and sorting every resource of
// the type would cost the whole collection on every page. Built on first use,
// then kept sorted as new ids arrive.
import type { Filter } from '../search/filter';

export class IdOrder {
  private readonly sorted = new Map<string, string[]>();

  constructor(private readonly idsOf: (resourceType: string) => Iterable<string>) {}

  /** A new id of a type (a create): kept in place if the order was built. */
  added(resourceType: string, id: string): void {
    const ids = this.sorted.get(resourceType);
    if (!ids) return;
    const at = lowerBound(ids, id);
    if (ids[at] !== id) ids.splice(at, 0, id);
  }

  /** Ids in order, from the first one after (or at) the filter's lower bound on id. */
  *from(resourceType: string, filter: Filter): Generator<string> {
    let ids = this.sorted.get(resourceType);
    if (!ids) {
      ids = [...this.idsOf(resourceType)].sort();
      this.sorted.set(resourceType, ids);
    }
    const bound = lowerIdBound(filter);
    let at = bound ? lowerBound(ids, bound.value) : 0;
    if (bound?.op === 'gt' && ids[at] === bound.value) at++;
    for (; at < ids.length; at++) yield ids[at];
  }
}

/** The first index whose id is not less than value. */
function lowerBound(ids: string[], value: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ids[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** An id > x or id >= x that the whole filter requires (at its top, or in its top-level and). */
function lowerIdBound(filter: Filter): { op: 'gt' | 'ge'; value: string } | undefined {
  const parts = filter.kind === 'and' ? filter.filters : [filter];
  for (const part of parts) {
    if (part.kind === 'cmp' && part.field === 'id' && (part.op === 'gt' || part.op === 'ge') && typeof part.value === 'string') return { op: part.op, value: part.value };
  }
  return undefined;
}
