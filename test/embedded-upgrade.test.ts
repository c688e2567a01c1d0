// Upgrading to the SQLite store: a data directory written by an earlier
// release (every version in snapshot.jsonl, later commits in wal.jsonl) is
// imported on the first start, with a progress line in the log, and the old
// files are kept as a backup. The fixture below writes the old files exactly
// as that release did: one stored version per snapshot line, one commit per
// log line ({"w": versions} or {"x": index updates}), and possibly a torn
// last line from a kill -9 in the middle of an unacknowledged commit.
import fs from 'node:fs';
import path from 'node:path';
import type { Patient, Resource } from '@medplum/fhirtypes';
import { loadBaseDefinitions } from '../src/base/definitions';
import { computeIndex } from '../src/store/indexer';
import type { IndexUpdate, StoredVersion } from '../src/store/port';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { tempDir } from './support/stores';
import { patient } from './support/resources';

/** FHIR JSON as the tests read it: any shape. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const BASE = 'http://localhost:8080/fhir';

/** A stored version as the earlier release wrote it. */
function oldVersion(resource: Resource, versionId: string, lastUpdated: string, deleted = false): StoredVersion {
  const stored = { ...resource, meta: { versionId, lastUpdated } } as Resource;
  return {
    resourceType: resource.resourceType,
    id: resource.id as string,
    versionId,
    lastUpdated,
    deleted,
    ...(deleted ? { idx: {}, sort: {} } : { resource: stored, ...computeIndex(stored, BASE) }),
  };
}

function writeOldDataDirectory(dir: string): void {
  const ana = (family: string): Patient => patient({ id: 'ana', name: [{ family }] });
  const snapshot = [
    oldVersion(ana('Ayodele'), '1', '2025-01-01T10:00:00.000Z'),
    oldVersion(ana('Ayodele-Smith'), '2', '2025-01-02T10:00:00.000Z'),
    oldVersion(patient({ id: 'ben', name: [{ family: 'Bartholomew' }] }), '1', '2025-01-03T10:00:00.000Z'),
    oldVersion(patient({ id: 'cai', name: [{ family: 'Cadwaladr' }] }), '1', '2025-01-04T10:00:00.000Z'),
  ];
  fs.writeFileSync(path.join(dir, 'snapshot.jsonl'), snapshot.map((v) => JSON.stringify(v)).join('\n') + '\n');
  const cai = snapshot[3];
  const reindexed: IndexUpdate = { resourceType: 'Patient', id: 'cai', versionId: '1', idx: { ...cai.idx, family: ['reindexed-family'] }, sort: cai.sort };
  const commits = [
    { w: [oldVersion(ana('Ayodele-Jones'), '3', '2025-02-01T10:00:00.000Z')] },
    { w: [oldVersion({ resourceType: 'Patient', id: 'ben' }, '2', '2025-02-02T10:00:00.000Z', true)] },
    { w: [oldVersion(patient({ id: 'dee', name: [{ family: 'Delacroix' }] }), '1', '2025-02-03T10:00:00.000Z')] },
    { x: [reindexed] },
  ];
  const torn = JSON.stringify({ w: [oldVersion(patient({ id: 'eve', name: [{ family: 'Never-acknowledged' }] }), '1', '2025-02-04T10:00:00.000Z')] }).slice(
    0,
    60
  );
  fs.writeFileSync(path.join(dir, 'wal.jsonl'), commits.map((c) => JSON.stringify(c)).join('\n') + '\n' + torn);
}

describe('upgrade from the in-memory embedded store of earlier releases', () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    // The search parameters the earlier release indexed with.
    loadBaseDefinitions();
    dataDir = tempDir('sp-upgrade-');
    writeOldDataDirectory(dataDir);
  });
  afterAll(async () => {
    if (server) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const start = async (): Promise<ServerProcess> => {
    const started = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    await waitUntilReady(started.url);
    return started;
  };
  const stop = async (): Promise<void> => {
    server?.child.kill('SIGTERM');
    await server?.exited;
    server = undefined;
  };
  const get = async (pathAndQuery: string): Promise<{ status: number; body: Json }> => {
    const res = await fetch(`${server?.url}/fhir/${pathAndQuery}`);
    return { status: res.status, body: await res.json() };
  };

  test('imports every version on first start, logs its progress and keeps the old files as a backup', async () => {
    server = await start();
    expect(server.stdout()).toMatch(/Importing the data directory of an earlier release/);
    expect(server.stdout()).toMatch(/Import complete: 7 versions/);
    expect(fs.existsSync(path.join(dataDir, 'snapshot.jsonl'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'wal.jsonl'))).toBe(false);
    expect(fs.existsSync(path.join(dataDir, 'snapshot.jsonl.imported-backup'))).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'wal.jsonl.imported-backup'))).toBe(true);

    const ana = await get('Patient/ana');
    expect(ana.status).toBe(200);
    expect(ana.body.meta.versionId).toBe('3');
    expect(ana.body.name[0].family).toBe('Ayodele-Jones');
    const history = await get('Patient/ana/_history');
    expect(history.body.entry.map((e: Json) => e.resource.meta.versionId)).toEqual(['3', '2', '1']);
    expect((await get('Patient/ana/_history/1')).body.name[0].family).toBe('Ayodele');
    expect((await get('Patient/ben')).status).toBe(410);
    expect((await get('Patient/dee')).body.name[0].family).toBe('Delacroix');
    // The torn last line was never acknowledged: it is not imported.
    expect((await get('Patient/eve')).status).toBe(404);
  });

  test('search runs on the imported index fields, including a later reindex', async () => {
    const byFamily = await get('Patient?family=ayodele-jones');
    expect(byFamily.body.entry.map((e: Json) => e.resource.id)).toEqual(['ana']);
    expect((await get('Patient?family=Ayodele-Smith&_summary=count')).body.total).toBe(0);
    expect((await get('Patient?family=reindexed-family')).body.entry.map((e: Json) => e.resource.id)).toEqual(['cai']);
    expect((await get('Patient?_summary=count')).body.total).toBe(3);
  });

  test('a restart does not import again, and the server writes on top of the imported data', async () => {
    await stop();
    server = await start();
    expect(server.stdout()).not.toMatch(/Importing/);
    const res = await fetch(`${server.url}/fhir/Patient/ana`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json', 'if-match': 'W/"3"' },
      body: JSON.stringify(patient({ id: 'ana', name: [{ family: 'Ayodele-Okafor' }] })),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Patient).meta?.versionId).toBe('4');
    expect((await get('Patient?family=ayodele-okafor')).body.entry.map((e: Json) => e.resource.id)).toEqual(['ana']);
  });
});
