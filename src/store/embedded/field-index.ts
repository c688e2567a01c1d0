// In-memory secondary indexes of the embedded store: for an index field that
// queries compare by equality (a token, a reference, an identifier), a map
// from value to the ids of current versions holding it. Built the first time
// a query needs the field, then kept up to date on every write. A query uses
// them to pick candidates; the full filter still decides (store.ts), so an
// index can only make a query faster, never change its answer.
import type { Filter, Scalar } from '../search/filter';
import type { StoredVersion } from '../port';
import { valuesAt } from './match';

type ValueIndex = Map<Scalar, Set<string>>;

export class FieldIndexes {
  /** resourceType -> field -> value -> ids */
  private readonly byType = new Map<string, Map<string, ValueIndex>>();

  constructor(private readonly currentOf: (resourceType: string) => Iterable<StoredVersion>) {}

  private build(resourceType: string, field: string): ValueIndex {
    let fields = this.byType.get(resourceType);
    if (!fields) {
      fields = new Map();
      this.byType.set(resourceType, fields);
    }
    let index = fields.get(field);
    if (!index) {
      index = new Map();
      for (const version of this.currentOf(resourceType)) if (!version.deleted) add(index, version, field);
      fields.set(field, index);
    }
    return index;
  }

  /** A version replaced another as current: move its ids in every index built for its type. */
  replace(previous: StoredVersion | undefined, next: StoredVersion): void {
    const fields = this.byType.get(next.resourceType);
    if (!fields) return;
    for (const [field, index] of fields) {
      if (previous && !previous.deleted) remove(index, previous, field);
      if (!next.deleted) add(index, next, field);
    }
  }

  /** The ids that can match, or undefined when no index narrows the filter (a scan is needed). */
  candidates(resourceType: string, filter: Filter): Set<string> | undefined {
    switch (filter.kind) {
      case 'eq':
      case 'in': {
        if (!indexable(filter.field)) return undefined;
        const values = filter.kind === 'eq' ? [filter.value] : filter.values;
        if (filter.field === 'id') return new Set(values.map(String));
        const index = this.build(resourceType, filter.field);
        const ids = new Set<string>();
        for (const value of values) index.get(value)?.forEach((id) => ids.add(id));
        return ids;
      }
      case 'none':
        return new Set();
      case 'and': {
        let best: Set<string> | undefined;
        for (const part of filter.filters) {
          const ids = this.candidates(resourceType, part);
          if (ids && (!best || ids.size < best.size)) best = ids;
        }
        return best;
      }
      case 'or': {
        const union = new Set<string>();
        for (const part of filter.filters) {
          const ids = this.candidates(resourceType, part);
          if (!ids) return undefined;
          ids.forEach((id) => union.add(id));
        }
        return union;
      }
      default:
        return undefined;
    }
  }
}

/** Equality on the id, or on an index field (not sort keys or dates' lo/hi, which are ranged). */
const indexable = (field: string): boolean => field === 'id' || (field.startsWith('idx.') && !/\.(lo|hi|lat|lng|v)$/.test(field));

function add(index: ValueIndex, version: StoredVersion, field: string): void {
  for (const value of valuesAt(version, field.split('.'))) {
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') continue;
    let ids = index.get(value);
    if (!ids) {
      ids = new Set();
      index.set(value, ids);
    }
    ids.add(version.id);
  }
}

function remove(index: ValueIndex, version: StoredVersion, field: string): void {
  for (const value of valuesAt(version, field.split('.'))) {
    const ids = index.get(value as Scalar);
    ids?.delete(version.id);
    if (ids?.size === 0) index.delete(value as Scalar);
  }
}
