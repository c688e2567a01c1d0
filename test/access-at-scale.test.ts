// A service's access does not depend on how much it has done: with 6,000 Tasks
// owned by one link worker's service, its link workers read and search their
// patients (200), see exactly those, and another service's link workers see
// none of them. Visibility is one equality on the grants written with the
// data, so there is no cap to reach. On every store; the data are written
// through Bundles, a few hundred entries at a time.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { defaultScopes } from '../src/auth/roles';
import { NHS_NUMBER_SYSTEM, organization, patient, referral, task } from './support/resources';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const TASKS = 6000;
const PATIENTS = 120;
const OTHER_PATIENTS = 3;
const BATCH = 300;
/** Batches sent at once where each entry is its own commit (a store without transactions). */
const PARALLEL_BATCHES = 4;
/** Without transactions each Task is a commit of its own: on a busy FerretDB the seeding alone takes over a quarter of an hour. */
const SEEDING_TIMEOUT_MS = 1_800_000;
/** Test NHS numbers with a valid check digit (DOMAIN.md); patients may share one here. */
const NHS_NUMBERS = ['9434765919', '9476719931', '9990000018', '9990000026'];

describe.each(storeTargets)('access with 6,000 Tasks for one service [$name]', (target) => {
  let server: TestServer;
  let linkWorker: string;
  let otherLinkWorker: string;
  const own: string[] = [];
  const others: string[] = [];

  async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    if (res.status !== 201) throw new Error(`${resource.resourceType}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /**
   * Creates the resources through Bundles of a few hundred entries: a
   * transaction each where the store has them (one commit), otherwise batches,
   * several at once; returns their ids in order.
   */
  async function createAll(resources: Resource[]): Promise<string[]> {
    const transactions = server.store.supportsTransactions;
    const chunks: Resource[][] = [];
    for (let i = 0; i < resources.length; i += BATCH) chunks.push(resources.slice(i, i + BATCH));
    const ids: string[][] = [];
    const post = async (n: number): Promise<void> => {
      const entry: BundleEntry[] = chunks[n].map((resource) => ({ resource, request: { method: 'POST', url: resource.resourceType } }));
      const res = await server.api
        .post('/fhir')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Bundle', type: transactions ? 'transaction' : 'batch', entry });
      if (res.status !== 200) throw new Error(`Bundle: ${res.status} ${JSON.stringify(res.body).slice(0, 500)}`);
      ids[n] = ((res.body as Bundle).entry ?? []).map((e) => {
        if (!e.response?.status.startsWith('201')) throw new Error(`Bundle entry: ${JSON.stringify(e.response)}`);
        return (e.response.location as string).split('/')[1];
      });
    };
    const parallel = transactions ? 1 : PARALLEL_BATCHES;
    for (let n = 0; n < chunks.length; n += parallel) await Promise.all(chunks.slice(n, n + parallel).map((_, k) => post(n + k)));
    return ids.flat();
  }

  beforeAll(async () => {
    server = await startServer(target);
    const gp = await create(organization('A81001'));
    const org1 = await create(organization('S10001'));
    const org2 = await create(organization('S20002'));
    const service = (org: string, name: string) =>
      create({
        resourceType: 'HealthcareService',
        identifier: [{ system: 'https://directory.example.org/id', value: name }],
        active: true,
        name,
        providedBy: { reference: `Organization/${org}` },
      } as Resource);
    const service1 = await service(org1.id, 'Link workers, north');
    const service2 = await service(org2.id, 'Link workers, south');
    const patients = Array.from({ length: PATIENTS + OTHER_PATIENTS }, (_, i) =>
      patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_NUMBERS[i % NHS_NUMBERS.length] }], name: [{ family: `Patient${i}` }] })
    );
    const patientIds = await createAll(patients);
    own.push(...patientIds.slice(0, PATIENTS).map((id) => `Patient/${id}`));
    others.push(...patientIds.slice(PATIENTS).map((id) => `Patient/${id}`));
    // Plain referrals (no SP referral code), so each store writes them without a Task of their own.
    const referrals = await createAll(
      patientIds.map((id) => ({ ...referral(`Patient/${id}`, `Organization/${gp.id}`), code: { text: 'Community support' } }) as Resource)
    );
    const tasks: Resource[] = [];
    for (let i = 0; i < TASKS; i++) {
      const n = i % PATIENTS;
      tasks.push(
        task(`ServiceRequest/${referrals[n]}`, `Patient/${patientIds[n]}`, `Organization/${gp.id}`, {
          owner: { reference: `HealthcareService/${service1.id}` },
        })
      );
    }
    for (let n = PATIENTS; n < PATIENTS + OTHER_PATIENTS; n++) {
      tasks.push(
        task(`ServiceRequest/${referrals[n]}`, `Patient/${patientIds[n]}`, `Organization/${gp.id}`, {
          owner: { reference: `HealthcareService/${service2.id}` },
        })
      );
    }
    await createAll(tasks);
    const claims = (ods: string) => ({ sub: `link-worker-${ods}`, sp_role: 'link-worker', scope: defaultScopes('link-worker'), ods_code: ods });
    linkWorker = await tokenFor(claims('S10001'));
    otherLinkWorker = await tokenFor(claims('S20002'));
  }, SEEDING_TIMEOUT_MS);
  afterAll(async () => {
    await server.stop();
  });

  const get = (token: string, path: string) => server.anonymous.get(`/fhir/${path}`).set('Authorization', `Bearer ${token}`);
  const matches = (bundle: Bundle) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => `Patient/${e.resource?.id}`);

  test('the service owns all 6,000 Tasks', async () => {
    const res = await get(linkWorker, 'Task?_summary=count');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(TASKS);
  });

  test('its link worker searches its patients with 200 and sees exactly them', async () => {
    const res = await get(linkWorker, 'Patient?_count=200');
    expect(res.status).toBe(200);
    expect(res.body.total).toBe(PATIENTS);
    expect(matches(res.body).sort()).toEqual([...own].sort());
  });

  test('its link worker reads each of its patients with 200, and another service’s as unknown', async () => {
    for (const ref of own.slice(0, 10)) expect((await get(linkWorker, ref)).status).toBe(200);
    for (const ref of others) expect((await get(linkWorker, ref)).status).toBe(404);
  });

  test('another service’s link worker sees none of them', async () => {
    const res = await get(otherLinkWorker, 'Patient?_count=200');
    expect(res.status).toBe(200);
    expect(matches(res.body).sort()).toEqual([...others].sort());
    for (const ref of own.slice(0, 10)) expect((await get(otherLinkWorker, ref)).status).toBe(404);
    expect((await get(otherLinkWorker, 'Task?_summary=count')).body.total).toBe(OTHER_PATIENTS);
  });
});
