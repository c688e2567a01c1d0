// The write-ahead log starts again from its beginning only once no reader
// reads the old one. A reader that keeps a read transaction open (a backup
// tool, a slow export, an operator's sqlite3 shell) must not hold every write
// back with it: the log is started again by the writer between two commits,
// never waiting for readers (log-restart.ts), and it grows meanwhile. An
// earlier checkpoint (RESTART) waited for readers as long as the writer did
// (5 s), holding every write back: writes stalled for seconds at a time and
// some were refused with 503 ("database is locked").
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATABASE_FILE } from '../src/store/embedded/schema';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { embeddedIn, tempDir } from './support/stores';
import { patient } from './support/resources';

const LIMIT = 128 * 1024;
const dir = tempDir();
const target = embeddedIn(dir, { logLimitBytes: LIMIT });

describe('embedded store: a long reader beside the checkpoint', () => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('writes go on without stalls while another connection holds a read transaction open', async () => {
    expect((await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).status).toBe(201);
    const reader = new DatabaseSync(path.join(dir, DATABASE_FILE));
    const latencies: number[] = [];
    try {
      reader.exec('BEGIN');
      expect((reader.prepare('SELECT count(*) AS n FROM current_resource').get() as { n: number }).n).toBeGreaterThan(0);
      // Enough writes to pass the log's limit many times over, for longer than the writer's own lock wait (5 s).
      const until = Date.now() + 7_000;
      const writer = async () => {
        while (Date.now() < until) {
          const started = Date.now();
          const res = await server.api
            .post('/fhir/Patient')
            .set('Content-Type', FHIR_JSON)
            .send(patient({ name: [{ family: `Pinned${latencies.length}`, given: ['Log'.repeat(60)] }] }));
          expect(res.status).toBe(201);
          latencies.push(Date.now() - started);
        }
      };
      await Promise.all([writer(), writer(), writer()]);
    } finally {
      reader.exec('COMMIT');
      reader.close();
    }
    const slowest = Math.max(...latencies);
    process.stdout.write(`[checkpoint wait] ${latencies.length} creates beside an open reader: slowest ${slowest} ms\n`);
    expect(latencies.length).toBeGreaterThan(100);
    // A restart that waits for the reader held every write back for its whole wait: 5 s at a time.
    expect(slowest).toBeLessThan(1_500);
  }, 60_000);
});
