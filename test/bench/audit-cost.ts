// Heap and disk per audited request: N reads of one resource through HTTP,
// each leaving its AuditEvent, with the heap (after a full GC) and the data
// directory's size (with the server stopped) measured before and after.
// Run: npm run build && node --expose-gc dist/test/bench/audit-cost.js [requests]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { diskBytes } from './data-size';

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

/** The server over dataDir, as the app runs it, on a port of its own. */
async function serve(dataDir: string): Promise<{ base: string; stop: () => Promise<void> }> {
  const app = await createApp(loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, AUTH: 'off', RATE_LIMIT: '0' }));
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  return {
    base,
    stop: async () => {
      server.close();
      await app.close();
    },
  };
}

async function read(url: string): Promise<void> {
  const res = await fetch(url);
  await res.arrayBuffer();
  if (res.status !== 200) throw new Error(`read answered ${res.status}`);
}

const WARM_UP = 200;

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 5000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-audit-'));
  // The disk is measured with the server stopped: closing copies the write-ahead log into the database and removes it,
  // so the sizes compare the data itself, not how much of it the log held at that moment.
  const first = await serve(dataDir);
  const created = await fetch(`${first.base}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Audit' }] }),
  });
  const { id } = (await created.json()) as { id: string };
  for (let i = 0; i < WARM_UP; i++) await read(`${first.base}/Patient/${id}`);
  await first.stop();
  const diskBefore = diskBytes(dataDir);
  const second = await serve(dataDir);
  // Warm up, so caches and compiled code are not counted as audit (their events count on disk).
  for (let i = 0; i < WARM_UP; i++) await read(`${second.base}/Patient/${id}`);
  const heapBefore = heapUsed();
  for (let i = 0; i < requests; i++) await read(`${second.base}/Patient/${id}`);
  const heapAfter = heapUsed();
  await second.stop();
  const diskAfter = diskBytes(dataDir);
  console.log(
    JSON.stringify({
      requests,
      heapBytesPerRequest: Math.round((heapAfter - heapBefore) / requests),
      diskBytesPerRequest: Math.round((diskAfter - diskBefore) / (requests + WARM_UP)),
      machine: { cpus: os.cpus().length, node: process.version },
    })
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
}

void main();
