// $activity-report: the commissioners' activity report for a period, as a
// MeasureReport (reports/activity-report.ts); the HTTP layer also serves it as
// CSV on Accept: text/csv or _format=csv (http/activity-report-csv.ts).
// Parameters: periodStart and periodEnd (dates, required), owner (a Task owner
// reference), referrer (ODS code of a practice or PCN), activityType (a code
// from sp-activity-type). Aggregates only: no patient identifier is in it.
import type { MeasureReport } from '@medplum/fhirtypes';
import { ActivityReport, type ReportFilters } from '../../reports/activity-report';
import { JourneyReader } from '../../reports/journeys';
import type { FhirContext, FhirHandler } from '../context';
import { allOk, badRequest } from '../../base/outcomes';
import type { QueryParams } from '../../base/search-request';
import { queryOfParameters } from '../../bulk/kickoff';
import { authorizeActivityReport } from '../export-access';
import { registerOperation } from './registry';
import { ID } from '../../base/ids';

const OWNER_REFERENCE = new RegExp(`^(Organization|HealthcareService|PractitionerRole)/${ID}$`);

const KNOWN = new Set(['periodStart', 'periodEnd', 'owner', 'referrer', 'activityType', '_format', '_commissioner']);
const DATE = /^\d{4}-\d{2}-\d{2}$/;

function single(query: QueryParams, name: string, required = false): string | undefined {
  const values = query[name];
  if (values && values.length > 1) throw badRequest(`${name} may be given once`, [name]);
  if (required && !values?.[0]) throw badRequest(`${name} is required`, [name]);
  return values?.[0];
}

export function reportFilters(query: QueryParams): ReportFilters {
  const unknown = Object.keys(query).filter((k) => !KNOWN.has(k));
  if (unknown.length > 0) throw badRequest(`Unknown parameter ${unknown.join(', ')} for $activity-report`, unknown);
  const start = single(query, 'periodStart', true) as string;
  const end = single(query, 'periodEnd', true) as string;
  for (const [name, value] of [
    ['periodStart', start],
    ['periodEnd', end],
  ]) {
    if (!DATE.test(value) || Number.isNaN(Date.parse(value))) throw badRequest(`${name} must be a date such as 2026-04-01`, [name]);
  }
  if (start > end) throw badRequest('periodStart is after periodEnd', ['periodStart']);
  const owner = single(query, 'owner');
  if (owner !== undefined && !OWNER_REFERENCE.test(owner)) {
    throw badRequest('owner must be a reference to an Organization, HealthcareService or PractitionerRole', ['owner']);
  }
  return { period: { start, end }, owner, referrer: single(query, 'referrer'), activityType: single(query, 'activityType') };
}

export async function activityReport(query: QueryParams, ctx: FhirContext): Promise<MeasureReport> {
  const filters = reportFilters(query);
  const report = new ActivityReport(filters);
  for await (const journey of new JourneyReader(ctx.repo, ctx.repo.store).journeys(filters.period)) report.add(journey);
  return report.toMeasureReport();
}

const handler: FhirHandler = async (request, ctx) => {
  const query = request.method === 'POST' ? { ...request.query, ...queryOfParameters(request.body) } : request.query;
  return [allOk(), await activityReport(query, ctx)];
};

export function registerActivityReport(): void {
  registerOperation({
    name: 'activity-report',
    definition: 'https://social-prescribing.example.org/fhir/OperationDefinition/activity-report',
    resourceTypes: [],
    system: true,
    type: false,
    instance: false,
    description: 'Counts, medians and outcomes of social prescribing activity as a MeasureReport (or CSV), small numbers suppressed.',
    affectsState: false,
    authorize: (ctx) => authorizeActivityReport(ctx.access),
    handler,
    parameters: [
      { name: 'periodStart', required: true, description: 'First day of the period, e.g. 2026-04-01' },
      { name: 'periodEnd', required: true, description: 'Last day of the period, e.g. 2026-06-30' },
      { name: 'owner', description: "The Task owner: Organization/[id], HealthcareService/[id] or a link worker's PractitionerRole/[id]" },
      { name: 'referrer', description: "ODS code of the referrer's practice or PCN" },
      { name: 'activityType', description: 'Only journeys with an onward activity of this sp-activity-type code' },
      { name: '_format', description: 'csv for the report as CSV (or send Accept: text/csv)' },
    ],
  });
}
