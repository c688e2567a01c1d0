// The subscriptions the server works on, with their criteria and state, as
// the process holding the feed sees them. A state is cached per
// Subscription version: only that process advances states, and a client's
// write of the Subscription (a new version) makes it read the state again.
import type { Subscription } from '@medplum/fhirtypes';
import type { Repository } from '../store/repository';
import { criteriaOf, type Criteria } from './criteria';
import type { RecordStore } from './record-store';
import type { Stored, SubscriptionState } from './records';

/** Most subscriptions one server works on (the search that loads them is one page). */
export const MAX_SUBSCRIPTIONS = 1000;

export interface LiveSubscription {
  subscription: Subscription;
  criteria: Criteria;
  state: Stored<SubscriptionState>;
}

export class SubscriptionCache {
  private readonly states = new Map<string, { subscriptionVersion: string; state: Stored<SubscriptionState> }>();

  constructor(
    private readonly repo: Repository,
    private readonly records: RecordStore
  ) {}

  /** Subscriptions that are not off (an errored one still records its events, for $events). */
  async load(): Promise<LiveSubscription[]> {
    const found = await this.repo.find('Subscription', { status: ['requested,active,error'] }, MAX_SUBSCRIPTIONS);
    const live: LiveSubscription[] = [];
    for (const version of found) {
      const subscription = version.resource as Subscription;
      let criteria: Criteria;
      try {
        criteria = criteriaOf(subscription);
      } catch {
        continue; // checked when written; one written before a rule tightened is left alone
      }
      const cached = this.states.get(version.id);
      const state = cached?.subscriptionVersion === version.versionId ? cached.state : await this.records.readState(version.id);
      if (!state) continue; // its owner record is being written
      this.states.set(version.id, { subscriptionVersion: version.versionId, state });
      live.push({ subscription, criteria, state });
    }
    return live;
  }

  /** Keeps a state just saved (its new versionId) for the next round. */
  remember(live: LiveSubscription, state: Stored<SubscriptionState>): void {
    live.state = state;
    this.states.set(live.subscription.id as string, { subscriptionVersion: live.subscription.meta?.versionId as string, state });
  }

  forget(): void {
    this.states.clear();
  }
}
