// The bench's tables: one server's scenarios, or two servers side by side
// (the comparison). Plain text, aligned columns, one row per scenario; the
// JSON written beside it holds the same figures and more.
import fs from 'node:fs';
import path from 'node:path';
import type { ScenarioResult } from './scenarios';

type Row = (string | number)[];

export function table(header: string[], rows: Row[]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i] ?? '').length)));
  const line = (cells: Row) => cells.map((c, i) => String(c ?? '').padEnd(widths[i])).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...rows.map(line)].join('\n');
}

const orDash = (v: number | undefined): string | number => (v === undefined ? '-' : v);

function verdictText(r: ScenarioResult): string {
  return r.verdict.pass ? 'pass' : `FAIL: ${r.verdict.misses.join('; ')}`;
}

/** One server: throughput, p50/p95/p99, tail ratio, cores, errors, and the verdict against the targets. */
export function scenarioTable(results: ScenarioResult[]): string {
  const header = ['scenario', 'throughput', 'p50 ms', 'p95 ms', 'p99 ms', 'p99/p50', 'cores', 'errors', 'target', 'result'];
  const rows = results.map((r) => [
    r.name,
    `${r.throughput} ${r.unit}`,
    r.p50,
    r.p95,
    r.p99,
    orDash(r.tailRatio),
    orDash(r.cores),
    r.errors,
    r.verdict.target,
    verdictText(r),
  ]);
  const notes = results.filter((r) => r.note).map((r) => `  ${r.name}: ${r.note}`);
  return [table(header, rows), ...notes].join('\n');
}

/** Two servers, the same scenarios: each side's req/s, percentiles, tail ratio, cores and verdict. */
export function sideBySide(left: { label: string; results: ScenarioResult[] }, right: { label: string; results: ScenarioResult[] }): string {
  const side = (r: ScenarioResult | undefined): Row =>
    r
      ? [r.perSecond, r.p50, r.p95, r.p99, orDash(r.tailRatio), orDash(r.cores), r.errors, r.verdict.pass ? 'pass' : 'FAIL']
      : ['-', '-', '-', '-', '-', '-', '-', '-'];
  const cols = (label: string) => [`${label} req/s`, 'p50', 'p95', 'p99', 'p99/p50', 'cores', 'errors', 'result'];
  const names = [...new Set([...left.results, ...right.results].map((r) => r.name))];
  const rows = names.map((name) => [name, ...side(left.results.find((r) => r.name === name)), ...side(right.results.find((r) => r.name === name))]);
  return table(['scenario', ...cols(left.label), ...cols(right.label)], rows);
}

/** Writes the report as JSON under bench-results/ (or to `out`); returns the file written. */
export function writeJson(report: object, name: string, out?: string): string {
  const file = out ?? path.join(process.cwd(), 'bench-results', `${name}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(report, null, 2));
  return file;
}
