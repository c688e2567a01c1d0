// Work over a list with a bounded number of items in hand at once: on
// MongoDB each store call is a round trip, and one after another they leave
// the store idle between calls, while all at once they flood its pool.

/** Runs work on every item, at most `limit` at a time, each item once; settles when all have. */
export async function eachSideBySide<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const at = next++;
      await work(items[at], at);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}
