// The benchmark suite: npm run bench -- [--patients N] [--duration S] [--connections C] [--quick] [--profile]
// Starts the built server as a child process (embedded store, or MongoDB when
// MONGODB_URI is set), loads a seeded population through the API in
// transaction Bundles (itself a measured scenario), runs each scenario with
// autocannon from this process, measures the raw-store baseline through the
// storage adapter, and prints a table and writes JSON (bench-results/).
/* eslint-disable @typescript-eslint/no-explicit-any -- the bench reads FHIR JSON of every shape */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { LOCAL_ALGORITHM, LOCAL_ISSUER, readLocalKey } from '../../src/auth/local-key';
import { baseline, type BaselineResult } from './baseline';
import { directory, patientBundle } from './population';
import { run, scenarios, type ScenarioResult } from './scenarios';
import { profileSummary } from './profile';
import { freePort } from '../support/process';

const SERVER_JS = path.join(__dirname, '../../src/server.js');

interface ServerHandle {
  url: string;
  child: ChildProcess;
  dataDir: string;
  stop(): Promise<void>;
}

async function startServer(mongoUri: string | undefined, nodeFlags: string[] = [], extraEnv: Record<string, string> = {}): Promise<ServerHandle> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-'));
  const port = await freePort();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    PORT: String(port),
    HOST: '127.0.0.1',
    DATA_DIR: dataDir,
    LOG_LEVEL: 'warn',
    RATE_LIMIT: '0',
    MAX_BUNDLE_ENTRIES: '1000',
    BODY_LIMIT: '20mb',
    ...extraEnv,
  };
  if (mongoUri) {
    const url = new URL(mongoUri);
    url.pathname = `/sp_bench_${Date.now()}`;
    env.MONGODB_URI = url.toString();
  }
  const child = spawn(process.execPath, [...nodeFlags, SERVER_JS], { env, stdio: ['ignore', 'inherit', 'inherit'] });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${url}/readyz`)).ok) break;
    } catch {
      // starting
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    child,
    dataDir,
    async stop() {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function tokenFor(dataDir: string, audience: string): Promise<string> {
  const key = await readLocalKey(dataDir);
  return new SignJWT({ scope: 'system/*.cruds' })
    .setProtectedHeader({ alg: LOCAL_ALGORITHM, kid: key.kid })
    .setIssuer(LOCAL_ISSUER)
    .setSubject('bench')
    .setAudience(audience)
    .setExpirationTime('12h')
    .sign(key.privateKey);
}

async function fhir(url: string, token: string, method: string, pathAndQuery: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(`${url}/fhir${pathAndQuery}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/fhir+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json().catch(() => undefined) };
}

/** Ids of a type, up to a limit, paging through search results. */
async function sampleIds(url: string, token: string, query: string, limit: number): Promise<any[]> {
  const out: any[] = [];
  let next: string | undefined = `/${query}&_count=1000`;
  while (next && out.length < limit) {
    const page = await fhir(url, token, 'GET', next);
    out.push(...(page.body.entry ?? []).map((e: { resource: unknown }) => e.resource));
    const link = (page.body.link ?? []).find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
    next = link ? link.slice(link.indexOf('/fhir') + 5) : undefined;
  }
  return out.slice(0, limit);
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      patients: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string', default: '16' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      out: { type: 'string' },
    },
  });
  const quick = values.quick as boolean;
  const patients = Number(values.patients ?? (quick ? 300 : 10000));
  const duration = Number(values.duration ?? (quick ? 3 : 10));
  const connections = Number(values.connections);
  const mongoUri = process.env.MONGODB_URI;
  const store = mongoUri ? 'mongodb' : 'embedded';
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
  };
  console.log(
    `bench: ${store} store, ${patients} patients, ${duration} s per scenario, ${connections} connections; ${machine.cpus} cores, ${machine.memoryGiB} GiB, Node ${machine.node}`
  );

  const loopReport = path.join(os.tmpdir(), `sp-bench-event-loop-${process.pid}.json`);
  const server = await startServer(mongoUri, ['--require', path.join(__dirname, 'event-loop-probe.js')], { EVENT_LOOP_REPORT: loopReport });
  const token = await tokenFor(server.dataDir, `${server.url}/fhir`);
  const results: ScenarioResult[] = [];
  try {
    // 1. Load: the directory by batch, then one referral transaction per patient.
    const dir = directory(patients);
    for (let i = 0; i < dir.resources.length; i += 500) {
      const entry = dir.resources.slice(i, i + 500).map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
      const res = await fhir(server.url, token, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry });
      const failed = (res.body?.entry ?? []).filter((e: { response: { status: string } }) => !/^20[01]/.test(e.response.status));
      if (res.status !== 200 || failed.length > 0)
        throw new Error(`directory load failed: ${res.status} ${JSON.stringify(failed[0] ?? res.body).slice(0, 500)}`);
    }
    let loaded = 0;
    let resourcesLoaded = 0;
    const latencies: number[] = [];
    const loadStart = Date.now();
    const workers = Array.from({ length: 8 }, async () => {
      for (let i = loaded++; i < patients; i = loaded++) {
        const bundle = patientBundle(i, dir);
        const t = performance.now();
        const res = await fhir(server.url, token, 'POST', '', bundle);
        latencies.push(performance.now() - t);
        if (res.status !== 200) throw new Error(`patient ${i}: ${res.status} ${JSON.stringify(res.body).slice(0, 800)}`);
        resourcesLoaded += res.body.entry.length;
        if (i % 1000 === 0 && i > 0)
          process.stdout.write(`  loaded ${i} patients (${Math.round((resourcesLoaded * 1000) / (Date.now() - loadStart))} resources/s)\n`);
      }
    });
    await Promise.all(workers);
    const loadSeconds = (Date.now() - loadStart) / 1000;
    latencies.sort((a, b) => a - b);
    results.push({
      name: 'load: referral transactions (8 parallel)',
      requests: patients,
      throughput: Math.round(resourcesLoaded / loadSeconds),
      unit: 'resources/s',
      p50: Math.round(percentile(latencies, 50)),
      p95: Math.round(percentile(latencies, 95)),
      p99: Math.round(percentile(latencies, 99)),
      errors: 0,
      note: `${resourcesLoaded} resources (+${dir.resources.length} directory) in ${loadSeconds.toFixed(1)} s`,
    });

    // 2. Samples for the scenarios.
    const patientSample = await sampleIds(server.url, token, 'Patient?_elements=id,identifier', 2000);
    const taskSample = await sampleIds(server.url, token, 'Task?status=in-progress&_elements=id', 500);
    const planned = await sampleIds(server.url, token, 'CarePlan?_elements=subject', 500);
    const nhsOf = new Map(patientSample.map((p) => [p.id, p.identifier?.[0]?.value]));
    const sample = {
      patients: patientSample.map((p) => p.id as string),
      tasks: taskSample.map((t) => t.id as string),
      nhs: planned.map((c) => nhsOf.get(String(c.subject?.reference).split('/')[1])).filter(Boolean) as string[],
    };
    if (sample.nhs.length === 0) sample.nhs = patientSample.slice(0, 100).map((p) => p.identifier?.[0]?.value);
    const s = scenarios(dir, sample, patients);
    const target = { url: server.url, token, connections, duration };
    const bundleSize = 4;
    const list: [string, () => Promise<ScenarioResult>][] = [
      ['create SPReferral (validated)', () => run('create SPReferral (validated)', target, s.createReferral)],
      ['read by id', () => run('read by id', target, s.readById)],
      ['Task update with If-Match', () => run('Task update with If-Match (GET + PUT)', target, s.taskUpdate)],
      ['transaction', () => run('referral transaction (4 resources)', target, s.transaction, { perRequest: bundleSize, unit: 'resources/s' })],
      ['$process-message', () => run('$process-message referral', target, s.processMessage)],
      ['polling', () => run('search: polling Task?owner&_lastUpdated=gt&_include', target, s.polling)],
      ['careplan', () => run('search: CarePlan by NHS number + _revinclude Task', target, s.carePlanByNhs)],
      ['near', () => run('search: HealthcareService near a point', target, s.near)],
      ['name', () => run('search: Patient name prefix', target, s.patientName)],
      ['validate', () => run('$validate SPReferral', target, s.validate)],
      ['expand', () => run('$expand with a filter', target, s.expand)],
    ];
    for (const [label, scenario] of list) {
      process.stdout.write(`  ${label}...\n`);
      results.push(await scenario());
    }
    process.stdout.write('  $export...\n');
    results.push(await exportAllTasks(server.url, token));
  } finally {
    await server.stop();
  }
  // The server's event-loop delay over the whole run (load and every scenario), in ms.
  const eventLoopDelay = fs.existsSync(loopReport) ? (JSON.parse(fs.readFileSync(loopReport, 'utf8')) as Record<string, number>) : undefined;
  fs.rmSync(loopReport, { force: true });

  // 3. The raw-store baseline.
  const base: BaselineResult[] = await baseline(mongoUri, { connections, duration });
  const ratio = (name: string, kind: string) => {
    const b = base.find((x) => x.name === kind);
    const r = results.find((x) => x.name.startsWith(name));
    return b && r ? Number((r.throughput / b.throughput).toFixed(3)) : undefined;
  };
  const ratios = {
    'create SPReferral / raw write': ratio('create SPReferral', 'write one version'),
    'read by id / raw read': ratio('read by id', 'read current version'),
    'transaction resources / raw commit resources': ratio('referral transaction', 'commit 4 versions'),
  };

  // 4. Optional profile of the create path.
  let profile: unknown;
  if (values.profile) profile = await profileCreate(mongoUri, connections, duration);

  const report = {
    date: new Date().toISOString(),
    machine,
    store,
    patients,
    durationSeconds: duration,
    connections,
    loadTool: 'autocannon 8 (same machine, separate process from the server)',
    results,
    baseline: base,
    ratios,
    eventLoopDelay,
    profile,
  };
  printTable(report);
  const outFile = values.out ?? path.join(process.cwd(), 'bench-results', `bench-${store}-${patients}-${report.date.replace(/[:.]/g, '-')}.json`);
  fs.mkdirSync(path.dirname(outFile), { recursive: true });
  fs.writeFileSync(outFile, JSON.stringify(report, null, 2));
  console.log(`\nwritten: ${outFile}`);
}

/** $export of every Task: kick-off, poll, download every file; resources per second end to end. */
async function exportAllTasks(url: string, token: string): Promise<ScenarioResult> {
  const started = performance.now();
  const headers = { authorization: `Bearer ${token}`, prefer: 'respond-async', accept: 'application/fhir+json' };
  const kickOff = await fetch(`${url}/fhir/$export?_type=Task`, { headers });
  if (kickOff.status !== 202) throw new Error(`$export kick-off answered ${kickOff.status}`);
  const status = new URL(kickOff.headers.get('content-location') as string).pathname;
  let manifest: { output: { url: string; count: number }[] } | undefined;
  while (!manifest) {
    const res = await fetch(`${url}${status}`, { headers: { authorization: headers.authorization } });
    if (res.status === 200) manifest = (await res.json()) as { output: { url: string; count: number }[] };
    else if (res.status === 202) await new Promise((r) => setTimeout(r, 200));
    else throw new Error(`$export status answered ${res.status}`);
  }
  let lines = 0;
  for (const output of manifest.output) {
    const res = await fetch(`${url}${new URL(output.url).pathname}`, { headers: { authorization: headers.authorization } });
    const reader = res.body?.getReader();
    for (let chunk = await reader?.read(); chunk && !chunk.done; chunk = await reader?.read()) {
      for (const byte of chunk.value) if (byte === 10) lines++;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  return {
    name: '$export of all Tasks (kick-off to last byte)',
    requests: 1,
    throughput: Math.round(lines / seconds),
    unit: 'resources/s',
    p50: Math.round(seconds * 1000),
    p95: Math.round(seconds * 1000),
    p99: Math.round(seconds * 1000),
    errors: 0,
    note: `${lines} Tasks in ${seconds.toFixed(2)} s`,
  };
}

async function profileCreate(mongoUri: string | undefined, connections: number, duration: number): Promise<unknown> {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-prof-'));
  const server = await startServer(mongoUri, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
  try {
    const token = await tokenFor(server.dataDir, `${server.url}/fhir`);
    const dir = directory(100);
    const entry = dir.resources.map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
    await fhir(server.url, token, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry });
    await fhir(server.url, token, 'POST', '', patientBundle(0, dir));
    const patientsFound = await sampleIds(server.url, token, 'Patient?_elements=id', 10);
    const s = scenarios(dir, { patients: patientsFound.map((p) => p.id), tasks: [], nhs: [] }, 100);
    await run('profile: create SPReferral', { url: server.url, token, connections, duration }, s.createReferral);
  } finally {
    await server.stop();
  }
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  return file ? profileSummary(path.join(profDir, file), 5) : undefined;
}

function printTable(report: {
  results: ScenarioResult[];
  baseline: BaselineResult[];
  ratios: Record<string, number | undefined>;
  eventLoopDelay?: Record<string, number>;
  profile?: unknown;
}): void {
  const rows = report.results.map((r) => [r.name, `${r.throughput} ${r.unit}`, r.p50, r.p95, r.p99, r.errors]);
  const header = ['scenario', 'throughput', 'p50 ms', 'p97.5 ms', 'p99 ms', 'errors'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => String(r[i]).length)));
  const line = (cells: unknown[]) => cells.map((c, i) => String(c).padEnd(widths[i])).join(' | ');
  console.log('\n' + line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('-|-'));
  rows.forEach((r) => console.log(line(r)));
  report.results.filter((r) => r.note).forEach((r) => console.log(`  ${r.name}: ${r.note}`));
  console.log('\nraw-store baseline (no HTTP, validation or indexing):');
  report.baseline.forEach((b) => console.log(`  ${b.name}: ${b.throughput} ops/s, p50 ${b.p50} ms, p99 ${b.p99} ms`));
  console.log('server / baseline:');
  Object.entries(report.ratios).forEach(([k, v]) => console.log(`  ${k}: ${v}`));
  if (report.eventLoopDelay) console.log(`server event-loop delay over the run (ms): ${JSON.stringify(report.eventLoopDelay)}`);
  if (report.profile) console.log('\ncreate path, top self time:\n' + JSON.stringify(report.profile, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
