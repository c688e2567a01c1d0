// The CapabilityStatement says what is really registered, and the
// liveness/readiness endpoints answer.
import { startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets)('metadata and health [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('GET /fhir/metadata is an R4 CapabilityStatement of every resource type', async () => {
    const res = await server.api.get('/fhir/metadata');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    const cs = res.body;
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    const rest = cs.rest[0];
    expect(rest.interaction.map((i: { code: string }) => i.code).sort()).toEqual(['batch', 'history-system', 'transaction']);
    const types = rest.resource.map((r: { type: string }) => r.type);
    expect(types).toEqual(expect.arrayContaining(['Patient', 'ServiceRequest', 'Task', 'CarePlan', 'HealthcareService']));
    expect(types.length).toBeGreaterThanOrEqual(140);
    const task = rest.resource.find((r: { type: string }) => r.type === 'Task');
    expect(task.interaction.map((i: { code: string }) => i.code)).toEqual(
      expect.arrayContaining(['read', 'vread', 'update', 'patch', 'delete', 'create', 'search-type', 'history-instance', 'history-type'])
    );
    const params = task.searchParam.map((p: { name: string }) => p.name);
    expect(params).toEqual(expect.arrayContaining(['_id', '_lastUpdated', 'owner', 'focus', 'status', 'authored-on']));
    expect(task.searchInclude).toContain('Task:focus');
  });

  test('only search parameters the server can execute are announced', async () => {
    const cs = (await server.api.get('/fhir/metadata')).body;
    const observation = cs.rest[0].resource.find((r: { type: string }) => r.type === 'Observation');
    const types = new Set(observation.searchParam.map((p: { type: string }) => p.type));
    for (const type of types) expect(['token', 'string', 'reference', 'date', 'uri', 'number', 'quantity', 'composite']).toContain(type);
    // Every announced parameter is accepted by search.
    const sample: Record<string, string> = {
      date: '2020',
      number: '1',
      quantity: '5.4',
      special: '53.8|-1.5|10|km',
      composite: 'http://loinc.org|8480-6$2020',
    };
    for (const { name, type } of observation.searchParam) {
      const value = sample[type] ?? 'x';
      const res = await server.api.get(`/fhir/Observation?${name}=${value}`);
      expect([name, res.status]).toEqual([name, 200]);
    }
  });

  test('/healthz answers and /readyz reports the store', async () => {
    expect((await server.api.get('/healthz')).status).toBe(200);
    const ready = await server.api.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body.store).toBe(target.name);
  });
});
