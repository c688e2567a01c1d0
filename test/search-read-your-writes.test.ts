// Once a write is answered, every search answers with it, while other clients
// keep asking the same searches all the while. The embedded store keeps the
// answers of recent searches, pages and totals, on the serving thread
// (store/embedded/search-answer-cache.ts); this is what it must never break:
// each kind of change (create, update, delete, a transaction, a refused
// transaction) is searched for at once, between searches that fill the
// cache, and reads alone (which append AuditEvents) never make a search
// answer with less than what was written. On every store.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { patient } from './support/resources';
import { createResource, FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets, withTransactions } from './support/stores';

describe.each(storeTargets)('a search after an answered write sees it [$name]', (target) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(target);
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  /** Searchers still running when a test ends (one that failed midway): stopped before the next test. */
  const searchersRunning = new Set<() => Promise<number>>();
  afterEach(async () => {
    for (const stop of searchersRunning) await stop();
  });

  /** Asks the searches over and over until stopped: their answers are kept between every write and the search after it. */
  function keepSearching(paths: string[]): { stop: () => Promise<number> } {
    let running = true;
    let searches = 0;
    const searchers = paths.map(async (path) => {
      while (running) {
        expect((await server.api.get(path)).status).toBe(200);
        searches++;
      }
    });
    const stop = async (): Promise<number> => {
      running = false;
      searchersRunning.delete(stop);
      await Promise.all(searchers);
      return searches;
    };
    searchersRunning.add(stop);
    return { stop };
  }

  /** The ids a search matches, and its total, asked the way the searchers ask. */
  async function matches(family: string): Promise<{ ids: string[]; total: number; count: number }> {
    const page = (await server.api.get(`/fhir/Patient?family=${family}&_total=accurate`)).body as Bundle;
    const counted = (await server.api.get(`/fhir/Patient?family=${family}&_summary=count`)).body as Bundle;
    return { ids: (page.entry ?? []).map((e) => e.resource?.id as string).sort(), total: page.total as number, count: counted.total as number };
  }

  const searchesOf = (family: string) => [`/fhir/Patient?family=${family}&_total=accurate`, `/fhir/Patient?family=${family}&_summary=count`];

  test('a create, an update and a delete are each found at once while others ask the same searches', async () => {
    const family = `Searched${Date.now()}`;
    // Not a prefix of the other: a string search matches by prefix.
    const moved = `Moved${family}`;
    const searchers = keepSearching([...searchesOf(family), ...searchesOf(moved)]);
    expect(await matches(family)).toEqual({ ids: [], total: 0, count: 0 });

    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const created = (await createResource(server, patient({ name: [{ family }] }))).body as Resource & { id: string };
      ids.push(created.id);
      expect(await matches(family)).toEqual({ ids: [...ids].sort(), total: ids.length, count: ids.length });
    }

    // An update that takes a patient out of one search and into another.
    const first = (await server.api.get(`/fhir/Patient/${ids[0]}`)).body as Resource & { id: string };
    const updated = await server.api
      .put(`/fhir/Patient/${ids[0]}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...first, name: [{ family: moved }] });
    expect(updated.status).toBe(200);
    expect(await matches(family)).toEqual({ ids: ids.slice(1).sort(), total: 4, count: 4 });
    expect(await matches(moved)).toEqual({ ids: [ids[0]], total: 1, count: 1 });

    expect((await server.api.delete(`/fhir/Patient/${ids[1]}`)).status).toBe(200);
    expect(await matches(family)).toEqual({ ids: ids.slice(2).sort(), total: 3, count: 3 });

    expect(await searchers.stop()).toBeGreaterThan(20);
  });

  test('reads between searches (each appends an AuditEvent) never hide what was written', async () => {
    const family = `ReadBetween${Date.now()}`;
    const created = (await createResource(server, patient({ name: [{ family }] }))).body as Resource & { id: string };
    for (let i = 0; i < 10; i++) {
      expect((await server.api.get(`/fhir/Patient/${created.id}`)).status).toBe(200);
      expect(await matches(family)).toEqual({ ids: [created.id], total: 1, count: 1 });
    }
  });

  withTransactions(target)('a transaction is found at once; a refused one changes no answer', async () => {
    const family = `Transacted${Date.now()}`;
    const searchers = keepSearching(searchesOf(family));
    const existing = (await createResource(server, patient({ name: [{ family }] }))).body as Resource & { id: string };
    expect(await matches(family)).toEqual({ ids: [existing.id], total: 1, count: 1 });

    const refused = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:0b5e7f4e-1d1e-4c39-9c55-000000000001', resource: patient({ name: [{ family }] }), request: { method: 'POST', url: 'Patient' } },
          { resource: { ...existing, name: [{ family: 'Gone' }] }, request: { method: 'PUT', url: `Patient/${existing.id}`, ifMatch: 'W/"9"' } },
        ],
      });
    expect(refused.status).toBe(412);
    expect(await matches(family)).toEqual({ ids: [existing.id], total: 1, count: 1 });

    const done = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:0b5e7f4e-1d1e-4c39-9c55-000000000002', resource: patient({ name: [{ family }] }), request: { method: 'POST', url: 'Patient' } },
          { resource: { ...existing, name: [{ family: 'Elsewhere' }] }, request: { method: 'PUT', url: `Patient/${existing.id}` } },
        ],
      });
    expect(done.status).toBe(200);
    const createdId = ((done.body as Bundle).entry?.[0]?.response?.location as string).split('/')[1];
    expect(await matches(family)).toEqual({ ids: [createdId], total: 1, count: 1 });
    expect(await searchers.stop()).toBeGreaterThan(10);
  });
});
