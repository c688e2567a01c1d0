// Delivery of recorded events to a rest-hook endpoint, in order, a batch per
// notification. A failure keeps the events and retries with exponential
// backoff; after maxAttempts failures in a row the Subscription goes to
// `error` with the last error (subscription.html#2.46.7.2), and a client who
// puts it back to `requested` resumes from the first undelivered event.
// Every attempt is audited, for the subscription's owner.
import type { Resource, Subscription } from '@medplum/fhirtypes';
import type { AuditRecord } from '../audit/audit-trail';
import type { StoragePort, StoredVersion } from '../store/port';
import { endpointRefusal } from './endpoint';
import type { VisibleTo } from './matcher';
import { notificationBundle, payloadContentOf, type NotificationEvent, type NotificationType } from './notification';
import type { RecordStore } from './record-store';
import type { Stored, SubscriptionEvent, SubscriptionState } from './records';
import { postNotification } from './rest-hook';
import type { LiveSubscription } from './subscriptions';
import type { Criteria } from './criteria';

/** Most events one notification carries (a backlog is sent in batches). */
export const BATCH = 100;
/** The longest wait between two attempts. */
const MAX_BACKOFF_MS = 5 * 60 * 1000;

export interface DeliveryOptions {
  baseUrl: string;
  allowedEndpoints: string[];
  retryMs: number;
  maxAttempts: number;
}

export class Delivery {
  constructor(
    private readonly store: StoragePort,
    private readonly records: RecordStore,
    private readonly visibleTo: VisibleTo,
    private readonly audit: (record: AuditRecord) => Promise<void>,
    private readonly options: DeliveryOptions
  ) {}

  /**
   * The resources of these events as the owner may read them now (access is
   * checked at delivery time, not only when the event was recorded); an event
   * about a resource the owner may no longer read is left out.
   */
  async withResources(owner: SubscriptionState['owner'], events: SubscriptionEvent[], subscription: Subscription): Promise<NotificationEvent[]> {
    const read = await Promise.all(
      events.map(async (event) => {
        const [type, id] = event.focus.split('/');
        return { event, version: await this.store.readVersion(type, id, event.focusVersion) };
      })
    );
    const versions = read.filter((r): r is { event: SubscriptionEvent; version: StoredVersion } => !!r.version && !r.version.deleted);
    const visible = new Set(
      (
        await this.visibleTo(
          owner,
          versions.map((v) => v.version)
        )
      ).map((v) => `${v.resourceType}/${v.id}/${v.versionId}`)
    );
    const full = payloadContentOf(subscription) === 'full-resource';
    return versions
      .filter(({ version }) => visible.has(`${version.resourceType}/${version.id}/${version.versionId}`))
      .map(({ event, version }) => ({ event, ...(full ? { resource: version.resource as Resource } : {}) }));
  }

  bundle(subscription: Subscription, criteria: Criteria, eventCount: number, type: NotificationType, events: NotificationEvent[], error?: string) {
    return notificationBundle(
      this.options.baseUrl,
      { subscription, eventsSinceStart: eventCount, topic: criteria.topic, error },
      type,
      events,
      payloadContentOf(subscription)
    );
  }

  /** Sends a notification to the channel's endpoint; throws with the reason it failed. */
  async post(subscription: Subscription, bundle: ReturnType<Delivery['bundle']>, timeoutMs: number): Promise<number> {
    const endpoint = subscription.channel?.endpoint;
    const refusal = await endpointRefusal(endpoint, this.options.allowedEndpoints);
    if (refusal) throw new Error(refusal);
    return postNotification(endpoint as string, subscription.channel?.header, bundle, timeoutMs);
  }

  /** The handshake on activation: answers the error text, or undefined when the endpoint accepted it. */
  async handshake(live: LiveSubscription, timeoutMs: number): Promise<string | undefined> {
    const bundle = this.bundle({ ...live.subscription, status: 'requested' }, live.criteria, live.state.eventCount, 'handshake', []);
    try {
      const status = await this.post(live.subscription, bundle, timeoutMs);
      await this.recordAttempt(live, 'handshake', status);
      return undefined;
    } catch (err) {
      const reason = `Handshake failed: ${(err as Error).message}`;
      await this.recordAttempt(live, 'handshake', 0, reason);
      return reason;
    }
  }

  /**
   * Sends the next batch of undelivered events, if it is time. Answers the
   * new state (saved) and, when the subscription has failed too often, the
   * error to put on it.
   */
  async deliverNext(live: LiveSubscription, now: number, timeoutMs: number): Promise<{ state: Stored<SubscriptionState>; error?: string } | undefined> {
    const { state, subscription } = live;
    if (state.deliveredThrough >= state.eventCount) return undefined;
    if (state.retryAt && Date.parse(state.retryAt) > now) return undefined;
    const last = Math.min(state.eventCount, state.deliveredThrough + BATCH);
    const events = await this.records.events(state.subscriptionId, state.deliveredThrough + 1, last);
    const payload = await this.withResources(state.owner, events, subscription);
    const range = `${state.deliveredThrough + 1}-${last}`;
    // Events the owner may no longer read are skipped without a notification.
    if (payload.length > 0) {
      let status: number;
      try {
        status = await this.post(subscription, this.bundle(subscription, live.criteria, last, 'event-notification', payload), timeoutMs);
      } catch (err) {
        return this.failed(live, (err as Error).message, range, now);
      }
      await this.recordAttempt(live, 'event-notification', status, undefined, range);
    }
    return { state: await this.records.saveState({ ...state, deliveredThrough: last, failures: 0, retryAt: undefined, lastError: undefined }) };
  }

  /** A failed attempt: audited, then retried after a backoff, or the subscription's error once too many failed. */
  private async failed(live: LiveSubscription, message: string, range: string, now: number): Promise<{ state: Stored<SubscriptionState>; error?: string }> {
    await this.recordAttempt(live, 'event-notification', 0, message, range);
    const failures = live.state.failures + 1;
    const wait = Math.min(MAX_BACKOFF_MS, this.options.retryMs * 2 ** (failures - 1));
    const state = await this.records.saveState({ ...live.state, failures, lastError: message, retryAt: new Date(now + wait).toISOString() });
    return { state, error: failures >= this.options.maxAttempts ? `Delivery failed ${failures} times; last error: ${message}` : undefined };
  }

  /** Audits one delivery attempt for the owner: the subscription, the events and where they went. */
  async recordAttempt(
    live: Pick<LiveSubscription, 'state' | 'subscription'>,
    type: NotificationType,
    status: number,
    failure?: string,
    events?: string
  ): Promise<void> {
    const channel = live.subscription.channel;
    await this.audit({
      caller: live.state.owner,
      method: 'POST',
      segments: ['Subscription', live.state.subscriptionId, '$notification'],
      query: new URLSearchParams({ type, ...(events ? { events } : {}), channel: channel?.type ?? '', endpoint: channel?.endpoint ?? '' }).toString(),
      status: status || 502,
      ...(failure ? { failure } : {}),
    });
  }
}
