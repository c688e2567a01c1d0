// Polling by _lastUpdated under concurrent writers (docs/storage.md,
// "Polling"): a client that remembers only the newest lastUpdated it saw, and
// asks for what came after it, sees every write exactly once, by search and
// by history, while writers keep committing around its polls.
// multi-process.test.ts does the same with two server processes on MongoDB.
import type { Bundle } from '@medplum/fhirtypes';
import { startServer, TEST_SETTLE_MS, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { Poller, repeated } from './support/poller';

const WRITERS = 8;
const RESOURCES_PER_WRITER = 10;

describe.each(storeTargets)('polling by _lastUpdated on the $name store', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target, { WRITE_SETTLE_MS: String(TEST_SETTLE_MS) });
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  const fetchBundle = async (path: string): Promise<Bundle> => {
    const res = await server.api.get(`/fhir${path}`);
    expect(res.status).toBe(200);
    return res.body as Bundle;
  };

  /** Creates and then updates resources, several writers at once; answers every version written. */
  async function writeConcurrently(): Promise<string[]> {
    const written: string[] = [];
    const writer = async (w: number) => {
      for (let i = 0; i < RESOURCES_PER_WRITER; i++) {
        const created = await server.api.post('/fhir/Patient').send({ resourceType: 'Patient', name: [{ family: `Writer${w}`, given: [`${i}`] }] });
        expect(created.status).toBe(201);
        const updated = await server.api
          .put(`/fhir/Patient/${created.body.id}`)
          .set('If-Match', `W/"1"`)
          .send({ ...created.body, active: true });
        expect(updated.status).toBe(200);
        written.push(`${created.body.id}/1`, `${created.body.id}/2`);
      }
    };
    await Promise.all(Array.from({ length: WRITERS }, (_, w) => writer(w)));
    return written;
  }

  /** Polls while the writers run, and once more after everything has settled. */
  async function pollDuring(poll: () => Promise<number>, writing: Promise<string[]>): Promise<string[]> {
    let done = false;
    const written = writing.finally(() => (done = true));
    while (!done) {
      await poll();
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, TEST_SETTLE_MS + 100));
    await poll();
    return written;
  }

  test('a search poller (_lastUpdated=gt the newest it saw, _sort=_lastUpdated) sees every resource at its last version, none twice', async () => {
    const poller = new Poller('Patient', fetchBundle);
    const written = await pollDuring(() => poller.pollSearch(), writeConcurrently());
    expect(repeated(poller.answered)).toEqual([]);
    // Each resource was seen at its final version (version 1 may have been overwritten between two polls).
    const finals = written.filter((k) => k.endsWith('/2'));
    expect(finals.filter((k) => !poller.answered.includes(k))).toEqual([]);
  }, 120000);

  test('a history poller (_history?_since= the newest it saw) sees every version exactly once', async () => {
    const poller = new Poller('Patient', fetchBundle);
    poller.newest = new Date().toISOString();
    const written = await pollDuring(() => poller.pollHistory(), writeConcurrently());
    expect(repeated(poller.answered)).toEqual([]);
    expect(written.filter((k) => !poller.answered.includes(k))).toEqual([]);
  }, 120000);
});
