// Soak: a server process (embedded store, or MongoDB when MONGODB_URI is set)
// under steady load of creates, updates, reads and searches for SOAK_MINUTES
// (default 10), sampling the server's resident memory (RSS) from /proc every
// 10 s. Prints RSS at start and end, the peak and the request counts; fails
// (exit 1) if any request got a 5xx or RSS at the end exceeds 2x RSS after warm-up.
//   npm run soak            SOAK_MINUTES=1 npm run soak
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, waitUntilReady } from '../support/process';
import { tempDir } from '../support/stores';

const MINUTES = Number(process.env.SOAK_MINUTES ?? 10);
const RATE = Number(process.env.SOAK_RATE ?? 100); // requests per second
const FHIR_JSON = 'application/fhir+json';

function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
}

async function main(): Promise<void> {
  const dataDir = tempDir('sp-soak-');
  const port = await freePort();
  // Run from dist/test/bench: the built server is dist/src/server.js.
  const child = spawn(process.execPath, [path.join(__dirname, '../../src/server.js')], {
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'warn',
      HOST: '127.0.0.1',
      AUTH: 'off',
      PORT: String(port),
      DATA_DIR: dataDir,
      ...(process.env.MONGODB_URI ? { MONGODB_URI: process.env.MONGODB_URI } : {}),
    },
    stdio: 'ignore',
  });
  const server = { child, url: `http://127.0.0.1:${port}`, exited: new Promise((resolve) => child.on('exit', resolve)) };
  await waitUntilReady(server.url, 60000);
  const pid = server.child.pid as number;
  const counts: Record<string, number> = {};
  const ids: string[] = [];
  const count = (k: string) => (counts[k] = (counts[k] ?? 0) + 1);
  const one = async (i: number): Promise<void> => {
    const kind = i % 10;
    let res: Response;
    if (kind < 3 || ids.length === 0) {
      res = await fetch(`${server.url}/fhir/Patient`, {
        method: 'POST',
        headers: { 'content-type': FHIR_JSON },
        body: JSON.stringify({ resourceType: 'Patient', name: [{ family: `Soak${i}` }], identifier: [{ system: 'urn:soak', value: String(i) }] }),
      });
      if (res.status === 201) ids.push(((await res.json()) as { id: string }).id);
      else await res.arrayBuffer();
    } else if (kind < 5) {
      const id = ids[i % ids.length];
      res = await fetch(`${server.url}/fhir/Patient/${id}`, {
        method: 'PUT',
        headers: { 'content-type': FHIR_JSON },
        body: JSON.stringify({ resourceType: 'Patient', id, name: [{ family: `Soak${i}u` }] }),
      });
      await res.arrayBuffer();
    } else if (kind < 8) {
      res = await fetch(`${server.url}/fhir/Patient/${ids[i % ids.length]}`);
      await res.arrayBuffer();
    } else {
      res = await fetch(`${server.url}/fhir/Patient?identifier=urn:soak|${i - 100}&_count=10`);
      await res.arrayBuffer();
    }
    count(String(res.status));
  };
  const started = Date.now();
  const samples: { s: number; mb: number }[] = [];
  const sample = () => samples.push({ s: Math.round((Date.now() - started) / 1000), mb: Math.round(rssMb(pid) * 10) / 10 });
  sample();
  const timer = setInterval(sample, 10_000);
  let i = 0;
  const inFlight = new Set<Promise<void>>();
  while (Date.now() - started < MINUTES * 60_000) {
    const tickStart = Date.now();
    for (let k = 0; k < RATE / 10; k++) {
      const p = one(i++)
        .catch(() => void count('network-error'))
        .finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await new Promise((r) => setTimeout(r, Math.max(0, 100 - (Date.now() - tickStart))));
  }
  await Promise.all(inFlight);
  clearInterval(timer);
  sample();
  const afterWarmup = samples.find((s) => s.s >= 60) ?? samples[0];
  const end = samples[samples.length - 1];
  const peak = Math.max(...samples.map((s) => s.mb));
  console.log(
    JSON.stringify(
      { minutes: MINUTES, requests: i, statuses: counts, rssMb: { start: samples[0].mb, afterWarmup: afterWarmup.mb, end: end.mb, peak }, samples },
      null,
      1
    )
  );
  server.child.kill('SIGTERM');
  await server.exited;
  fs.rmSync(dataDir, { recursive: true, force: true });
  const fiveHundreds = Object.entries(counts)
    .filter(([s]) => s.startsWith('5') || s === 'network-error')
    .reduce((n, [, c]) => n + c, 0);
  if (fiveHundreds > 0 || end.mb > 2 * afterWarmup.mb) process.exit(1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
