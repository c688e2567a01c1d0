// Keyset paging (search.html#paging): a page link carries the sort-key values
// of the last (or first) row it showed, and the next page is the rows strictly
// after them in the sort order, id last. Unlike an offset, this never shows a
// row twice or skips one when rows are added or removed between pages.
import { badRequest } from '../../base/outcomes';
import type { SortKey, StoredVersion } from '../port';
import { and, NONE, or, type Filter } from './filter';

type KeyValue = string | number | null;

export interface Cursor {
  values: KeyValue[];
  /** true: the page before these values (a previous link). */
  before: boolean;
}

export function encodeCursor(cursor: Cursor): string {
  return Buffer.from(JSON.stringify([cursor.before ? 1 : 0, ...cursor.values]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string, keys: SortKey[]): Cursor {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    parsed.length === keys.length + 1 &&
    (parsed[0] === 0 || parsed[0] === 1) &&
    parsed.slice(1).every((v) => v === null || typeof v === 'string' || typeof v === 'number');
  if (!ok) throw badRequest('_cursor is not a page link of this search; follow the links the server gave', ['_cursor']);
  const list = parsed as [number, ...KeyValue[]];
  return { before: list[0] === 1, values: list.slice(1) as KeyValue[] };
}

/** The sort-key values of a stored row, for the cursor of the page that ends (or starts) there. */
export function keyValues(version: StoredVersion, keys: SortKey[]): KeyValue[] {
  return keys.map(({ field }) => {
    if (field === 'id') return version.id;
    if (field === 'lastUpdated') return version.lastUpdated;
    const value = version.sort[field.replace(/^sort\./, '')];
    return value === undefined ? null : value;
  });
}

/** Strictly after value on one key, in the direction given; a missing value sorts first ascending, last descending. */
function strictlyAfter(field: string, value: KeyValue, descending: boolean): Filter {
  if (value === null) return descending ? NONE : { kind: 'exists', field, exists: true };
  if (!descending) return { kind: 'cmp', field, op: 'gt', value };
  return or([
    { kind: 'cmp', field, op: 'lt', value },
    { kind: 'exists', field, exists: false },
  ]);
}

function equal(field: string, value: KeyValue): Filter {
  return value === null ? { kind: 'exists', field, exists: false } : { kind: 'eq', field, value };
}

/** Rows after the cursor in the order of keys (which end with id, so the order is total). */
export function afterFilter(keys: SortKey[], values: KeyValue[]): Filter {
  return or(keys.map((key, i) => and([...keys.slice(0, i).map((k, j) => equal(k.field, values[j])), strictlyAfter(key.field, values[i], key.descending)])));
}

export const reversed = (keys: SortKey[]): SortKey[] => keys.map((k) => ({ ...k, descending: !k.descending }));
