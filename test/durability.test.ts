// The embedded store keeps every acknowledged write across a restart and a
// kill -9, and the server stops gracefully on SIGTERM.
import fs from 'node:fs';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { tempDir } from './support/stores';
import { patient } from './support/resources';

const FHIR_JSON = 'application/fhir+json';

async function start(dataDir: string): Promise<ServerProcess> {
  const server = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
  await waitUntilReady(server.url);
  return server;
}

interface Ack {
  id: string;
  versionId: string;
  family: string;
}

describe('embedded store durability', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = tempDir('sp-durable-');
  });
  afterEach(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('kill -9 in the middle of a write stream loses no acknowledged write', async () => {
    let server = await start(dataDir);
    const acks: Ack[] = [];
    let stop = false;
    // Eight writers create and update until the kill; each records what the server acknowledged.
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        try {
          const family = `W${w}-${i}`;
          const res = await fetch(`${server.url}/fhir/Patient`, {
            method: 'POST',
            headers: { 'content-type': FHIR_JSON },
            body: JSON.stringify(patient({ name: [{ family }] })),
          });
          if (res.status !== 201) continue;
          const body = (await res.json()) as { id: string; meta: { versionId: string } };
          acks.push({ id: body.id, versionId: body.meta.versionId, family });
          const upd = await fetch(`${server.url}/fhir/Patient/${body.id}`, {
            method: 'PUT',
            headers: { 'content-type': FHIR_JSON, 'if-match': 'W/"1"' },
            body: JSON.stringify({ ...patient({ name: [{ family: family + 'u' }] }), id: body.id }),
          });
          if (upd.status === 200) acks.push({ id: body.id, versionId: '2', family: family + 'u' });
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Array.from({ length: 8 }, (_, w) => writer(w));
    while (acks.length < 300) await new Promise((r) => setTimeout(r, 10));
    server.child.kill('SIGKILL');
    stop = true;
    await Promise.all(writers);
    await server.exited;

    server = await start(dataDir);
    try {
      for (const ack of acks) {
        const res = await fetch(`${server.url}/fhir/Patient/${ack.id}/_history/${ack.versionId}`);
        expect(res.status).toBe(200);
        const body = (await res.json()) as { name: { family: string }[] };
        expect(body.name[0].family).toBe(ack.family);
      }
      expect(acks.length).toBeGreaterThanOrEqual(300);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  test('SIGTERM stops the server cleanly and a restart keeps every write', async () => {
    let server = await start(dataDir);
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await fetch(`${server.url}/fhir/Patient`, { method: 'POST', headers: { 'content-type': FHIR_JSON }, body: JSON.stringify(patient()) });
      ids.push(((await res.json()) as { id: string }).id);
    }
    const started = Date.now();
    server.child.kill('SIGTERM');
    expect(await server.exited).toBe(0);
    expect(Date.now() - started).toBeLessThan(10000);

    server = await start(dataDir);
    try {
      for (const id of ids) expect((await fetch(`${server.url}/fhir/Patient/${id}`)).status).toBe(200);
      const search = (await (await fetch(`${server.url}/fhir/Patient?_summary=count`)).json()) as { total: number };
      expect(search.total).toBe(20);
    } finally {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });
});

describe('one process per data directory, and its logs', () => {
  test('a second server on the same DATA_DIR refuses to start while the first runs', async () => {
    const dataDir = tempDir('sp-lock-');
    const first = await start(dataDir);
    try {
      const second = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()) });
      expect(await second.exited).toBe(1);
      expect(second.stderr()).toContain('in use');
    } finally {
      first.child.kill('SIGKILL');
      await first.exited;
    }
    // A lock left by a killed process is taken over.
    const again = await start(dataDir);
    again.child.kill('SIGTERM');
    expect(await again.exited).toBe(0);
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  test('each request is logged as one JSON line with method, path, status and duration, without the query', async () => {
    const dataDir = tempDir('sp-log-');
    const server = spawnServer({ DATA_DIR: dataDir, PORT: String(await freePort()), LOG_LEVEL: 'info' });
    await waitUntilReady(server.url);
    await fetch(`${server.url}/fhir/Patient?identifier=9434765919`);
    server.child.kill('SIGTERM');
    await server.exited;
    const lines = server
      .stdout()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const search = lines.find((l) => l.path === '/fhir/Patient');
    expect(search).toMatchObject({ method: 'GET', status: 200, msg: 'request' });
    expect(typeof search?.durationMs).toBe('number');
    expect(server.stdout()).not.toContain('9434765919');
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
});

describe('configuration', () => {
  test('a bad value stops the server with a message naming the variable', async () => {
    const server = spawnServer({ PORT: 'eighty', DATA_DIR: tempDir() });
    expect(await server.exited).toBe(2);
    expect(server.stderr()).toContain('PORT');
  });

  test('a MONGODB_URI that is not a MongoDB URI is refused at start', async () => {
    const server = spawnServer({ PORT: '8080', MONGODB_URI: 'postgres://localhost/db', DATA_DIR: tempDir() });
    expect(await server.exited).toBe(2);
    expect(server.stderr()).toContain('MONGODB_URI');
  });
});
