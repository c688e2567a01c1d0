// The fast way to a large store: the bench population written with the
// server not running, through the app's own FHIR layer (app.fhir.dispatch,
// what the seed and import tools use): every entry is validated, goes through
// the referral rules and the indexer, and is committed by the Repository, as
// over HTTP. Only HTTP, authentication and the per-request audit are skipped.
// Patients go 10 to a transaction Bundle (about 100 entries), 4 in flight:
// in trials that wrote about twice as fast as one patient a Bundle, and
// larger Bundles were no faster. (Writing straight through the storage port
// with the indexer, skipping validation, was tried: at 100,000 resources it
// took more CPU a resource, not less, so the faithful path is the only one.)
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { FhirRequest } from '../../src/fhir/request';
import { directory, patientBundle, type Directory } from './population';

const PATIENTS_PER_BUNDLE = 10;
const IN_FLIGHT = 4;

export interface SeedResult {
  patients: number;
  /** Resources written by the seed (the server's rules add a Task per onward referral on top). */
  resources: number;
  seconds: number;
  resourcesPerSecond: number;
  /** CPU the seeding process used per resource: on a shared machine, the figure that does not depend on the others' load. */
  cpuMsPerResource: number;
  dir: Directory;
}

/** Resources a patient's referral transaction holds on average (the population's mix of Task states). */
function resourcesPerPatient(): number {
  const probe = directory(1000);
  let total = 0;
  for (let i = 0; i < 1000; i++) total += patientBundle(i, probe).entry?.length ?? 0;
  return total / 1000;
}

/** How many patients make about `resources` resources, with the directory they need. */
export function populationFor(resources: number): { patients: number; dir: Directory } {
  let patients = Math.max(1, Math.round(resources / resourcesPerPatient()));
  const dir = directory(patients);
  patients = Math.max(1, Math.round((resources - dir.resources.length) / resourcesPerPatient()));
  return { patients, dir };
}

/** Writes the directory and `patients` referral transactions into the embedded store in dataDir. */
export async function seedStore(dataDir: string, patients: number, dir: Directory): Promise<SeedResult> {
  // No HTTP here, so no authentication to turn off: the FHIR layer acts as the server itself (as npm run seed does).
  const config = loadConfig({ LOG_LEVEL: 'error', DATA_DIR: dataDir, MAX_BUNDLE_ENTRIES: '1000' });
  const app = await createApp(config);
  const ctx = app.fhir;
  // A failed transaction throws; a batch answers per entry, so its entries are checked.
  const send = async (bundle: Bundle): Promise<void> => {
    const request: FhirRequest = { method: 'POST', segments: [], query: {}, contentType: 'application/fhir+json', body: bundle };
    const [, response] = await ctx.dispatch(request, ctx);
    const failed = ((response as Bundle | undefined)?.entry ?? []).find((e) => !/^20[01]/.test(e.response?.status ?? ''));
    if (failed) throw new Error(`seeding failed: ${JSON.stringify(failed.response).slice(0, 500)}`);
  };
  const started = performance.now();
  const cpuStart = process.cpuUsage();
  let resources = 0;
  try {
    for (let i = 0; i < dir.resources.length; i += 500) {
      const batch = dir.resources.slice(i, i + 500).map((r) => ({ resource: r, request: { method: 'PUT', url: `${r.resourceType}/${r.id}` } }));
      await send({ resourceType: 'Bundle', type: 'batch', entry: batch as BundleEntry[] });
      resources += batch.length;
    }
    let next = 0;
    let lastReport = started;
    const worker = async (): Promise<void> => {
      for (let start = next; start < patients; start = next) {
        next += PATIENTS_PER_BUNDLE;
        const entry: BundleEntry[] = [];
        for (let i = start; i < Math.min(patients, start + PATIENTS_PER_BUNDLE); i++) entry.push(...(patientBundle(i, dir).entry ?? []));
        await send({ resourceType: 'Bundle', type: 'transaction', entry });
        resources += entry.length;
        const now = performance.now();
        if (now - lastReport > 10_000) {
          lastReport = now;
          process.stderr.write(`  seeded ${resources} resources (${Math.round((resources * 1000) / (now - started))}/s)\n`);
        }
      }
    };
    await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  } finally {
    await app.close();
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuStart);
  return {
    patients,
    resources,
    seconds: Number(seconds.toFixed(1)),
    resourcesPerSecond: Math.round(resources / seconds),
    cpuMsPerResource: Number(((cpu.user + cpu.system) / 1000 / resources).toFixed(2)),
    dir,
  };
}
