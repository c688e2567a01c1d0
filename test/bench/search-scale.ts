// Search latency at scale on the embedded store: N Tasks (with their
// ServiceRequests, Patients and CarePlans) are written straight through the
// storage port with their index fields (loading through the API is the
// benchmark suite's job), then the polling query, CarePlan by NHS number and a
// near query are timed through HTTP, with reads by id. It reports the memory
// (RSS) and disk the data takes, and the time to restart over it (the app
// closed and created again on the same data directory).
// Run: npm run build && node dist/test/bench/search-scale.js [tasks] [requests]
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Resource } from '@medplum/fhirtypes';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { computeIndex } from '../../src/store/indexer';
import type { StoredVersion, VersionWrite } from '../../src/store/port';

const BASE = 'http://127.0.0.1/fhir';

function nhsNumber(i: number): string {
  const digits = String(999000000 + (i % 999999))
    .padStart(9, '0')
    .split('')
    .map(Number);
  for (let bump = 0; bump < 20; bump++) {
    const d = digits.slice();
    d[8] = (d[8] + bump) % 10;
    const sum = d.reduce((acc, n, k) => acc + n * (10 - k), 0);
    const check = 11 - (sum % 11);
    if (check !== 10) return d.join('') + String(check === 11 ? 0 : check);
  }
  return '9434765919';
}

function version(resource: Resource, lastUpdated: string): VersionWrite {
  const stored = { ...resource, meta: { versionId: '1', lastUpdated } } as Resource;
  const v: StoredVersion = {
    resourceType: resource.resourceType,
    id: resource.id as string,
    versionId: '1',
    lastUpdated,
    deleted: false,
    resource: stored,
    ...computeIndex(stored, BASE),
  };
  return { version: v, expectedVersionId: undefined };
}

async function timeRequests(url: string, requests: number): Promise<{ firstMs: number; p50: number; p99: number; perSecond: number }> {
  // The first request reads from a cold page cache; it is reported on its own.
  const first = process.hrtime.bigint();
  await (await fetch(url)).arrayBuffer();
  const firstMs = Math.round(Number(process.hrtime.bigint() - first) / 1e6);
  const latencies: number[] = [];
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i++) {
    const t = process.hrtime.bigint();
    const res = await fetch(url);
    await res.arrayBuffer();
    if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
    latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  latencies.sort((a, b) => a - b);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  return {
    firstMs,
    p50: Number(latencies[Math.floor(requests * 0.5)].toFixed(1)),
    p99: Number(latencies[Math.floor(requests * 0.99)].toFixed(1)),
    perSecond: Math.round(requests / seconds),
  };
}

async function main(): Promise<void> {
  const tasks = Number(process.argv[2] ?? 25000);
  const requests = Number(process.argv[3] ?? 100);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-scale-'));
  const config = loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, BASE_URL: BASE, AUTH: 'off', RATE_LIMIT: '0' });
  let app = await createApp(config);
  const owners = 50;
  const t0 = Date.now();
  for (let start = 0; start < tasks; start += 500) {
    const writes: VersionWrite[] = [];
    for (let i = start; i < Math.min(tasks, start + 500); i++) {
      const when = new Date(Date.UTC(2026, 0, 1) + i * 60000).toISOString();
      writes.push(
        version(
          {
            resourceType: 'Patient',
            id: `p${i}`,
            identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: nhsNumber(i) }],
            name: [{ family: `Family${i % 997}` }],
          } as Resource,
          when
        ),
        version(
          {
            resourceType: 'ServiceRequest',
            id: `sr${i}`,
            status: 'active',
            intent: 'order',
            subject: { reference: `Patient/p${i}` },
            code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106' }] },
          } as Resource,
          when
        ),
        version(
          {
            resourceType: 'Task',
            id: `t${i}`,
            status: 'requested',
            intent: 'order',
            focus: { reference: `ServiceRequest/sr${i}` },
            for: { reference: `Patient/p${i}` },
            owner: { reference: `Organization/o${i % owners}` },
          } as Resource,
          when
        ),
        version({ resourceType: 'CarePlan', id: `cp${i}`, status: 'active', intent: 'plan', subject: { reference: `Patient/p${i}` } } as Resource, when),
        version(
          {
            resourceType: 'Location',
            id: `l${i}`,
            name: `Place ${i}`,
            position: { latitude: 53.5 + (i % 1000) / 1000, longitude: -2 + ((i * 7) % 1000) / 1000 },
          } as Resource,
          when
        )
      );
    }
    await app.store.commit(writes);
    if (start % 50000 === 0 && start > 0) process.stderr.write(`  ${start * 5} resources written\n`);
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  const rssAfterLoadMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
  await app.close();
  const restartStarted = Date.now();
  app = await createApp(config);
  const restartMs = Date.now() - restartStarted;
  const diskMiB = Math.round(fs.readdirSync(dataDir).reduce((sum, f) => sum + fs.statSync(path.join(dataDir, f)).size, 0) / 2 ** 20);
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`;
  const since = new Date(Date.UTC(2026, 0, 1) + (tasks - 200) * 60000).toISOString();
  const target = Math.floor(tasks / 2);
  const results = {
    polling: await timeRequests(`${base}/Task?owner=Organization/o7&_lastUpdated=gt${since}&_include=Task:focus`, requests),
    carePlanByNhsNumber: await timeRequests(
      `${base}/CarePlan?subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|${nhsNumber(target)}&_revinclude=Task:focus`,
      requests
    ),
    near: await timeRequests(`${base}/Location?near=53.8|-1.55|5|km&_count=20`, requests),
    readById: await timeRequests(`${base}/Patient/p${target}`, requests),
  };
  console.log(
    JSON.stringify({
      store: 'embedded',
      resources: tasks * 5,
      tasks,
      loadSeconds,
      rssAfterLoadMiB,
      restartMs,
      rssAfterQueriesMiB: Math.round(process.memoryUsage().rss / 2 ** 20),
      diskMiB,
      requestsPerScenario: requests,
      connections: 1,
      results,
      machine: { cpus: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    })
  );
  server.close();
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

void main();
