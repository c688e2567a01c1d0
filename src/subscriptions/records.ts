// What the server keeps about subscriptions besides the Subscription itself,
// in the store, so every server process sharing the store sees the same state
// and a restart loses nothing:
//   job record subscription-feed/feed   the change feed's cursor and the lease of the process matching it
//                                       (unversioned, as the store's jobs are: renewing it adds no history)
//   Basic/subscription-state-<sub id>   the owner, the event count and the delivery position and retry state
//   Basic/subscription-event-<hash>     one event: its number and the resource version it is about;
//                                       the id is derived from (subscription, version), so creating it
//                                       is the claim that makes each event happen once across processes
//   Basic/subscription-ws-token-<uuid>  a websocket binding token
import type { Basic } from '@medplum/fhirtypes';
import { createHash } from 'node:crypto';
import type { Caller } from '../auth/caller';
import { PROJECT_BASE } from '../base/project';

const CODE_SYSTEM = `${PROJECT_BASE}/CodeSystem/sp-local-concepts`;
const DATA_URL = `${PROJECT_BASE}/StructureDefinition/subscription-record`;
/** Identifies an event by "<subscription id>#<event number>", so $events finds a range by equality. */
export const EVENT_NUMBER_SYSTEM = `${PROJECT_BASE}/Id/subscription-event`;
/** The Subscription's owner, as a tag: access.ts keeps each client to its own subscriptions by it. */
export const OWNER_TAG_SYSTEM = `${PROJECT_BASE}/CodeSystem/subscription-owner`;

/** The feed's job record (port.ts JobRecord). */
export const FEED_KIND = 'subscription-feed';
export const FEED_RECORD = 'feed';
/** Where earlier releases kept the feed: a Basic resource, read once for its cursor. */
export const FEED_ID = 'subscription-feed';
export const stateIdOf = (subscriptionId: string): string => `subscription-state-${subscriptionId}`;
export const tokenIdOf = (token: string): string => `subscription-ws-token-${token}`;
export function eventIdOf(subscriptionId: string, versionKey: string): string {
  return `subscription-event-${createHash('sha256').update(`${subscriptionId}|${versionKey}`).digest('hex').slice(0, 40)}`;
}

/** The owner tag's code: a digest of the token's issuer and subject, so the tag names no one. */
export function ownerCode(caller: Pick<Caller, 'issuer' | 'subject'>): string {
  return createHash('sha256').update(`${caller.issuer}|${caller.subject}`).digest('hex').slice(0, 32);
}

export interface FeedState {
  /** The newest lastUpdated the feed has read. */
  cursor: string;
  leaseOwner?: string;
  leaseUntil?: string;
}

export interface SubscriptionState {
  subscriptionId: string;
  /** Who made the subscription: delivery reads as them (access rules applied at delivery time). */
  owner: Caller;
  /** Only changes committed after this instant are events of the subscription. */
  since: string;
  /** Events so far: the number of the newest event. */
  eventCount: number;
  /** Events 1..deliveredThrough reached the endpoint (rest-hook). */
  deliveredThrough: number;
  /** Failed attempts at delivering the next event, and when to try again. */
  failures: number;
  retryAt?: string;
  lastError?: string;
}

export interface SubscriptionEvent {
  subscriptionId: string;
  number: number;
  /** "Type/id" of the resource, and the version that made the event. */
  focus: string;
  focusVersion: string;
  /** The version's lastUpdated. */
  timestamp: string;
}

export interface BindingToken {
  subscriptionId: string;
  expires: string;
}

export type Stored<T> = T & { versionId?: string };

/** A record as a Basic: its data is the server's own working memory, kept as JSON text and never searched. */
export function toBasic(id: string, code: string, data: object, versionId?: string, identifier?: string): Basic {
  const { versionId: _drop, ...rest } = data as Record<string, unknown>;
  void _drop;
  return {
    resourceType: 'Basic',
    id,
    ...(versionId ? { meta: { versionId } } : {}),
    ...(identifier ? { identifier: [{ system: EVENT_NUMBER_SYSTEM, value: identifier }] } : {}),
    code: { coding: [{ system: CODE_SYSTEM, code }], text: code.replace(/-/g, ' ') },
    extension: [{ url: DATA_URL, valueString: JSON.stringify(rest) }],
  };
}

export function fromBasic<T>(basic: Basic | undefined): Stored<T> | undefined {
  const text = basic?.extension?.find((e) => e.url === DATA_URL)?.valueString;
  if (!basic || text === undefined) return undefined;
  return { ...(JSON.parse(text) as T), versionId: basic.meta?.versionId };
}

export const CODES = { state: 'subscription-state', event: 'subscription-event', token: 'subscription-ws-token' } as const;
