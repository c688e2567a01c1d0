// Reads and writes the subscription records (records.ts) through the
// Repository, with optimistic locking on every update: two server processes
// can never both advance the same record from the same version. The change
// feed's cursor and lease are a job record of the store instead (unversioned,
// compare-and-set on its revision), so renewing the lease adds no history.
import type { Basic } from '@medplum/fhirtypes';
import { conflict, OperationOutcomeError } from '../base/outcomes';
import type { StoragePort } from '../store/port';
import type { Repository } from '../store/repository';
import type { Caller } from '../auth/caller';
import { parseScopes, type Permission } from '../auth/scopes';
import {
  CODES,
  EVENT_NUMBER_SYSTEM,
  eventIdOf,
  FEED_ID,
  fromBasic,
  stateIdOf,
  toBasic,
  FEED_KIND,
  FEED_RECORD,
  tokenIdOf,
  type BindingToken,
  type FeedState,
  type Stored,
  type SubscriptionEvent,
  type SubscriptionState,
} from './records';

/** A lost race on a record: another process wrote it first. */
export function isConflict(err: unknown): boolean {
  if (!(err instanceof OperationOutcomeError)) return false;
  const id = err.outcome.id;
  return id === 'conflict' || id === 'precondition-failed';
}

/** The owner as stored: the token's scopes as the text they came as (their permission sets do not survive JSON). */
type StoredOwner = Omit<Caller, 'scopes'> & { scopes: string };

function ownerToJson(caller: Caller): StoredOwner {
  const order: Permission[] = ['c', 'r', 'u', 'd', 's'];
  const scopes = caller.scopes.map((s) => `${s.context}/${s.resourceType}.${order.filter((p) => s.permissions.has(p)).join('')}`).join(' ');
  return { ...caller, scopes };
}

function ownerFromJson(owner: StoredOwner): Caller {
  return { ...owner, scopes: parseScopes(owner.scopes) };
}

export class RecordStore {
  constructor(
    private readonly repo: Repository,
    private readonly store: StoragePort
  ) {}

  private async read<T>(id: string): Promise<Stored<T> | undefined> {
    const latest = await this.repo.readLatest('Basic', id);
    if (!latest || latest.deleted) return undefined;
    return fromBasic<T>(latest.resource as Basic);
  }

  /**
   * Writes a record: an update of exactly the version read (versionId), or
   * a creation when there was none. Throws a conflict when another process
   * wrote it in between.
   */
  private async save<T extends object>(id: string, code: string, data: Stored<T>, identifier?: string): Promise<Stored<T>> {
    const basic = toBasic(id, code, data, data.versionId, identifier);
    const { version } = data.versionId ? await this.repo.update(basic, { ifMatch: data.versionId, lockOnly: true }) : await this.createOnly(basic);
    return { ...data, versionId: version.versionId };
  }

  /** Creates the record only if no version of it exists: the store's unique version key decides a race. */
  private async createOnly(basic: Basic) {
    const existing = await this.repo.readLatest('Basic', basic.id as string);
    if (existing) throw conflict(`Basic/${basic.id} exists already`);
    return this.repo.update(basic);
  }

  /** The feed's record; its versionId is the record's revision, the compare-and-set of the next save. */
  async readFeed(): Promise<Stored<FeedState> | undefined> {
    const record = await this.store.readJob(FEED_KIND, FEED_RECORD);
    if (record) return { ...(JSON.parse(record.data) as FeedState), versionId: String(record.revision) };
    // Earlier releases kept the feed as a Basic resource: its cursor carries on, its lease does not.
    const legacy = await this.read<FeedState>(FEED_ID);
    return legacy && { cursor: legacy.cursor };
  }

  /** Saves the feed on the revision read; a conflict when another process saved it first. */
  async saveFeed(feed: Stored<FeedState>): Promise<Stored<FeedState>> {
    const { versionId, ...data } = feed;
    const expected = versionId ? Number(versionId) : 0;
    if (!(await this.store.writeJob(FEED_KIND, FEED_RECORD, JSON.stringify(data), expected))) {
      throw conflict('The change feed was saved by another process first');
    }
    return { ...data, versionId: String(expected + 1) };
  }

  async readState(subscriptionId: string): Promise<Stored<SubscriptionState> | undefined> {
    const stored = await this.read<SubscriptionState & { owner: StoredOwner }>(stateIdOf(subscriptionId));
    return stored && { ...stored, owner: ownerFromJson(stored.owner) };
  }

  async saveState(state: Stored<SubscriptionState>): Promise<Stored<SubscriptionState>> {
    const saved = await this.save(stateIdOf(state.subscriptionId), CODES.state, { ...state, owner: ownerToJson(state.owner) });
    return { ...state, versionId: saved.versionId };
  }

  async deleteState(subscriptionId: string): Promise<void> {
    if (await this.repo.readLatest('Basic', stateIdOf(subscriptionId))) await this.repo.delete('Basic', stateIdOf(subscriptionId));
  }

  /** Whether the event of this subscription about this version was already recorded (by any process). */
  async hasEvent(subscriptionId: string, versionKey: string): Promise<boolean> {
    return (await this.repo.readLatest('Basic', eventIdOf(subscriptionId, versionKey))) !== undefined;
  }

  /** Records an event; false when it already exists (another process claimed it). */
  async claimEvent(event: SubscriptionEvent, versionKey: string): Promise<boolean> {
    try {
      await this.save(eventIdOf(event.subscriptionId, versionKey), CODES.event, event, `${event.subscriptionId}#${event.number}`);
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  /** Events from..to (inclusive) of a subscription, in order; at most 100 at a time. */
  async events(subscriptionId: string, from: number, to: number): Promise<SubscriptionEvent[]> {
    if (to < from) return [];
    const last = Math.min(to, from + 99);
    const keys = Array.from({ length: last - from + 1 }, (_, i) => `${EVENT_NUMBER_SYSTEM}|${subscriptionId}#${from + i}`);
    const found = await this.repo.find('Basic', { identifier: [keys.join(',')] }, keys.length);
    return found
      .map((v) => fromBasic<SubscriptionEvent>(v.resource as Basic))
      .filter((e): e is Stored<SubscriptionEvent> => e !== undefined)
      .sort((a, b) => a.number - b.number);
  }

  async saveToken(token: string, binding: BindingToken): Promise<void> {
    await this.save(tokenIdOf(token), CODES.token, binding);
  }

  readToken(token: string): Promise<Stored<BindingToken> | undefined> {
    return /^[A-Za-z0-9-]{1,40}$/.test(token) ? this.read<BindingToken>(tokenIdOf(token)) : Promise.resolve(undefined);
  }
}
