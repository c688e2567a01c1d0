// Importing an Open Referral UK directory through $import-directory: the
// mapping of every ORUK field DOMAIN.md section 7 names, idempotent re-import,
// deactivation of removed services, rejection of malformed ones, and the
// asynchronous request pattern.
import type { HealthcareService, Location, Organization, Parameters } from '@medplum/fhirtypes';
import { ORUK_SERVICE_ID } from '../src/directory/map';
import { startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { orukPage, orukService } from './support/oruk';

const BASE = 'https://social-prescribing.example.org/fhir';

interface Summary {
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  deactivated: number;
  rejected: number;
  wholeDirectory: boolean;
  rejections: { serviceId?: string; source: string; reason: string }[];
}

function summaryOf(p: Parameters): Summary {
  const value = (name: string) => p.parameter?.find((x) => x.name === name);
  const int = (name: string) => value(name)?.valueInteger as number;
  return {
    total: int('total'),
    created: int('created'),
    updated: int('updated'),
    unchanged: int('unchanged'),
    deactivated: int('deactivated'),
    rejected: int('rejected'),
    wholeDirectory: value('wholeDirectory')?.valueBoolean as boolean,
    rejections: (p.parameter ?? [])
      .filter((x) => x.name === 'rejection')
      .map((x) => Object.fromEntries((x.part ?? []).map((part) => [part.name, part.valueString])) as Summary['rejections'][number]),
  };
}

describe.each(storeTargets)('$import-directory [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  async function importSync(body: unknown, query = 'deactivate=false'): Promise<Summary> {
    const res = await server.api
      .post(`/fhir/$import-directory?${query}`)
      .set('Content-Type', 'application/json')
      .send(body as object);
    expect(res.status).toBe(200);
    return summaryOf(res.body as Parameters);
  }

  async function serviceByOrukId(id: string): Promise<HealthcareService> {
    const res = await server.api.get(`/fhir/HealthcareService?identifier=${encodeURIComponent(`${ORUK_SERVICE_ID}|${id}`)}`);
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(1);
    return res.body.entry[0].resource as HealthcareService;
  }

  async function read<T>(reference: string): Promise<T> {
    const res = await server.api.get(`/fhir/${reference}`);
    expect(res.status).toBe(200);
    return res.body as T;
  }

  test('maps every field of the ORUK mapping table to HealthcareService, Organization and Location', async () => {
    const oruk = orukService({
      name: 'Tuesday Singing for Wellbeing',
      description: 'An **open** choir for adults.',
      url: 'https://sing.example.org',
      email: 'hello@sing.example.org',
      organization: {
        id: 'org-sing-1',
        name: 'Harmony Trust',
        alternate_name: 'Harmony',
        email: 'office@harmony.example.org',
        website: 'https://harmony.example.org',
      },
      organization_id: 'org-sing-1',
      service_at_locations: [
        {
          id: 'sal-sing-1',
          location: {
            id: 'loc-sing-1',
            organization_id: 'org-sing-1',
            name: 'St Anne Community Hall',
            description: 'Step-free access',
            latitude: 52.9536,
            longitude: -1.1505,
            addresses: [
              { address_1: '12 Chapel Lane', address_2: 'Sneinton', city: 'Testford', state_province: 'Testshire', postal_code: 'TF2 4AB', country: 'GB' },
            ],
          },
          schedules: [{ id: 'sch-sal', freq: 'WEEKLY', byday: 'SA', opens_at: '10:00', closes_at: '11:30' }],
        },
      ],
      schedules: [
        { id: 'sch-1', freq: 'WEEKLY', byday: 'TU,TH', opens_at: '14:00', closes_at: '16:00:00' },
        { id: 'sch-2', freq: 'MONTHLY', byday: '1MO', opens_at: '18:00', closes_at: '20:00', description: 'First Monday of the month, evening session' },
      ],
      attributes: [
        { id: 'attr-1', taxonomy_term: { id: 'tt-1', code: 'music-singing', name: 'Music and singing', taxonomy: `${BASE}/CodeSystem/sp-directory-taxonomy` } },
        { id: 'attr-2', taxonomy_term: { id: 'tt-2', code: '1234', name: 'Leisure activities', taxonomy: 'https://example.org/lga-service-types' } },
      ],
      eligibility_description: 'Adults registered with a Testford GP',
      minimum_age: 18,
      maximum_age: 99,
      cost_options: [{ id: 'cost-1', option: 'Per session', amount: 3, currency: 'GBP', amount_description: 'First session free' }],
    });
    const inactive = orukService({ status: 'temporarily closed' });
    const summary = await importSync([oruk, inactive]);
    expect(summary).toMatchObject({ total: 2, created: 2, rejected: 0 });

    const hs = await serviceByOrukId(oruk.id);
    expect(hs.meta?.profile).toContain(`${BASE}/StructureDefinition/SPCommunityService`);
    expect(hs.identifier).toEqual([{ system: ORUK_SERVICE_ID, value: oruk.id }]);
    expect(hs.active).toBe(true);
    expect(hs.name).toBe('Tuesday Singing for Wellbeing');
    expect(hs.comment).toBe('An **open** choir for adults.');
    expect(hs.telecom).toEqual(
      expect.arrayContaining([
        { system: 'email', value: 'hello@sing.example.org' },
        { system: 'url', value: 'https://sing.example.org' },
      ])
    );
    // taxonomy terms -> category (every term) and type (the activity type of the directory taxonomy term)
    expect(hs.category).toEqual([
      { coding: [{ system: `${BASE}/CodeSystem/sp-directory-taxonomy`, code: 'music-singing', display: 'Music and singing' }], text: 'Music and singing' },
      { coding: [{ system: 'https://example.org/lga-service-types', code: '1234', display: 'Leisure activities' }], text: 'Leisure activities' },
    ]);
    expect(hs.type).toEqual([{ coding: [{ system: `${BASE}/CodeSystem/sp-activity-type`, code: 'arts-and-culture', display: 'Arts and culture' }] }]);
    // schedules -> availableTime (weekly) and availabilityExceptions (what availableTime cannot say)
    expect(hs.availableTime).toEqual([
      { daysOfWeek: ['tue', 'thu'], availableStartTime: '14:00:00', availableEndTime: '16:00:00' },
      { daysOfWeek: ['sat'], availableStartTime: '10:00:00', availableEndTime: '11:30:00' },
    ]);
    expect(hs.availabilityExceptions).toBe('First Monday of the month, evening session');
    // eligibility_description, minimum_age and maximum_age -> eligibility
    expect(hs.eligibility).toEqual([
      { code: { text: 'Eligibility' }, comment: 'Adults registered with a Testford GP' },
      { code: { text: 'Age range' }, comment: 'Ages 18 to 99' },
    ]);
    // cost_options -> extraDetails
    expect(hs.extraDetails).toBe('Costs:\n- Per session: £3.00: First session free');

    // organization_id -> providedBy, organization -> Organization
    const org = await read<Organization>(hs.providedBy?.reference as string);
    expect(hs.providedBy?.display).toBe('Harmony Trust');
    expect(org).toMatchObject({
      name: 'Harmony Trust',
      alias: ['Harmony'],
      active: true,
      identifier: [{ system: `${BASE}/Id/oruk-organization`, value: 'org-sing-1' }],
      telecom: [
        { system: 'email', value: 'office@harmony.example.org' },
        { system: 'url', value: 'https://harmony.example.org' },
      ],
    });
    // service_at_location -> location; location lat/long and address -> Location.position and address
    expect(hs.location).toHaveLength(1);
    const loc = await read<Location>(hs.location?.[0].reference as string);
    expect(loc).toMatchObject({
      name: 'St Anne Community Hall',
      description: 'Step-free access',
      status: 'active',
      identifier: [{ system: `${BASE}/Id/oruk-location`, value: 'loc-sing-1' }],
      position: { latitude: 52.9536, longitude: -1.1505 },
      address: { line: ['12 Chapel Lane', 'Sneinton'], city: 'Testford', district: 'Testshire', postalCode: 'TF2 4AB', country: 'GB' },
      managingOrganization: { reference: hs.providedBy?.reference },
    });

    // status other than active -> active=false
    expect((await serviceByOrukId(inactive.id)).active).toBe(false);
  });

  test('a service that only names its organization by organization_id is provided by the one imported before', async () => {
    const first = orukService();
    await importSync([first]);
    const second = orukService({ organization: null, organization_id: first.organization?.id });
    expect(await importSync([second])).toMatchObject({ created: 1, rejected: 0 });
    expect((await serviceByOrukId(second.id)).providedBy?.reference).toBe((await serviceByOrukId(first.id)).providedBy?.reference);
  });

  test('importing the same directory again changes nothing, and a changed service is updated', async () => {
    const services = [orukService(), orukService(), orukService()];
    // Another organization's service at the same venue: one Location, whichever service is imported first.
    const sameVenue = orukService({ service_at_locations: services[0].service_at_locations });
    const page = orukPage([...services, sameVenue]);
    expect(await importSync(page)).toMatchObject({ total: 4, created: 4, updated: 0, unchanged: 0, rejected: 0 });
    const before = await serviceByOrukId(services[0].id);
    expect((await serviceByOrukId(sameVenue.id)).location).toEqual(before.location);

    expect(await importSync(page)).toMatchObject({ total: 4, created: 0, updated: 0, unchanged: 4, deactivated: 0, rejected: 0 });
    expect(await importSync(orukPage([sameVenue, ...services].reverse()))).toMatchObject({ unchanged: 4 });
    expect((await serviceByOrukId(services[0].id)).meta?.versionId).toBe(before.meta?.versionId);
    const venue = await read<Location>(before.location?.[0].reference as string);
    expect(venue.meta?.versionId).toBe('1');

    const renamed = { ...services[1], name: 'Renamed group' };
    const movedLocation = JSON.parse(JSON.stringify(services[2]));
    movedLocation.service_at_locations[0].location.latitude = 52.95;
    expect(await importSync(orukPage([services[0], renamed, movedLocation]))).toMatchObject({ created: 0, updated: 2, unchanged: 1 });
    const updated = await serviceByOrukId(services[1].id);
    expect(updated.name).toBe('Renamed group');
    expect(updated.meta?.versionId).toBe('2');
    const location = await read<Location>((await serviceByOrukId(services[2].id)).location?.[0].reference as string);
    expect(location.position?.latitude).toBe(52.95);
  });

  test('a malformed service is rejected with a clear reason and the rest are imported', async () => {
    const good = [orukService(), orukService()];
    const badAge = { ...orukService(), minimum_age: 'eighteen' };
    const noName = { ...orukService(), name: undefined };
    const badStatus = { ...orukService(), status: 'open' };
    const unknownOrganization = orukService({ organization: null, organization_id: 'org-never-seen' });
    // Valid ORUK, but not valid FHIR: a code with two spaces inside.
    const badCode = orukService({ taxonomy_terms: [{ id: 'tt-bad', code: 'two  spaces', name: 'Bad', taxonomy: 'https://example.org/tax' }] });
    const summary = await importSync([good[0], badAge, noName, badStatus, unknownOrganization, badCode, good[1]]);
    expect(summary).toMatchObject({ total: 7, created: 2, rejected: 5 });
    const reason = (id: string) => summary.rejections.find((r) => r.serviceId === id)?.reason;
    expect(reason(badAge.id)).toBe('Not a valid ORUK service: minimum_age must be number,null');
    expect(reason(noName.id)).toBe("Not a valid ORUK service: (record) must have required property 'name'");
    expect(reason(badStatus.id)).toBe(
      'Not a valid ORUK service: status must be equal to one of the allowed values (active, inactive, defunct, temporarily closed)'
    );
    expect(reason(unknownOrganization.id)).toMatch(/organization org-never-seen is neither in the service record nor imported before/);
    expect(reason(badCode.id)).toMatch(/HealthcareService\.category/);
    expect(summary.rejections.find((r) => r.serviceId === badAge.id)?.source).toBe('request body[1]');
    for (const s of good) expect((await serviceByOrukId(s.id)).active).toBe(true);
  });

  test('kick-off with Prefer: respond-async answers 202 and Content-Location; polling gives progress, then the summary', async () => {
    const services = Array.from({ length: 150 }, () => orukService());
    const kick = await server.api
      .post('/fhir/$import-directory?deactivate=false')
      .set('Content-Type', 'application/json')
      .set('Prefer', 'respond-async')
      .send(orukPage(services));
    expect(kick.status).toBe(202);
    expect(kick.body.resourceType).toBe('OperationOutcome');
    const location = kick.headers['content-location'] as string;
    expect(location).toMatch(/^http:\/\/fhir\.test\/fhir\/\$import-directory\?_jobId=[0-9a-f-]{36}$/);
    const path = location.replace('http://fhir.test', '');

    const first = await server.api.get(path);
    expect(first.status).toBe(202);
    expect(first.headers['x-progress']).toMatch(/^\d+\/\d+ services \(created \d+, updated \d+, unchanged \d+, rejected \d+\)$/);

    let done = first;
    for (let i = 0; i < 300 && done.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = await server.api.get(path);
    }
    expect(done.status).toBe(200);
    expect(summaryOf(done.body as Parameters)).toMatchObject({ total: 150, created: 150, rejected: 0 });
    // The job is kept in the store, not as a resource: no history grows with its saves.
    const jobId = location.split('_jobId=')[1];
    expect(JSON.parse((await server.store.readJob('directory-import', jobId))?.data ?? '{}').status).toBe('completed');
    expect((await server.api.get(`/fhir/Basic/import-directory-${jobId}`)).status).toBe(404);
  });

  test('polling needs a known job, and the body must be ORUK JSON', async () => {
    expect((await server.api.get('/fhir/$import-directory')).status).toBe(400);
    const unknown = await server.api.get('/fhir/$import-directory?_jobId=00000000-0000-0000-0000-000000000000');
    expect(unknown.status).toBe(404);
    expect(unknown.body.resourceType).toBe('OperationOutcome');
    const notJson = await server.api.post('/fhir/$import-directory').set('Content-Type', 'application/json').send('"a string"');
    expect(notJson.status).toBe(400);
    const badFlag = await server.api.post('/fhir/$import-directory?deactivate=maybe').set('Content-Type', 'application/json').send([]);
    expect(badFlag.status).toBe(400);
    expect(badFlag.body.issue[0].expression).toEqual(['deactivate']);
  });
});

describe.each(storeTargets)('deactivation of removed services [$name]', (target) => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startServer(target);
  });
  afterEach(async () => {
    await server.stop();
  });

  const post = async (body: unknown, query = '') =>
    summaryOf(
      (
        await server.api
          .post(`/fhir/$import-directory${query}`)
          .set('Content-Type', 'application/json')
          .send(body as object)
      ).body as Parameters
    );

  test('a service gone from the directory is marked inactive, not deleted; it comes back active when it returns', async () => {
    const [a, b, c] = [orukService(), orukService(), orukService()];
    await post(orukPage([a, b, c]));
    const summary = await post(orukPage([a, b]));
    expect(summary).toMatchObject({ unchanged: 2, deactivated: 1, wholeDirectory: true });
    const res = await server.api.get(`/fhir/HealthcareService?identifier=${encodeURIComponent(`${ORUK_SERVICE_ID}|${c.id}`)}`);
    expect(res.body.entry[0].resource.active).toBe(false);
    expect((await server.api.get(`/fhir/HealthcareService/${res.body.entry[0].resource.id}`)).status).toBe(200);
    // Already inactive: not counted again.
    expect(await post(orukPage([a, b]))).toMatchObject({ unchanged: 2, deactivated: 0 });
    expect(await post(orukPage([a, b, c]))).toMatchObject({ unchanged: 2, updated: 1, deactivated: 0 });
  });

  test('part of a paged directory, a rejected service, or deactivate=false deactivate nothing', async () => {
    const [a, b, c] = [orukService(), orukService(), orukService()];
    await post([a, b, c]);
    expect(await post(orukPage([a], 1, 2))).toMatchObject({ unchanged: 1, deactivated: 0, wholeDirectory: false });
    expect(await post([a, b], '?deactivate=false')).toMatchObject({ unchanged: 2, deactivated: 0 });
    // c is still in the directory, only malformed this time.
    expect(await post([a, b, { ...c, status: 'gone' }])).toMatchObject({ unchanged: 2, rejected: 1, deactivated: 0 });
    expect(await post([orukPage([a], 1, 2), orukPage([b, c], 2, 2)].flatMap((p) => p.contents as unknown[]))).toMatchObject({ unchanged: 3 });
  });

  const postRaw = (body: unknown, query = '') =>
    server.api
      .post(`/fhir/$import-directory${query}`)
      .set('Content-Type', 'application/json')
      .send(body as object);
  const activeServices = async () => (await server.api.get('/fhir/HealthcareService?active=true&_summary=count')).body.total as number;

  test('a body that is not ORUK JSON is refused whole with 400, and nothing is deactivated', async () => {
    await post(orukPage([orukService(), orukService(), orukService()]));
    expect(await activeServices()).toBe(3);
    for (const body of [{ hello: 'world' }, [1, 2, 3], [{ hello: 'world' }], { contents: 'not a list' }, { id: 'x' }]) {
      const res = await postRaw(body);
      expect(res.status).toBe(400);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.body.issue[0].diagnostics).toMatch(/ORUK|not a valid ORUK \/services page/);
    }
    expect(await activeServices()).toBe(3);
  });

  test('a whole directory with under 90% of its services accepted deactivates nothing, and says why', async () => {
    const services = Array.from({ length: 5 }, () => orukService());
    await post(services);
    const res = await postRaw([services[0], { ...services[1], status: 'gone' }]);
    expect(res.status).toBe(200);
    const skipped = (res.body as Parameters).parameter?.find((p) => p.name === 'deactivationSkipped')?.valueString;
    expect(skipped).toMatch(/only 1 of 2 services were accepted \(90% are needed/);
    expect(summaryOf(res.body as Parameters)).toMatchObject({ unchanged: 1, rejected: 1, deactivated: 0 });
    expect(await activeServices()).toBe(5);
    // The share is configurable: 90% by default, DIRECTORY_MIN_ACCEPTED_PERCENT to change it.
    expect(summaryOf((await postRaw(services.slice(0, 4))).body as Parameters)).toMatchObject({ unchanged: 4, deactivated: 1 });
  });

  test('dryRun=true reports what would change and writes nothing', async () => {
    const [a, b, c, d] = [orukService(), orukService(), orukService(), orukService()];
    await post([a, b, c]);
    const changedB = { ...b, name: 'Renamed service' };
    const res = await postRaw([a, changedB, d], '?dryRun=true');
    expect(res.status).toBe(200);
    expect((res.body as Parameters).parameter?.find((p) => p.name === 'dryRun')?.valueBoolean).toBe(true);
    expect(summaryOf(res.body as Parameters)).toMatchObject({ unchanged: 1, updated: 1, created: 1, deactivated: 1 });
    // Nothing was written: d is unknown, b keeps its name, c is still active.
    const find = async (id: string) => (await server.api.get(`/fhir/HealthcareService?identifier=${encodeURIComponent(`${ORUK_SERVICE_ID}|${id}`)}`)).body;
    expect((await find(d.id)).total).toBe(0);
    expect((await find(b.id)).entry[0].resource.name).toBe(b.name);
    expect((await find(c.id)).entry[0].resource.active).toBe(true);
    expect((await find(b.id)).entry[0].resource.meta.versionId).toBe('1');
    expect((await postRaw([a], '?dryRun=perhaps')).status).toBe(400);
  });
});

describe.each(storeTargets)('directory import jobs: progress and expiry [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    // A short lease makes the job sweep (which removes expired jobs) run every few hundred milliseconds.
    server = await startServer(target, { DIRECTORY_IMPORT_BATCH: '10', DIRECTORY_IMPORT_RETENTION_SECONDS: '1', DIRECTORY_IMPORT_LEASE_SECONDS: '1' });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('X-Progress counts services as the job goes; the finished job expires with its stored input', async () => {
    const SERVICES = 60;
    const kick = await server.api
      .post('/fhir/$import-directory?deactivate=false')
      .set('Content-Type', 'application/json')
      .set('Prefer', 'respond-async')
      .send(orukPage(Array.from({ length: SERVICES }, () => orukService())));
    expect(kick.status).toBe(202);
    const location = kick.headers['content-location'] as string;
    const path = location.replace('http://fhir.test', '');
    const jobId = location.split('_jobId=')[1];
    const seen: number[] = [];
    let res = await server.api.get(path);
    for (let i = 0; i < 2000 && res.status === 202; i++) {
      const [processed, total] = (res.headers['x-progress'] as string).split(' ')[0].split('/').map(Number);
      expect(total === 0 || total === SERVICES).toBe(true);
      seen.push(processed);
      await new Promise((r) => setTimeout(r, 10));
      res = await server.api.get(path);
    }
    expect(res.status).toBe(200);
    // Never backwards, and seen part-way at least once.
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(seen.some((n) => n > 0 && n < SERVICES)).toBe(true);
    expect(summaryOf(res.body as Parameters)).toMatchObject({ total: SERVICES, created: SERVICES });

    const deadline = Date.now() + 15000;
    while (Date.now() < deadline && (await server.api.get(path)).status === 200) await new Promise((r) => setTimeout(r, 200));
    const gone = await server.api.get(path);
    expect([gone.status, gone.body.resourceType]).toEqual([404, 'OperationOutcome']);
    expect(await server.store.readJob('directory-import', jobId)).toBeUndefined();
    expect(await server.store.readExportChunk(jobId, 'directory-import-input', 0)).toBeUndefined();
    // What it imported stays.
    expect((await server.api.get(`/fhir/HealthcareService?identifier=${encodeURIComponent(`${ORUK_SERVICE_ID}|`)}&_summary=count`)).body.total).toBe(SERVICES);
  }, 60000);
});
