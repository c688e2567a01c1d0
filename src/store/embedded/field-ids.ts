// The numbers of index fields (search_field), as one reading connection
// knows them: read whole at start, told of by the writer thread with each
// commit's answer (on the serving thread), and read again from the highest
// number known when a field is missing. A commit is visible to reads before
// it is answered (and a writer thread that stops never answers), so a field
// missing here may be one a visible commit made: an index field must not be
// taken as absent on this map's word alone (a subscription missed its first
// event so).
import type { StatementSync } from 'node:sqlite';
import { fieldKey } from './index-rows';

export class FieldIds {
  /** "type\u0000field" -> fid, for every index field read or told of so far. */
  private readonly ids = new Map<string, number>();
  /**
   * The highest field number read from the database (not the highest told of:
   * a writer thread that stopped may have left lower ones untold). A new
   * field takes a number above every committed one.
   */
  private highest = 0;

  /** @param statement the connection's prepared statements */
  constructor(private readonly statement: (sql: string) => StatementSync) {}

  /** A field number a commit interned, told of before the commit is answered. */
  set(key: string, fid: number): void {
    this.ids.set(key, fid);
  }

  /** The number of a type's index field, if any version ever had it. */
  of(resourceType: string, field: string): number | undefined {
    const key = fieldKey(resourceType, field);
    if (!this.ids.has(key)) this.readNew();
    return this.ids.get(key);
  }

  /** The numbers of a field for each type that has it, once any new ones are read. */
  ofTypes(resourceTypes: string[], field: string): number[] {
    this.readNew();
    return resourceTypes.map((type) => this.ids.get(fieldKey(type, field))).filter((fid): fid is number => fid !== undefined);
  }

  /** Reads the field numbers made since the highest known: one look-up of the highest when there are none. */
  readNew(): void {
    const { highest } = this.statement('SELECT max(fid) AS highest FROM search_field').get() as { highest: number | null };
    if (highest === null || highest <= this.highest) return;
    const rows = this.statement('SELECT type, field, fid FROM search_field WHERE fid > ?').all(this.highest) as unknown as Array<{
      type: string;
      field: string;
      fid: number;
    }>;
    for (const row of rows) this.ids.set(fieldKey(row.type, row.field), row.fid);
    this.highest = highest;
  }
}
