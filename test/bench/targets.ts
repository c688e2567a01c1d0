// The performance targets the server is held to, in one place:
// every bench (npm run bench, the comparison, the scale run) judges its
// results against this table. Throughput is in requests per second (a
// transaction counts once, whatever its entries); p99 is a ceiling in ms.
// Every scenario, with a target or not, must keep its tail within
// TAIL_RATIO times its median: a fast median with a long tail is a fail.

export interface Target {
  label: string;
  minPerSecond: number;
  maxP99Ms: number;
}

export const TAIL_RATIO = 5;

export const TARGETS = {
  read: { label: 'Audited read by id', minPerSecond: 6000, maxP99Ms: 15 },
  create: { label: 'Validated SP referral create', minPerSecond: 1500, maxP99Ms: 30 },
  transaction: { label: '4-entry referral transaction', minPerSecond: 600, maxP99Ms: 100 },
  processMessage: { label: '$process-message', minPerSecond: 500, maxP99Ms: 100 },
  stringSearch: { label: 'Patient name prefix, and any string search', minPerSecond: 2000, maxP99Ms: 30 },
  polling: { label: 'Task polling query (at 1,000,000 resources)', minPerSecond: 1000, maxP99Ms: 50 },
} satisfies Record<string, Target>;

export type TargetKey = keyof typeof TARGETS;

export interface Verdict {
  /** The target as text, e.g. "≥ 6000/s, p99 < 15 ms"; the tail rule alone where there is none. */
  target: string;
  pass: boolean;
  /** What missed, e.g. "1880/s < 6000/s"; empty on a pass. */
  misses: string[];
}

/** Judges one measured scenario: its target (if any) and the tail rule. */
export function judge(key: TargetKey | undefined, measured: { perSecond: number; p50: number; p99: number }): Verdict {
  const misses: string[] = [];
  const target = key ? TARGETS[key] : undefined;
  if (target && measured.perSecond < target.minPerSecond) misses.push(`${Math.round(measured.perSecond)}/s < ${target.minPerSecond}/s`);
  if (target && measured.p99 >= target.maxP99Ms) misses.push(`p99 ${measured.p99} ms ≥ ${target.maxP99Ms} ms`);
  const ratio = tailRatio(measured);
  if (ratio !== undefined && ratio > TAIL_RATIO) misses.push(`p99/p50 ${ratio} > ${TAIL_RATIO}`);
  const tail = `p99 ≤ ${TAIL_RATIO}×p50`;
  return {
    target: target ? `≥ ${target.minPerSecond}/s, p99 < ${target.maxP99Ms} ms, ${tail}` : tail,
    pass: misses.length === 0,
    misses,
  };
}

export function tailRatio(measured: { p50: number; p99: number }): number | undefined {
  return measured.p50 > 0 ? Number((measured.p99 / measured.p50).toFixed(1)) : undefined;
}
