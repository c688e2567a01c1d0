// Latency percentiles from every recorded response time. autocannon's own
// summary gives p97.5 and p99 but no p95, and counts only 2xx responses; the
// bench records each response itself (autocannon's 'response' event) so p50,
// p95 and p99 come from the same complete sample.

export interface Percentiles {
  p50: number;
  p95: number;
  p99: number;
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? sorted[0];
}

/** p50, p95 and p99 in ms, to 0.1 ms (sub-millisecond reads would otherwise all show as 0 or 1). */
export function percentiles(latenciesMs: number[]): Percentiles {
  const sorted = Float64Array.from(latenciesMs).sort();
  const at = (p: number) => Number(percentile(sorted, p).toFixed(1));
  return { p50: at(50), p95: at(95), p99: at(99) };
}
