// Bulk export throughput and memory on the embedded store: N Tasks (with
// their Patients referenced) are written straight through the storage port
// with their index fields, then a system $export of Task is kicked off,
// polled to completion and downloaded through HTTP. Reports resources per
// second for the export job and the download, and the process's RSS: after
// loading (the embedded store's page cache and the process itself) and its peak
// while exporting and downloading, so what the export itself adds is visible.
// Run: npm run bench:export -- [tasks] [--commissioner]
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
const MB = 1024 * 1024;

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

/** Samples RSS every 20 ms, keeping the highest seen. */
function rssSampler(): { peak: () => number; stop: () => void } {
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  return { peak: () => Math.max(peak, process.memoryUsage().rss), stop: () => clearInterval(timer) };
}

async function main(): Promise<void> {
  const tasks = Number(process.argv.find((a) => /^\d+$/.test(a)) ?? 100000);
  const commissioner = process.argv.includes('--commissioner');
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-export-'));
  const app = await createApp(
    loadConfig({ LOG_LEVEL: 'silent', DATA_DIR: dataDir, BASE_URL: BASE, PSEUDONYM_KEY: 'bench-pseudonym-key-of-32-characters-or-more' })
  );
  const t0 = Date.now();
  for (let start = 0; start < tasks; start += 1000) {
    const writes: VersionWrite[] = [];
    for (let i = start; i < Math.min(tasks, start + 1000); i++) {
      const when = new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString();
      writes.push(
        version(
          {
            resourceType: 'Task',
            id: `t${String(i).padStart(8, '0')}`,
            status: 'in-progress',
            intent: 'order',
            code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
            focus: { reference: `ServiceRequest/sr${i}` },
            for: { reference: `Patient/p${i % 50000}`, display: 'A Person' },
            authoredOn: when,
            lastModified: when,
            requester: { reference: `PractitionerRole/gp${i % 300}` },
            owner: { reference: `Organization/o${i % 50}` },
            businessStatus: { coding: [{ system: 'https://social-prescribing.example.org/fhir/CodeSystem/sp-business-status', code: 'first-contact-made' }] },
          } as Resource,
          when
        )
      );
    }
    await app.store.commit(writes);
  }
  const loadSeconds = (Date.now() - t0) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const rssAfterLoad = process.memoryUsage().rss;
  const server = app.express.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const root = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const exporting = rssSampler();
  const started = Date.now();
  const kickOff = await fetch(`${root}/fhir/$export?_type=Task${commissioner ? '&_commissioner=ICB-BENCH' : ''}`, { headers: { Prefer: 'respond-async' } });
  if (kickOff.status !== 202) throw new Error(`kick-off answered ${kickOff.status}`);
  const statusPath = new URL(kickOff.headers.get('content-location') as string).pathname;
  let manifest: { output: { url: string; count: number }[] } | undefined;
  while (!manifest) {
    const res = await fetch(`${root}${statusPath}`);
    if (res.status === 200) manifest = (await res.json()) as typeof manifest;
    else if (res.status === 202) await new Promise((r) => setTimeout(r, 250));
    else throw new Error(`status answered ${res.status}`);
  }
  // The job waits one second for its transaction time to settle before reading: not part of its throughput.
  const exportSeconds = (Date.now() - started) / 1000 - 1;
  exporting.stop();

  const downloading = rssSampler();
  const downloadStarted = Date.now();
  let lines = 0;
  let bytes = 0;
  for (const output of manifest?.output ?? []) {
    const res = await fetch(`${root}${new URL(output.url).pathname}`);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      bytes += value.length;
      for (const byte of value) if (byte === 10) lines++;
    }
  }
  const downloadSeconds = (Date.now() - downloadStarted) / 1000;
  downloading.stop();
  if (lines !== tasks) throw new Error(`downloaded ${lines} lines for ${tasks} Tasks`);

  console.log(
    JSON.stringify(
      {
        benchmark: 'bulk export of Task, embedded store',
        machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 1024 ** 3), node: process.version },
        tasks,
        commissionerView: commissioner,
        loadSeconds,
        export: { seconds: Number(exportSeconds.toFixed(2)), resourcesPerSecond: Math.round(tasks / exportSeconds) },
        download: { seconds: downloadSeconds, resourcesPerSecond: Math.round(tasks / downloadSeconds), megabytes: Math.round(bytes / MB) },
        rssMB: {
          afterLoad: Math.round(rssAfterLoad / MB),
          peakDuringExport: Math.round(exporting.peak() / MB),
          peakDuringDownload: Math.round(downloading.peak() / MB),
        },
      },
      null,
      2
    )
  );
  server.close();
  await app.close();
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
