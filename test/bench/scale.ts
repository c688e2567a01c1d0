// The server at scale on the embedded store:
//   npm run bench:scale -- [--resources N] [--data-dir D] [--keep] [--duration S] [--connections C] [--load-tool wrk|autocannon]
// 1. Seeds about N resources of the bench population (default 1,000,000)
//    with the server stopped, through the app's FHIR layer (scale-seed.ts);
//    a --data-dir that already holds a store is served as it is, unseeded
//    (give the --resources it was seeded with: the scenarios pick from the
//    same population).
// 2. Starts the built server on that data and times the restart to the first
//    /readyz 200; reads its memory (RSS) and the data's size on disk.
// 3. Runs the read, validated create, 4-entry transaction, Task polling and
//    name-search scenarios with wrk, or autocannon where wrk is not installed
//    (wrk.ts), judged against targets.ts.
// 4. Prints a table and writes JSON to bench-results/; the data directory is
//    removed unless it was given or --keep is set.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { dataSize, diskBytes, onDisk } from './data-size';
import { sampleOf } from './load';
import { describeMachine, machine as thisMachine } from './machine';
import { scenarioTable, writeJson } from './report';
import { populationFor, seedStore, type SeedResult } from './scale-seed';
import { FRESH_CREATES, run, TRANSACTION_RUN, scenarios, type ScenarioResult } from './scenarios';
import { startServer, tokenFor } from './server';
import { chooseLoadTool } from './wrk';

/** Resident and peak memory of a process, in MiB, from /proc/<pid>/status. */
function memoryOf(pid: number): { rssMiB?: number; peakRssMiB?: number } {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    return { rssMiB: Math.round(kib('VmRSS') / 1024), peakRssMiB: Math.round(kib('VmHWM') / 1024) };
  } catch {
    return {};
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      resources: { type: 'string', default: '1000000' },
      'data-dir': { type: 'string' },
      keep: { type: 'boolean', default: false },
      duration: { type: 'string', default: '10' },
      connections: { type: 'string', default: '16' },
      'load-tool': { type: 'string' },
      out: { type: 'string' },
    },
  });
  const loadTool = chooseLoadTool(values['load-tool']);
  const resources = Number(values.resources);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const machine = thisMachine();
  const given = values['data-dir'] ? path.resolve(values['data-dir']) : undefined;
  const dataDir = given ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sp-scale-'));
  const seeded = given !== undefined && fs.existsSync(given) && fs.readdirSync(given).length > 0;
  console.log(`scale: about ${resources} resources, embedded store in ${dataDir}, ${loadTool.tool}; ${describeMachine(machine)}`);

  // 1. Seed, with the server stopped.
  let seed: SeedResult | undefined;
  // The same --resources gives the same population, so a kept store is served with the directory it was seeded with.
  const { patients, dir } = populationFor(resources);
  if (seeded) {
    console.log('  the data directory holds a store already: serving it as it is');
  } else {
    fs.mkdirSync(dataDir, { recursive: true });
    console.log(`  seeding ${patients} patients through the FHIR layer (server stopped)...`);
    seed = await seedStore(dataDir, patients, dir);
    console.log(`  seeded ${seed.resources} resources in ${seed.seconds} s (${seed.resourcesPerSecond}/s)`);
  }
  const seededDiskBytes = diskBytes(dataDir);

  // 2. Restart over the data: time to /readyz, memory, disk.
  const server = await startServer({ dataDir });
  const afterStart = memoryOf(server.pid);
  console.log(`  restart to /readyz 200: ${server.readyMs} ms, RSS ${afterStart.rssMiB} MiB`);
  const base = `${server.url}/fhir`;
  const results: ScenarioResult[] = [];
  let report: object;
  try {
    const token = await tokenFor(dataDir, base);
    const before = await dataSize(base, token, dataDir);
    console.log(`  ${before.resources} resources, ${onDisk(before)}`);

    // 3. The scenarios.
    const s = scenarios(dir, await sampleOf(base, token), patients);
    const target = { url: server.url, token, connections, duration, pid: server.pid, loadTool: loadTool.tool };
    const list: [string, () => Promise<ScenarioResult>][] = [
      ['read by id', () => run('read by id (audited)', target, s.readById, { target: 'read' })],
      ['create SPReferral', () => run('create SPReferral (validated)', target, s.createReferral, { target: 'create', freshUpTo: FRESH_CREATES })],
      ['transaction', () => run('referral transaction (4 resources)', target, s.transaction, TRANSACTION_RUN)],
      ['polling', () => run('search: polling Task?owner&_lastUpdated=gt&_include', target, s.polling, { target: 'polling' })],
      ['name', () => run('search: Patient name prefix', target, s.patientName, { target: 'stringSearch' })],
    ];
    for (const [label, scenario] of list) {
      process.stdout.write(`  ${label}...\n`);
      results.push(await scenario());
    }
    const after = await dataSize(base, token, dataDir);
    const afterRun = memoryOf(server.pid);
    report = {
      date: new Date().toISOString(),
      mode: 'scale',
      machine,
      store: 'embedded',
      requestedResources: resources,
      seed: seed && {
        patients: seed.patients,
        resources: seed.resources,
        seconds: seed.seconds,
        resourcesPerSecond: seed.resourcesPerSecond,
        cpuMsPerResource: seed.cpuMsPerResource,
        secondsFor1MAtThisRate: Math.round(1_000_000 / seed.resourcesPerSecond),
        secondsFor1MOnAFreeCore: Math.round(seed.cpuMsPerResource * 1000),
      },
      diskBytesSeeded: seededDiskBytes,
      restartToReadyMs: server.readyMs,
      memory: { afterStart, afterRun },
      data: { before, after },
      durationSeconds: duration,
      connections,
      loadTool: loadTool.description,
      results,
    };
    console.log(
      `\nembedded store, ${before.resources} resources (${after.resources} after the run), ${onDisk(before)} ` +
        `(${onDisk(after)} after); restart to /readyz ${server.readyMs} ms; RSS ${afterStart.rssMiB} MiB after start, ` +
        `${afterRun.rssMiB} MiB after the run (peak ${afterRun.peakRssMiB} MiB)`
    );
    if (seed) {
      const wallMinutes = Math.round(1_000_000 / seed.resourcesPerSecond / 60);
      const cpuMinutes = Math.round((1_000_000 * seed.cpuMsPerResource) / 60_000);
      console.log(
        `seed: ${seed.resources} resources in ${seed.seconds} s (${seed.resourcesPerSecond}/s, ${seed.cpuMsPerResource} ms of CPU each): ` +
          `1,000,000 would take about ${wallMinutes} min at this rate, about ${cpuMinutes} min on a core of its own`
      );
    }
    console.log(`${describeMachine(machine)}\n`);
    console.log(scenarioTable(results));
  } finally {
    await server.stop();
    if (!given && !values.keep) fs.rmSync(dataDir, { recursive: true, force: true });
    else console.log(`\ndata kept in ${dataDir} (serve it again with --data-dir ${dataDir} --resources ${resources})`);
  }
  console.log(`\nwritten: ${writeJson(report, `scale-embedded-${resources}`, values.out)}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
