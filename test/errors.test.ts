// Every error is an OperationOutcome with the right status, and an internal
// failure reveals nothing of the internals.
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { patient } from './support/resources';
import { StoreUnavailableError } from '../src/store/port';

const [embedded] = storeTargets;

describe('error statuses', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(embedded, { BODY_LIMIT: '10kb' });
  });
  afterAll(async () => {
    await server.stop();
  });

  const expectOutcome = (res: { status: number; body: { resourceType?: string; issue?: unknown[] }; headers: Record<string, string> }, status: number) => {
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue?.length).toBeGreaterThan(0);
  };

  test('400 for malformed JSON', async () => {
    expectOutcome(await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send('{"resourceType": "Patient",'), 400);
  });

  test('400 for a body of the wrong resource type', async () => {
    expectOutcome(await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Observation' }), 400);
  });

  test('400 for an invalid id in the URL', async () => {
    expectOutcome(await server.api.get(`/fhir/Patient/${'x'.repeat(65)}`), 400);
    expectOutcome(await server.api.get('/fhir/Patient/bad_id!'), 400);
  });

  test('404 for an unknown id, an unknown type and an unknown path', async () => {
    expectOutcome(await server.api.get('/fhir/Patient/unknown'), 404);
    expectOutcome(await server.api.get('/fhir/Unicorn/1'), 404);
    expectOutcome(await server.api.get('/fhir/Patient/1/_history/1/extra'), 404);
    expectOutcome(await server.api.get('/elsewhere'), 404);
    expectOutcome(await server.api.post('/fhir/Patient/$no-such-operation').set('Content-Type', FHIR_JSON).send({}), 404);
  });

  test('405 for a method the path does not take', async () => {
    expectOutcome(await server.api.delete('/fhir/metadata'), 405);
    expectOutcome(await server.api.post('/fhir/Patient/123').set('Content-Type', FHIR_JSON).send(patient()), 405);
    expectOutcome(await server.api.patch('/fhir/Patient/_history').set('Content-Type', 'application/json-patch+json').send([]), 405);
  });

  test('409 when an update loses a race without If-Match', async () => {
    const created = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    // Twenty unconditional updates at once: each must either win (200) or be told it lost (409), never silently merge.
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        server.api
          .patch(`/fhir/Patient/${created.id}`)
          .set('Content-Type', 'application/json-patch+json')
          .send([{ op: 'replace', path: '/gender', value: i % 2 ? 'male' : 'female' }])
      )
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.every((s) => s === 200 || s === 409)).toBe(true);
    const wins = statuses.filter((s) => s === 200).length;
    const history = await server.api.get(`/fhir/Patient/${created.id}/_history?_count=100`);
    expect(history.body.entry.length).toBe(wins + 1);
    for (const loser of results.filter((r) => r.status === 409)) expectOutcome(loser, 409);
  });

  test('410 for a deleted resource', async () => {
    const created = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    await server.api.delete(`/fhir/Patient/${created.id}`).expect(200);
    expectOutcome(await server.api.get(`/fhir/Patient/${created.id}`), 410);
  });

  test('412 for a stale If-Match, and 400 for a malformed one', async () => {
    const created = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    expectOutcome(await server.api.put(`/fhir/Patient/${created.id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"9"').send(created), 412);
    expectOutcome(await server.api.put(`/fhir/Patient/${created.id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'nine').send(created), 400);
  });

  test('400 for a body nested deeper than any resource needs, and the server keeps serving', async () => {
    let inner = '{"url":"urn:x","valueString":"y"}';
    for (let i = 0; i < 150; i++) inner = `{"url":"urn:x","extension":[${inner}]}`;
    const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(`{"resourceType":"Patient","extension":[${inner}]}`);
    expectOutcome(res, 400);
    expect(res.body.issue[0].diagnostics).toMatch(/nested/);
    expect((await server.api.get('/fhir/metadata')).status).toBe(200);
  });

  test('413 for a body over the limit', async () => {
    const big = patient({ name: [{ family: 'x'.repeat(20_000) }] });
    expectOutcome(await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(big), 413);
  });

  test('415 for a body that is not FHIR JSON', async () => {
    expectOutcome(await server.api.post('/fhir/Patient').set('Content-Type', 'text/plain').send('hello'), 415);
    expectOutcome(await server.api.post('/fhir/Patient').set('Content-Type', 'application/fhir+xml').send('<Patient/>'), 415);
  });

  test('422 for a resource that breaks the R4 rules, listing each problem with its location', async () => {
    const res = await server.api
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Patient', gender: 42, birthDate: '1970-13-01', colour: 'blue' });
    expectOutcome(res, 422);
    const expressions = res.body.issue.flatMap((i: { expression?: string[] }) => i.expression ?? []);
    expect(expressions).toEqual(expect.arrayContaining(['Patient.gender', 'Patient.birthDate', 'Patient.colour']));
  });

  test('400 for prototype-pollution and operator keys in a body', async () => {
    const res = await server.api
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send('{"resourceType":"Patient","__proto__":{"admin":true},"$where":"1"}');
    expectOutcome(res, 400);
    expect(res.body.issue[0].diagnostics).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  test('503 with Retry-After while the store cannot serve, and /readyz says so', async () => {
    const originalCommit = server.store.commit.bind(server.store);
    const originalPing = server.store.ping.bind(server.store);
    server.store.commit = async () => {
      throw new StoreUnavailableError('disk is read-only');
    };
    server.store.ping = async () => {
      throw new StoreUnavailableError('down');
    };
    try {
      const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient());
      expectOutcome(res, 503);
      expect(res.headers['retry-after']).toBe('5');
      expect(res.text).not.toContain('read-only');
      expect((await server.api.get('/readyz')).status).toBe(503);
    } finally {
      server.store.commit = originalCommit;
      server.store.ping = originalPing;
    }
    expect((await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).status).toBe(201);
  });

  test('500 for an internal failure, without internals', async () => {
    const original = server.store.readCurrent.bind(server.store);
    server.store.readCurrent = async () => {
      throw new Error('secret driver detail at /var/lib/store');
    };
    try {
      const res = await server.api.get('/fhir/Patient/anything');
      expectOutcome(res, 500);
      expect(res.text).not.toContain('secret');
      expect(res.text).not.toContain('/var/lib');
    } finally {
      server.store.readCurrent = original;
    }
    // The server keeps serving.
    expect((await server.api.get('/fhir/metadata')).status).toBe(200);
  });
});
