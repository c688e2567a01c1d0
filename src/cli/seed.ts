// npm run seed: loads the demonstration dataset from fixtures/ into the store
// the server uses (DATA_DIR or MONGODB_URI):
//   fixtures/directory/millbrook/  an ORUK directory of a fictional town (imported as import:oruk does)
//   fixtures/seed/01-*.json        the PCN, practices, GPs, link workers and patients
//   fixtures/seed/02-*.json        referral journeys, each walked to its stage through the Task state machine
// Everything goes through the FHIR layer (the same requests a client would
// send), so the referral workflow creates each referral's Task. Running it
// again adds only what is missing.
import type { Resource, Task } from '@medplum/fhirtypes';
import fs from 'node:fs';
import path from 'node:path';
import type { FhirContext } from '../fhir/context';
import { OperationOutcomeError, statusOf } from '../base/outcomes';
import type { FhirRequest } from '../fhir/request';
import { readDirectoryFiles } from '../directory/files';
import { importDirectory, reasonOf, type ImportCounts, type ImportSummary } from '../directory/import';
import { fail, openApp } from './open-app';
import { printSummary } from './import-oruk';
import { progressDisplay } from './progress';

interface Journey {
  stage: string;
  referral: Resource;
  /** Resources the steps refer to (a Goal, the personalised CarePlan). */
  resources?: Resource[];
  /** Changes made to the referral's Task, one update each, in order. */
  steps: Partial<Task>[];
}

const FIXTURES = path.join(__dirname, '..', '..', ...(__dirname.includes(`${path.sep}dist${path.sep}`) ? ['..'] : []), 'fixtures');

async function send(ctx: FhirContext, request: Omit<FhirRequest, 'query'>): Promise<Resource | undefined> {
  try {
    return (await ctx.dispatch({ query: {}, contentType: 'application/fhir+json', ...request }, ctx))[1];
  } catch (err) {
    if (err instanceof OperationOutcomeError) throw new SeedError(`${request.method} ${request.segments.join('/')}: ${reasonOf(err)}`, statusOf(err.outcome));
    throw err;
  }
}

class SeedError extends Error {
  constructor(
    message: string,
    readonly status: number
  ) {
    super(message);
  }
}

/** Creates the resource with its own id unless it exists: a rerun changes nothing already there. */
async function createIfAbsent(ctx: FhirContext, resource: Resource): Promise<boolean> {
  const existing = await ctx.repo.readLatest(resource.resourceType, resource.id as string);
  if (existing && !existing.deleted) return false;
  await send(ctx, { method: 'PUT', segments: [resource.resourceType, resource.id as string], body: resource });
  return true;
}

/** Walks the referral's Task through the journey's steps, each an update with If-Match, as a link worker's system would. */
async function walkTask(ctx: FhirContext, journey: Journey): Promise<void> {
  const [match] = await ctx.repo.find('Task', { focus: [`ServiceRequest/${journey.referral.id}`] }, 1);
  if (!match) throw new SeedError(`No Task was created for ServiceRequest/${journey.referral.id}`, 500);
  // A Task that has moved already was walked by an earlier run.
  if (match.versionId !== '1') return;
  let task = match.resource as Task;
  for (const step of journey.steps) {
    const current = await ctx.repo.read('Task', task.id as string);
    task = (await send(ctx, { method: 'PUT', segments: ['Task', task.id as string], body: { ...task, ...step }, ifMatch: `W/"${current.versionId}"` })) as Task;
  }
}

function readJson<T>(relative: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, relative), 'utf8')) as T;
}

export interface SeedReport {
  directory: ImportSummary;
  created: number;
  referrals: number;
  /** Why the referrals were not loaded, when they were not. */
  referralsSkipped?: string;
}

/** Loads the dataset through ctx; `display` shows the directory import's progress. */
export async function seed(ctx: FhirContext, display?: { update(c: ImportCounts): void; finish(c: ImportCounts): void }): Promise<SeedReport> {
  const directory = await importDirectory(ctx.repo, readDirectoryFiles([path.join(FIXTURES, 'directory', 'millbrook')]), { onProgress: display?.update });
  display?.finish(directory);
  let created = 0;
  for (const resource of readJson<Resource[]>('seed/01-practices-link-workers-patients.json')) if (await createIfAbsent(ctx, resource)) created++;
  let referrals = 0;
  for (const journey of readJson<Journey[]>('seed/02-referral-journeys.json')) {
    try {
      if (await createIfAbsent(ctx, journey.referral)) referrals++;
    } catch (err) {
      if (err instanceof SeedError && err.status === 501) {
        const why =
          'storing a referral with its Task needs multi-document transactions, which this MongoDB deployment lacks ' +
          '(run MongoDB as a replica set, or seed the embedded store)';
        return { directory, created, referrals, referralsSkipped: why };
      }
      throw err;
    }
    for (const resource of journey.resources ?? []) if (await createIfAbsent(ctx, resource)) created++;
    await walkTask(ctx, journey);
  }
  return { directory, created, referrals };
}

async function main(): Promise<void> {
  const app = await openApp('seed the store');
  try {
    process.stdout.write('Community directory (fixtures/directory/millbrook):\n');
    const report = await seed(app.fhir, progressDisplay());
    printSummary(report.directory);
    process.stdout.write(`Practices, link workers, patients, goals and plans: ${report.created} created\n`);
    process.stdout.write(
      report.referralsSkipped ? `Referrals skipped: ${report.referralsSkipped}\n` : `Referrals: ${report.referrals} created, each walked to its stage\n`
    );
  } finally {
    await app.close();
  }
}

if (require.main === module) {
  main().catch((err: unknown) => fail(`Seed failed: ${err instanceof Error ? err.message : String(err)}`));
}
