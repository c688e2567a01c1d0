// A directory import job survives its server: the process is killed (kill -9)
// in the middle of an import, a new one starts on the same data directory,
// takes the job over from the input kept in the store, and finishes it, each
// service imported once. (Two processes on one MongoDB: multi-process.test.ts.)
import fs from 'node:fs';
import { ORUK_SERVICE_ID } from '../src/directory/map';
import { kickOffImport } from './support/oruk';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { tempDir } from './support/stores';

describe('directory import across a restart on the embedded store', () => {
  const SERVICES = 150;
  const dir = tempDir('sp-import-restart-');
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) s.child.kill('SIGKILL');
    await Promise.all(servers.map((s) => s.exited));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const start = async (): Promise<ServerProcess> => {
    const server = spawnServer({ DATA_DIR: dir, PORT: String(await freePort()), DIRECTORY_IMPORT_BATCH: '5' });
    servers.push(server);
    await waitUntilReady(server.url);
    return server;
  };

  test('an import interrupted by kill -9 is taken over after the restart and completes, each service once', async () => {
    const first = await start();
    const statusPath = await kickOffImport(first.url, SERVICES);

    // Wait until the job is visibly part-way through, then kill the server.
    let progress = '';
    for (let i = 0; i < 1000 && !/^[1-9]\d*\//.test(progress); i++) {
      const res = await fetch(`${first.url}${statusPath}`);
      expect(res.status).toBe(202);
      progress = res.headers.get('x-progress') ?? '';
      if (!/^[1-9]\d*\//.test(progress)) await new Promise((r) => setTimeout(r, 10));
    }
    first.child.kill('SIGKILL');
    await first.exited;
    const done = Number(progress.split('/')[0]);
    expect(done).toBeGreaterThan(0);
    expect(done).toBeLessThan(SERVICES);

    const second = await start();
    let res = await fetch(`${second.url}${statusPath}`);
    for (let i = 0; i < 600 && res.status === 202; i++) {
      await new Promise((r) => setTimeout(r, 100));
      res = await fetch(`${second.url}${statusPath}`);
    }
    expect(res.status).toBe(200);
    const summary = (await res.json()) as { parameter: { name: string; valueInteger?: number }[] };
    const value = (name: string) => summary.parameter.find((p) => p.name === name)?.valueInteger ?? 0;
    expect([value('total'), value('rejected')]).toEqual([SERVICES, 0]);
    expect(value('created') + value('updated') + value('unchanged')).toBe(SERVICES);
    const count = await fetch(`${second.url}/fhir/HealthcareService?identifier=${encodeURIComponent(`${ORUK_SERVICE_ID}|`)}&_summary=count`);
    expect(((await count.json()) as { total: number }).total).toBe(SERVICES);
  }, 120000);
});
