// Searches over a whole type read indexes of the live resources, not every
// row of the type:
// - the total (Patient?_count=10): counting in the table took 200 ms for
//   113,000 Patients at 1,000,000 resources with the pages in memory, and
//   seconds without. It stays exact: deleted resources are not counted, a
//   resource restored by an update is;
// - a page of the most recently changed (_sort=-_lastUpdated): sorting the
//   whole type took 515 ms for 204,000 Tasks there;
// - the newest AuditEvents first (AuditEvent?_sort=-date): sorting the whole
//   log took 578 ms for 243,000 events there.
// The indexes are built by the writer thread after start (schema.ts
// LATE_INDEXES), so this server, started on an empty data directory, has
// them only once the build queued at start is done: the writes below queue
// behind it.
import type { Bundle } from '@medplum/fhirtypes';
import type { EmbeddedStore } from '../src/store/embedded/store';
import { createResource, FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { patient } from './support/resources';

const embedded = storeTargets.find((t) => t.name === 'embedded');
if (!embedded) throw new Error('the embedded store is always a target');

describe('embedded store: searches over a whole type', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(embedded);
  });

  afterAll(async () => {
    await server.stop();
  });

  const planOf = (text: string, type: string): string =>
    ((server.store as EmbeddedStore).statement(`EXPLAIN QUERY PLAN ${text}`).all(type) as Array<{ detail: string }>).map((r) => r.detail).join(' | ');

  /** The statements the store runs while the request runs, on the serving connection and on the reader thread. */
  async function statementsOf(path: string, token?: string): Promise<{ body: Bundle; sql: string[] }> {
    const store = server.store as EmbeddedStore;
    const sql: string[] = [];
    await store.traceSearchSql();
    const original = store.statement.bind(store);
    const spy = jest.spyOn(store, 'statement').mockImplementation((text: string) => {
      sql.push(text);
      return original(text);
    });
    try {
      const res = token ? await server.anonymous.get(path).set('Authorization', `Bearer ${token}`) : await server.api.get(path);
      expect(res.status).toBe(200);
      sql.push(...(await store.traceSearchSql()));
      return { body: res.body as Bundle, sql };
    } finally {
      spy.mockRestore();
    }
  }

  test('the total of a whole type is exact and read from the index alone', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await createResource(server, patient({ name: [{ family: `Counted${i}` }] }))).body as { id: string }).id);
    expect((await server.api.delete(`/fhir/Patient/${ids[0]}`)).status).toBe(200);
    expect((await server.api.delete(`/fhir/Patient/${ids[1]}`)).status).toBe(200);
    // Restored by an update after its deletion: live again.
    const restored = await server.api
      .put(`/fhir/Patient/${ids[1]}`)
      .set('Content-Type', FHIR_JSON)
      .send(patient({ id: ids[1], name: [{ family: 'Restored' }] }));
    expect(restored.status).toBe(201);

    const { body, sql } = await statementsOf('/fhir/Patient?_count=2');
    expect(body.total).toBe(4);
    expect(body.entry).toHaveLength(2);

    const counts = sql.filter((text) => /count\(\*\)/i.test(text));
    expect(counts.length).toBeGreaterThan(0);
    for (const text of counts) expect(planOf(text, 'Patient')).toMatch(/COVERING INDEX current_live/);
  });

  test('a page of the most recently changed is read in that order, and its links page through all of them', async () => {
    const family = `Recent${Date.now().toString(36)}`;
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(((await createResource(server, patient({ name: [{ family }] }))).body as { id: string }).id);
    // The first one changes last: the newest now.
    const touched = await server.api
      .put(`/fhir/Patient/${ids[0]}`)
      .set('Content-Type', FHIR_JSON)
      .send(patient({ id: ids[0], name: [{ family }], gender: 'other' }));
    expect(touched.status).toBe(200);

    const { body, sql } = await statementsOf('/fhir/Patient?_sort=-_lastUpdated&_count=2');
    expect(body.entry?.[0]?.resource?.id).toBe(ids[0]);
    const pages = sql.filter((text) => /ORDER BY c\.last_updated DESC/.test(text) && !/count\(\*\)/i.test(text));
    expect(pages.length).toBeGreaterThan(0);
    for (const text of pages) {
      const plan = planOf(text, 'Patient');
      // The page's rows are found in the index's order; only ties on lastUpdated are then sorted (by id), and the page itself.
      expect(plan).toMatch(/SEARCH c USING INDEX current_live_by_time/);
      expect(plan).not.toMatch(/SCAN c\b/);
    }

    // The links go through every live Patient once, newest first.
    const seen: Array<{ id: string; lastUpdated: string }> = [];
    let next: string | undefined = '/fhir/Patient?_sort=-_lastUpdated&_count=2';
    while (next) {
      const page = await server.api.get(next);
      expect(page.status).toBe(200);
      const bundle = page.body as Bundle;
      for (const e of bundle.entry ?? []) seen.push({ id: e.resource?.id as string, lastUpdated: e.resource?.meta?.lastUpdated as string });
      const link = bundle.link?.find((l) => l.relation === 'next')?.url;
      next = link ? link.slice(link.indexOf('/fhir/')) : undefined;
    }
    const total = ((await server.api.get('/fhir/Patient?_summary=count')).body as Bundle).total;
    expect(seen).toHaveLength(total as number);
    expect(new Set(seen.map((s) => s.id)).size).toBe(seen.length);
    for (let i = 1; i < seen.length; i++) expect(seen[i - 1].lastUpdated >= seen[i].lastUpdated).toBe(true);
    expect(seen[0].id).toBe(ids[0]);
  });

  test('the newest AuditEvents first are read from the index by date of the log', async () => {
    const admin = await tokenFor({ sp_role: 'admin', scope: 'system/AuditEvent.rs' });
    // Every request above wrote an event; a few more reads add some.
    for (let i = 0; i < 5; i++) expect((await server.api.get('/fhir/Patient?_count=1')).status).toBe(200);

    const { body, sql } = await statementsOf('/fhir/AuditEvent?_sort=-date&_count=5', admin);
    const dates = (body.entry ?? []).map((e) => (e.resource as { recorded: string }).recorded);
    expect(dates).toHaveLength(5);
    for (let i = 1; i < dates.length; i++) expect(dates[i - 1] >= dates[i]).toBe(true);
    // The newest of all: none recorded after the first one shown but the search's own event.
    const all = await server.anonymous.get('/fhir/AuditEvent?_count=1000&_sort=subtype').set('Authorization', `Bearer ${admin}`);
    const newest = ((all.body as Bundle).entry ?? [])
      .map((e) => (e.resource as { recorded: string }).recorded)
      .sort()
      .reverse();
    expect(newest.slice(0, 8)).toEqual(expect.arrayContaining(dates));

    const pages = sql.filter((text) => /FROM audit_event c/.test(text) && /ORDER BY json_extract\(sort, '\$\.date'\) DESC/.test(text));
    expect(pages.length).toBeGreaterThan(0);
    for (const text of pages) {
      const plan = planOf(text, 'AuditEvent');
      expect(plan).toMatch(/INDEX audit_event_by_date/);
      // Only ties on the date are sorted (by id), never the whole log.
      expect(plan).not.toMatch(/USE TEMP B-TREE FOR ORDER BY/);
    }
  });
});
