// $expand with a filter on a realistic code system of 50,000 concepts,
// through HTTP against the real app on the embedded store.
// Run: npm run build && node dist/test/bench/expand.js [concepts] [requests]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';

const WORDS = [
  'community',
  'walking',
  'group',
  'singing',
  'choir',
  'gardening',
  'allotment',
  'debt',
  'advice',
  'housing',
  'benefits',
  'carers',
  'support',
  'befriending',
  'art',
  'craft',
  'dance',
  'yoga',
  'swimming',
  'football',
  'cooking',
  'reading',
  'library',
  'museum',
  'volunteering',
  'employment',
  'skills',
  'digital',
  'café',
  'men',
  'women',
  'youth',
  'older',
  'people',
  'bereavement',
  'mental',
  'wellbeing',
  'exercise',
  'park',
  'nature',
  'cycling',
  'tai',
  'chi',
  'memory',
  'dementia',
  'parents',
  'baby',
  'lunch',
  'club',
  'social',
];

function concept(i: number): { code: string; display: string; designation: { language: string; value: string }[] } {
  const pick = (n: number) => WORDS[(i * 7919 + n * 104729) % WORDS.length];
  const display = `${pick(1)} ${pick(2)} ${pick(3)} ${i}`;
  return { code: `C${i}`, display: display[0].toUpperCase() + display.slice(1), designation: [{ language: 'cy', value: `${pick(4)} ${i}` }] };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

async function main(): Promise<void> {
  const size = Number(process.argv[2] ?? 50000);
  const requests = Number(process.argv[3] ?? 400);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-expand-'));
  const config = loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, BODY_LIMIT: '100mb', BASE_URL: 'http://127.0.0.1/fhir', AUTH: 'off', RATE_LIMIT: '0' });
  const app = await createApp(config);
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const url = 'https://social-prescribing.example.org/fhir/CodeSystem/bench-directory';
  const put = (resource: object & { resourceType: string; id: string }) =>
    fetch(`${base}/${resource.resourceType}/${resource.id}`, {
      method: 'PUT',
      headers: { 'content-type': 'application/fhir+json' },
      body: JSON.stringify(resource),
    });
  const cs = {
    resourceType: 'CodeSystem',
    id: 'bench-directory',
    url,
    status: 'active',
    content: 'complete',
    concept: Array.from({ length: size }, (_, i) => concept(i)),
  };
  const loaded = await put(cs);
  if (loaded.status !== 201) throw new Error(`CodeSystem refused: ${await loaded.text()}`);
  await put({
    resourceType: 'ValueSet',
    id: 'bench-directory',
    url: url.replace('CodeSystem', 'ValueSet'),
    status: 'active',
    compose: { include: [{ system: url }] },
  } as never);

  const filters = ['walk', 'debt adv', 'CHOIR', 'café', 'men', 'garden club', 'tai chi', 'dem'];
  const expandUrl = (f: string) => `${base}/ValueSet/bench-directory/$expand?filter=${encodeURIComponent(f)}&count=20`;
  const coldStart = process.hrtime.bigint();
  const first = (await (await fetch(expandUrl('walk'))).json()) as { expansion: { total: number } };
  const coldMs = Number(process.hrtime.bigint() - coldStart) / 1e6;

  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests) {
      const f = filters[next++ % filters.length];
      const t = process.hrtime.bigint();
      const res = await fetch(expandUrl(f));
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`$expand answered ${res.status}`);
      latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  };
  await Promise.all([worker(), worker(), worker(), worker()]);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  latencies.sort((a, b) => a - b);
  console.log(
    JSON.stringify({
      scenario: '$expand with filter, count=20',
      concepts: size,
      requests,
      connections: 4,
      firstExpansionMs: Math.round(coldMs),
      matchesForWalk: first.expansion.total,
      perSecond: Math.round(requests / seconds),
      p50ms: Number(percentile(latencies, 0.5).toFixed(1)),
      p95ms: Number(percentile(latencies, 0.95).toFixed(1)),
      p99ms: Number(percentile(latencies, 0.99).toFixed(1)),
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    })
  );
  server.close();
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

void main();
