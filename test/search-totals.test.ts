// Bundle.total counts each matching resource once, and only live current
// versions: a resource with several matching values, one updated away from
// the match and one deleted are counted right, with one criterion and with
// several. The embedded store counts such searches from its value index
// alone (sql-filter.ts indexOnlyRids); this holds it to the same answers as
// the rows. On every store.
import type { Bundle } from '@medplum/fhirtypes';
import { patient } from './support/resources';
import { createResource, FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets)('search totals [$name]', (target) => {
  let server: TestServer;
  const family = `Totl${Date.now().toString(36)}`;

  const total = async (query: string): Promise<number | undefined> => {
    const res = await server.api.get(`/fhir/Patient?${query}&_count=1`);
    expect(res.status).toBe(200);
    return (res.body as Bundle).total;
  };

  beforeAll(async () => {
    server = await startServer(target);
    // Two values of one patient match the prefix: the patient counts once.
    await createResource(server, patient({ gender: 'female', name: [{ family: `${family}son`, given: [`${family}ine`] }] }));
    await createResource(server, patient({ gender: 'male', name: [{ family: `${family}er` }] }));
    await createResource(server, patient({ gender: 'female', name: [{ family: 'Elsewhere', given: [`${family}a`] }] }));
    // Deleted: found by no search.
    const deleted = (await createResource(server, patient({ gender: 'female', name: [{ family }] }))).body as { id: string };
    expect((await server.api.delete(`/fhir/Patient/${deleted.id}`)).status).toBe(200);
    // Updated away from the match: only its current version counts.
    const moved = (await createResource(server, patient({ gender: 'female', name: [{ family }] }))).body as { id: string };
    const update = await server.api
      .put(`/fhir/Patient/${moved.id}`)
      .set('Content-Type', FHIR_JSON)
      .send(patient({ id: moved.id, gender: 'female', name: [{ family: 'Moved' }] }));
    expect(update.status).toBe(200);
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  test('one criterion: each live match once', async () => {
    expect(await total(`name=${family}`)).toBe(3);
    expect(await total(`family=${family}`)).toBe(2);
  });

  test('several criteria: the resources meeting all of them', async () => {
    expect(await total(`name=${family}&gender=female`)).toBe(2);
    expect(await total(`name=${family}&gender=male`)).toBe(1);
    expect(await total(`name=${family}&gender=other`)).toBe(0);
  });

  test('a criterion no resource ever had a value for counts nothing', async () => {
    expect(await total(`name=${family}&death-date=2001-01-01`)).toBe(0);
  });
});
