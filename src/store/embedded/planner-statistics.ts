// The query planner's statistics (sqlite_stat1), kept in step with the data.
//
// SQLite chooses a join order from statistics gathered by ANALYZE. A server
// that starts on an empty database and then fills it would otherwise keep
// the statistics of the empty one: measured here, a search planned on them
// scanned a whole index (8 ms) where a probe takes 25 µs. So:
// - the writer thread refreshes them now and then (PRAGMA optimize, which
//   analyses only the tables whose size has changed a lot since their last
//   analysis, reading a bounded sample of each index), often while the data
//   is young and then less and less often: between commits, and on a timer
//   when no write comes, so data that arrived all at once is analysed too;
// - SQLite loads statistics into a connection only when it reads the schema,
//   and an ANALYZE on one connection does not make another read it again, so
//   the serving thread's connection, which only reads, is opened again when
//   it sees that they changed.
import type { DatabaseSync } from 'node:sqlite';

/** The first refresh after start, and the longest gap between two. */
const FIRST_REFRESH_MS = 5_000;
const LONGEST_GAP_MS = 60 * 60 * 1000;

/** Rows of each index read by one analysis: bounds the time a refresh takes whatever the size of the data. */
export const ANALYSIS_LIMIT = 1000;

/** Refreshes the statistics when due; run between commits on the connection that writes. */
export class StatisticsRefresh {
  private gap = FIRST_REFRESH_MS;
  private due: number;

  constructor(
    private readonly db: DatabaseSync,
    private readonly now: () => number = Date.now
  ) {
    this.due = now() + this.gap;
  }

  /** How long until the next refresh is due. */
  msUntilDue(): number {
    return Math.max(0, this.due - this.now());
  }

  refreshIfDue(): void {
    if (this.now() < this.due) return;
    this.gap = Math.min(this.gap * 2, LONGEST_GAP_MS);
    this.due = this.now() + this.gap;
    try {
      // 0x10002: analyse every table that needs it, not only those this connection has queried.
      this.db.exec('PRAGMA optimize = 0x10002');
    } catch {
      // Only planner statistics (the disk may be full): never a reason to fail a commit; the next refresh tries again.
    }
  }
}

/** What the statistics are now, to compare with what a connection loaded. */
export function statisticsFingerprint(db: DatabaseSync): string {
  try {
    const row = db.prepare("SELECT group_concat(tbl || ' ' || coalesce(idx, '') || ' ' || stat, ';') AS f FROM sqlite_stat1").get() as { f: string | null };
    return row.f ?? '';
  } catch {
    // No sqlite_stat1 until the first analysis.
    return '';
  }
}
