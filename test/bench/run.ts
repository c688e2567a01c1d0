// The benchmark suite: npm run bench -- [--patients N] [--duration S] [--connections C] [--load-tool wrk|autocannon] [--quick] [--profile]
//   [--search-cache-mib M]
// Starts the built server as a child process (embedded store, or MongoDB when
// MONGODB_URI is set), loads a seeded population through the API in
// transaction Bundles (itself a measured scenario), runs each scenario with
// wrk where it is installed and autocannon otherwise (--load-tool chooses;
// wrk.ts), restarts the server on the same data and measures creates in
// its first seconds, measures the raw-store baseline through the storage
// adapter, and prints a table and writes JSON (bench-results/). Each
// scenario reports p50/p95/p99, the tail ratio, the cores the server used and
// a verdict against the targets (targets.ts); the report states the data size
// and the machine. The bench asks the same few searches again and again, so
// the embedded store answers most of them from its cache of search answers;
// --search-cache-mib 0 turns that off, to measure searches asked for the
// first time.
//
// npm run bench -- --compare <FHIR base URL> [--compare-token T] [--compare-pid P] [--compare-only]
// runs the portable scenarios against any FHIR R4 server instead (compare.ts).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { baseline, type BaselineResult } from './baseline';
import { compare } from './compare';
import { measureCores } from './cpu';
import { dataSize, onDisk, type DataSize } from './data-size';
import { loadDirectory, loadPopulation, sampleOf } from './load';
import { describeMachine, machine as thisMachine } from './machine';
import { directory, patientBundle } from './population';
import { FRESH_BUNDLES, FRESH_CREATES, run, TRANSACTION_RUN, scenarioResult, scenarios, type ScenarioResult } from './scenarios';
import { profileSummary } from './profile';
import { scenarioTable, writeJson } from './report';
import { fhir, sampleIds, startServer, tokenFor } from './server';
import { chooseLoadTool } from './wrk';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      patients: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string', default: '16' },
      'load-tool': { type: 'string' },
      quick: { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      'search-cache-mib': { type: 'string' },
      out: { type: 'string' },
      compare: { type: 'string' },
      'compare-token': { type: 'string' },
      'compare-pid': { type: 'string' },
      'compare-only': { type: 'boolean', default: false },
    },
  });
  const quick = values.quick as boolean;
  const duration = Number(values.duration ?? (quick ? 3 : 10));
  const connections = Number(values.connections);
  const mongoUri = process.env.MONGODB_URI;
  const loadTool = chooseLoadTool(values['load-tool']);
  if (values.compare) {
    await compare({
      url: values.compare,
      token: values['compare-token'],
      pid: values['compare-pid'] ? Number(values['compare-pid']) : undefined,
      withServerUnderTest: !values['compare-only'],
      patients: values.patients ? Number(values.patients) : quick ? 200 : 1000,
      duration,
      connections,
      loadTool,
      mongoUri,
      out: values.out,
    });
    return;
  }
  const patients = Number(values.patients ?? (quick ? 300 : 10000));
  const store = mongoUri ? 'mongodb' : 'embedded';
  const machine = thisMachine();
  const searchCacheMiB = values['search-cache-mib'];
  console.log(
    `bench: ${store} store, ${patients} patients, ${duration} s per scenario, ${connections} connections, ${loadTool.tool}` +
      `${searchCacheMiB === undefined ? '' : `, search cache ${searchCacheMiB} MiB`}; ${describeMachine(machine)}`
  );

  const loopReport = path.join(os.tmpdir(), `sp-bench-event-loop-${process.pid}.json`);
  let server = await startServer({
    mongoUri,
    nodeFlags: ['--require', path.join(__dirname, 'event-loop-probe.js')],
    env: { EVENT_LOOP_REPORT: loopReport, ...(searchCacheMiB === undefined ? {} : { SEARCH_CACHE_MIB: searchCacheMiB }) },
  });
  const base = `${server.url}/fhir`;
  const token = await tokenFor(server.dataDir, base);
  const results: ScenarioResult[] = [];
  let data: DataSize;
  // The server's event-loop delay over the whole run (load and every scenario), in ms.
  let eventLoopDelay: Record<string, number> | undefined;
  try {
    // 1. Load: the directory by batch, then one referral transaction per patient.
    const { dir, load } = await loadPopulation(base, token, patients, server.pid);
    results.push(load);
    data = await dataSize(base, token, mongoUri ? undefined : server.dataDir);
    console.log(`  data: ${data.resources} resources, ${onDisk(data)}`);

    // 2. The scenarios, each judged against its target (targets.ts) where it has one.
    const s = scenarios(dir, await sampleOf(base, token), patients);
    const target = { url: server.url, token, connections, duration, pid: server.pid, loadTool: loadTool.tool };
    const list: [string, () => Promise<ScenarioResult>][] = [
      ['create SPReferral (validated)', () => run('create SPReferral (validated)', target, s.createReferral, { target: 'create', freshUpTo: FRESH_CREATES })],
      ['read by id', () => run('read by id (audited)', target, s.readById, { target: 'read' })],
      ['Task update with If-Match', () => run('Task update with If-Match (GET + PUT)', target, s.taskUpdate, { sequence: true })],
      ['transaction', () => run('referral transaction (4 resources)', target, s.transaction, TRANSACTION_RUN)],
      ['$process-message', () => run('$process-message referral', target, s.processMessage, { target: 'processMessage', freshUpTo: FRESH_BUNDLES })],
      ['polling', () => run('search: polling Task?owner&_lastUpdated=gt&_include', target, s.polling, { target: 'polling' })],
      ['careplan', () => run('search: CarePlan by NHS number + _revinclude Task', target, s.carePlanByNhs)],
      ['near', () => run('search: HealthcareService near a point', target, s.near)],
      ['name', () => run('search: Patient name prefix', target, s.patientName, { target: 'stringSearch' })],
      ['postcode', () => run('search: Patient address-postalcode prefix', target, s.patientPostcode, { target: 'stringSearch' })],
      ['validate', () => run('$validate SPReferral', target, s.validate)],
      ['expand', () => run('$expand with a filter', target, s.expand)],
    ];
    for (const [label, scenario] of list) {
      process.stdout.write(`  ${label}...\n`);
      results.push(await scenario());
    }
    process.stdout.write('  $export...\n');
    results.push(await exportAllTasks(base, token, server.pid));

    // 3. Creates from the first moment of a restart on the same data: what a rolling restart under load meets.
    process.stdout.write('  create right after a restart...\n');
    server = await server.restart();
    // The first server wrote its event-loop delay as it stopped.
    eventLoopDelay = readLoopReport(loopReport);
    const restarted = { ...target, url: server.url, pid: server.pid, duration: RESTART_SECONDS };
    results.push(
      await run(`create SPReferral, first ${RESTART_SECONDS} s after a restart (ready in ${server.readyMs} ms)`, restarted, s.createReferral, {
        freshUpTo: FRESH_CREATES,
      })
    );
  } finally {
    await server.stop();
  }
  fs.rmSync(loopReport, { force: true });

  // 4. The raw-store baseline.
  const raw: BaselineResult[] = await baseline(mongoUri, { connections, duration });
  const ratio = (name: string, kind: string) => {
    const b = raw.find((x) => x.name === kind);
    const r = results.find((x) => x.name.startsWith(name));
    return b && r ? Number((r.throughput / b.throughput).toFixed(3)) : undefined;
  };
  const ratios = {
    'create SPReferral / raw write': ratio('create SPReferral', 'write one version'),
    'read by id / raw read': ratio('read by id', 'read current version'),
    'transaction resources / raw commit resources': ratio('referral transaction', 'commit 4 versions'),
  };

  // 5. Optional profile of the create path.
  let profile: unknown;
  if (values.profile) profile = await profileCreate(mongoUri, connections, duration);

  const report = {
    date: new Date().toISOString(),
    machine,
    store,
    patients,
    data,
    ...(searchCacheMiB === undefined ? {} : { searchCacheMiB: Number(searchCacheMiB) }),
    durationSeconds: duration,
    connections,
    loadTool: loadTool.description,
    results,
    baseline: raw,
    ratios,
    eventLoopDelay,
    profile,
  };
  console.log(`\n${store} store, ${patients} patients: ${data.resources} resources, ${onDisk(data)}; ${describeMachine(machine)}\n`);
  console.log(scenarioTable(results));
  printExtras(report);
  console.log(`\nwritten: ${writeJson(report, `bench-${store}-${patients}`, values.out)}`);
  // A scenario answered only with errors measured nothing (a load generator sending what the server refuses): the run fails.
  const refused = results.filter((r) => r.requests > 0 && r.errors >= r.requests);
  if (refused.length > 0) {
    console.error(`\nEvery request failed in: ${refused.map((r) => `${r.name} (${r.note ?? 'no answer recorded'})`).join('; ')}`);
    process.exitCode = 1;
  }
}

/** How long creates are measured from a restart: the first requests' tail, before the server is warm. */
const RESTART_SECONDS = 3;

const readLoopReport = (file: string): Record<string, number> | undefined =>
  fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, number>) : undefined;

/** $export of every Task: kick-off, poll, download every file; resources per second end to end. */
async function exportAllTasks(base: string, token: string, pid: number): Promise<ScenarioResult> {
  const url = base.replace(/\/fhir$/, '');
  const cores = measureCores(pid);
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
  const ms = Math.round(seconds * 1000);
  return scenarioResult({
    name: '$export of all Tasks (kick-off to last byte)',
    requests: 1,
    throughput: Math.round(lines / seconds),
    unit: 'resources/s',
    perSecond: Number((1 / seconds).toFixed(2)),
    p50: ms,
    p95: ms,
    p99: ms,
    cores: cores(),
    errors: 0,
    note: `${lines} Tasks in ${seconds.toFixed(2)} s`,
  });
}

async function profileCreate(mongoUri: string | undefined, connections: number, duration: number): Promise<unknown> {
  const profDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-prof-'));
  const server = await startServer({ mongoUri, nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${profDir}`] });
  try {
    const base = `${server.url}/fhir`;
    const token = await tokenFor(server.dataDir, base);
    const dir = directory(100);
    await loadDirectory(base, token, dir);
    await fhir(base, token, 'POST', '', patientBundle(0, dir));
    const patientsFound = await sampleIds(base, token, 'Patient?_elements=id', 10);
    const s = scenarios(dir, { patients: patientsFound.map((p) => p.id), tasks: [], nhs: [] }, 100);
    await run('profile: create SPReferral', { url: server.url, token, connections, duration }, s.createReferral);
  } finally {
    await server.stop();
  }
  const file = fs.readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
  return file ? profileSummary(path.join(profDir, file), 5) : undefined;
}

/** What the table does not show: the raw-store baseline, the event-loop delay, the create profile. */
function printExtras(report: {
  baseline: BaselineResult[];
  ratios: Record<string, number | undefined>;
  eventLoopDelay?: Record<string, number>;
  profile?: unknown;
}): void {
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
