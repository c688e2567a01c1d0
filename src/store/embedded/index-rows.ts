// The search_value rows of a version: every scalar under its index fields,
// with the dotted path MongoDB would use for it (a path through an array
// yields each element), so the compiled Filter means the same in both stores.
import type { IndexFields } from '../port';

export type RowValue = string | number;

/** The key of a type's index field among the field numbers (search_field) both threads keep, and in a commit's reply. */
export const fieldKey = (resourceType: string, field: string): string => `${resourceType}\u0000${field}`;

export interface IndexRow {
  field: string;
  value: RowValue;
}

function collect(path: string, value: unknown, out: IndexRow[]): void {
  if (Array.isArray(value)) {
    for (const item of value) collect(path, item, out);
  } else if (typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value))) {
    out.push({ field: path, value });
  } else if (typeof value === 'boolean') {
    out.push({ field: path, value: value ? 1 : 0 });
  } else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) collect(`${path}.${key}`, inner, out);
  }
}

/** Distinct (field, value) rows of index fields, keyed so two versions' rows can be compared. */
export function indexRows(idx: IndexFields): Map<string, IndexRow> {
  const rows: IndexRow[] = [];
  for (const [code, value] of Object.entries(idx)) collect(`idx.${code}`, value, rows);
  const keyed = new Map<string, IndexRow>();
  for (const row of rows) keyed.set(`${row.field}\u0000${typeof row.value}\u0000${row.value}`, row);
  return keyed;
}
