// The CapabilityStatement says exactly what the server does: for every type it
// lists, each interaction it names is answered (never 405), and each one it
// leaves out is refused with 405. AuditEvent, written by the server only, is
// listed read-only.
import { startServer, FHIR_JSON, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const ALL_INTERACTIONS = ['read', 'vread', 'update', 'patch', 'delete', 'history-instance', 'history-type', 'create', 'search-type'] as const;
type Interaction = (typeof ALL_INTERACTIONS)[number];

describe('the CapabilityStatement matches the interactions answered [embedded]', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
  });
  afterAll(async () => {
    await server.stop();
  });

  /** One request of the interaction on the type, against an id that does not exist (reads then 404, not 405). */
  function attempt(type: string, interaction: Interaction) {
    const id = 'capability-check';
    switch (interaction) {
      case 'read':
        return server.api.get(`/fhir/${type}/${id}`);
      case 'vread':
        return server.api.get(`/fhir/${type}/${id}/_history/1`);
      case 'history-instance':
        return server.api.get(`/fhir/${type}/${id}/_history`);
      case 'history-type':
        return server.api.get(`/fhir/${type}/_history?_count=1`);
      case 'search-type':
        return server.api.get(`/fhir/${type}?_count=1`);
      case 'create':
        return server.api.post(`/fhir/${type}`).set('Content-Type', FHIR_JSON).send({ resourceType: type, extension: 'not an array' });
      case 'update':
        return server.api.put(`/fhir/${type}/${id}`).set('Content-Type', FHIR_JSON).send({ resourceType: type, id, extension: 'not an array' });
      case 'patch':
        return server.api.patch(`/fhir/${type}/${id}`).set('Content-Type', 'application/json-patch+json').set('If-Match', 'W/"1"').send([]);
      case 'delete':
        return server.api.delete(`/fhir/${type}/${id}`);
    }
  }

  test('every type: listed interactions are answered, the others are 405', async () => {
    const statement = (await server.api.get('/fhir/metadata')).body;
    const wrong: string[] = [];
    for (const resource of statement.rest[0].resource as { type: string; interaction: { code: Interaction }[] }[]) {
      const listed = new Set(resource.interaction.map((i) => i.code));
      for (const interaction of ALL_INTERACTIONS) {
        const res = await attempt(resource.type, interaction);
        const refused = res.status === 405;
        if (listed.has(interaction) === refused) wrong.push(`${resource.type} ${interaction}: listed ${listed.has(interaction)}, answered ${res.status}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  test('AuditEvent is listed read-only, without conditional writes', async () => {
    const statement = (await server.api.get('/fhir/metadata')).body;
    const audit = statement.rest[0].resource.find((r: { type: string }) => r.type === 'AuditEvent');
    expect(audit.interaction.map((i: { code: string }) => i.code).sort()).toEqual(['history-instance', 'history-type', 'read', 'search-type', 'vread']);
    expect(audit).toMatchObject({ conditionalCreate: false, conditionalUpdate: false, conditionalDelete: 'not-supported', updateCreate: false });
  });

  test('system interactions listed are answered', async () => {
    const statement = (await server.api.get('/fhir/metadata')).body;
    const codes = statement.rest[0].interaction.map((i: { code: string }) => i.code).sort();
    expect(codes).toEqual(['batch', 'history-system', 'transaction']);
    expect((await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'batch', entry: [] })).status).toBe(200);
    expect((await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'transaction', entry: [] })).status).toBe(200);
    expect((await server.api.get('/fhir/_history?_count=1')).status).toBe(200);
  });
});
