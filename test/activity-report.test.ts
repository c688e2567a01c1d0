// $activity-report through HTTP over the journey fixtures
// (fixtures/reports/journeys.json), whose Task histories are dated in the
// past. Every expected number below is worked out by hand from that file.
import type { MeasureReport, MeasureReportGroup, Resource } from '@medplum/fhirtypes';
import { loadHistory, type DatedVersion } from './support/history';
import { fixture } from './support/resources';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const B = 'https://social-prescribing.example.org/fhir';
const SNOMED = 'http://snomed.info/sct';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const MASKED = { extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }] };

interface JourneyFixture {
  id: string;
  authoredOn: string;
  source: string;
  requester: string;
  owner: string;
  needs: string[];
  gender: string;
  birthDate: string;
  steps: [number, string, string?, string?][];
  onward: string[];
  ons4: number[];
}

const SERVICES: Record<string, { type: string; provider: string }> = {
  gardening: { type: 'green-spaces', provider: 'green-leeds' },
  choir: { type: 'arts-and-culture', provider: 'sing-leeds' },
};

const at = (start: string, days: number) => new Date(Date.parse(start) + days * 86_400_000).toISOString();

/** The directory and referrers the journeys point at, then each journey's referral, Task versions, onward referrals and outcomes. */
function versions(journeys: JourneyFixture[]): DatedVersion[] {
  const when = '2025-11-01T00:00:00Z';
  const org = (id: string, name: string, ods?: string, partOf?: string): DatedVersion => ({
    at: when,
    resource: {
      resourceType: 'Organization',
      id,
      name,
      ...(ods ? { identifier: [{ system: ODS, value: ods }] } : {}),
      ...(partOf ? { partOf: { reference: `Organization/${partOf}` } } : {}),
    } as Resource,
  });
  const out: DatedVersion[] = [
    org('pcn', 'Leeds North PCN', 'U12345'),
    org('practice-a', 'Meanwood Surgery', 'Y11111', 'pcn'),
    org('practice-b', 'Chapel Allerton Practice', 'Y22222', 'pcn'),
    org('sp-service', 'Leeds Community Links'),
    org('other-service', 'Leeds Wellbeing Hub'),
    org('green-leeds', 'Green Leeds'),
    org('sing-leeds', 'Sing Leeds'),
    { at: when, resource: { resourceType: 'PractitionerRole', id: 'gp-a', organization: { reference: 'Organization/practice-a' } } as Resource },
    { at: when, resource: { resourceType: 'PractitionerRole', id: 'lw-2', organization: { reference: 'Organization/other-service' } } as Resource },
    ...Object.entries(SERVICES).map(([id, s]) => ({
      at: when,
      resource: {
        resourceType: 'HealthcareService',
        id,
        providedBy: { reference: `Organization/${s.provider}` },
        type: [{ coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: s.type }] }],
      } as Resource,
    })),
  ];
  for (const j of journeys) {
    const patient = `Patient/p-${j.id}`;
    out.push({ at: j.authoredOn, resource: { resourceType: 'Patient', id: `p-${j.id}`, gender: j.gender, birthDate: j.birthDate } as Resource });
    out.push({
      at: j.authoredOn,
      resource: {
        resourceType: 'ServiceRequest',
        id: j.id,
        extension: [
          {
            url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest',
            valueCodeableConcept: { coding: [{ system: SNOMED, code: j.source }] },
          },
        ],
        status: 'active',
        intent: 'order',
        code: { coding: [{ system: SNOMED, code: '871731000000106' }] },
        subject: { reference: patient },
        requester: { reference: j.requester === 'self' ? patient : j.requester },
        authoredOn: j.authoredOn,
        reasonCode: j.needs.map((n) => ({ coding: [{ system: `${B}/CodeSystem/sp-needs-local`, code: n }] })),
      } as Resource,
    });
    const outcomes = j.ons4.map((value, k) => ({
      at: at(j.authoredOn, k === 0 ? 1 : 30),
      resource: {
        resourceType: 'Observation',
        id: `ons4-${j.id}-${k}`,
        status: 'final',
        code: { coding: [{ system: `${B}/CodeSystem/sp-ons4`, code: 'life-satisfaction' }] },
        subject: { reference: patient },
        effectiveDateTime: at(j.authoredOn, k === 0 ? 1 : 30),
        valueInteger: value,
      } as Resource,
    }));
    out.push(...outcomes);
    for (const [days, status, business, reason] of j.steps) {
      out.push({
        at: at(j.authoredOn, days),
        resource: {
          resourceType: 'Task',
          id: `task-${j.id}`,
          status,
          intent: 'order',
          focus: { reference: `ServiceRequest/${j.id}` },
          for: { reference: patient },
          authoredOn: j.authoredOn,
          owner: { reference: j.owner },
          ...(business ? { businessStatus: { coding: [{ system: `${B}/CodeSystem/sp-business-status`, code: business }] } } : {}),
          ...(reason ? { statusReason: { coding: [{ system: `${B}/CodeSystem/sp-reject-reason`, code: reason }] } } : {}),
          output: outcomes.map((o) => ({ type: { text: 'outcome' }, valueReference: { reference: `Observation/${o.resource.id}` } })),
        } as Resource,
      });
    }
    j.onward.forEach((service, k) =>
      out.push({
        at: at(j.authoredOn, 15),
        resource: {
          resourceType: 'ServiceRequest',
          id: `${j.id}-onward-${k}`,
          status: 'active',
          intent: 'order',
          basedOn: [{ reference: `ServiceRequest/${j.id}` }],
          code: { coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: SERVICES[service].type }] },
          subject: { reference: patient },
          performer: [{ reference: `HealthcareService/${service}` }],
        } as Resource,
      })
    );
  }
  return out;
}

const groupOf = (report: MeasureReport, code: string): MeasureReportGroup => {
  const found = report.group?.find((g) => g.code?.text === code);
  if (!found) throw new Error(`no group ${code}`);
  return found;
};
/** A group's count, or 'masked'. */
const count = (g: MeasureReportGroup): number | 'masked' => {
  const p = g.population?.[0] as { count?: number; _count?: unknown };
  return p.count ?? (JSON.stringify(p._count) === JSON.stringify(MASKED) ? 'masked' : (undefined as never));
};
/** A stratifier's counts by stratum text, 'masked' where suppressed. */
const strata = (g: MeasureReportGroup, code: string): Record<string, number | 'masked'> => {
  const s = g.stratifier?.find((x) => x.code?.[0]?.text === code);
  return Object.fromEntries(
    (s?.stratum ?? []).map((st) => {
      const p = st.population?.[0] as { count?: number; _count?: unknown };
      return [st.value?.text, p.count ?? (JSON.stringify(p._count) === JSON.stringify(MASKED) ? 'masked' : 'missing')];
    })
  );
};
const quartile = (g: MeasureReportGroup, name: string) =>
  g.extension?.find((e) => e.extension?.some((x) => x.url === 'quartile' && x.valueCode === name))?.extension?.find((x) => x.url === 'value')?.valueQuantity
    ?.value;

describe.each(storeTargets)('$activity-report on the $name store', (target) => {
  let server: TestServer;
  const data = fixture<{ period: { start: string; end: string }; journeys: JourneyFixture[] }>('reports/journeys.json');
  const period = `periodStart=${data.period.start}&periodEnd=${data.period.end}`;

  beforeAll(async () => {
    server = await startServer(target);
    await loadHistory(server.store, versions(data.journeys));
  }, 120000);
  afterAll(async () => {
    await server.stop();
  });

  const report = async (query: string): Promise<MeasureReport> => {
    const res = await server.api.get(`/fhir/$activity-report?${query}`).set('Accept', FHIR_JSON);
    expect([res.status, res.body.resourceType]).toEqual([200, 'MeasureReport']);
    return res.body;
  };

  test('counts the referrals of the period by source, need, sex and age band, suppressing counts of 1 to 7', async () => {
    const r = await report(period);
    expect(r).toMatchObject({
      status: 'complete',
      type: 'summary',
      measure: `${B}/Measure/sp-activity-report`,
      period: { start: '2026-01-01', end: '2026-03-31' },
    });
    const referrals = groupOf(r, 'referrals');
    // r1..r12: r0 was authored in December and is outside the period; r12 on the period's last day is inside.
    expect(count(referrals)).toBe(12);
    // GP referrals r1..r9; self-referrals r10..r12 (3: suppressed, and marked so).
    expect(strata(referrals, 'source-of-referral')).toEqual({ '108161000000109': 9, '310434002': 'masked' });
    expect(strata(referrals, 'need')).toEqual({ loneliness: 10, 'money-worries': 'masked' });
    expect(strata(referrals, 'sex')).toEqual({ female: 8, male: 'masked' });
    expect(strata(referrals, 'age-band')).toEqual({ '45-54': 9, '18-24': 'masked' });
  });

  test('counts the referrals by calendar month of referral, the trend, with the same suppression', async () => {
    const referrals = groupOf(await report(period), 'referrals');
    expect(strata(referrals, 'month')).toEqual({ '2026-01': 8, '2026-02': 'masked', '2026-03': 'masked' });
    const csv = await server.api.get(`/fhir/$activity-report?${period}`).set('Accept', 'text/csv');
    expect(csv.text.split('\r\n')).toEqual(expect.arrayContaining(['referrals,month,2026-01,count,8,false', 'referrals,month,2026-02,count,,true']));
  }, 120000);

  test('Task status, business status and rejection reasons: every count below 8 is suppressed', async () => {
    const r = await report(period);
    const status = groupOf(r, 'task-status');
    expect(strata(status, 'status')).toEqual({ completed: 'masked', 'in-progress': 'masked', accepted: 'masked', rejected: 'masked', requested: 'masked' });
    expect(Object.keys(strata(status, 'business-status')).sort()).toEqual(
      ['connected-to-service', 'contact-attempted', 'discharged', 'first-contact-made', 'none', 'plan-agreed', 'what-matters-conversation-held'].sort()
    );
    const rejected = groupOf(r, 'rejection-reason');
    expect(count(rejected)).toBe('masked');
    expect(strata(rejected, 'reason')).toEqual({ 'out-of-area': 'masked' });
  });

  test('onward activities by type and provider', async () => {
    const onward = groupOf(await report(period), 'onward-activity');
    // Gardening for r1..r8, the choir for r1 and r2.
    expect(count(onward)).toBe(10);
    expect(strata(onward, 'activity-type')).toEqual({ 'green-spaces': 8, 'arts-and-culture': 'masked' });
    expect(strata(onward, 'provider')).toEqual({ 'Green Leeds': 8, 'Sing Leeds': 'masked' });
  });

  test('days from referral to first contact, plan and completion come from Task history: median and quartiles, or suppressed', async () => {
    const r = await report(period);
    // First contact (first version at or past first-contact-made): r1 2, r2 3, r3 5, r4 1, r5 4, r6 6,
    // r7 8 (contact-attempted on day 3 is not contact), r8 10. Sorted 1 2 3 4 5 6 8 10:
    // median 4.5; Q1 at position 1.75 = 2.75; Q3 at position 5.25 = 6.5. r1..r3 are completed now:
    // their first contact is only in their history.
    const first = groupOf(r, 'days-to-first-contact');
    expect(count(first)).toBe(8);
    expect(first.measureScore).toMatchObject({ value: 4.5, code: 'd' });
    expect([quartile(first, 'q1'), quartile(first, 'q3')]).toEqual([2.75, 6.5]);
    // Plans agreed for r1..r5 (5) and completions r1..r3 (3): too few to show.
    for (const code of ['days-to-plan-agreed', 'days-to-completion']) {
      const g = groupOf(r, code);
      expect(count(g)).toBe('masked');
      expect(g.measureScore).toEqual(MASKED);
      expect(g.extension).toBeUndefined();
    }
  });

  test('paired ONS4 life satisfaction before and after', async () => {
    const r = await report(period);
    const life = groupOf(r, 'ons4-life-satisfaction');
    // r1..r8: before 4 5 3 6 2 5 4 7 (mean 4.5), after 7 6 8 6 5 7 4 9 (mean 6.5).
    expect(count(life)).toBe(8);
    expect(life.measureScore?.value).toBe(2);
    expect(life.extension?.map((e) => e.valueDecimal)).toEqual([4.5, 6.5]);
    expect(count(groupOf(r, 'ons4-worthwhile'))).toBe(0);
  });

  test('filters: owner organisation, referrer practice or PCN by ODS code, activity type', async () => {
    const referrals = async (filter: string) => count(groupOf(await report(`${period}&${filter}`), 'referrals'));
    expect(await referrals('owner=Organization/sp-service')).toBe(8);
    // lw-2 works for other-service: r9..r12 (4).
    expect(await referrals('owner=Organization/other-service')).toBe('masked');
    expect(await referrals('owner=Organization/nobody')).toBe(0);
    expect(await referrals('referrer=U12345')).toBe(9);
    expect(await referrals('referrer=Y11111')).toBe(8);
    expect(await referrals('referrer=Y22222')).toBe('masked');
    expect(await referrals('activityType=green-spaces')).toBe(8);
    expect(await referrals('activityType=arts-and-culture')).toBe('masked');
  }, 120000);

  test('CSV by content negotiation, with the same suppression', async () => {
    const res = await server.api.get(`/fhir/$activity-report?${period}`).set('Accept', 'text/csv');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    const lines = res.text.trim().split('\r\n');
    expect(lines[0]).toBe('group,stratifier,stratum,measure,value,suppressed');
    expect(lines).toEqual(
      expect.arrayContaining([
        'referrals,,,count,12,false',
        'referrals,source-of-referral,108161000000109,count,9,false',
        'referrals,source-of-referral,310434002,count,,true',
        'days-to-first-contact,,,median,4.5,false',
        'days-to-first-contact,,,q1,2.75,false',
        'days-to-completion,,,median,,true',
        'ons4-life-satisfaction,,,mean-change,2,false',
      ])
    );
    const viaFormat = await server.api.get(`/fhir/$activity-report?${period}&_format=csv`);
    expect(viaFormat.text).toBe(res.text);
  });

  test('the report carries no patient reference or identifier', async () => {
    const text = JSON.stringify(await report(period));
    expect(text).not.toMatch(/Patient\/|nhs-number|birthDate/);
  });

  test.each([
    ['no period', ''],
    ['a period end that is not a date', 'periodStart=2026-01-01&periodEnd=soon'],
    ['a period that ends before it starts', 'periodStart=2026-03-01&periodEnd=2026-01-01'],
    ['an unknown parameter', `${'periodStart=2026-01-01&periodEnd=2026-03-31'}&colour=blue`],
    ['an owner that is not a reference', `${'periodStart=2026-01-01&periodEnd=2026-03-31'}&owner=me`],
  ])('%s is a 400 with an OperationOutcome', async (_what, query) => {
    const res = await server.api.get(`/fhir/$activity-report?${query}`);
    expect([res.status, res.body.resourceType]).toEqual([400, 'OperationOutcome']);
  });

  // The period is searched a month at a time (journeys.ts): a referral whose authoredOn is a year overlaps every month.
  test('each referral of the period is counted once, one authored in a year as one on a day', async () => {
    const before = groupOf(await report(period), 'referrals');
    expect(count(before)).toBe(12);
    const r1 = (await server.store.readCurrent('ServiceRequest', 'r1'))?.resource as Resource;
    await loadHistory(server.store, [{ at: '2026-02-10T09:00:00Z', resource: { ...r1, id: 'r-in-2026', authoredOn: '2026' } as Resource }]);
    const after = groupOf(await report(period), 'referrals');
    expect(count(after)).toBe(13);
  });
});
