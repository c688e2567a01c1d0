// Once a write is answered, every read answers it or something newer, while
// other clients keep reading the same resource all the while. The embedded
// store keeps recently read versions on the serving thread
// (store/embedded/current-row-cache.ts); this is what it must never break:
// each kind of change (update, delete, transaction, a refused update) is
// read back at once, between reads that fill the cache. On every store.
import type { Resource } from '@medplum/fhirtypes';
import { patient } from './support/resources';
import { createResource, FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets, withTransactions } from './support/stores';

describe.each(storeTargets)('a read after an answered write sees it [$name]', (target) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(target);
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  /** Readers still running when a test ends (one that failed midway): stopped before the next test. */
  const readersRunning = new Set<() => Promise<number>>();
  afterEach(async () => {
    for (const stop of readersRunning) await stop();
  });

  /** Reads the resource over and over until stopped: the cache is filled between every write and its read-back. */
  function keepReading(path: string): { stop: () => Promise<number> } {
    let running = true;
    let reads = 0;
    const readers = Array.from({ length: 4 }, async () => {
      while (running) {
        await server.api.get(path);
        reads++;
      }
    });
    const stop = async (): Promise<number> => {
      running = false;
      readersRunning.delete(stop);
      await Promise.all(readers);
      return reads;
    };
    readersRunning.add(stop);
    return { stop };
  }

  test('updates, each read back at once while others read the same resource', async () => {
    const created = (await createResource(server, patient({ name: [{ family: 'Version-1' }] }))).body as Resource & { id: string };
    const path = `/fhir/Patient/${created.id}`;
    const readers = keepReading(path);
    let current = created as Resource & { id: string; meta?: { versionId?: string } };
    for (let i = 2; i <= 21; i++) {
      const res = await server.api
        .put(path)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', `W/"${current.meta?.versionId}"`)
        .send({ ...current, name: [{ family: `Version-${i}` }] });
      expect(res.status).toBe(200);
      const read = await server.api.get(path);
      expect([read.body.meta.versionId, read.body.name[0].family]).toEqual([String(i), `Version-${i}`]);
      current = read.body;
    }
    expect(await readers.stop()).toBeGreaterThan(20);
  });

  test('a refused update leaves the version read before it; a delete is read back as gone', async () => {
    const created = (await createResource(server, patient({ name: [{ family: 'Kept' }] }))).body as Resource & { id: string };
    const path = `/fhir/Patient/${created.id}`;
    expect((await server.api.get(path)).status).toBe(200);
    const stale = await server.api
      .put(path)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', 'W/"7"')
      .send({ ...created, name: [{ family: 'Lost' }] });
    expect(stale.status).toBe(412);
    const kept = await server.api.get(path);
    expect([kept.body.meta.versionId, kept.body.name[0].family]).toEqual(['1', 'Kept']);
    const readers = keepReading(path);
    expect((await server.api.delete(path)).status).toBe(200);
    expect((await server.api.get(path)).status).toBe(410);
    await readers.stop();
    expect((await server.api.get(path)).status).toBe(410);
  });

  withTransactions(target)('a transaction’s changes are read back at once; a failed transaction changes nothing that is read', async () => {
    const a = (await createResource(server, patient({ name: [{ family: 'A-1' }] }))).body as Resource & { id: string };
    const b = (await createResource(server, patient({ name: [{ family: 'B-1' }] }))).body as Resource & { id: string };
    const readers = [keepReading(`/fhir/Patient/${a.id}`), keepReading(`/fhir/Patient/${b.id}`)];
    const put = (resource: Resource & { id: string }, family: string) => ({
      resource: { ...resource, name: [{ family }] },
      request: { method: 'PUT', url: `Patient/${resource.id}` },
    });
    const failed = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [put(a, 'A-lost'), { ...put(b, 'B-lost'), request: { method: 'PUT', url: `Patient/${b.id}`, ifMatch: 'W/"9"' } }],
      });
    expect(failed.status).toBe(412);
    expect((await server.api.get(`/fhir/Patient/${a.id}`)).body.name[0].family).toBe('A-1');
    const done = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'transaction', entry: [put(a, 'A-2'), put(b, 'B-2')] });
    expect(done.status).toBe(200);
    expect((await server.api.get(`/fhir/Patient/${a.id}`)).body.name[0].family).toBe('A-2');
    expect((await server.api.get(`/fhir/Patient/${b.id}`)).body.name[0].family).toBe('B-2');
    for (const r of readers) await r.stop();
  });
});
