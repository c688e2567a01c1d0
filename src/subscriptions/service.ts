// The subscription worker. Matching runs after commit, from the change feed
// in the store (change-feed.ts), never from an in-process event: one server
// process at a time holds the feed (a lease in the feed's job record,
// renewed as it saves its cursor, taken over when it lapses), records
// events and delivers rest-hook notifications; every process pushes events
// to the websockets bound to it. State lives in the store (records.ts), so a
// restart or a takeover resumes where the feed and each subscription were.
import type { Subscription } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditRecord } from '../audit/audit-trail';
import type { Caller } from '../auth/caller';
import type { StoragePort, StoredVersion } from '../store/port';
import type { Repository } from '../store/repository';
import { ChangeFeed } from './change-feed';
import { criteriaOf, type Criteria } from './criteria';
import { Delivery, BATCH } from './delivery';
import { Matcher, type VisibleTo } from './matcher';
import { isConflict, RecordStore } from './record-store';
import type { FeedState, Stored, SubscriptionState } from './records';
import { SubscriptionCache, type LiveSubscription } from './subscriptions';
import { WebSocketHub } from './websocket-hub';
import { REST_HOOK_TIMEOUT_MS } from './rest-hook';

/** Least time between two saves of the feed's cursor. */
const CURSOR_SAVE_MS = 1000;
/** Kept free at the end of a lease to save what a send did. */
const SAVE_MARGIN_MS = 1000;
/** Less time than this left to send in: wait for the next round. */
const MIN_SEND_MS = 250;

/** How long a websocket binding token may be used to bind. */
export const BINDING_TOKEN_SECONDS = 300;

export interface SubscriptionOptions {
  baseUrl: string;
  /** URL prefixes of endpoints allowed although private or loopback. */
  allowedEndpoints: string[];
  /** How often the feed is read. */
  pollMs: number;
  /** How far before the cursor each read goes back (commits visible out of timestamp order). */
  settleMs: number;
  /** The first retry's wait; it doubles with each failure. */
  retryMs: number;
  /** Failures in a row before a subscription goes to error. */
  maxAttempts: number;
  /** How long the feed's holder keeps it without renewing. */
  leaseSeconds: number;
}

export interface SubscriptionHooks {
  /** The versions this owner may read now (the organisation restriction of access.ts). */
  visibleTo: VisibleTo;
  audit: (record: AuditRecord) => Promise<void>;
}

export class SubscriptionService {
  readonly records: RecordStore;
  readonly sockets = new WebSocketHub();
  private readonly processId = randomUUID();
  private readonly feed: ChangeFeed;
  /** How far before its cursor the feed reads again (SubscriptionOptions.settleMs). */
  private readonly settleMs: number;
  private readonly cache: SubscriptionCache;
  private readonly matcher: Matcher;
  readonly delivery: Delivery;
  /** Versions up to this instant may have been handled by the feed's previous holder. */
  private recheckUntil = '';
  /** The feed record as last read or saved by this process, and the cursor this process has read to. */
  private feedState?: Stored<FeedState>;
  private cursor = '';
  private cursorSavedAt = 0;
  private holding = false;
  private timer?: NodeJS.Timeout;
  private round?: Promise<void>;
  private closed = false;

  constructor(
    private readonly repo: Repository,
    store: StoragePort,
    readonly options: SubscriptionOptions,
    hooks: SubscriptionHooks,
    private readonly logger: Logger
  ) {
    this.records = new RecordStore(repo, store);
    // Never less than the store's settle horizon: within it, commits may become visible out of stamp order.
    this.settleMs = Math.max(options.settleMs, repo.settleMs);
    this.feed = new ChangeFeed(store, this.settleMs);
    this.cache = new SubscriptionCache(repo, this.records);
    this.matcher = new Matcher(store, this.records, hooks.visibleTo);
    this.delivery = new Delivery(store, this.records, hooks.visibleTo, hooks.audit, options);
  }

  start(): void {
    const next = () => {
      if (this.closed) return;
      this.timer = setTimeout(() => {
        this.round = this.runRound().finally(next);
      }, this.options.pollMs);
    };
    next();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.round;
  }

  /** Records the owner of a new subscription; changes after `since` are its events. */
  async register(subscriptionId: string, owner: Caller, since: string): Promise<void> {
    await this.records.saveState({ subscriptionId, owner, since, eventCount: 0, deliveredThrough: 0, failures: 0 });
  }

  /** A client rewrote its subscription: the new owner snapshot, and a fresh start at delivery. */
  async reregister(subscriptionId: string, owner: Caller, since: string): Promise<void> {
    const state = await this.records.readState(subscriptionId);
    if (!state) return this.register(subscriptionId, owner, since);
    await this.records.saveState({ ...state, owner, failures: 0, retryAt: undefined, lastError: undefined });
  }

  private async runRound(): Promise<void> {
    try {
      // No feed record, no lease, no reads of history until someone subscribes.
      const any = (await this.repo.find('Subscription', { status: ['requested,active,error'] }, 1)).length > 0;
      if (any && (await this.holdFeed())) await this.lead();
      await this.pushToSockets();
    } catch (err) {
      // Start again from what the store says: the versions of this round are read again, and their
      // events looked up before numbering (gained()), so a round cut short loses and repeats nothing.
      this.release();
      // A conflict: another process wrote first, and holds the feed now.
      if (!isConflict(err)) this.logger.error({ err }, 'subscription round failed');
    }
  }

  private release(): void {
    this.holding = false;
    this.feed.reset();
    this.cache.forget();
  }

  /** Takes or renews the feed's lease; true while this process holds it. */
  private async holdFeed(): Promise<boolean> {
    const now = Date.now();
    const leaseUntil = new Date(now + this.options.leaseSeconds * 1000).toISOString();
    const feed = await this.records.readFeed();
    if (!feed) {
      this.feedState = await this.records.saveFeed({ cursor: new Date(now).toISOString(), leaseOwner: this.processId, leaseUntil });
      this.gained(now);
      return true;
    }
    const mine = feed.leaseOwner === this.processId;
    if (!mine && feed.leaseUntil && Date.parse(feed.leaseUntil) > now) {
      if (this.holding) this.release();
      return false;
    }
    const continuing = mine && this.holding;
    this.feedState = feed;
    if (!continuing) this.gained(now);
    // Renewed once a third of it has passed, so a round starts with most of a lease to send in.
    if (!continuing || Date.parse(feed.leaseUntil ?? '') - now < (this.options.leaseSeconds * 1000 * 2) / 3) {
      this.feedState = await this.records.saveFeed({ ...feed, cursor: this.cursor, leaseOwner: this.processId, leaseUntil });
      this.cursorSavedAt = now;
    }
    return true;
  }

  /**
   * How long a send may take now: what is left of the lease, less time to
   * save the outcome. No other process can take the feed before the lease
   * ends, so a notification sent within it is sent by this process alone;
   * undefined when too little is left to send at all (the next round renews).
   */
  private sendBudgetMs(): number | undefined {
    const left = Date.parse(this.feedState?.leaseUntil ?? '') - Date.now() - SAVE_MARGIN_MS;
    if (!(left >= MIN_SEND_MS)) return undefined;
    return Math.min(left, REST_HOOK_TIMEOUT_MS);
  }

  private gained(now: number): void {
    this.feed.reset();
    this.cache.forget();
    this.holding = true;
    this.cursor = this.feedState?.cursor ?? new Date(now).toISOString();
    this.recheckUntil = new Date(now + this.settleMs).toISOString();
  }

  /** One round as the feed's holder: handshakes, matching, rest-hook delivery. */
  private async lead(): Promise<void> {
    const subscriptions = await this.cache.load();
    await Promise.all(subscriptions.filter((s) => s.subscription.status === 'requested').map((s) => this.activate(s)));
    const types = [...new Set(subscriptions.map((s) => s.criteria.resourceType))];
    if (types.length > 0) {
      const oldest = subscriptions.map((s) => s.state.since).reduce((a, b) => (a < b ? a : b));
      const from = this.cursor > oldest ? this.cursor : oldest;
      const { versions, cursor } = await this.feed.read(types, from);
      if (versions.length > 0) {
        const previous = new Map<string, Promise<StoredVersion | undefined>>();
        const previousOf = (v: StoredVersion) => {
          const key = `${v.resourceType}/${v.id}/${v.versionId}`;
          if (!previous.has(key)) previous.set(key, this.matcher.previousVersion(v));
          return previous.get(key) as Promise<StoredVersion | undefined>;
        };
        for (const live of subscriptions) this.cache.remember(live, await this.matcher.record(live, versions, this.recheckUntil, previousOf));
      }
      this.cursor = cursor;
      // Saved at most once a second; a holder
      // after this one rereads from the saved cursor and finds the events already recorded.
      const feedState = this.feedState;
      if (feedState && cursor !== feedState.cursor && Date.now() - this.cursorSavedAt >= CURSOR_SAVE_MS) {
        const leaseUntil = new Date(Date.now() + this.options.leaseSeconds * 1000).toISOString();
        this.feedState = await this.records.saveFeed({ ...feedState, cursor, leaseOwner: this.processId, leaseUntil });
        this.cursorSavedAt = Date.now();
      }
    }
    const now = Date.now();
    await Promise.all(
      subscriptions.filter((s) => s.subscription.status === 'active' && s.subscription.channel?.type === 'rest-hook').map((s) => this.deliver(s, now))
    );
  }

  /** Handshake of a requested rest-hook subscription; a websocket one is active at once. */
  private async activate(live: LiveSubscription): Promise<void> {
    const budget = this.sendBudgetMs();
    if (budget === undefined) return;
    const error = live.subscription.channel?.type === 'rest-hook' ? await this.delivery.handshake(live, budget) : undefined;
    await this.setStatus(live, error ? 'error' : 'active', error);
  }

  private async deliver(live: LiveSubscription, now: number): Promise<void> {
    // Several batches in a round when a backlog built up (a receiver back after downtime).
    for (let i = 0; i < 10; i++) {
      const budget = this.sendBudgetMs();
      if (budget === undefined) return;
      const result = await this.delivery.deliverNext(live, now, budget);
      if (!result) return;
      this.cache.remember(live, result.state);
      if (result.error) {
        await this.setStatus(live, 'error', result.error);
        return;
      }
      if (result.state.failures > 0) return;
    }
  }

  /** The server's own change of a Subscription's status; a client's write in between wins. */
  private async setStatus(live: LiveSubscription, status: Subscription['status'], error?: string): Promise<void> {
    const { subscription } = live;
    const { error: _old, ...rest } = subscription;
    void _old;
    const next = { ...rest, status, ...(error ? { error } : {}) } as Subscription;
    try {
      const { version } = await this.repo.update(next, { ifMatch: subscription.meta?.versionId, lockOnly: true });
      live.subscription = version.resource as Subscription;
      this.cache.remember(live, live.state);
    } catch (err) {
      if (!isConflict(err)) throw err;
    }
    if (status === 'error') this.logger.warn({ subscription: subscription.id, error }, 'subscription set to error');
  }

  /** Pushes new events to the websockets bound in this process. */
  private async pushToSockets(): Promise<void> {
    for (const [subscriptionId, bindings] of this.sockets.bySubscription()) {
      const state = await this.records.readState(subscriptionId);
      const current = await this.repo.readLatest('Subscription', subscriptionId);
      const subscription = current?.resource as Subscription | undefined;
      // Deleted or switched off since the socket bound: nothing more is pushed.
      if (!state || !subscription || current?.deleted || subscription.status !== 'active') continue;
      const criteria = criteriaOf(subscription);
      for (const binding of bindings) {
        while (binding.position < state.eventCount) {
          const last = Math.min(state.eventCount, binding.position + BATCH);
          const events = await this.records.events(subscriptionId, binding.position + 1, last);
          const payload = await this.delivery.withResources(state.owner, events, subscription);
          if (payload.length > 0) {
            binding.send(JSON.stringify(this.delivery.bundle(subscription, criteria, last, 'event-notification', payload)));
            await this.delivery.recordAttempt({ state, subscription }, 'event-notification', 200, undefined, `${binding.position + 1}-${last}`);
          }
          binding.position = last;
        }
      }
    }
  }

  /** Issues a websocket binding token for an active websocket subscription (valid for a few minutes). */
  async issueBindingToken(subscription: Subscription): Promise<{ token: string; expires: string }> {
    const token = randomUUID();
    const expires = new Date(Date.now() + BINDING_TOKEN_SECONDS * 1000).toISOString();
    await this.records.saveToken(token, { subscriptionId: subscription.id as string, expires });
    return { token, expires };
  }

  /**
   * Binds a socket to the subscription its token names; answers the handshake
   * to send, or throws with the reason it cannot bind.
   */
  async bind(token: string, send: (text: string) => void): Promise<{ handshake: string; unbind: () => void }> {
    const binding = await this.records.readToken(token);
    if (!binding || Date.parse(binding.expires) < Date.now()) throw new Error('The binding token is unknown or has expired; ask $get-ws-binding-token again');
    const current = await this.repo.readLatest('Subscription', binding.subscriptionId);
    const subscription = current?.resource as Subscription | undefined;
    if (!subscription || current?.deleted || subscription.channel?.type !== 'websocket' || subscription.status !== 'active') {
      throw new Error(`Subscription/${binding.subscriptionId} is not an active websocket subscription`);
    }
    const state = await this.records.readState(binding.subscriptionId);
    if (!state) throw new Error(`Subscription/${binding.subscriptionId} has no owner recorded`);
    const unbind = this.sockets.add({ subscriptionId: binding.subscriptionId, position: state.eventCount, send });
    const handshake = this.delivery.bundle(subscription, criteriaOf(subscription), state.eventCount, 'handshake', []);
    return { handshake: JSON.stringify(handshake), unbind };
  }

  /** The subscription's state and criteria, for $status and $events. */
  async describe(subscription: Subscription): Promise<{ state?: Stored<SubscriptionState>; criteria: Criteria }> {
    return { state: await this.records.readState(subscription.id as string), criteria: criteriaOf(subscription) };
  }
}
