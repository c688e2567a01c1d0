// Recently read current versions, as their rows (JSON text, never parsed
// objects, so no caller can change what the next one gets), on the serving
// thread. A point read on SQLite costs about 60 µs here however hot the row:
// in WAL mode a connection drops its whole page cache whenever another
// connection (the writer thread) has committed, and under load that is
// every few milliseconds. A hit costs about 2 µs.
//
// Kept coherent by the store alone, since one process owns a data directory
// and every change goes through its writer: when a change is acknowledged,
// the rows it touched are dropped. A read that ran while the change was in
// flight may have cached the version before or after it; either way the
// acknowledgement drops it afterwards, so once a change is acknowledged no
// read returns anything older. Bounded by the bytes of its rows.
import { LRUCache } from 'lru-cache';

/** The row of a current version, as the serving connection reads it. */
export interface VersionRow {
  type: string;
  id: string;
  vid: number;
  last_updated: string;
  deleted: number;
  resource: string | null;
  idx?: string;
  sort?: string;
}

/** A row's share of the budget: its text, and a little for the entry itself. */
export const rowBytes = (row: VersionRow): number => (row.resource?.length ?? 0) + (row.idx?.length ?? 0) + (row.sort?.length ?? 0) + 200;

export const rowKey = (resourceType: string, id: string): string => `${resourceType}/${id}`;

export class CurrentRowCache {
  // lru-cache bounds the entries by their size and drops the least recently used first.
  private readonly rows: LRUCache<string, VersionRow>;

  constructor(maxBytes: number) {
    this.rows = new LRUCache<string, VersionRow>({ maxSize: maxBytes, maxEntrySize: Math.floor(maxBytes / 16), sizeCalculation: rowBytes });
  }

  get(key: string): VersionRow | undefined {
    return this.rows.get(key);
  }

  set(key: string, row: VersionRow): void {
    this.rows.set(key, row);
  }

  drop(key: string): void {
    this.rows.delete(key);
  }

  clear(): void {
    this.rows.clear();
  }
}
