// The activity report as CSV (content negotiation on $activity-report), for
// commissioners' spreadsheets: one row per count or statistic, with the same
// suppression as the MeasureReport (a suppressed value is empty and flagged).
import type { Extension, MeasureReport, MeasureReportGroupPopulation } from '@medplum/fhirtypes';
import { MEAN_AFTER_URL, MEAN_BEFORE_URL, QUARTILE_URL } from './codes';

const HEADER = ['group', 'stratifier', 'stratum', 'measure', 'value', 'suppressed'];

/** RFC 4180 quoting, and a leading = + - @ neutralised so a spreadsheet never runs a cell as a formula. */
function cell(value: string | number | undefined): string {
  let text = value === undefined ? '' : String(value);
  if (/^[=+\-@]/.test(text) && typeof value === 'string') text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

const countOf = (p: MeasureReportGroupPopulation | undefined): { value?: number; suppressed: boolean } => ({
  value: p?.count,
  suppressed: p?.count === undefined && !!(p as { _count?: unknown } | undefined)?._count,
});

export function measureReportToCsv(report: MeasureReport): string {
  const rows: (string | number | undefined)[][] = [HEADER];
  const row = (group: string, stratifier: string, stratum: string, measure: string, value: number | undefined, suppressed: boolean) =>
    rows.push([group, stratifier, stratum, measure, suppressed ? undefined : value, suppressed ? 'true' : 'false']);
  for (const g of report.group ?? []) {
    const name = g.code?.text ?? '';
    const count = countOf(g.population?.[0]);
    row(name, '', '', 'count', count.value, count.suppressed);
    if (g.measureScore) {
      const masked = g.measureScore.value === undefined;
      row(name, '', '', name.startsWith('ons4-') ? 'mean-change' : 'median', g.measureScore.value, masked);
    }
    for (const e of g.extension ?? []) {
      if (e.url === QUARTILE_URL) {
        const part = (url: string): Extension | undefined => e.extension?.find((x) => x.url === url);
        row(name, '', '', part('quartile')?.valueCode ?? '', part('value')?.valueQuantity?.value, false);
      }
      if (e.url === MEAN_BEFORE_URL) row(name, '', '', 'mean-before', e.valueDecimal, false);
      if (e.url === MEAN_AFTER_URL) row(name, '', '', 'mean-after', e.valueDecimal, false);
    }
    for (const s of g.stratifier ?? []) {
      for (const stratum of s.stratum ?? []) {
        const c = countOf(stratum.population?.[0]);
        row(name, s.code?.[0]?.text ?? '', stratum.value?.text ?? '', 'count', c.value, c.suppressed);
      }
    }
  }
  return rows.map((r) => r.map(cell).join(',')).join('\r\n') + '\r\n';
}
