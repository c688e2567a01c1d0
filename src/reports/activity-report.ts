// The activity report for commissioners (DOMAIN.md section 8) as a summary
// MeasureReport against Measure/sp-activity-report (profiles/measures/):
// referrals by source, need, sex, age band and month (the trend); Task status, business status
// and rejection reason; onward activities by type and provider; days from
// referral to first contact, plan agreed and completion (median and
// quartiles, from Task version history); paired before/after ONS4 scores.
// It holds aggregates only, never a patient identifier, and suppresses small
// numbers (suppression.ts).
import type { Coding, Extension, MeasureReport, MeasureReportGroup, MeasureReportGroupStratifier, Observation } from '@medplum/fhirtypes';
import {
  BUSINESS_STATUS,
  CONTACTED,
  MEAN_AFTER_URL,
  MEAN_BEFORE_URL,
  MEASURE_URL,
  ONS4,
  PLAN_AGREED,
  QUARTILE_URL,
  REPORT_CODES,
  SOURCE_OF_REFERRAL_URL,
} from './codes';
import type { Journey, Period } from './journeys';
import { mean, quartiles, round } from './statistics';
import { countElement, isSuppressed, MASKED } from './suppression';
import { PROJECT_BASE } from '../base/project';

export interface ReportFilters {
  period: Period;
  /** Task owner: the service (Organization or HealthcareService), or a link worker's PractitionerRole. */
  owner?: string;
  /** ODS code of the referrer's practice or PCN. */
  referrer?: string;
  /** A code from sp-activity-type: only journeys with an onward activity of that type. */
  activityType?: string;
}

export const FILTER_URL = `${PROJECT_BASE}/StructureDefinition/report-filter`;
export const ONS4_ITEMS = ['life-satisfaction', 'worthwhile', 'happy-yesterday', 'anxious-yesterday'];
const DAY_MS = 86_400_000;
const POPULATION = { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/measure-population', code: 'initial-population' }] };

/** Counts by key; a key is "system|code" for coded values, plain text otherwise. */
class Tally {
  readonly counts = new Map<string, number>();
  add(key: string): void {
    this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
  }
}

/** The calendar month (UTC) of a referral date, as YYYY-MM. */
function monthOf(authoredOn: string | undefined): string {
  const time = Date.parse(authoredOn ?? '');
  return Number.isNaN(time) ? 'unknown' : new Date(time).toISOString().slice(0, 7);
}

const codeKey = (c: Coding | undefined): string | undefined => (c?.code ? `${c.system ?? ''}|${c.code}` : undefined);

export class ActivityReport {
  private referrals = 0;
  private rejected = 0;
  private onwardCount = 0;
  private readonly tallies = {
    source: new Tally(),
    need: new Tally(),
    sex: new Tally(),
    ageBand: new Tally(),
    month: new Tally(),
    status: new Tally(),
    businessStatus: new Tally(),
    rejectionReason: new Tally(),
    activityType: new Tally(),
    provider: new Tally(),
  };
  private readonly days = { firstContact: [] as number[], planAgreed: [] as number[], completion: [] as number[] };
  private readonly ons4 = new Map<string, [number, number][]>(ONS4_ITEMS.map((i) => [i, []]));

  constructor(private readonly filters: ReportFilters) {}

  private selects(j: Journey): boolean {
    const f = this.filters;
    if (f.owner && !j.owners.includes(f.owner)) return false;
    if (f.referrer && j.practiceOds !== f.referrer && j.pcnOds !== f.referrer) return false;
    if (f.activityType && !j.onward.some((a) => a.activityTypes.includes(f.activityType as string))) return false;
    return true;
  }

  add(j: Journey): void {
    if (!this.selects(j)) return;
    const t = this.tallies;
    this.referrals++;
    const source = j.referral.extension?.find((e) => e.url === SOURCE_OF_REFERRAL_URL)?.valueCodeableConcept?.coding?.[0];
    t.source.add(codeKey(source) ?? 'unknown');
    const needs = new Set(
      (j.referral.reasonCode ?? [])
        .flatMap((cc) => cc.coding ?? [])
        .map(codeKey)
        .filter((k): k is string => !!k)
    );
    needs.forEach((n) => t.need.add(n));
    t.sex.add(j.sex);
    t.ageBand.add(j.ageBand);
    t.month.add(monthOf(j.referral.authoredOn));
    t.status.add(j.task?.status ?? 'no-task');
    const business = j.task?.businessStatus?.coding?.find((c) => c.system === BUSINESS_STATUS);
    t.businessStatus.add(codeKey(business) ?? 'none');
    if (j.task?.status === 'rejected') {
      this.rejected++;
      t.rejectionReason.add(codeKey(j.task.statusReason?.coding?.[0]) ?? 'unspecified');
    }
    for (const a of j.onward) {
      this.onwardCount++;
      a.activityTypes.forEach((type) => t.activityType.add(type));
      t.provider.add(a.provider ?? 'unknown');
    }
    this.addIntervals(j);
    this.addOns4(j.ons4);
  }

  /** Days from the referral to the first Task version that reached each milestone. */
  private addIntervals(j: Journey): void {
    const start = Date.parse(j.referral.authoredOn ?? j.history[0]?.meta?.lastUpdated ?? '');
    if (Number.isNaN(start)) return;
    const reached = (test: (task: (typeof j.history)[number]) => boolean): number | undefined => {
      const version = j.history.find(test);
      return version?.meta?.lastUpdated ? round((Date.parse(version.meta.lastUpdated) - start) / DAY_MS) : undefined;
    };
    const business = (task: (typeof j.history)[number]) => task.businessStatus?.coding?.find((c) => c.system === BUSINESS_STATUS)?.code ?? '';
    const firstContact = reached((v) => CONTACTED.has(business(v)));
    const planAgreed = reached((v) => PLAN_AGREED.has(business(v)));
    const completion = reached((v) => v.status === 'completed');
    if (firstContact !== undefined) this.days.firstContact.push(firstContact);
    if (planAgreed !== undefined) this.days.planAgreed.push(planAgreed);
    if (completion !== undefined) this.days.completion.push(completion);
  }

  /** Per ONS4 item: the earliest and the latest score of the journey, when there are two at different times. */
  private addOns4(observations: Observation[]): void {
    for (const item of ONS4_ITEMS) {
      const scores = observations
        .filter((o) => o.code?.coding?.some((c) => c.system === ONS4 && c.code === item) && typeof o.valueInteger === 'number' && o.effectiveDateTime)
        .sort((a, b) => Date.parse(a.effectiveDateTime as string) - Date.parse(b.effectiveDateTime as string));
      if (scores.length >= 2 && scores[0].effectiveDateTime !== scores[scores.length - 1].effectiveDateTime) {
        this.ons4.get(item)?.push([scores[0].valueInteger as number, scores[scores.length - 1].valueInteger as number]);
      }
    }
  }

  toMeasureReport(): MeasureReport {
    const t = this.tallies;
    const f = this.filters;
    const filterText = [f.owner && `owner=${f.owner}`, f.referrer && `referrer=${f.referrer}`, f.activityType && `activityType=${f.activityType}`]
      .filter(Boolean)
      .join('&');
    return {
      resourceType: 'MeasureReport',
      ...(filterText ? { extension: [{ url: FILTER_URL, valueString: filterText }] } : {}),
      status: 'complete',
      type: 'summary',
      measure: MEASURE_URL,
      date: new Date().toISOString(),
      period: { start: f.period.start, end: f.period.end },
      group: [
        group('referrals', this.referrals, [
          stratifier('source-of-referral', t.source),
          stratifier('need', t.need),
          stratifier('sex', t.sex),
          stratifier('age-band', t.ageBand),
          stratifier('month', t.month),
        ]),
        group('task-status', this.referrals, [stratifier('status', t.status), stratifier('business-status', t.businessStatus)]),
        group('rejection-reason', this.rejected, [stratifier('reason', t.rejectionReason)]),
        group('onward-activity', this.onwardCount, [stratifier('activity-type', t.activityType), stratifier('provider', t.provider)]),
        daysGroup('days-to-first-contact', this.days.firstContact),
        daysGroup('days-to-plan-agreed', this.days.planAgreed),
        daysGroup('days-to-completion', this.days.completion),
        ...ONS4_ITEMS.map((item) => ons4Group(item, this.ons4.get(item) ?? [])),
      ],
    };
  }
}

const reportCode = (code: string) => ({ coding: [{ system: REPORT_CODES, code }], text: code });

function group(code: string, count: number, stratifiers: MeasureReportGroupStratifier[]): MeasureReportGroup {
  return { code: reportCode(code), population: [{ code: POPULATION, ...countElement(count) }] as never, stratifier: stratifiers };
}

function stratifier(code: string, tally: Tally): MeasureReportGroupStratifier {
  const keys = [...tally.counts.keys()].sort();
  return {
    code: [reportCode(code)],
    stratum: keys.map((key) => {
      const [system, value] = key.includes('|') ? key.split('|') : [undefined, key];
      return {
        value: system ? { coding: [{ system, code: value }], text: value } : { text: value },
        population: [{ code: POPULATION, ...countElement(tally.counts.get(key) ?? 0) }] as never,
      };
    }),
  };
}

const days = (value: number) => ({ value, unit: 'days', system: 'http://unitsofmeasure.org', code: 'd' });

/** Median as the measure score, quartiles as extensions; all withheld when based on 1 to 7 journeys. */
function daysGroup(code: string, values: number[]): MeasureReportGroup {
  const q = quartiles(values);
  const base = group(code, values.length, []);
  delete base.stratifier;
  if (!q) return base;
  if (isSuppressed(q.n)) return { ...base, measureScore: { extension: [MASKED] } };
  const quartile = (name: string, value: number): Extension => ({
    url: QUARTILE_URL,
    extension: [
      { url: 'quartile', valueCode: name },
      { url: 'value', valueQuantity: days(value) },
    ],
  });
  return { ...base, extension: [quartile('q1', q.q1), quartile('q3', q.q3)], measureScore: days(q.median) };
}

/** Paired ONS4 scores: mean change as the score, mean before and after as extensions. */
function ons4Group(item: string, pairs: [number, number][]): MeasureReportGroup {
  const base = group(`ons4-${item}`, pairs.length, []);
  delete base.stratifier;
  if (pairs.length === 0) return base;
  if (isSuppressed(pairs.length)) return { ...base, measureScore: { extension: [MASKED] } };
  const before = mean(pairs.map((p) => p[0]));
  const after = mean(pairs.map((p) => p[1]));
  return {
    ...base,
    extension: [
      { url: MEAN_BEFORE_URL, valueDecimal: before },
      { url: MEAN_AFTER_URL, valueDecimal: after },
    ],
    measureScore: { value: mean(pairs.map((p) => p[1] - p[0])) },
  };
}
