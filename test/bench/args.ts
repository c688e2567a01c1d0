// What the small benchmarks (dashboard-render.ts, activity-report.ts) share:
// a numeric option from the command line, and the median of their runs.

/** The number after --name on the command line, or the fallback. */
export function numberOption(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
}

export const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
