// Summary statistics for the activity report. Quartiles are by linear
// interpolation between order statistics (Hyndman & Fan type 7, the method of
// R's default quantile() and of spreadsheet QUARTILE.INC), so a reader can
// check a figure by hand.

export function quantile(sorted: number[], p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.ceil(h);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

export interface Quartiles {
  n: number;
  q1: number;
  median: number;
  q3: number;
}

/** Quartiles of the values, or undefined when there are none. */
export function quartiles(values: number[]): Quartiles | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  return { n: sorted.length, q1: round(quantile(sorted, 0.25)), median: round(quantile(sorted, 0.5)), q3: round(quantile(sorted, 0.75)) };
}

export function mean(values: number[]): number {
  return round(values.reduce((a, b) => a + b, 0) / values.length);
}

/** Two decimals: enough for days and 0-10 scores, and stable to compare. */
export function round(value: number): number {
  return Math.round(value * 100) / 100;
}
