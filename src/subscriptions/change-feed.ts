// The change feed subscriptions match against: the store's own history,
// read from a saved cursor. A version's lastUpdated is stamped before its
// commit, so commits can become visible slightly out of timestamp order;
// each read therefore goes back a settle window before the cursor, and
// versions already handed out are skipped (by Type/id/versionId).
import type { StoragePort, StoredVersion } from '../store/port';

const PAGE = 500;

export const versionKeyOf = (v: Pick<StoredVersion, 'resourceType' | 'id' | 'versionId'>): string => `${v.resourceType}/${v.id}/${v.versionId}`;

export class ChangeFeed {
  /** Versions handed out, by key, with their lastUpdated (pruned once behind the window). */
  private readonly seen = new Map<string, string>();

  constructor(
    private readonly store: StoragePort,
    private readonly settleMs: number
  ) {}

  /** Forget what was handed out: another process may have moved the feed since. */
  reset(): void {
    this.seen.clear();
  }

  /**
   * Versions of these types committed since the cursor (and in the settle
   * window before it) not handed out before, oldest first; and the cursor to
   * save next.
   */
  async read(types: string[], cursor: string): Promise<{ versions: StoredVersion[]; cursor: string }> {
    const since = new Date(Date.parse(cursor) - this.settleMs).toISOString();
    const found: StoredVersion[] = [];
    for (const resourceType of types) {
      for (let offset = 0; ; offset += PAGE) {
        // Newest first: a write landing meanwhile shifts later pages back, so a page repeats a version but never skips one.
        const page = await this.store.readHistory({ resourceType, since, offset, limit: PAGE });
        found.push(...page);
        if (page.length < PAGE) break;
      }
    }
    let next = cursor;
    const fresh: StoredVersion[] = [];
    for (const v of found) {
      const key = versionKeyOf(v);
      if (this.seen.has(key)) continue;
      this.seen.set(key, v.lastUpdated);
      fresh.push(v);
      if (v.lastUpdated > next) next = v.lastUpdated;
    }
    for (const [key, at] of this.seen) if (at < since) this.seen.delete(key);
    fresh.sort((a, b) => (a.lastUpdated < b.lastUpdated ? -1 : a.lastUpdated > b.lastUpdated ? 1 : versionKeyOf(a) < versionKeyOf(b) ? -1 : 1));
    return { versions: fresh, cursor: next };
  }
}
