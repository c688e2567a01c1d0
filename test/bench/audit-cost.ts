// Heap and disk per audited request: N reads of one resource through HTTP,
// each leaving its AuditEvent, with the heap (after a full GC) and the data
// directory's size measured before and after.
// Run: npm run build && node --expose-gc dist/test/bench/audit-cost.js [requests]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';

const dirSize = (dir: string): number =>
  fs.readdirSync(dir, { withFileTypes: true }).reduce((sum, entry) => {
    const full = path.join(dir, entry.name);
    return sum + (entry.isDirectory() ? dirSize(full) : fs.statSync(full).size);
  }, 0);

function heapUsed(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
}

async function main(): Promise<void> {
  const requests = Number(process.argv[2] ?? 5000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-audit-'));
  const app = await createApp(loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, AUTH: 'off', RATE_LIMIT: '0' }));
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const created = await fetch(`${base}/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: JSON.stringify({ resourceType: 'Patient', name: [{ family: 'Audit' }] }),
  });
  const { id } = (await created.json()) as { id: string };
  // Warm up, so caches and compiled code are not counted as audit.
  for (let i = 0; i < 200; i++) await (await fetch(`${base}/Patient/${id}`)).arrayBuffer();
  const heapBefore = heapUsed();
  const diskBefore = dirSize(dataDir);
  for (let i = 0; i < requests; i++) {
    const res = await fetch(`${base}/Patient/${id}`);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`read answered ${res.status}`);
  }
  const heapAfter = heapUsed();
  server.close();
  await app.close();
  const diskAfter = dirSize(dataDir);
  console.log(
    JSON.stringify({
      requests,
      heapBytesPerRequest: Math.round((heapAfter - heapBefore) / requests),
      diskBytesPerRequest: Math.round((diskAfter - diskBefore) / requests),
      machine: { cpus: os.cpus().length, node: process.version },
    })
  );
  fs.rmSync(dataDir, { recursive: true, force: true });
}

void main();
