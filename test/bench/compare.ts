// npm run bench -- --compare <FHIR base URL> [--compare-token T] [--compare-pid P] [--compare-only]
// Puts this server beside any other FHIR R4 server: seeds the portable
// population (portable.ts) on the other server through standard transaction
// Bundles, runs the portable scenarios against it with autocannon, and does
// the same on this server (started here, on a fresh embedded store) unless
// --compare-only. Prints both side by side and writes JSON to bench-results/.
// The other server's cores are measured when it runs on this machine and its
// process id is given (--compare-pid).
import { countResources } from './data-size';
import { describeMachine, machine as thisMachine } from './machine';
import { portableScenarios, seedPortable } from './portable';
import { scenarioTable, sideBySide, writeJson } from './report';
import { FRESH_CREATES, run, TRANSACTION_RUN, type ScenarioResult, type Target } from './scenarios';
import { startServer, tokenFor } from './server';
import type { LoadTool } from './wrk';

export interface CompareOptions {
  /** The other server's FHIR base URL, e.g. http://localhost:8080/fhir. */
  url: string;
  token?: string;
  pid?: number;
  withServerUnderTest: boolean;
  patients: number;
  duration: number;
  connections: number;
  loadTool: LoadTool;
  mongoUri?: string;
  out?: string;
}

const PORTABLE_TYPES = ['Patient', 'Consent', 'ServiceRequest', 'Task', 'Organization', 'Practitioner', 'PractitionerRole'];

interface ServerRun {
  label: string;
  base: string;
  data: { resources: number; byType: Record<string, number>; seededPatients: number; seedSeconds: number };
  results: ScenarioResult[];
}

/** Seeds the portable population on one server, then runs every portable scenario against it. */
async function benchOne(label: string, base: string, token: string | undefined, pid: number | undefined, options: CompareOptions): Promise<ServerRun> {
  const runTag = Date.now().toString(36);
  process.stdout.write(`${label}: seeding ${options.patients} patients (4 resources each) at ${base}...\n`);
  const seedStart = performance.now();
  const population = await seedPortable(base, token, options.patients, runTag);
  const seedSeconds = Number(((performance.now() - seedStart) / 1000).toFixed(1));
  const url = new URL(base);
  const basePath = url.pathname.replace(/\/$/, '');
  const s = portableScenarios(population, basePath);
  const target: Target = {
    url: url.origin,
    token: token ?? '',
    connections: options.connections,
    duration: options.duration,
    pid,
    loadTool: options.loadTool.tool,
  };
  const list: [string, () => Promise<ScenarioResult>][] = [
    ['read Patient by id', () => run('read Patient by id', target, s.readById, { target: 'read' })],
    ['create Patient', () => run('create Patient', target, s.createPatient, { freshUpTo: FRESH_CREATES })],
    ['create referral ServiceRequest', () => run('create referral ServiceRequest', target, s.createReferral, { target: 'create', freshUpTo: FRESH_CREATES })],
    ['Patient?identifier', () => run('search: Patient?identifier', target, s.patientByIdentifier)],
    ['Patient?name prefix', () => run('search: Patient?name prefix', target, s.patientName, { target: 'stringSearch' })],
    ['Task?owner&status', () => run('search: Task?owner&status', target, s.polling, { target: 'polling' })],
    ['4-entry transaction', () => run('referral transaction (4 resources)', target, s.transaction, TRANSACTION_RUN)],
  ];
  const results: ScenarioResult[] = [];
  for (const [name, scenario] of list) {
    process.stdout.write(`  ${label}: ${name}...\n`);
    results.push(await scenario());
  }
  const counted = await countResources(base, token, PORTABLE_TYPES);
  return { label, base, data: { ...counted, seededPatients: options.patients, seedSeconds }, results };
}

function isLocal(base: string): boolean {
  return ['localhost', '127.0.0.1', '[::1]'].includes(new URL(base).hostname);
}

export async function compare(options: CompareOptions): Promise<void> {
  const machine = thisMachine();
  console.log(
    `compare: ${options.url} ${options.withServerUnderTest ? 'beside this server' : 'alone'}, ${options.patients} patients, ` +
      `${options.duration} s per scenario, ${options.connections} connections; load from ${describeMachine(machine)}`
  );
  const runs: ServerRun[] = [];
  if (options.withServerUnderTest) {
    const server = await startServer({ mongoUri: options.mongoUri });
    try {
      const base = `${server.url}/fhir`;
      runs.push(await benchOne('this server', base, await tokenFor(server.dataDir, base), server.pid, options));
    } finally {
      await server.stop();
    }
  }
  runs.push(await benchOne('other', options.url, options.token, options.pid, options));

  console.log('');
  for (const r of runs) {
    const where = r.label === 'this server' || isLocal(r.base) ? 'on this machine' : 'remote';
    console.log(
      `${r.label} (${r.base}, ${where}): ${r.data.resources} resources of the portable types after the run ` +
        `(${r.data.seededPatients} patients seeded in ${r.data.seedSeconds} s)`
    );
  }
  console.log('');
  const [left, right] = runs;
  console.log(right ? sideBySide(left, right) : scenarioTable(left.results));
  if (right) {
    const notes = runs.flatMap((r) => r.results.filter((x) => x.note).map((x) => `  ${r.label}, ${x.name}: ${x.note}`));
    if (notes.length > 0) console.log(notes.join('\n'));
  }
  const report = {
    date: new Date().toISOString(),
    mode: 'compare',
    machine,
    loadTool: options.loadTool.description,
    durationSeconds: options.duration,
    connections: options.connections,
    servers: runs,
  };
  const host = new URL(options.url).host.replace(/[^a-zA-Z0-9.-]/g, '_');
  console.log(`\nwritten: ${writeJson(report, `compare-${host}`, options.out)}`);
}
