// Restart time does not grow with the history: a server started over a data
// directory holding more than 600 MiB of versions answers /readyz within 5 s.
// The data is written straight into the SQLite tables (as the store lays them
// out), after a first start of the server, so that generating it takes
// seconds, not the hours the API would, and the start timed is a restart.
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { DATABASE_FILE } from '../src/store/embedded/schema';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { tempDir } from './support/stores';

const TARGET_BYTES = 620 * 1024 * 1024;
const PATIENTS = 2000;
/** A narrative of about 6 KB makes each version the size of a rich clinical resource. */
const NARRATIVE = `<div xmlns="http://www.w3.org/1999/xhtml">${'Social prescribing history note. '.repeat(190)}</div>`;

/**
 * A first start of the server on the directory: it makes the schema and
 * stores the server's own conformance resources, as in any data directory
 * in use, so that the start timed below is a restart.
 */
async function firstStart(dataDir: string): Promise<void> {
  const first = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
  await waitUntilReady(first.url, 30_000);
  first.child.kill('SIGTERM');
  await first.exited;
}

async function fillHistory(dataDir: string): Promise<number> {
  // The server makes the schema, then the rows go in without it.
  await firstStart(dataDir);
  const db = new DatabaseSync(path.join(dataDir, DATABASE_FILE));
  db.exec('PRAGMA journal_mode = WAL');
  db.exec('PRAGMA synchronous = OFF');
  const insertVersion = db.prepare('INSERT INTO resource_version (type, id, vid, last_updated, deleted, resource) VALUES (?, ?, ?, ?, 0, ?)');
  const upsertCurrent = db.prepare(
    "INSERT INTO current_resource (type, id, vid, last_updated, deleted, idx, sort) VALUES ('Patient', ?, ?, ?, 0, '{}', '{}') " +
      'ON CONFLICT (type, id) DO UPDATE SET vid = excluded.vid, last_updated = excluded.last_updated'
  );
  let bytes = 0;
  let vid = 0;
  const start = Date.parse('2020-01-01T00:00:00.000Z');
  while (bytes < TARGET_BYTES) {
    vid++;
    db.exec('BEGIN');
    for (let p = 0; p < PATIENTS; p++) {
      const id = `history-${p}`;
      const lastUpdated = new Date(start + vid * 86_400_000 + p).toISOString();
      const resource = JSON.stringify({
        resourceType: 'Patient',
        id,
        meta: { versionId: String(vid), lastUpdated },
        text: { status: 'generated', div: NARRATIVE },
        name: [{ family: `Family${p}`, given: [`V${vid}`] }],
      });
      insertVersion.run('Patient', id, vid, lastUpdated, resource);
      upsertCurrent.run(id, vid, lastUpdated);
      bytes += resource.length;
    }
    db.exec('COMMIT');
  }
  // On disk before the clock starts, so the start is not measured against the flush of the fill.
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
  db.close();
  return vid;
}

describe('embedded store: restart over a large history', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    dataDir = tempDir('sp-large-history-');
  });
  afterAll(async () => {
    if (server) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('answers /readyz within 5 s over more than 600 MiB of history, and serves it', async () => {
    const versions = await fillHistory(dataDir);
    const size = fs.statSync(path.join(dataDir, DATABASE_FILE)).size;
    expect(size).toBeGreaterThan(600 * 1024 * 1024);

    const started = Date.now();
    server = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
    await waitUntilReady(server.url, 30_000);
    const readyMs = Date.now() - started;
    process.stdout.write(
      `[large history] ${(size / 1024 / 1024).toFixed(0)} MiB, ${PATIENTS} patients x ${versions} versions: /readyz 200 after ${readyMs} ms\n`
    );
    expect(readyMs).toBeLessThan(5000);

    const current = await fetch(`${server.url}/fhir/Patient/history-7`);
    expect(current.status).toBe(200);
    expect(((await current.json()) as { meta: { versionId: string } }).meta.versionId).toBe(String(versions));
    const first = await fetch(`${server.url}/fhir/Patient/history-7/_history/1`);
    expect(((await first.json()) as { name: Array<{ given: string[] }> }).name[0].given).toEqual(['V1']);
    const history = (await (await fetch(`${server.url}/fhir/Patient/history-7/_history?_count=5`)).json()) as { entry: unknown[] };
    expect(history.entry).toHaveLength(5);
  }, 300_000);
});
