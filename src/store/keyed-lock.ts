// Mutual exclusion by key within this process, for check-then-write
// interactions that no optimistic lock covers: a conditional create searches
// for a match and creates only if there is none, so two at once would both
// create; and, where a commit must be visible by a deadline after its stamp,
// for the commits of one resource (repository.ts commit). Holders of a key
// run one after another; keys are taken in sorted order so two holders of
// several keys cannot wait on each other.
import { AsyncLocalStorage } from 'node:async_hooks';
import { conflict } from '../base/outcomes';
import { withDeadline } from '../base/deadline';

const WAIT_MS = 15_000;

export class KeyedLocks {
  /** busyText: what a request is told (409) when it has waited too long for a key. */
  constructor(private readonly busyText = 'Another request is writing the same conditional resource; try again') {}

  private readonly tails = new Map<string, Promise<void>>();
  /** Keys held by the current async context, so a nested request for one of them goes straight on. */
  private readonly held = new AsyncLocalStorage<ReadonlySet<string>>();

  isHeld(key: string): boolean {
    return this.held.getStore()?.has(key) ?? false;
  }

  /** Takes the keys not already held here, in order; resolves with the release of all of them. */
  async acquire(keys: Iterable<string>, skip: ReadonlySet<string> = new Set()): Promise<{ keys: string[]; release: () => void }> {
    const wanted = [...new Set(keys)].filter((k) => !this.isHeld(k) && !skip.has(k)).sort();
    const releases: Array<() => void> = [];
    try {
      for (const key of wanted) releases.push(await this.acquireOne(key));
    } catch (err) {
      releases.forEach((r) => r());
      throw err;
    }
    return { keys: wanted, release: () => releases.forEach((r) => r()) };
  }

  /** Runs fn with these keys marked as held in its async context. */
  runHolding<T>(keys: Iterable<string>, fn: () => Promise<T>): Promise<T> {
    return this.held.run(new Set([...(this.held.getStore() ?? []), ...keys]), fn);
  }

  private async acquireOne(key: string): Promise<() => void> {
    const previous = this.tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((resolve) => (release = resolve));
    const tail = previous.then(() => mine);
    this.tails.set(key, tail);
    const done = (): void => {
      release();
      if (this.tails.get(key) === tail) this.tails.delete(key);
    };
    try {
      await withDeadline(previous, WAIT_MS, () => conflict(this.busyText));
    } catch (err) {
      done();
      throw err;
    }
    return done;
  }
}
