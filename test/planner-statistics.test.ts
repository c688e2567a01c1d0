// The embedded store's query plans follow its data. A server started on an
// empty data directory has no planner statistics, and SQLite then plans a
// lookup by index value as a scan of the whole value index: slower with every
// resource written, for as long as the process runs. The writer thread
// refreshes the statistics as the data grows, and the serving connection
// loads them.
import type { EmbeddedStore } from '../src/store/embedded/store';
import { startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { patient } from './support/resources';

const embedded = storeTargets.find((t) => t.name === 'embedded');
if (!embedded) throw new Error('the embedded store is always a target');

/**
 * A lookup of which types hold an index value, joined in whatever order the
 * planner prefers: with statistics it probes the value index per field;
 * without, it scans every index value.
 */
const PROBE =
  'EXPLAIN QUERY PLAN SELECT DISTINCT f.type FROM search_field f JOIN search_value s ON s.fid = f.fid AND s.value = ? ' +
  'JOIN current_resource c ON c.rid = s.rid AND c.deleted = 0 WHERE f.field = ?';

function plan(store: EmbeddedStore): string {
  const rows = store.statement(PROBE).all('Patient/p-1', 'idx.family') as Array<{ detail: string }>;
  return rows.map((r) => r.detail).join(' | ');
}

describe('embedded store: planner statistics follow the data', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(embedded);
  });

  afterAll(async () => {
    await server.stop();
  });

  test('a server started empty plans index lookups as probes once data has arrived, without a restart', async () => {
    const store = server.store as EmbeddedStore;
    expect(plan(store)).toMatch(/SCAN s\b/);

    const entry = Array.from({ length: 2000 }, (_, i) => ({
      resource: patient({ id: `p-${i}`, name: [{ family: `Family${i}`, given: [`Given${i}`] }] }),
      request: { method: 'PUT', url: `Patient/p-${i}` },
    }));
    for (let i = 0; i < entry.length; i += 500) {
      const res = await server.api.post('/fhir').send({ resourceType: 'Bundle', type: 'batch', entry: entry.slice(i, i + 500) });
      expect(res.status).toBe(200);
    }

    // The first refreshes come within seconds of the start; the serving connection looks every 5 s.
    const deadline = Date.now() + 40_000;
    while (/SCAN s\b/.test(plan(store)) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 500));
    expect(plan(store)).toMatch(/SEARCH s USING PRIMARY KEY \(fid=\? AND value=\?\)/);

    // And searches still answer from the reopened connection.
    const found = await server.api.get('/fhir/Patient?family=Family1999');
    expect(found.status).toBe(200);
    expect(found.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toEqual(['p-1999']);
  }, 90_000);
});
