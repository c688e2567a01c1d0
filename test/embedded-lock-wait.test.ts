// A write waits for the write lock while another connection holds it (a
// checkpoint, an operator's sqlite3 shell) for up to 5 s by the clock.
// SQLite's own wait adds up the sleeps it asked for, and a signal cuts each
// one short: in a server run under a profiler (--cpu-prof, which signals
// every thread many times a millisecond) the 5 s were over in some 20 ms,
// and writes were refused with 503 "database is locked" while the log's
// checkpoint held the lock for a few tens of milliseconds.
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATABASE_FILE } from '../src/store/embedded/schema';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { tempDir } from './support/stores';
import { patient } from './support/resources';

const HELD_MS = 400;

describe('embedded store: a write waits for a lock another connection holds', () => {
  const dataDir = tempDir('sp-lock-wait-');
  let server: ServerProcess;

  beforeAll(async () => {
    server = spawnServer({
      DATA_DIR: dataDir,
      PORT: String(await freePort()),
      NODE_OPTIONS: `--cpu-prof --cpu-prof-interval=50 --cpu-prof-dir=${path.join(dataDir, 'profiles')}`,
    });
    await waitUntilReady(server.url, 60_000);
  }, 70_000);
  afterAll(async () => {
    server.child.kill('SIGTERM');
    await server.exited;
  });

  const create = async (): Promise<number> =>
    (await fetch(`${server.url}/fhir/Patient`, { method: 'POST', headers: { 'content-type': 'application/fhir+json' }, body: JSON.stringify(patient()) }))
      .status;

  test('under a profiler, a create waits out a write lock held for 400 ms', async () => {
    expect(await create()).toBe(201);
    const other = new DatabaseSync(path.join(dataDir, DATABASE_FILE));
    let status: number;
    const started = Date.now();
    try {
      other.exec('BEGIN IMMEDIATE');
      const pending = create();
      await new Promise((resolve) => setTimeout(resolve, HELD_MS));
      other.exec('COMMIT');
      status = await pending;
    } finally {
      if (other.isTransaction) other.exec('ROLLBACK');
      other.close();
    }
    expect(status).toBe(201);
    expect(Date.now() - started).toBeGreaterThanOrEqual(HELD_MS);
  }, 30_000);
});
