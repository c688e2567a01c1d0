// A bulk export survives its server: the process is killed (kill -9) in the
// middle of a job, a new one starts on the same store, takes the job over and
// completes it, with every resource exported exactly once.
import type { Resource } from '@medplum/fhirtypes';
import fs from 'node:fs';
import { getResourceTypeNames, loadBaseDefinitions } from '../src/base/definitions';
import { EmbeddedStore } from '../src/store/embedded/store';
import { MongoStore } from '../src/store/mongo/store';
import type { StoragePort } from '../src/store/port';
import { bulkClient, pathOf } from './support/bulk';
import { loadHistory } from './support/history';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { storeTargets, tempDir, uniqueDatabaseUri } from './support/stores';

describe.each(storeTargets)('bulk export across a restart on the $name store', (target) => {
  // FerretDB scans for every query: fewer pages keep its run short.
  const TASKS = target.name === 'embedded' ? 1000 : 300;
  let env: Record<string, string>;
  let cleanup: () => Promise<void>;
  const servers: ServerProcess[] = [];

  beforeAll(async () => {
    loadBaseDefinitions();
    let store: StoragePort;
    if (target.name === 'embedded') {
      const dir = tempDir('sp-export-restart-');
      env = { DATA_DIR: dir };
      store = new EmbeddedStore(dir);
      cleanup = async () => fs.rmSync(dir, { recursive: true, force: true });
    } else {
      const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
      env = { MONGODB_URI: uri };
      store = new MongoStore(uri);
      cleanup = async () => {
        const s = new MongoStore(uri);
        await s.start([]);
        await s.dropDatabase();
        await s.close();
      };
    }
    // Small pages and a short lease: the job takes many pages, and a successor need not wait long.
    Object.assign(env, { EXPORT_PAGE_SIZE: '5', EXPORT_LEASE_SECONDS: '2', BASE_URL: 'http://fhir.test/fhir' });
    await store.start(getResourceTypeNames());
    const versions = Array.from({ length: TASKS }, (_, i) => ({
      resource: { resourceType: 'Task', id: `task-${String(i).padStart(5, '0')}`, status: 'requested', intent: 'order' } as Resource,
      at: '2026-02-01T09:00:00Z',
    }));
    await loadHistory(store, versions);
    await store.close();
  }, 120000);

  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGKILL');
    await cleanup();
  });

  const start = async (): Promise<ServerProcess> => {
    const server = spawnServer({ ...env, PORT: String(await freePort()) });
    servers.push(server);
    await waitUntilReady(server.url);
    return server;
  };

  test('a job interrupted by kill -9 is taken over after the restart and completes, each resource once', async () => {
    const first = await start();
    const kickOff = await fetch(`${first.url}/fhir/$export?_type=Task`, { headers: { Prefer: 'respond-async' } });
    expect(kickOff.status).toBe(202);
    const statusPath = pathOf(kickOff.headers.get('content-location') as string);

    // Wait until the job is visibly part-way through, then kill the server.
    let progress = '';
    for (let i = 0; i < 600 && !/^[1-9]\d* of/.test(progress); i++) {
      const res = await fetch(`${first.url}${statusPath}`);
      expect(res.status).toBe(202);
      progress = res.headers.get('x-progress') ?? '';
      if (!/^[1-9]\d* of/.test(progress)) await new Promise((r) => setTimeout(r, 20));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const [done] = progress.split(' of ').map(Number);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(TASKS);

    const second = await start();
    const bulk = bulkClient(second.url);
    const manifest = await bulk.manifest(statusPath, undefined, 90000);
    expect(manifest.output).toEqual([expect.objectContaining({ type: 'Task', count: TASKS })]);
    const ids = ((await bulk.download(manifest)).get('Task')?.resources ?? []).map((r) => r.id as string);
    expect(ids).toHaveLength(TASKS);
    expect(new Set(ids).size).toBe(TASKS);
  }, 120000);
});
