// Loading the bench population through the API (the directory by batch, then
// one referral transaction per patient, 8 in parallel: itself a measured
// scenario), and sampling ids from a loaded server for the scenarios.
import { measureCores } from './cpu';
import { percentiles } from './latency';
import { directory, patientBundle, type Directory } from './population';
import { scenarioResult, type ScenarioResult } from './scenarios';
import { fhir, sampleIds } from './server';

export interface Sample {
  patients: string[];
  tasks: string[];
  nhs: string[];
}

/** PUTs the directory (organisations, link workers, services) by batch of 500. */
export async function loadDirectory(base: string, token: string, dir: Directory): Promise<void> {
  for (let i = 0; i < dir.resources.length; i += 500) {
    const entry = dir.resources.slice(i, i + 500).map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
    const res = await fhir(base, token, 'POST', '', { resourceType: 'Bundle', type: 'batch', entry });
    const failed = (res.body?.entry ?? []).filter((e: { response: { status: string } }) => !/^20[01]/.test(e.response.status));
    if (res.status !== 200 || failed.length > 0) throw new Error(`directory load failed: ${res.status} ${JSON.stringify(failed[0] ?? res.body).slice(0, 500)}`);
  }
}

/** Loads patients [from, to) as referral transactions, 8 in parallel; the result is the load scenario. */
export async function loadPatients(base: string, token: string, dir: Directory, from: number, to: number, pid?: number): Promise<ScenarioResult> {
  let next = from;
  let resourcesLoaded = 0;
  const latencies: number[] = [];
  const cores = measureCores(pid);
  const loadStart = performance.now();
  const workers = Array.from({ length: 8 }, async () => {
    for (let i = next++; i < to; i = next++) {
      const t = performance.now();
      const res = await fhir(base, token, 'POST', '', patientBundle(i, dir));
      latencies.push(performance.now() - t);
      if (res.status !== 200) throw new Error(`patient ${i}: ${res.status} ${JSON.stringify(res.body).slice(0, 800)}`);
      resourcesLoaded += res.body.entry.length;
      if (i % 1000 === 0 && i > from)
        process.stdout.write(`  loaded ${i - from} patients (${Math.round((resourcesLoaded * 1000) / (performance.now() - loadStart))} resources/s)\n`);
    }
  });
  await Promise.all(workers);
  const seconds = (performance.now() - loadStart) / 1000;
  return scenarioResult({
    name: 'load: referral transactions (8 parallel)',
    requests: to - from,
    throughput: Math.round(resourcesLoaded / seconds),
    unit: 'resources/s',
    perSecond: Math.round((to - from) / seconds),
    ...percentiles(latencies),
    cores: cores(),
    errors: 0,
    note: `${resourcesLoaded} resources in ${seconds.toFixed(1)} s`,
  });
}

/** Loads the whole population of n patients; returns its directory and the load scenario. */
export async function loadPopulation(base: string, token: string, patients: number, pid?: number): Promise<{ dir: Directory; load: ScenarioResult }> {
  const dir = directory(patients);
  await loadDirectory(base, token, dir);
  const load = await loadPatients(base, token, dir, 0, patients, pid);
  load.note = `${load.note} (+${dir.resources.length} directory resources)`;
  return { dir, load };
}

/** Patients (with NHS numbers of those with a plan), Tasks in progress: what the scenarios pick from. */
export async function sampleOf(base: string, token: string): Promise<Sample> {
  const patientSample = await sampleIds(base, token, 'Patient?_elements=id,identifier', 2000);
  const taskSample = await sampleIds(base, token, 'Task?status=in-progress&_elements=id', 500);
  const planned = await sampleIds(base, token, 'CarePlan?_elements=subject', 500);
  const nhsOf = new Map(patientSample.map((p) => [p.id, p.identifier?.[0]?.value]));
  const sample: Sample = {
    patients: patientSample.map((p) => p.id as string),
    tasks: taskSample.map((t) => t.id as string),
    nhs: planned.map((c) => nhsOf.get(String(c.subject?.reference).split('/')[1])).filter(Boolean) as string[],
  };
  if (sample.nhs.length === 0) sample.nhs = patientSample.slice(0, 100).map((p) => p.identifier?.[0]?.value);
  return sample;
}
