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

/** Positions (near) are bucketed in cells of this many degrees; a bounding box reads the cells it covers. */
const CELL_DEGREES = 0.05;
const MAX_CELLS = 20000;
const GRID = '#grid';
const cellKey = (lat: number, lng: number): string => `${Math.floor(lat / CELL_DEGREES)}:${Math.floor(lng / CELL_DEGREES)}`;

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

  /** Ids in the cells a latitude/longitude box covers, from the grid over a position field. */
  private box(resourceType: string, prefix: string, lat: [number, number], lng: [number, number]): Set<string> | undefined {
    const cells = (Math.floor(lat[1] / CELL_DEGREES) - Math.floor(lat[0] / CELL_DEGREES) + 1) * (Math.floor(lng[1] / CELL_DEGREES) - Math.floor(lng[0] / CELL_DEGREES) + 1);
    if (!(cells > 0) || cells > MAX_CELLS) return undefined;
    const grid = this.build(resourceType, prefix + GRID);
    const ids = new Set<string>();
    for (let i = Math.floor(lat[0] / CELL_DEGREES); i <= Math.floor(lat[1] / CELL_DEGREES); i++) {
      for (let j = Math.floor(lng[0] / CELL_DEGREES); j <= Math.floor(lng[1] / CELL_DEGREES); j++) grid.get(`${i}:${j}`)?.forEach((id) => ids.add(id));
    }
    return ids;
  }

  /** The box of an and() holding ge/le bounds on <prefix>.lat and <prefix>.lng (a near search). */
  private boxOf(resourceType: string, parts: Filter[]): Set<string> | undefined {
    const bounds = new Map<string, { lo?: number; hi?: number }>();
    for (const part of parts) {
      if (part.kind !== 'cmp' || typeof part.value !== 'number' || !/\.(lat|lng)$/.test(part.field)) continue;
      const b = bounds.get(part.field) ?? {};
      if (part.op === 'ge' || part.op === 'gt') b.lo = part.value;
      else b.hi = part.value;
      bounds.set(part.field, b);
    }
    for (const [field, lat] of bounds) {
      if (!field.endsWith('.lat')) continue;
      const prefix = field.slice(0, -4);
      const lng = bounds.get(`${prefix}.lng`);
      if (lat.lo !== undefined && lat.hi !== undefined && lng?.lo !== undefined && lng.hi !== undefined) {
        return this.box(resourceType, prefix, [lat.lo, lat.hi], [lng.lo, lng.hi]);
      }
    }
    return undefined;
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
      case 'within':
        return this.candidates(resourceType, filter.box);
      case 'and': {
        let best: Set<string> | undefined = this.boxOf(resourceType, filter.filters);
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

/** The cells of a position field's values (lat and lng arrays side by side). */
function cellsOf(version: StoredVersion, prefix: string): string[] {
  const lat = valuesAt(version, `${prefix}.lat`.split('.'));
  const lng = valuesAt(version, `${prefix}.lng`.split('.'));
  return lat.map((la, i) => cellKey(la as number, lng[i] as number));
}

function add(index: ValueIndex, version: StoredVersion, field: string): void {
  if (field.endsWith(GRID)) {
    for (const cell of cellsOf(version, field.slice(0, -GRID.length))) {
      if (!index.has(cell)) index.set(cell, new Set());
      index.get(cell)?.add(version.id);
    }
    return;
  }
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
  const values = field.endsWith(GRID) ? cellsOf(version, field.slice(0, -GRID.length)) : valuesAt(version, field.split('.'));
  for (const value of values) {
    const ids = index.get(value as Scalar);
    ids?.delete(version.id);
    if (ids?.size === 0) index.delete(value as Scalar);
  }
}
