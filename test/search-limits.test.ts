// The bounds of chained, _include/_revinclude and near searches are
// configuration (SEARCH_*): the same searches over the same data answer
// differently on a server started with lower limits, and a bad value stops
// the server at start.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { ConfigError, loadConfig } from '../src/config';
import { patient } from './support/resources';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const LOWER = {
  SEARCH_INCLUDE_LIMIT: '2',
  SEARCH_INCLUDE_ITERATIONS: '0',
  SEARCH_CHAIN_LIMIT: '2',
  SEARCH_NEAR_LIMIT: '2',
  SEARCH_NEAR_DEFAULT_KM: '1',
};

/** Where the Locations are measured from: one 0.5 km away, two 3-4 km away. */
const CENTRE = { latitude: 52.9, longitude: -1.45 };

describe.each(storeTargets)('search limits from the configuration [$name]', (target) => {
  let defaults: TestServer;
  let lower: TestServer;
  const firstObservation = new Map<TestServer, string>();
  const firstPatient = new Map<TestServer, string>();

  async function post(server: TestServer, resource: Resource): Promise<string> {
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  /** Three patients of one GP, three Observations of the first, three Locations. */
  async function seed(server: TestServer): Promise<void> {
    const gp = await post(server, { resourceType: 'Practitioner', name: [{ family: 'Gee' }] });
    const patients: string[] = [];
    for (let i = 0; i < 3; i++) {
      patients.push(await post(server, patient({ name: [{ family: 'Limitson' }], generalPractitioner: [{ reference: `Practitioner/${gp}` }] })));
    }
    firstPatient.set(server, patients[0]);
    for (let i = 0; i < 3; i++) {
      const id = await post(server, {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'wellbeing' },
        subject: { reference: `Patient/${patients[0]}` },
      });
      if (i === 0) firstObservation.set(server, id);
    }
    for (const [name, northKm] of [
      ['Near hall', 0.5],
      ['Far hall', 3],
      ['Farther hall', 4],
    ] as const) {
      await post(server, { resourceType: 'Location', name, position: { latitude: CENTRE.latitude + northKm / 111.32, longitude: CENTRE.longitude } });
    }
  }

  beforeAll(async () => {
    defaults = await startServer(target);
    lower = await startServer(target, LOWER);
    await seed(defaults);
    await seed(lower);
  }, 120000);
  afterAll(async () => {
    await defaults?.stop();
    await lower?.stop();
  });

  const search = async (server: TestServer, query: string, status = 200): Promise<Bundle> => {
    const res = await server.api.get(`/fhir/${query}`);
    expect(res.status).toBe(status);
    return res.body as Bundle;
  };
  const modes = (bundle: Bundle, mode: 'match' | 'include' | 'outcome') => (bundle.entry ?? []).filter((e) => e.search?.mode === mode);

  test('SEARCH_INCLUDE_LIMIT caps what _revinclude adds, with a warning', async () => {
    const query = (server: TestServer) => `Patient?_id=${firstPatient.get(server)}&_revinclude=Observation:subject`;
    // The patient's three Observations.
    expect(modes(await search(defaults, query(defaults)), 'include')).toHaveLength(3);
    const capped = await search(lower, query(lower));
    expect(modes(capped, 'include')).toHaveLength(2);
    expect(JSON.stringify(modes(capped, 'outcome'))).toContain('Included resources were capped at 2');
  });

  test('SEARCH_INCLUDE_ITERATIONS bounds the rounds of _include:iterate', async () => {
    const query = (server: TestServer) =>
      `Observation?_id=${firstObservation.get(server)}&_include=Observation:subject&_include:iterate=Patient:general-practitioner`;
    const types = (bundle: Bundle) => modes(bundle, 'include').map((e) => e.resource?.resourceType);
    expect(types(await search(defaults, query(defaults))).sort()).toEqual(['Patient', 'Practitioner']);
    expect(types(await search(lower, query(lower)))).toEqual(['Patient']);
  });

  test('SEARCH_CHAIN_LIMIT refuses a chain that selects more resources', async () => {
    expect((await search(defaults, 'Observation?subject:Patient.family=Limitson')).total).toBe(3);
    const refused = await lower.api.get('/fhir/Observation?subject:Patient.family=Limitson');
    expect([refused.status, refused.body.issue?.[0]?.code]).toEqual([400, 'not-supported']);
    expect(refused.body.issue[0].diagnostics).toMatch(/more than 2 Patient resources/);
  });

  test('SEARCH_NEAR_LIMIT refuses an area holding more resources; SEARCH_NEAR_DEFAULT_KM is the distance when none is given', async () => {
    const point = `${CENTRE.latitude}|${CENTRE.longitude}`;
    expect((await search(defaults, `Location?near=${point}|10|km`)).total).toBe(3);
    const refused = await lower.api.get(`/fhir/Location?near=${point}|10|km`);
    expect([refused.status, refused.body.issue?.[0]?.diagnostics]).toEqual([400, expect.stringMatching(/More than 2 resources lie in that area/)]);
    // No distance: 50 km by default, 1 km on the lower server.
    expect((await search(defaults, `Location?near=${point}`)).total).toBe(3);
    const near = await search(lower, `Location?near=${point}`);
    expect(modes(near, 'match').map((e) => (e.resource as { name?: string }).name)).toEqual(['Near hall']);
  });
});

describe('job and search settings are checked at start', () => {
  test.each([
    ['SEARCH_INCLUDE_LIMIT', '0'],
    ['SEARCH_CHAIN_LIMIT', 'many'],
    ['SEARCH_INCLUDE_ITERATIONS', '-1'],
    ['SEARCH_NEAR_LIMIT', '1.5'],
    ['SEARCH_NEAR_DEFAULT_KM', '0'],
    ['DIRECTORY_IMPORT_BATCH', '0'],
    ['DIRECTORY_IMPORT_LEASE_SECONDS', 'soon'],
    ['DIRECTORY_IMPORT_RETENTION_SECONDS', '0'],
  ])('%s=%s stops the server with a message naming it', (name, value) => {
    expect(() => loadConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [name]: value })).toThrow(new RegExp(`${name}=`));
  });

  test('unset, each takes its default, the value the server had before it was configurable', () => {
    const config = loadConfig({});
    expect(config.searchLimits).toEqual({ chain: 1000, include: 1000, includeIterations: 4, near: 10000, nearDefaultKm: 50 });
    expect(config.directoryImport).toEqual({ leaseSeconds: 30, retentionSeconds: 86400, batchSize: 100 });
    expect([config.reindex.batchSize, config.reindex.leaseSeconds, config.exportLeaseSeconds, config.exportRetentionSeconds]).toEqual([200, 30, 30, 3600]);
  });
});
