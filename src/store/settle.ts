// The settle horizon of polling (docs/storage.md, "Polling"). Where commits
// can become visible out of stamp order (several processes on one MongoDB), a
// version stamped at T is visible by T + the commit deadline, or was refused
// (commit-stamp.ts); clocks of the processes differ by less than the rest of
// the horizon. So every version stamped at or before now minus the horizon is
// already visible, and a poller that is answered only those, and asks next
// for _lastUpdated=gt<the newest it saw>, never skips one.
import type { SearchRequest } from '../base/search-request';
import { indexField } from './indexer';
import type { Filter } from './search/filter';

/** The settle horizon when none is configured (config.ts, WRITE_SETTLE_MS). */
export const DEFAULT_SETTLE_MS = 4000;

/** The part of the horizon a commit may take after its stamp; the rest covers clock differences between processes. */
export const commitDeadlineMs = (settleMs: number): number => Math.floor(settleMs / 2);

/** The newest lastUpdated that is settled now. */
export const settledUntil = (settleMs: number, now = Date.now()): string => new Date(now - settleMs).toISOString();

/**
 * Whether a search is a poll: it selects by _lastUpdated, or is ordered
 * oldest change first (_sort=_lastUpdated), so that a client may take up
 * again after the newest it saw. Newest first (-_lastUpdated) is a listing,
 * answered with everything committed, as is every other search.
 */
export function isPoll(request: SearchRequest): boolean {
  const byLastUpdated = request.clauses.some((c) => c.chain.length === 1 && c.chain[0].code === '_lastUpdated');
  return byLastUpdated || request.sort.some((s) => s.code === '_lastUpdated' && !s.descending);
}

/** Current versions stamped at or before the instant (the _lastUpdated index field, which polling's indexes cover). */
export const settledBy = (instant: string): Filter => ({ kind: 'cmp', field: `${indexField('_lastUpdated')}.hi`, op: 'le', value: instant });
