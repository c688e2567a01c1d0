// The Repository: FHIR versioning, history, validation and search execution
// over a StoragePort. Every write passes validation here, so no interaction
// (plain, conditional, patch, or inside a Bundle) can store an invalid resource.
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { ReferenceResolver } from '../base/references';
import { newResourceId } from '../base/ids';
import {
  badRequest,
  conflict,
  gone,
  notFound,
  notSupported,
  OperationOutcomeError,
  preconditionFailed,
  serviceUnavailable,
  unprocessable,
} from '../base/outcomes';
import { parseSearchParams, type QueryParams, type SearchClause, type SearchRequest } from '../base/search-request';
import { indexWithReferences, refreshDependents } from './resolved-index';
import type { AccessIndexer, AccessPlan } from './access-index';
import { TransactionsUnsupportedError, VersionConflictError, type SortKey, type StoragePort, type StoredVersion, type VersionWrite } from './port';
import { compileSearch, type NearPoint, type TokenTerminology } from './search/compile';
import { byDistance } from './search/near';
import { and, NONE, type Filter } from './search/filter';
import { afterFilter, decodeCursor, encodeCursor, keyValues, reversed } from './search/cursor';
import { fetchIncludes } from './search/include';
import { DEFAULT_SEARCH_LIMITS, type SearchLimits } from './search/limits';
import { KeyedLocks } from './keyed-lock';
import { claimTarget, claimWrite, conditionalKeyId, CONDITIONAL_KEY_TYPE, ConditionalKeyTaken, isPendingClaim, type KeyTicket } from './conditional-keys';
import { CommitDeadlineError, StampClock, stampCommit } from './commit-stamp';
import { commitDeadlineMs, DEFAULT_SETTLE_MS, isPoll, settledBy, settledUntil } from './settle';

/** One value per store, shared by every Repository over it. */
function perStore<T>(make: () => T): (store: StoragePort) => T {
  const byStore = new WeakMap<StoragePort, T>();
  return (store) => {
    let value = byStore.get(store);
    if (!value) {
      value = make();
      byStore.set(store, value);
    }
    return value;
  };
}

/** The conditional-write locks of a store. */
const locksOf = perStore(() => new KeyedLocks());
/** The commit locks of a store, one key per resource written (commit()). */
const commitLocksOf = perStore(() => new KeyedLocks('Too many requests are writing this resource at once; try again'));
/** The lastUpdated clock of a store (commit-stamp.ts). */
const clockOf = perStore(() => new StampClock());

/**
 * A write lost an optimistic-lock race: the resource was not at the version
 * the write replaces (409, or 412 for the client's own If-Match). A
 * conditional write that found that version by search searches again.
 */
export class LostRace extends OperationOutcomeError {
  static of(text: string, clientIfMatch: boolean): LostRace {
    return new LostRace((clientIfMatch ? preconditionFailed(text) : conflict(text)).outcome);
  }
}

/** Attempts of a commit that missed its deadline, each stamped again, before it is answered 503. */
const DEADLINE_ATTEMPTS = 3;

export interface SearchResult {
  matches: StoredVersion[];
  /** Page links: the parameters of the pages after and before this one (a cursor, or an offset). */
  next?: Record<string, string>;
  previous?: Record<string, string>;
  total?: number;
  included: StoredVersion[];
  /** Parameters ignored under lenient handling. */
  ignored: string[];
  /** Human-readable warnings, e.g. that includes were capped. */
  warnings: string[];
}

export interface HistoryRequest {
  resourceType?: string;
  id?: string;
  since?: string;
  count: number;
  offset: number;
}

export interface WriteOptions {
  /** The versionId the client says it is updating (If-Match): a mismatch is 412. */
  ifMatch?: string;
  /** ifMatch is the server's own optimistic lock, not the client's: a mismatch is 409. */
  lockOnly?: boolean;
}

export interface CreateOptions {
  /**
   * A record the server makes from resources this commit has already
   * validated, such as the reply it keeps for a message: it is not validated
   * again. The reply to a referral message holds the message's resources;
   * validating it as a Bundle went through all of them a second time, a third
   * of the message's CPU.
   */
  validated?: boolean;
}

/** How write() makes a version. */
interface VersionOptions {
  /** Only chooses the status of a lost race: 412 with it, 409 without. */
  ifMatch?: string;
  deleted?: boolean;
  /** The id is the server's own, new: nothing can have been stored under it. */
  freshId?: boolean;
  validated?: boolean;
}

/** Validates a resource about to be written: every issue found, errors and warnings. */
export type WriteValidator = (resource: Resource, resolveReference: ReferenceResolver) => Promise<OperationOutcomeIssue[]>;

/** A write made in a unit, with the resource it replaced: what the rules react to. */
export interface Change {
  version: StoredVersion;
  previous: Resource | undefined;
  /**
   * The server made the resource's id for this write: nothing stored can
   * refer to it yet (a reference must resolve when it is written, and no one
   * could have guessed the id).
   */
  freshId?: boolean;
}

/**
 * Domain rules in the write path (domain/referral-workflow.ts): they check and
 * complete each new version, and make the follow-up writes that must commit
 * with it (a referral's Task, a referral following its Task).
 */
export interface WriteRules {
  /** Checks a new version against the previous one and sets fields the server keeps; throws to refuse. */
  prepare(resource: Resource, previous: Resource | undefined, now: string): Resource;
  /** Whether this write brings follow-up writes, so that it must commit in a unit with them. */
  hasFollowUps(resource: Resource, previous: Resource | undefined): boolean;
  /** Makes the follow-up writes of these changes through repo (bound to the unit). */
  followUp(repo: Repository, changes: Change[]): Promise<void>;
}

/** The AuditEvent to commit with a request's first write, and a callback once it is stored (app.ts wires audit/request-audit.ts). */
export type AuditWrite = (writes: VersionWrite[]) => { write: VersionWrite; done: () => void } | undefined;

export interface RepositoryOptions {
  baseUrl: string;
  /** The request's AuditEvent, committed in the same unit as its first write where the store has transactions. */
  auditWrite?: AuditWrite;
  validate: WriteValidator;
  rules?: WriteRules;
  /** For token searches with :in, :not-in, :above and :below. */
  tokenTerminology?: TokenTerminology;
  /**
   * Told of every committed version, e.g. to drop caches of terminology that
   * changed; awaited before the write is answered, so what it starts (a
   * SearchParameter's reindex job) is readable once the client has its 201.
   */
  onCommit?: (versions: StoredVersion[]) => void | Promise<void>;
  /**
   * Where commits can become visible out of stamp order (several processes
   * on one MongoDB): how long after its lastUpdated a version is certain to
   * be visible (settle.ts). Polling answers only versions at least this old.
   */
  settleMs?: number;
  /**
   * Told when resources that read values from a committed version (resolve()
   * parameters) could not be reindexed. The write itself stands; a reindex of
   * the parameter repairs them.
   */
  onIndexError?: (err: unknown) => void;
  /** Bounds of chains, includes and near searches (DEFAULT_SEARCH_LIMITS when absent). */
  searchLimits?: SearchLimits;
  /** Decides who may see what each commit writes, and what else it gives access to (access-index.ts). */
  access?: AccessIndexer;
}

export interface WriteResult {
  version: StoredVersion;
  /** True when the write made the resource exist (create, update-as-create, undelete). */
  created: boolean;
  /** Validation warnings and information, for the response's OperationOutcome. */
  issues: OperationOutcomeIssue[];
}

/** Writes made inside a transaction, committed together at the end. */
class UnitOfWork {
  readonly writes: VersionWrite[] = [];
  readonly latest = new Map<string, StoredVersion>();
  readonly changes: Change[] = [];
  /** "Type/id" of every resource the transaction will write, which references may point at. */
  readonly plannedReferences: Set<string>;
  /** Conditional-write keys this unit holds until it commits or fails (Repository.exclusive). */
  readonly heldKeys = new Set<string>();
  readonly releases: Array<() => void> = [];
  /** The earliest lastUpdated each buffered version may get at commit: after the version it replaces. */
  readonly floors = new Map<StoredVersion, string>();
  constructor(planned: ReadonlySet<string>) {
    this.plannedReferences = new Set(planned);
  }
}

export class Repository {
  constructor(
    readonly store: StoragePort,
    private readonly options: RepositoryOptions,
    private readonly unit?: UnitOfWork
  ) {}

  /** Whether this repository buffers its writes in a unit of work (a transaction, a rehearsal). */
  get inUnit(): boolean {
    return this.unit !== undefined;
  }

  private get limits(): SearchLimits {
    return this.options.searchLimits ?? DEFAULT_SEARCH_LIMITS;
  }

  get baseUrl(): string {
    return this.options.baseUrl;
  }

  /**
   * How long after its lastUpdated a version is certain to be visible: none
   * where commits are visible in stamp order (the embedded store), else the
   * configured horizon (settle.ts).
   */
  get settleMs(): number {
    return this.store.commitsInCallOrder ? 0 : (this.options.settleMs ?? DEFAULT_SETTLE_MS);
  }

  /**
   * Runs fn against a repository whose writes are buffered, then commits them
   * all at once: all or nothing. Reads inside see the buffered writes.
   */
  async transaction<T>(fn: (repo: Repository) => Promise<T>, plannedReferences: ReadonlySet<string> = new Set(), ifMatch?: string): Promise<T> {
    // Already in a unit (a write inside a transaction Bundle, a message): join it.
    if (this.unit) {
      plannedReferences.forEach((r) => this.unit?.plannedReferences.add(r));
      return fn(this);
    }
    if (!this.store.supportsTransactions) {
      throw new OperationOutcomeError({
        resourceType: 'OperationOutcome',
        id: 'not-implemented',
        issue: [
          {
            severity: 'error',
            code: 'not-supported',
            diagnostics:
              'This request writes several resources that must be stored together (a transaction Bundle, or a ' +
              'referral with its Task), and this MongoDB deployment has no multi-document transactions ' +
              '(run MongoDB as a replica set); applying part of it is never acceptable.',
          },
        ],
      });
    }
    const unit = new UnitOfWork(plannedReferences);
    const unitRepo = new Repository(this.store, this.options, unit);
    try {
      const result = await fn(unitRepo);
      await unitRepo.runFollowUps();
      if (unit.writes.length > 0) await this.commit(unit.writes, ifMatch, unit.floors);
      return result;
    } finally {
      unit.releases.forEach((release) => release());
    }
  }

  /**
   * Runs fn against a repository whose writes are buffered and then dropped:
   * validation, rules and reads of the buffered writes all happen as in
   * transaction(), and nothing is stored (dry runs). Needs no store transactions.
   */
  async rehearse<T>(fn: (repo: Repository) => Promise<T>): Promise<T> {
    if (this.unit) throw new Error('A rehearsal cannot run inside a unit of work');
    const unit = new UnitOfWork(new Set());
    const unitRepo = new Repository(this.store, this.options, unit);
    try {
      const result = await fn(unitRepo);
      await unitRepo.runFollowUps();
      return result;
    } finally {
      unit.releases.forEach((release) => release());
    }
  }

  /**
   * Runs fn holding the keys (e.g. "Patient?identifier=x|y" of a conditional
   * create) against every other request in this process, so a search for a
   * match and the create it decides on are not interleaved with a twin's.
   * Inside a unit of work the keys stay held until the unit commits or fails.
   * One process only: several server processes over one MongoDB are not covered.
   */
  async exclusive<T>(keys: string[], fn: () => Promise<T>): Promise<T> {
    if (keys.length === 0) return fn();
    const locks = locksOf(this.store);
    const { unit } = this;
    const taken = await locks.acquire(keys, unit?.heldKeys);
    if (unit) {
      taken.keys.forEach((k) => unit.heldKeys.add(k));
      unit.releases.push(taken.release);
      return locks.runHolding(unit.heldKeys, fn);
    }
    try {
      return await locks.runHolding(taken.keys, fn);
    } finally {
      taken.release();
    }
  }

  /** Lets the rules react to the unit's changes, and to the changes they make, until none are left. */
  private async runFollowUps(): Promise<void> {
    const { unit } = this;
    const rules = this.options.rules;
    if (!unit || !rules) return;
    let handled = 0;
    for (let round = 0; handled < unit.changes.length; round++) {
      if (round >= 5) throw new Error('Follow-up writes did not settle');
      const batch = unit.changes.slice(handled);
      handled = unit.changes.length;
      await rules.followUp(this, batch);
    }
  }

  /**
   * Stamps the versions' lastUpdated and hands them to the store at once
   * (commit-stamp.ts): nothing may run in between, so that where the store
   * commits in call order, stamp order is commit order. A commit that missed
   * its deadline is stamped again and retried.
   *
   * Where a commit must instead be visible by a deadline after its stamp
   * (MongoDB), it first takes its turn behind the other commits of the same
   * resources in this process, and is stamped only then: time spent waiting
   * in this process, before anything is sent, cannot let the version become
   * visible out of stamp order, so it must not count against the deadline
   * (50 clients updating one resource would otherwise queue past it and be
   * refused 503). Holding the turn also keeps two writes of one resource in
   * this process from racing: FerretDB was seen to let two concurrent inserts
   * of one history _id both succeed under such contention (mongo/store.ts).
   * Where commits are visible in call order (the embedded store) there is no
   * deadline, and the store's one queue already orders them; a turn there
   * would only keep the writer from grouping commits of one resource.
   */
  private async commit(writes: VersionWrite[], ifMatch: string | undefined, floors: ReadonlyMap<StoredVersion, string>): Promise<void> {
    // The request's AuditEvent commits with its first write where the store can do both at once.
    const audit = this.store.supportsTransactions ? this.options.auditWrite?.(writes) : undefined;
    const settleMs = this.settleMs;
    let access: AccessPlan | undefined;
    try {
      // Grants are planned from the store as it is now, and committed with the writes that cause them.
      access = await this.options.access?.plan(writes.map((w) => w.version));
      const turn = this.store.commitsInCallOrder ? undefined : await commitLocksOf(this.store).acquire(writes.map((w) => resourceKey(w.version)));
      try {
        for (let attempt = 1; ; attempt++) {
          stampCommit(clockOf(this.store), writes, floors);
          try {
            await this.store.commit(audit ? [...writes, audit.write] : writes, {
              visibleWithinMs: settleMs > 0 ? commitDeadlineMs(settleMs) : undefined,
              access: access?.changes,
            });
            break;
          } catch (err) {
            if (!(err instanceof CommitDeadlineError)) throw err;
            if (attempt >= DEADLINE_ATTEMPTS) throw serviceUnavailable('The store did not complete the write in time; nothing was written, send it again');
          }
        }
      } finally {
        turn?.release();
      }
      audit?.done();
    } catch (err) {
      // A twin's conditional create holds the key: the caller searches again.
      if (err instanceof VersionConflictError && err.resourceType === CONDITIONAL_KEY_TYPE) throw new ConditionalKeyTaken();
      if (err instanceof VersionConflictError) {
        const text = `${err.resourceType}/${err.id} was changed by another request; read it again and retry`;
        throw LostRace.of(text, ifMatch !== undefined);
      }
      if (err instanceof TransactionsUnsupportedError) throw notSupported(err.message);
      throw err;
    }
    const versions = writes.map((w) => w.version);
    await this.options.onCommit?.(versions);
    await refreshDependents(this.store, this.options.baseUrl, versions).catch((err) => this.options.onIndexError?.(err));
    await access?.afterCommit?.().catch((err: unknown) => this.options.onIndexError?.(err));
  }

  /**
   * Reads a conditional write's key before the search it guards
   * (conditional-keys.ts); throws ConditionalKeyTaken while a twin is still
   * writing the resource it claimed the key for. Keys matter only where
   * several processes share a store: the embedded store has one process per
   * data directory, whose in-process lock (exclusive) already decides, and
   * gets no ticket.
   */
  async readConditionalKey(key: string): Promise<KeyTicket | undefined> {
    if (this.store.kind === 'embedded') return undefined;
    const previous = await this.readLatest(CONDITIONAL_KEY_TYPE, conditionalKeyId(key));
    const target = previous && claimTarget(previous);
    if (previous && target) {
      const [type, id] = target.split('/');
      if (isPendingClaim(previous, (await this.readLatest(type, id)) !== undefined)) throw new ConditionalKeyTaken();
    }
    return { key, previous };
  }

  /**
   * Claims the key a ticket read for target ("Type/id") in this unit of
   * work, or at once where there is no unit. Throws ConditionalKeyTaken when
   * a twin claimed it since the ticket was read.
   */
  async claimConditionalKey(ticket: KeyTicket | undefined, target: string): Promise<void> {
    if (!ticket) return;
    const write = claimWrite(ticket, target);
    if (this.unit) {
      this.unit.writes.push(write);
      this.unit.latest.set(`${CONDITIONAL_KEY_TYPE}/${write.version.id}`, write.version);
      return;
    }
    try {
      await this.store.commit([write]);
    } catch (err) {
      if (err instanceof VersionConflictError) throw new ConditionalKeyTaken();
      throw err;
    }
  }

  /** The newest version, deleted or not, as this repository sees it. */
  async readLatest(resourceType: string, id: string): Promise<StoredVersion | undefined> {
    return this.unit?.latest.get(`${resourceType}/${id}`) ?? (await this.store.readCurrent(resourceType, id));
  }

  async read(resourceType: string, id: string): Promise<StoredVersion> {
    const latest = await this.readLatest(resourceType, id);
    if (!latest) throw notFound(`${resourceType}/${id} is not known`);
    if (latest.deleted) throw gone(`${resourceType}/${id} was deleted`);
    return latest;
  }

  async vread(resourceType: string, id: string, versionId: string): Promise<StoredVersion> {
    const version = await this.store.readVersion(resourceType, id, versionId);
    if (!version) throw notFound(`${resourceType}/${id}/_history/${versionId} is not known`);
    if (version.deleted) throw gone(`${resourceType}/${id} was deleted in version ${versionId}`);
    return version;
  }

  async create(resource: Resource, assignedId?: string, options: CreateOptions = {}): Promise<WriteResult> {
    const id = assignedId ?? newResourceId();
    return this.write({ ...resource, id } as Resource, undefined, { freshId: assignedId === undefined, validated: options.validated });
  }

  /** Update, or create with the client's id when it does not exist (update-as-create). */
  async update(resource: Resource, options: WriteOptions = {}): Promise<WriteResult> {
    const previous = await this.readLatest(resource.resourceType, resource.id as string);
    if (options.ifMatch !== undefined && previous?.versionId !== options.ifMatch) {
      const text =
        `Expected version ${options.ifMatch} of ${resource.resourceType}/${resource.id}, ` +
        `but the current version is ${previous ? previous.versionId : 'none'}`;
      throw LostRace.of(text, !options.lockOnly);
    }
    return this.write(resource, previous, { ifMatch: options.lockOnly ? undefined : options.ifMatch });
  }

  /** Soft delete: a new version marked deleted; history keeps every version. */
  async delete(resourceType: string, id: string, options: WriteOptions = {}): Promise<StoredVersion | undefined> {
    const previous = await this.readLatest(resourceType, id);
    if (!previous) throw notFound(`${resourceType}/${id} is not known`);
    if (options.ifMatch !== undefined && previous.versionId !== options.ifMatch) {
      const text = `If-Match expects version ${options.ifMatch}, but the current version is ${previous.versionId}`;
      throw LostRace.of(text, !options.lockOnly);
    }
    if (previous.deleted) return undefined;
    return (await this.write({ resourceType, id } as Resource, previous, { ifMatch: options.lockOnly ? undefined : options.ifMatch, deleted: true })).version;
  }

  /** Whether Type/id exists for a reference: stored and not deleted, or written by this transaction. */
  readonly referenceExists: ReferenceResolver = async (resourceType, id) => {
    if (this.unit?.plannedReferences.has(`${resourceType}/${id}`)) return true;
    const latest = await this.readLatest(resourceType, id);
    return !!latest && !latest.deleted;
  };

  private async write(resource: Resource, previous: StoredVersion | undefined, how: VersionOptions = {}): Promise<WriteResult> {
    const { ifMatch, deleted = false, freshId = false } = how;
    const rules = this.options.rules;
    const before = previous?.deleted ? undefined : previous?.resource;
    if (!deleted && !this.unit && rules?.hasFollowUps(resource, before)) {
      // The write and its follow-ups commit together, or not at all.
      return this.transaction((repo) => repo.write(resource, previous, how), new Set(), ifMatch);
    }
    const versionId = previous ? String(Number(previous.versionId) + 1) : '1';
    // Provisional, for the rules and validation; commit() stamps the final instant (commit-stamp.ts).
    const lastUpdated = nextInstant(previous?.lastUpdated);
    if (!deleted && rules) resource = rules.prepare(resource, before, lastUpdated);
    const { resourceType, id, meta, ...rest } = resource;
    const stored = { resourceType, id, meta: { ...meta, versionId, lastUpdated }, ...rest } as Resource;
    const issues = deleted || how.validated ? [] : await this.options.validate(stored, this.referenceExists);
    if (issues.some((i) => i.severity === 'error' || i.severity === 'fatal')) throw unprocessable(issues);
    const index = deleted ? { idx: {}, sort: {} } : await indexWithReferences(stored, this.options.baseUrl, (type, ref) => this.readLatest(type, ref));
    const version: StoredVersion = {
      resourceType: resource.resourceType,
      id: resource.id as string,
      versionId,
      lastUpdated,
      deleted,
      ...(deleted ? {} : { resource: stored }),
      ...index,
    };
    const write: VersionWrite = { version, expectedVersionId: previous?.versionId };
    // The final stamp is taken at commit, after the version this one replaces.
    if (this.unit) {
      this.unit.writes.push(write);
      this.unit.floors.set(version, lastUpdated);
      this.unit.latest.set(resourceKey(version), version);
      this.unit.changes.push({ version, previous: before, ...(freshId ? { freshId } : {}) });
    } else {
      await this.commit([write], ifMatch, new Map([[version, lastUpdated]]));
    }
    return { version, created: !previous || previous.deleted, issues };
  }

  /** restriction: a filter every match must also pass (the caller's access), kept out of the request and its page links. */
  async search(request: SearchRequest, lenient = false, restriction?: Filter): Promise<SearchResult> {
    // Distances of the resources a chained near clause selected (HealthcareService?location.near=...).
    const chainedNear = new Map<string, number>();
    const compiled = await compileSearch(request, this.compileContext(lenient, chainedNear));
    if (restriction) compiled.filter = and([compiled.filter, restriction]);
    // A poll is answered only with what has settled (settle.ts); the count agrees with the page.
    if (this.settleMs > 0 && isPoll(request) && compiled.filter !== NONE) compiled.filter = and([compiled.filter, settledBy(settledUntil(this.settleMs))]);
    const query = { resourceType: request.resourceType, filter: compiled.filter, sort: compiled.sort };
    const result: SearchResult = { matches: [], included: [], ignored: compiled.ignored, warnings: [] };
    if (request.summary === 'count') {
      if (compiled.near) await this.nearPage({ ...request, count: 0 }, query, compiled.near, result);
      else result.total = await this.count(request.resourceType, compiled.filter);
      return result;
    }
    const nearChain = compiled.near ? undefined : nearChainField(request, chainedNear);
    // Where the store counts apart (countsApart), the total is counted beside the page, not after it. A short first page
    // is its own total, and the count is then not waited for.
    const besidePage = request.total !== 'none' && !compiled.near && !nearChain && this.store.countsApart?.(request.resourceType, compiled.filter);
    const counting = besidePage ? settled(this.count(request.resourceType, compiled.filter)) : undefined;
    if (compiled.near) {
      await this.nearPage(request, query, compiled.near, result);
    } else if (nearChain) {
      await this.nearChainPage(request, query, nearChain, chainedNear, result);
    } else {
      await this.page(request, query, result);
    }
    if (request.total !== 'none' && result.total === undefined) {
      const complete = request.offset === 0 && !request.cursor && result.matches.length < request.count;
      if (complete) result.total = result.matches.length;
      else result.total = counting ? (await counting)() : await this.count(request.resourceType, compiled.filter);
    }
    const { included, warnings } = await fetchIncludes(this.store, request, result.matches, this.limits);
    result.included = included;
    result.warnings.push(...warnings);
    return result;
  }

  /** A near search: candidates in the bounding box, kept within the distance, nearest first, paged by offset. */
  private async nearPage(
    request: SearchRequest,
    query: { resourceType: string; filter: Filter; sort: SortKey[] },
    near: NearPoint,
    result: SearchResult
  ): Promise<void> {
    if (request.cursor) throw badRequest('A near search pages with _offset, not _cursor', ['_cursor']);
    const candidates = await this.store.search({ ...query, offset: 0, limit: this.limits.near + 1 });
    if (candidates.length > this.limits.near) throw tooManyNear(this.limits.near);
    const ranked = byDistance(candidates, near);
    result.total = ranked.length;
    result.matches = ranked.slice(request.offset, request.offset + request.count).map((r) => r.version);
    if (request.offset + request.count < ranked.length && request.count > 0) result.next = { _offset: String(request.offset + request.count) };
    if (request.offset > 0) result.previous = { _offset: String(Math.max(0, request.offset - request.count)) };
  }

  /**
   * A search through a chained near (e.g. services by their location's
   * distance): nearest first too, by the distance of the nearest resource each
   * match refers to through `field`, paged by offset like near itself.
   */
  private async nearChainPage(
    request: SearchRequest,
    query: { resourceType: string; filter: Filter; sort: SortKey[] },
    field: string,
    distances: Map<string, number>,
    result: SearchResult
  ): Promise<void> {
    if (request.cursor) throw badRequest('A near search pages with _offset, not _cursor', ['_cursor']);
    const candidates = await this.store.search({ ...query, offset: 0, limit: this.limits.near + 1 });
    if (candidates.length > this.limits.near) throw tooManyNear(this.limits.near);
    const km = (v: StoredVersion) => Math.min(...((v.idx[field] as string[] | undefined) ?? []).map((ref) => distances.get(ref) ?? Infinity));
    const ranked = candidates
      .map((version) => ({ version, km: km(version) }))
      .sort((a, b) => a.km - b.km || (a.version.id < b.version.id ? -1 : a.version.id > b.version.id ? 1 : 0));
    result.total = ranked.length;
    result.matches = ranked.slice(request.offset, request.offset + request.count).map((r) => r.version);
    if (request.offset + request.count < ranked.length && request.count > 0) result.next = { _offset: String(request.offset + request.count) };
    if (request.offset > 0) result.previous = { _offset: String(Math.max(0, request.offset - request.count)) };
  }

  /** One page by keyset (a cursor) or offset, and the cursors of its neighbours. */
  private async page(request: SearchRequest, query: { resourceType: string; filter: Filter; sort: SortKey[] }, result: SearchResult): Promise<void> {
    const cursor = request.cursor ? decodeCursor(request.cursor, query.sort) : undefined;
    if (request.count === 0) return;
    let rows: StoredVersion[];
    if (cursor) {
      const sort = cursor.before ? reversed(query.sort) : query.sort;
      rows = await this.store.search({ ...query, sort, filter: and([query.filter, afterFilter(sort, cursor.values)]), offset: 0, limit: request.count + 1 });
    } else {
      rows = await this.store.search({ ...query, offset: request.offset, limit: request.count + 1 });
    }
    const more = rows.length > request.count;
    rows = rows.slice(0, request.count);
    if (cursor?.before) rows.reverse();
    result.matches = rows;
    if (rows.length === 0) return;
    const first = keyValues(rows[0], query.sort);
    const last = keyValues(rows[rows.length - 1], query.sort);
    const hasNext = cursor?.before ? true : more;
    const hasPrevious = cursor ? (cursor.before ? more : true) : request.offset > 0;
    if (hasNext) result.next = { _cursor: encodeCursor({ values: last, before: false }) };
    if (hasPrevious) result.previous = { _cursor: encodeCursor({ values: first, before: true }) };
  }

  /** The first `limit` current resources a query selects, without a total: the server's own look-ups. */
  async find(resourceType: string, query: QueryParams, limit: number, restriction?: Filter): Promise<StoredVersion[]> {
    const request = parseSearchParams(resourceType, query, { defaultCount: limit, maxCount: limit });
    request.count = limit;
    request.total = 'none';
    return (await this.search(request, false, restriction)).matches;
  }

  /**
   * The store filter a search's criteria compile to, for work that pages
   * through the store itself (bulk export _typeFilter). Only criteria: result
   * parameters (_sort, _count, _include, ...) and near are refused.
   */
  async compileFilter(resourceType: string, query: QueryParams): Promise<Filter> {
    const request = parseSearchParams(resourceType, query, { defaultCount: 1, maxCount: 1 });
    const extra = Object.keys(query).filter((k) => /^_(count|offset|cursor|sort|include|revinclude|summary|elements|total)(:|$)/.test(k));
    if (extra.length > 0) throw badRequest(`Only search criteria are allowed here, not ${extra.join(', ')}`);
    const compiled = await compileSearch(request, this.compileContext(false));
    if (compiled.near) throw badRequest('near is not allowed here');
    return compiled.filter;
  }

  private count(resourceType: string, filter: Filter): Promise<number> {
    return filter.kind === 'none' ? Promise.resolve(0) : this.store.count(resourceType, filter);
  }

  /** Ids of resourceType resources matching one (possibly chained) clause. */
  private async chainIds(resourceType: string, clause: SearchClause, lenient: boolean, nearDistances?: Map<string, number>): Promise<string[]> {
    return (await this.chainMatches(resourceType, clause, lenient, nearDistances)).map((v) => v.id);
  }

  private compileContext(lenient: boolean, nearDistances?: Map<string, number>) {
    return {
      baseUrl: this.options.baseUrl,
      terminology: this.options.tokenTerminology,
      lenient,
      nearDefaultKm: this.limits.nearDefaultKm,
      resolveChain: (type: string, clause: SearchClause) => this.chainIds(type, clause, lenient, nearDistances),
      resolveHas: (type: string, clause: SearchClause, param: string, target: string) => this.hasIds(type, clause, param, target, lenient),
    };
  }

  /** Reverse chaining: ids of targetType resources that the matching resourceType resources refer to. */
  private async hasIds(resourceType: string, clause: SearchClause, searchParam: string, targetType: string, lenient: boolean): Promise<string[]> {
    const ids = new Set<string>();
    for (const match of await this.chainMatches(resourceType, clause, lenient)) {
      for (const ref of (match.idx[searchParam] as string[] | undefined) ?? []) {
        const [type, id] = ref.split('/');
        if (type === targetType && id) ids.add(id);
      }
    }
    return [...ids];
  }

  /** The resources one clause selects, at most limits.chain; a near clause records each one's distance in nearDistances. */
  private async chainMatches(resourceType: string, clause: SearchClause, lenient: boolean, nearDistances?: Map<string, number>): Promise<StoredVersion[]> {
    const compiled = await compileSearch(
      { resourceType, clauses: [clause], count: this.limits.chain + 1, offset: 0, sort: [], include: [], revinclude: [] },
      this.compileContext(lenient)
    );
    if (compiled.filter === NONE) return [];
    if (compiled.near) {
      const near = compiled.near;
      const candidates = await this.store.search({
        resourceType,
        filter: compiled.filter,
        sort: [{ field: 'id', descending: false }],
        offset: 0,
        limit: this.limits.near + 1,
      });
      if (candidates.length > this.limits.near) throw tooManyNear(this.limits.near);
      const ranked = byDistance(candidates, near);
      for (const r of ranked) nearDistances?.set(`${resourceType}/${r.version.id}`, r.km);
      return ranked.map((r) => r.version);
    }
    const found = await this.store.search({
      resourceType,
      filter: compiled.filter,
      sort: [{ field: 'id', descending: false }],
      offset: 0,
      limit: this.limits.chain + 1,
    });
    if (found.length > this.limits.chain) {
      throw notSupported(`The chained parameter ${clause.name} matches more than ${this.limits.chain} ${resourceType} resources; narrow it down`);
    }
    return found;
  }

  async history(request: HistoryRequest): Promise<StoredVersion[]> {
    if (request.resourceType && request.id && !(await this.readLatest(request.resourceType, request.id))) {
      throw notFound(`${request.resourceType}/${request.id} is not known`);
    }
    // History since an instant is a poll too: only what has settled (settle.ts).
    const until = request.since && this.settleMs > 0 ? settledUntil(this.settleMs) : undefined;
    const versions = await this.store.readHistory({
      resourceType: request.resourceType,
      id: request.id,
      since: request.since,
      until,
      offset: request.offset,
      limit: request.count,
    });
    // The store's own records (conditional-create keys) are not resources.
    return versions.filter((v) => v.resourceType !== CONDITIONAL_KEY_TYPE);
  }
}

/** A promise that never rejects: its value or its error comes when asked for, so one never waited for is no unhandled rejection. */
const settled = <T>(promise: Promise<T>): Promise<() => T> =>
  promise.then(
    (value) => () => value,
    (err: unknown) => () => {
      throw err;
    }
  );

const tooManyNear = (limit: number) => notSupported(`More than ${limit} resources lie in that area; ask for a shorter distance`);

/**
 * The index field of a clause that chains once into near (location.near=...),
 * when that near selected something and no _sort overrides its order; a
 * longer chain is not ordered by distance.
 */
function nearChainField(request: SearchRequest, distances: Map<string, number>): string | undefined {
  if (distances.size === 0 || request.sort.length > 0) return undefined;
  return request.clauses.find((c) => c.chain.length === 2 && c.chain[1].code === 'near')?.chain[0].code;
}

/** A version's resource as "Type/id": the key of the commit locks and of the unit's latest versions. */
const resourceKey = (version: StoredVersion): string => `${version.resourceType}/${version.id}`;

/** Now, but always after the previous version, so history order is version order. */
function nextInstant(previous: string | undefined): string {
  const now = new Date().toISOString();
  if (!previous || now > previous) return now;
  return new Date(Date.parse(previous) + 1).toISOString();
}
