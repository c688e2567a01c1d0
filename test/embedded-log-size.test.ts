// The embedded store's write-ahead log stays bounded under steady reads and
// writes. A PASSIVE checkpoint copies the log into the database but never
// starts it again from the beginning, and under steady traffic SQLite never
// gets the moment to do so by itself: the log then grows with everything
// ever written (8.8 GB beside a 345 MB database after ten minutes of the
// bench). Here the store starts the log again past a limit, set low for the test.
import fs from 'node:fs';
import path from 'node:path';
import { DATABASE_FILE } from '../src/store/embedded/schema';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { embeddedIn, tempDir } from './support/stores';
import { patient } from './support/resources';

const LIMIT = 1024 * 1024;
const dir = tempDir();
const target = embeddedIn(dir, { logLimitBytes: LIMIT });
const logFile = path.join(dir, `${DATABASE_FILE}-wal`);

describe('embedded store: the write-ahead log under steady traffic', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('stays near its limit while clients read and write without pause, and loses nothing', async () => {
    const ids: string[] = [];
    let largest = 0;
    const until = Date.now() + 15_000;
    const writer = async () => {
      while (Date.now() < until) {
        const res = await server.api
          .post('/fhir/Patient')
          .set('Content-Type', FHIR_JSON)
          .send(patient({ name: [{ family: `Steady${ids.length}`, given: ['Log'.repeat(50)] }] }));
        expect(res.status).toBe(201);
        ids.push(res.body.id);
      }
    };
    const reader = async () => {
      while (Date.now() < until) {
        if (ids.length > 0) expect((await server.api.get(`/fhir/Patient/${ids[ids.length - 1]}`)).status).toBe(200);
        else await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    // The log is started again each time its file shrinks: by the first commit after the writer has copied all of it, cut back to the limit.
    let restarts = 0;
    let last = 0;
    let fastest = 0;
    const watch = setInterval(() => {
      const size = fs.existsSync(logFile) ? fs.statSync(logFile).size : 0;
      if (size < last) restarts++;
      fastest = Math.max(fastest, size - last);
      last = size;
      largest = Math.max(largest, size);
    }, 50);
    try {
      await Promise.all([writer(), writer(), writer(), writer(), reader(), reader(), reader(), reader()]);
    } finally {
      clearInterval(watch);
    }
    // Enough written that a log never started again would be far past the bound.
    const written = ids.length;
    expect(written).toBeGreaterThan(300);
    // Past the limit, the log starts again within a few commits (log-restart.ts): again and again.
    expect(restarts).toBeGreaterThan(10);
    // So it never holds more than the limit and what a few tenths of a second of writes add on top. Those writes are
    // heavy for so small a limit (every commit writes each page it changes, some 40 for a create with its AuditEvent):
    // the log grew by up to 10 MiB between two of this test's looks (50 ms apart). A fixed bound of 16 MiB failed on a
    // busy machine (19.4 MiB in CI), so the bound is half a second of writes at the fastest rate seen. Never started
    // again, the log reached 950 MiB in this test.
    expect(largest).toBeLessThan(LIMIT + 10 * fastest);
    const count = await server.api.get('/fhir/Patient?_summary=count');
    expect(count.body.total).toBe(written);
    process.stdout.write(
      `[log size] ${written} creates with reads beside them: largest log ${(largest / 1024 / 1024).toFixed(1)} MiB ` +
        `(limit ${LIMIT / 1024 / 1024} MiB), started again ${restarts} times, ` +
        `grew by up to ${(fastest / 1024 / 1024).toFixed(1)} MiB in 50 ms\n`
    );
  }, 60_000);
});
