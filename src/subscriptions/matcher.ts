// Turns new versions from the change feed into numbered events of each
// subscription. Only versions committed after the subscription started and
// that its owner may read (access rules applied for the owner) become
// events. An event's record id derives from (subscription, version), so a
// version becomes at most one event however many processes see it.
import type { Caller } from '../auth/caller';
import type { StoragePort, StoredVersion } from '../store/port';
import { isEvent } from './criteria';
import { versionKeyOf } from './change-feed';
import type { RecordStore } from './record-store';
import type { LiveSubscription } from './subscriptions';
import type { Stored, SubscriptionState } from './records';

export type VisibleTo = (owner: Caller, versions: StoredVersion[]) => Promise<StoredVersion[]>;

export class Matcher {
  constructor(
    private readonly store: StoragePort,
    private readonly records: RecordStore,
    private readonly visibleTo: VisibleTo
  ) {}

  /**
   * Records the events of one subscription among these versions (oldest
   * first). Versions at or before `recheckUntil` may have been handled by a
   * process that held the feed before: their events are looked up first, so
   * numbers are not spent twice. Returns the saved state, or throws a
   * conflict when another process advanced it.
   */
  async record(
    live: LiveSubscription,
    versions: StoredVersion[],
    recheckUntil: string,
    previousOf: (v: StoredVersion) => Promise<StoredVersion | undefined>
  ): Promise<Stored<SubscriptionState>> {
    const { criteria, state } = live;
    const candidates: StoredVersion[] = [];
    for (const v of versions) {
      if (v.deleted || !v.resource || v.resourceType !== criteria.resourceType || v.lastUpdated <= state.since) continue;
      const previous = criteria.topic && v.versionId !== '1' ? await previousOf(v) : undefined;
      if (isEvent(criteria, v.resource, previous?.resource)) candidates.push(v);
    }
    if (candidates.length === 0) return state;
    const visible = new Set((await this.visibleTo(state.owner, candidates)).map(versionKeyOf));
    const events: StoredVersion[] = [];
    for (const v of candidates) {
      if (!visible.has(versionKeyOf(v))) continue;
      if (v.lastUpdated <= recheckUntil && (await this.records.hasEvent(state.subscriptionId, versionKeyOf(v)))) continue;
      events.push(v);
    }
    if (events.length === 0) return state;
    // Numbers first (a conflict here means another process holds the feed), then the event records.
    const saved = await this.records.saveState({ ...state, eventCount: state.eventCount + events.length });
    // Written together, so the store can commit them as one group.
    await Promise.all(
      events.map((v, i) =>
        this.records.claimEvent(
          {
            subscriptionId: state.subscriptionId,
            number: state.eventCount + i + 1,
            focus: `${v.resourceType}/${v.id}`,
            focusVersion: v.versionId,
            timestamp: v.lastUpdated,
          },
          versionKeyOf(v)
        )
      )
    );
    return saved;
  }

  /** The version before this one, for topics that fire on a change of status. */
  previousVersion(v: StoredVersion): Promise<StoredVersion | undefined> {
    return this.store.readVersion(v.resourceType, v.id, String(Number(v.versionId) - 1));
  }
}
