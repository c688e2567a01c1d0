// Answers of recent searches on the serving thread: the rows of a page and
// the count of a total, by the query that asked for them. A search's SQL is
// the serving thread's largest cost under a string search: measured on the
// 10,000-patient bench, the page and the count of a name prefix (640-720
// matches, gathered and deduplicated on every request) took a third of the
// thread's samples, and serving them from here doubled the requests a second.
// Clients ask the same searches again and again: a worklist, a dashboard, a
// directory look-up. A search asked once costs what it did before.
//
// Exact, never "fresh enough": every answer goes once any change to resources
// or their index values is acknowledged, whether it committed or not, the way
// the row cache drops a row (current-row-cache.ts). One process owns a data
// directory and every change goes through its writer thread, so the store
// sees every change. A broad search's SQL runs on the reader thread
// (store.ts), so it may straddle an acknowledgement: its answer is kept only
// if no change was acknowledged while it ran. An answer kept is dropped when
// the next change is acknowledged, and once a client is told of a change no
// search answers anything older. Appending AuditEvents does not drop
// answers: the audit log has searches of its own, which are not kept here.
//
// Rows are kept as SQLite returned them (text, never parsed objects), so no
// caller can change what the next one gets. Bounded by the bytes of its rows.
import { LRUCache } from 'lru-cache';
import { rowBytes, type VersionRow } from './current-row-cache';

/** A page's rows, or a total. */
type Answer = { rows: VersionRow[] } | { count: number };

const answerBytes = (answer: Answer, key: string): number =>
  key.length + 100 + ('rows' in answer ? answer.rows.reduce((sum, row) => sum + rowBytes(row), 0) : 0);

export class SearchAnswerCache {
  // lru-cache bounds the answers by their size and drops the least recently used first.
  private readonly answers: LRUCache<string, Answer> | undefined;
  /**
   * Changes acknowledged so far: an answer is kept only if none was
   * acknowledged while its SQL ran, since it may have been read before the
   * change became visible.
   */
  private changes = 0;

  /** @param maxBytes the budget; 0 keeps nothing */
  constructor(maxBytes: number) {
    if (maxBytes >= 1024) {
      this.answers = new LRUCache<string, Answer>({ maxSize: maxBytes, maxEntrySize: Math.floor(maxBytes / 16), sizeCalculation: answerBytes });
    }
  }

  /** The page's rows for this query, from a recent answer or from run(). */
  async rows(key: string, run: () => Promise<VersionRow[]>): Promise<VersionRow[]> {
    const kept = this.answers?.get(key);
    if (kept && 'rows' in kept) return kept.rows;
    const changesBefore = this.changes;
    const rows = await run();
    this.keep(key, { rows }, changesBefore);
    return rows;
  }

  /** The count for this query, from a recent answer or from run(). */
  async count(key: string, run: () => Promise<number>): Promise<number> {
    const kept = this.answers?.get(key);
    if (kept && 'count' in kept) return kept.count;
    const changesBefore = this.changes;
    const count = await run();
    this.keep(key, { count }, changesBefore);
    return count;
  }

  /** Keeps an answer whose SQL began when `changesBefore` changes had been acknowledged, unless another has been since. */
  private keep(key: string, answer: Answer, changesBefore: number): void {
    if (this.changes === changesBefore) this.answers?.set(key, answer);
  }

  /** A change to resources or their index values was acknowledged: no answer kept so far may be given again. */
  clear(): void {
    this.changes++;
    this.answers?.clear();
  }
}
