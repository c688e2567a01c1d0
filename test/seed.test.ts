// The demonstration dataset (npm run seed): what a link worker finds in it.
// Services near a postcode centroid by activity type come nearest first; each
// referral stands at its stage with its Task (and plan, once agreed).
import type { Bundle, BundleEntry, HealthcareService, Location, Resource } from '@medplum/fhirtypes';
import { seed, type SeedReport } from '../src/cli/seed';
import { startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

/** MB1 (Millbrook town centre) postcode centroid, as in the README quick start. */
const MB1 = '52.9|-1.45';

describe.each(storeTargets)('seeded demonstration dataset [$name]', (target) => {
  let server: TestServer;
  let report: SeedReport;
  beforeAll(async () => {
    server = await startServer(target);
    report = await seed(server.app.fhir);
  }, 120_000);
  afterAll(async () => {
    await server.stop();
  });

  async function search(path: string): Promise<Bundle> {
    const res = await server.api.get(path);
    expect(res.status).toBe(200);
    return res.body as Bundle;
  }
  const resources = <T extends Resource>(b: Bundle, type: string, mode = 'match'): T[] =>
    (b.entry ?? []).filter((e: BundleEntry) => e.resource?.resourceType === type && e.search?.mode === mode).map((e) => e.resource as T);

  test('loads the whole directory of at least 40 services across the activity types', async () => {
    expect(report.directory).toMatchObject({ created: 46, rejected: 0, wholeDirectory: true });
    for (const activity of [
      'arts-and-culture',
      'physical-activity',
      'befriending',
      'debt-and-money-advice',
      'housing-advice',
      'carers-support',
      'green-spaces',
    ]) {
      const b = await search(`/fhir/HealthcareService?activity-type=${activity}&_summary=count`);
      expect([activity, b.total]).toEqual([activity, expect.any(Number)]);
      expect(b.total).toBeGreaterThanOrEqual(2);
    }
  });

  test('services near the MB1 centroid by activity type come nearest first', async () => {
    const b = await search(`/fhir/HealthcareService?location.near=${MB1}|5|km&activity-type=physical-activity&active=true&_include=HealthcareService:location`);
    const services = resources<HealthcareService>(b, 'HealthcareService');
    const locations = new Map(resources<Location>(b, 'Location', 'include').map((l) => [`Location/${l.id}`, l.name]));
    // Services at the same venue are equally near (their order among themselves is by id).
    expect(services.map((s) => locations.get(s.location?.[0].reference as string))).toEqual([
      'Millbrook Town Hall',
      'Millbrook Central Library',
      'Riverside Park Pavilion',
      'Riverside Park Pavilion',
      'Riverside Park Pavilion',
      'Millbrook Leisure Centre',
      'Millbrook Leisure Centre',
      'Millbrook Leisure Centre',
      'Northfield Community Centre',
    ]);
    expect(services.slice(0, 2).map((s) => s.name)).toEqual(['Tea Dance at the Town Hall', 'Healthy Walks Millbrook']);
    expect(new Set(services.slice(2, 5).map((s) => s.name))).toEqual(new Set(['Riverside Nordic Walking', 'Wildlife Walks', 'Pedal Power Cycling Group']));
    expect(b.total).toBe(9);

    // A service may have several activity types: Nordic walking is physical activity and green space.
    const green = await search(`/fhir/HealthcareService?location.near=${MB1}|2|km&activity-type=green-spaces&_include=HealthcareService:location`);
    const greenVenues = new Map(resources<Location>(green, 'Location', 'include').map((l) => [`Location/${l.id}`, l.name]));
    const greenServices = resources<HealthcareService>(green, 'HealthcareService');
    expect(greenServices.map((s) => greenVenues.get(s.location?.[0].reference as string))).toEqual([
      'Riverside Park Pavilion',
      'Riverside Park Pavilion',
      'Riverside Park Pavilion',
      'Hollins Lane Allotments',
    ]);
    expect(greenServices[3].name).toBe('Hollins Lane Community Allotment');
  });

  test('practices carry ODS codes and link workers their role', async () => {
    const practices = await search('/fhir/Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|&_summary=count');
    expect(practices.total).toBe(5);
    const linkWorkers = await search(
      '/fhir/PractitionerRole?role=https://social-prescribing.example.org/fhir/CodeSystem/sp-local-concepts|link-worker&_summary=count'
    );
    expect(linkWorkers.total).toBe(3);
  });

  // Storing a referral with its Task needs transactions: a MongoDB without them (FerretDB) gets no referrals, and is told why.
  test('referrals stand at every stage, each with its Task', async () => {
    if (!server.store.supportsTransactions) {
      expect(report).toMatchObject({ referrals: 0, referralsSkipped: expect.stringMatching(/multi-document transactions/) });
      return;
    }
    expect(report.referrals).toBe(11);
    const statuses = (await search('/fhir/Task?_count=100')).entry?.map((e) => (e.resource as { status: string }).status).sort();
    expect(statuses).toEqual([
      'accepted',
      'cancelled',
      'completed',
      'failed',
      'in-progress',
      'in-progress',
      'in-progress',
      'on-hold',
      'rejected',
      'requested',
      'requested',
    ]);
    expect((await search('/fhir/Task?owner:missing=true&status=requested&_summary=count')).total).toBe(1);
    const plan = await search('/fhir/Task?business-status=plan-agreed&_summary=count');
    expect(plan.total).toBe(1);
  });

  test('a completed referral with its Task and personalised plan', async () => {
    if (!server.store.supportsTransactions) {
      expect((await server.api.get('/fhir/ServiceRequest/seed-referral-8')).status).toBe(404);
      return;
    }
    const b = await search('/fhir/ServiceRequest?_id=seed-referral-8&_revinclude=Task:focus&_revinclude=CarePlan:referral');
    expect(resources(b, 'ServiceRequest')[0]).toMatchObject({ status: 'completed' });
    const [task] = resources<Resource & { status: string; output: { valueReference: { reference: string } }[] }>(b, 'Task', 'include');
    const [plan] = resources(b, 'CarePlan', 'include');
    expect(task.status).toBe('completed');
    expect(task.output[0].valueReference.reference).toBe(`CarePlan/${plan.id}`);
  });

  test('seeding again adds nothing', async () => {
    const again = await seed(server.app.fhir);
    expect(again.directory).toMatchObject({ created: 0, updated: 0, unchanged: 46, deactivated: 0 });
    expect(again.created).toBe(0);
    expect(again.referrals).toBe(0);
    expect((await search('/fhir/Task?_summary=count')).total).toBe(server.store.supportsTransactions ? 11 : 0);
  });
});
