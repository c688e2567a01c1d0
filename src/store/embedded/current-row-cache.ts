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
const sizeOf = (row: VersionRow): number => (row.resource?.length ?? 0) + (row.idx?.length ?? 0) + (row.sort?.length ?? 0) + 200;

export const rowKey = (resourceType: string, id: string): string => `${resourceType}/${id}`;

export class CurrentRowCache {
  // A Map iterates in insertion order: re-inserting on a hit makes its first key the least recently used.
  private readonly rows = new Map<string, VersionRow>();
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get(key: string): VersionRow | undefined {
    const row = this.rows.get(key);
    if (row) {
      this.rows.delete(key);
      this.rows.set(key, row);
    }
    return row;
  }

  set(key: string, row: VersionRow): void {
    const size = sizeOf(row);
    if (size > this.maxBytes / 16) return;
    this.drop(key);
    this.rows.set(key, row);
    this.bytes += size;
    while (this.bytes > this.maxBytes) this.drop(this.rows.keys().next().value as string);
  }

  drop(key: string): void {
    const row = this.rows.get(key);
    if (!row) return;
    this.rows.delete(key);
    this.bytes -= sizeOf(row);
  }

  clear(): void {
    this.rows.clear();
    this.bytes = 0;
  }
}
