// Optimistic locking on every store: concurrent updates that all carry the
// same If-Match must produce exactly one winner and one new version.
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { patient } from './support/resources';

describe.each(storeTargets)('concurrent updates [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('of ten updates with the same If-Match exactly one wins; the rest get 412', async () => {
    const created = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        server.api
          .put(`/fhir/Patient/${created.id}`)
          .set('Content-Type', FHIR_JSON)
          .set('If-Match', 'W/"1"')
          .send({ ...created, name: [{ family: `Writer${i}` }] })
      )
    );
    const winners = results.filter((r) => r.status === 200);
    expect(winners).toHaveLength(1);
    expect(results.filter((r) => r.status === 412)).toHaveLength(9);
    const current = (await server.api.get(`/fhir/Patient/${created.id}`)).body;
    expect(current.meta.versionId).toBe('2');
    expect(current.name).toEqual(winners[0].body.name);
    const history = (await server.api.get(`/fhir/Patient/${created.id}/_history`)).body;
    expect(history.entry).toHaveLength(2);
  });

  test('concurrent creates with the same client id create it once', async () => {
    const id = `race-${Date.now()}`;
    const results = await Promise.all(
      Array.from({ length: 5 }, () => server.api.put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"0"').send(patient({ id })))
    );
    // If-Match W/"0" never matches an existing version, so these are all
    // refused: nothing may be created by a precondition that cannot hold.
    expect(results.every((r) => r.status === 412)).toBe(true);
    const plain = await Promise.all(
      Array.from({ length: 5 }, () => server.api.put(`/fhir/Patient/${id}`).set('Content-Type', FHIR_JSON).send(patient({ id })))
    );
    expect(plain.filter((r) => r.status === 201)).toHaveLength(1);
    expect(plain.every((r) => [200, 201, 409].includes(r.status))).toBe(true);
  });
});
