// npm run import:oruk as a process: it opens the store the server would
// (DATA_DIR), prints a summary, reruns change nothing, and it refuses with a
// clear message while a server holds the data directory.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, spawnServer, waitUntilReady } from './support/process';
import { tempDir } from './support/stores';
import { orukPage, orukService } from './support/oruk';

const CLI = path.join(__dirname, '../dist/src/cli/import-oruk.js');

function runCli(args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('import:oruk command', () => {
  let dataDir: string;
  let input: string;
  beforeAll(() => {
    if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run npm run build first`);
    dataDir = tempDir();
    input = tempDir('sp-oruk-');
    const services = Array.from({ length: 5 }, () => orukService());
    fs.writeFileSync(path.join(input, 'page-1.json'), JSON.stringify(orukPage(services.slice(0, 3), 1, 2)));
    fs.writeFileSync(path.join(input, 'page-2.json'), JSON.stringify(orukPage([...services.slice(3), { ...orukService(), status: 'closed' }], 2, 2)));
  });
  afterAll(() => {
    fs.rmSync(dataDir, { recursive: true, force: true });
    fs.rmSync(input, { recursive: true, force: true });
  });

  test('imports a directory of page files with a summary, and a rerun changes nothing', async () => {
    const first = await runCli([input], { DATA_DIR: dataDir });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^Imported 6 services in [\d.]+ s \(\d+\/s\): created 5, updated 0, unchanged 0, deactivated 0, rejected 1$/m);
    expect(first.stdout).toMatch(
      /rejected svc-\S+ from .*page-2\.json contents\[2\]: Not a valid ORUK service: status must be equal to one of the allowed values/
    );
    // The progress display: a bar with counts and rate.
    expect(first.stderr).toMatch(/\[#+\] 6\/6 services \(created 5, updated 0, unchanged 0, rejected 1, deactivated 0\) \d+\/s/);

    const again = await runCli([input], { DATA_DIR: dataDir });
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/created 0, updated 0, unchanged 5, deactivated 0, rejected 1/);
  });

  test('a file that is not JSON is reported and the other files still import', async () => {
    const broken = path.join(input, 'zz-broken.json');
    fs.writeFileSync(broken, '{"contents": [');
    try {
      const res = await runCli([input, '--no-deactivate'], { DATA_DIR: dataDir });
      expect(res.code).toBe(0);
      expect(res.stdout).toMatch(/unchanged 5, deactivated 0, rejected 2/);
      expect(res.stdout).toMatch(/rejected \(no id\) from .*zz-broken\.json: Not JSON/);
    } finally {
      fs.rmSync(broken);
    }
  });

  test('refuses while a server runs on the same DATA_DIR, and says to use $import-directory', async () => {
    const port = await freePort();
    const server = spawnServer({ PORT: String(port), DATA_DIR: dataDir });
    try {
      await waitUntilReady(server.url);
      const res = await runCli([input], { DATA_DIR: dataDir, PORT: String(port) });
      expect(res.code).toBe(1);
      expect(res.stderr).toContain(`is in use by process ${server.child.pid}`);
      expect(res.stderr).toContain(`POST http://127.0.0.1:${port}/fhir/$import-directory`);
    } finally {
      server.child.kill('SIGTERM');
      await server.exited;
    }
  });

  test('usage errors exit with 2 and say what is wrong', async () => {
    const none = await runCli([], { DATA_DIR: dataDir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^Usage: npm run import:oruk -- /);
    const missing = await runCli(['/nonexistent/oruk'], { DATA_DIR: dataDir });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('/nonexistent/oruk: no such file or directory');
  });
});
