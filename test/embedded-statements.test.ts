// The embedded store keeps its compiled statements and runs them again with
// new values. A LIMIT bound as a parameter would defeat that: SQLite's
// planner uses the limit, so binding it expires the statement and SQLite
// compiles it again on every run (a search's page query: 23 µs instead of 8).
// So every value is bound except LIMIT, whose number is written into the SQL.
// This runs the searches that page (by a look-up, by a walk along the id
// index, of history and of the audit trail) through HTTP, and reads what the
// serving connection and the reader thread ran.
import type { EmbeddedStore } from '../src/store/embedded/store';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { patient } from './support/resources';

const embedded = storeTargets.find((t) => t.name === 'embedded');
if (!embedded) throw new Error('the embedded store is always a target');

describe('embedded store: statements run again without being compiled again', () => {
  let server: TestServer;
  const prepared: string[] = [];

  beforeAll(async () => {
    server = await startServer(embedded);
    const store = server.store as EmbeddedStore;
    const statement = store.statement.bind(store);
    store.statement = (sql: string) => {
      prepared.push(sql);
      return statement(sql);
    };
    await store.traceSearchSql();
    // Enough of one family for a page in id order to walk the id index (index-walk.ts).
    const entry = Array.from({ length: 300 }, (_, i) => ({
      resource: patient({ name: [{ family: 'Walker', given: [`G${i}`] }], identifier: [] }),
      request: { method: 'POST', url: 'Patient' },
    }));
    const res = await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'batch', entry });
    expect(res.status).toBe(200);
  });

  afterAll(async () => {
    await server.stop();
  });

  test('searches, pages, history and the audit trail bind every value but LIMIT, which is a number in the SQL', async () => {
    const pages = ['/fhir/Patient?family=Walker&_count=7', '/fhir/Patient?family=Walker&_count=7&_offset=14', '/fhir/Patient?given=G1&_sort=-_lastUpdated'];
    for (const url of [...pages, '/fhir/Patient/_history?_count=5', '/fhir/AuditEvent?_count=3']) {
      const res = await server.api.get(url);
      expect([url, res.status]).toEqual([url, 200]);
    }
    const walked = (await server.api.get('/fhir/Patient?family=Walker&_count=7')).body;
    expect(walked.entry).toHaveLength(7);
    prepared.push(...(await (server.store as EmbeddedStore).traceSearchSql()));
    const limited = prepared.filter((sql) => /\bLIMIT\b/.test(sql));
    expect(limited.length).toBeGreaterThan(0);
    expect(limited.filter((sql) => /\bLIMIT\s+\?/.test(sql))).toEqual([]);
    expect(limited.filter((sql) => !/\bLIMIT \d+\b/.test(sql))).toEqual([]);
  });

  // A field no Patient has ever had (link) has no values to look up: no row can match, and the store answers at once
  // instead of walking every Patient to find none (a subscription round's status search on a server with no Subscriptions).
  test('a search no stored resource can match is answered without a query, and the rest of the filter still counts', async () => {
    const store = server.store as EmbeddedStore;
    await store.traceSearchSql();
    const from = prepared.length;
    for (const url of ['/fhir/Patient?link=Patient/a,Patient/b', '/fhir/Patient?link=Patient/a&family=Walker', '/fhir/Patient?link=Patient/a&_summary=count']) {
      const res = await server.api.get(url);
      expect([url, res.status, res.body.total ?? 0, res.body.entry ?? []]).toEqual([url, 200, 0, []]);
    }
    const ran = [...prepared.slice(from), ...(await store.traceSearchSql())];
    expect(ran.filter((sql) => sql.includes('current_resource'))).toEqual([]);
    // A field never seen is missing everywhere: that part of the filter holds for every Patient.
    const missing = await server.api.get('/fhir/Patient?link:missing=true&family=Walker&_summary=count');
    expect(missing.body.total).toBe(300);
  });
});
