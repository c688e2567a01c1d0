// A SearchParameter created at runtime: existing resources are reindexed in
// the background, progress is readable, and the parameter is refused as not
// yet searchable until the job ends; then it finds old and new resources alike.
import type { BundleEntry, Resource } from '@medplum/fhirtypes';
import { loadBaseDefinitions } from '../src/base/definitions';
import { loadHistory } from './support/history';
import { eventually } from './support/receiver';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { favouriteActivityParameter, patientWithActivity } from './support/favourite-activity';

const patient = (activity: string) => patientWithActivity(activity, 'Reindex');

describe.each(storeTargets)('custom SearchParameter [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  // SearchParameters are process-wide; each store's run uses a code of its own.
  const code = `favourite-activity-${target.name}`;

  test('is reindexed in the background, then searchable over old and new resources', async () => {
    // FerretDB updates a document in tens of milliseconds, so its run is smaller (still more than one batch of 200 on the embedded store).
    const size = target.name === 'mongodb' ? 90 : 450;
    const activities = Array.from({ length: size }, (_, i) => (i % 3 === 0 ? 'gardening' : i % 3 === 1 ? 'choir' : 'walking'));
    const batch = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'batch', entry: activities.map((a) => ({ resource: patient(a), request: { method: 'POST', url: 'Patient' } })) });
    expect(batch.body.entry.every((e: BundleEntry) => e.response?.status === '201 Created')).toBe(true);

    const before = await server.api.get(`/fhir/Patient?${code}=garden`);
    expect(before.status).toBe(400);

    const created = await server.api.post('/fhir/SearchParameter').set('Content-Type', FHIR_JSON).send(favouriteActivityParameter(code));
    expect(created.status).toBe(201);
    const id = created.body.id;

    const pending = await server.api.get(`/fhir/Patient?${code}=garden`);
    expect(pending.status).toBe(400);
    expect(pending.body.issue[0].diagnostics).toMatch(/not yet searchable/);

    let status = '';
    for (let i = 0; i < 600 && status !== 'completed'; i++) {
      const res = await server.api.get(`/fhir/SearchParameter/${id}/$reindex`);
      expect(res.status).toBe(200);
      status = res.body.parameter.find((p: { name: string }) => p.name === 'status').valueCode;
      const processed = res.body.parameter.find((p: { name: string }) => p.name === 'processed').valueInteger;
      const total = res.body.parameter.find((p: { name: string }) => p.name === 'total').valueInteger;
      expect(processed).toBeLessThanOrEqual(total);
      if (status !== 'completed') await new Promise((r) => setTimeout(r, 50));
    }
    expect(status).toBe('completed');

    await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient('gardening')).expect(201);
    const found = await server.api.get(`/fhir/Patient?${code}=garden&_summary=count`);
    expect(found.status).toBe(200);
    expect(found.body.total).toBe(Math.ceil(size / 3) + 1);
    const meta = (await server.api.get('/fhir/metadata')).body;
    const params = meta.rest[0].resource.find((r: { type: string }) => r.type === 'Patient').searchParam.map((p: { name: string }) => p.name);
    expect(params).toContain(code);
  }, 120000);

  test("its reindex job can be read as soon as the parameter's write is answered", async () => {
    // The job is stored before the 201: a client that asks at once is never told there is none.
    // Job records are made slow to store (as under load), which makes the race certain to show.
    const writeJob = server.store.writeJob.bind(server.store);
    server.store.writeJob = async (...args) => {
      await new Promise((r) => setTimeout(r, 300));
      return writeJob(...args);
    };
    try {
      for (let i = 0; i < 3; i++) {
        // On a type this suite stores none of: the jobs have nothing to reindex.
        const parameter = { ...favouriteActivityParameter(`${code}-at-once-${i}`), base: ['Flag'], expression: 'Flag.extension.value' };
        const created = await server.api.post('/fhir/SearchParameter').set('Content-Type', FHIR_JSON).send(parameter);
        expect(created.status).toBe(201);
        const res = await server.api.get(`/fhir/SearchParameter/${created.body.id}/$reindex`);
        expect(res.status).toBe(200);
        expect(res.body.parameter.find((p: { name: string }) => p.name === 'status').valueCode).toMatch(/^(in-progress|completed)$/);
      }
    } finally {
      server.store.writeJob = writeJob;
    }
  }, 60000);

  test('a SearchParameter whose code could not name an index field is refused', async () => {
    const res = await server.api
      .post('/fhir/SearchParameter')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'SearchParameter',
        url: 'urn:bad',
        name: 'bad',
        status: 'active',
        description: 'bad',
        code: 'a.$b',
        base: ['Patient'],
        type: 'string',
        expression: 'Patient.name',
      });
    expect(res.status).toBe(422);
    expect(res.body.issue.some((i: { expression?: string[] }) => i.expression?.includes('SearchParameter.code'))).toBe(true);
  });
});

describe.each(storeTargets)('a SearchParameter reindexed under an earlier release [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    loadBaseDefinitions();
    server = await startServer(target, { SEARCH_PARAMETER_REFRESH_SECONDS: '1' });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('is searchable at once from its completed Basic job, without a new reindex', async () => {
    const code = `carried-over-${target.name}`;
    const id = `legacy-${target.name}`;
    const legacyJob = (url: string, value: Record<string, unknown>) => ({ url, ...value });
    // As an earlier release left them: the parameter, and its completed job as Basic/reindex-[id].
    await loadHistory(server.store, [
      { resource: { ...favouriteActivityParameter(code), id } as Resource, at: '2026-01-01T09:00:00Z' },
      {
        resource: {
          resourceType: 'Basic',
          id: `reindex-${id}`,
          code: { coding: [{ system: 'https://social-prescribing.example.org/fhir/CodeSystem/sp-local-concepts', code: 'reindex-job' }] },
          extension: [
            {
              url: 'https://social-prescribing.example.org/fhir/StructureDefinition/reindex-job',
              extension: [
                legacyJob('status', { valueCode: 'completed' }),
                legacyJob('processed', { valueInteger: 7 }),
                legacyJob('total', { valueInteger: 7 }),
              ],
            },
          ],
        } as Resource,
        at: '2026-01-01T09:00:01Z',
      },
    ]);
    const status = async () => {
      const res = await server.api.get(`/fhir/SearchParameter/${id}/$reindex`);
      return res.status === 200
        ? Object.fromEntries(
            (res.body.parameter as { name: string; valueCode?: string; valueInteger?: number }[]).map((p) => [p.name, p.valueCode ?? p.valueInteger])
          )
        : undefined;
    };
    await eventually(async () => (await status()) !== undefined, 10000, 'the parameter to be read from the store');
    // The earlier release's counts: carried over, not a new run over this store's resources.
    expect(await status()).toMatchObject({ status: 'completed', processed: 7, total: 7 });
    expect((await server.api.get(`/fhir/Patient?${code}=garden`)).status).toBe(200);
  });
});
