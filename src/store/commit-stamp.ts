// meta.lastUpdated is stamped as late as possible: just before a version is
// handed to the store to commit, after validation and the domain rules, so
// that the stamp says when the write became visible, give or take the commit
// itself. A poller that asks for _lastUpdated=gt<the newest it saw> relies on
// this (docs/storage.md, "Polling"):
//
// - Where commits become visible in the order they were handed over (the
//   embedded store: one process, one commit queue), the stamp comes from a
//   clock that only moves forward and never repeats an instant, taken with no
//   pause before the hand-over: visibility follows stamp order exactly.
// - Where they need not (several processes on one MongoDB), a commit must be
//   visible within a deadline after its stamp, or it is refused and stamped
//   again; readers then answer polling only with versions older than the
//   settle horizon (settle.ts), by which time every commit stamped earlier is
//   visible or was refused.
import type { StoredVersion, VersionWrite } from './port';

/** Thrown by a store when a commit could not be made visible by its deadline; nothing of it stays. */
export class CommitDeadlineError extends Error {
  constructor() {
    super('The commit could not be completed within its deadline after its lastUpdated stamp');
  }
}

/** Instants that only move forward and never repeat, even when the system clock steps back. */
export class StampClock {
  private last = 0;

  /** The next instant: now, but after every instant issued before and not before floor. */
  next(floor?: string): string {
    const at = Math.max(Date.now(), this.last + 1, floor ? Date.parse(floor) : 0);
    this.last = at;
    return new Date(at).toISOString();
  }
}

/**
 * Gives a version its final lastUpdated, everywhere it is held: the version,
 * the resource's meta, and the _lastUpdated index field and sort key.
 */
export function restamp(version: StoredVersion, instant: string): void {
  version.lastUpdated = instant;
  if (version.resource) version.resource.meta = { ...version.resource.meta, lastUpdated: instant };
  if (version.idx._lastUpdated) version.idx._lastUpdated = { lo: [instant], hi: [instant] };
  if (version.sort._lastUpdated !== undefined) version.sort._lastUpdated = instant;
}

/**
 * Stamps the versions of one commit. Each is stamped after the version it
 * replaces (its provisional stamp, taken from that version, is the floor), and
 * every version of a commit gets the same instant unless a floor is later.
 */
export function stampCommit(clock: StampClock, writes: VersionWrite[], provisional: ReadonlyMap<StoredVersion, string>): void {
  const floor = writes.reduce((latest, w) => {
    const p = provisional.get(w.version);
    return p && p > latest ? p : latest;
  }, '');
  const instant = clock.next(floor || undefined);
  for (const write of writes) if (provisional.has(write.version)) restamp(write.version, instant);
}
