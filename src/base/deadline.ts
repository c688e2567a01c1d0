// A promise bounded in time: its result, or the caller's error once the time
// is up. The work itself goes on; only the wait for it ends.

/** The work's result, or the error `late` makes once ms have passed without one (ms ≤ 0: no bound). */
export function withDeadline<T>(work: Promise<T>, ms: number, late: () => Error): Promise<T> {
  if (ms <= 0) return work;
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(late()), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}
