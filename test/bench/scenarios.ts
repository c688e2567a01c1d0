// The benchmark's scenarios: each is a run of wrk, or of autocannon where
// wrk is not installed or the scenario is a sequence (a separate load
// generator from the server process), against the loaded population.
import autocannon from 'autocannon';
import type { Bundle, Resource } from '@medplum/fhirtypes';
import fs from 'node:fs';
import path from 'node:path';
import { measureCores } from './cpu';
import { percentiles } from './latency';
import { nhsNumber, patientBundle, type Directory } from './population';
import { judge, tailRatio, type TargetKey, type Verdict } from './targets';
import { runWrk } from './wrk';

export interface ScenarioResult {
  name: string;
  requests: number;
  /** Requests per second (or resources per second where `unit` says so). */
  throughput: number;
  unit: string;
  /** Requests per second, whatever `unit` is: what the targets are set in. */
  perSecond: number;
  p50: number;
  p95: number;
  p99: number;
  /** p99 / p50: how long the tail is. */
  tailRatio?: number;
  /** Cores the server's process tree used during the scenario (CPU seconds / wall seconds). */
  cores?: number;
  /** The target this scenario is held to, if any (targets.ts). */
  target?: TargetKey;
  verdict: Verdict;
  errors: number;
  note?: string;
}

export interface Target {
  url: string;
  token: string;
  connections: number;
  duration: number;
  /** The server's process id, when it runs on this machine: its cores used are measured. */
  pid?: number;
  /** The load generator (wrk.ts); autocannon when not given. */
  loadTool?: 'wrk' | 'autocannon';
}

export interface RunOptions {
  /** A fixed number of requests rather than a duration (autocannon). */
  amount?: number;
  /** Resources per request, where throughput is counted in resources. */
  perRequest?: number;
  unit?: string;
  target?: TargetKey;
  /** Each request depends on the answer to the last on its connection (autocannon: wrk cannot tell connections apart). */
  sequence?: boolean;
  /** Each request must be one not sent before (a create, a message): the most a scenario can send per second. */
  freshUpTo?: number;
}

/** Requests made for a wrk run that picks at random: sent again in turn once all were. */
const REPEATED = 20000;
/** The most new resources, and new Bundles, a second, where each request must be new: well above what a server reaches here. */
export const FRESH_CREATES = 3000;
export const FRESH_BUNDLES = 1500;

/** How the 4-entry referral transaction is run and counted, wherever it is run. */
export const TRANSACTION_RUN: RunOptions = { perRequest: 4, unit: 'resources/s', target: 'transaction', freshUpTo: FRESH_BUNDLES };

/** A finished measurement, judged against its target and the tail rule. */
export function scenarioResult(measured: Omit<ScenarioResult, 'verdict' | 'tailRatio'>): ScenarioResult {
  return { ...measured, tailRatio: tailRatio(measured), verdict: judge(measured.target, measured) };
}

type Request = { method: string; path: string; headers?: Record<string, string>; body?: string };

type Next = (context: Record<string, unknown>) => Request | Request[];

/** The headers of every request. No token, no Authorization header: an open server (a local HAPI FHIR) is benched as it is. */
const headersFor = (target: Target): Record<string, string> => ({
  ...(target.token ? { authorization: `Bearer ${target.token}` } : {}),
  accept: 'application/fhir+json',
  'content-type': 'application/fhir+json',
});

/** Runs one scenario; `next` makes each request (per connection context for sequences). */
export async function run(name: string, target: Target, next: Next, options: RunOptions = {}): Promise<ScenarioResult> {
  if (target.loadTool === 'wrk' && !options.amount && !options.sequence) return runWithWrk(name, target, next, options);
  return runWithAutocannon(name, target, next, options);
}

async function runWithWrk(name: string, target: Target, next: Next, options: RunOptions): Promise<ScenarioResult> {
  const count = options.freshUpTo ? Math.ceil(options.freshUpTo * target.duration) : REPEATED;
  const requests = Array.from({ length: count }, () => {
    const made = next({});
    const request = Array.isArray(made) ? made[0] : made;
    // wrk sends every request with the same headers (wrk.ts): one that needs its own is run as a sequence.
    if (request.headers) throw new Error(`${name}: a request with headers of its own runs with { sequence: true } (autocannon)`);
    return request;
  });
  const cores = measureCores(target.pid);
  const measured = await runWrk(target.url, headersFor(target), requests, target.connections, target.duration);
  const perSecond = measured.requests / measured.seconds;
  const notes = [
    ...(measured.firstError ? [`first error: ${measured.firstError}`] : []),
    ...(options.freshUpTo && measured.wrapped ? [`ran out of new requests after ${count}: later ones were repeats`] : []),
  ];
  return scenarioResult({
    name,
    requests: measured.requests,
    throughput: Math.round(perSecond * (options.perRequest ?? 1)),
    unit: options.unit ?? 'req/s',
    perSecond: Math.round(perSecond),
    p50: measured.p50,
    p95: measured.p95,
    p99: measured.p99,
    cores: cores(),
    target: options.target,
    errors: measured.errors,
    ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
  });
}

async function runWithAutocannon(name: string, target: Target, next: Next, options: RunOptions): Promise<ScenarioResult> {
  const headers = headersFor(target);
  let non2xx = 0;
  let firstError: string | undefined;
  const instance = autocannon({
    url: target.url,
    connections: target.connections,
    ...(options.amount ? { amount: options.amount } : { duration: target.duration }),
    requests: [
      {
        setupRequest: (req: Record<string, unknown>, context: Record<string, unknown>) => {
          const made = next(context);
          const one = Array.isArray(made) ? made[0] : made;
          return { ...req, method: one.method, path: one.path, headers: { ...headers, ...(one.headers ?? {}) }, body: one.body };
        },
        onResponse: (status: number, body: string, context: Record<string, unknown>) => {
          if (status >= 300) {
            non2xx++;
            firstError ??= `${status} ${body.slice(0, 300)}`;
          }
          const hook = context.onResponse as ((s: number, b: string) => void) | undefined;
          hook?.(status, body);
        },
      },
    ],
  } as never) as unknown as autocannon.Instance;
  const latencies: number[] = [];
  instance.on('response', (_client: unknown, _status: number, _bytes: number, responseTime: number) => latencies.push(responseTime));
  const cores = measureCores(target.pid);
  const result = (await instance) as unknown as autocannon.Result;
  const perRequest = options.perRequest ?? 1;
  return scenarioResult({
    name,
    requests: result.requests.total,
    throughput: Math.round(result.requests.average * perRequest),
    unit: options.unit ?? 'req/s',
    perSecond: Math.round(result.requests.average),
    ...percentiles(latencies),
    cores: cores(),
    target: options.target,
    errors: result.errors + result.timeouts + non2xx,
    ...(firstError ? { note: `first error: ${firstError}` } : {}),
  });
}

const FIXTURE = path.join(__dirname, '../../../fixtures/messages/gp-referral.json');

export function scenarios(dir: Directory, sample: { patients: string[]; tasks: string[]; nhs: string[] }, patients: number) {
  let created = 0;
  let nextTask = 0;
  let newPatient = patients + 1_000_000;
  const message = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Bundle;
  // A poller asks for what changed since its last poll: here, since the scenarios began (the Task updates).
  const since = new Date().toISOString();
  const pick = <T>(list: T[]): T => list[Math.floor(Math.random() * list.length)];
  const referral = (patient: string) => ({
    resourceType: 'ServiceRequest',
    extension: [
      {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest',
        valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '108161000000109' }] },
      },
    ],
    identifier: [{ system: 'https://fhir.example-gp.nhs.uk/referral-id', value: `BENCH-${Date.now()}-${created++}` }],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106' }] },
    subject: { reference: `Patient/${patient}` },
    requester: { reference: dir.practices[created % dir.practices.length] },
    performer: [{ reference: dir.spServices[0] }],
    authoredOn: new Date().toISOString(),
  });
  const STATUSES = ['first-contact-made', 'what-matters-conversation-held'];
  return {
    createReferral: () => ({ method: 'POST', path: '/fhir/ServiceRequest', body: JSON.stringify(referral(pick(sample.patients))) }),
    readById: () => ({ method: 'GET', path: `/fhir/Patient/${pick(sample.patients)}` }),
    /** Each connection reads its own Task, then updates it with If-Match, alternating. */
    taskUpdate: (context: Record<string, unknown>): Request => {
      if (context.task === undefined) {
        context.task = sample.tasks[nextTask++ % sample.tasks.length];
        context.onResponse = (status: number, body: string) => {
          if (status === 200 && body) context.current = JSON.parse(body) as Resource;
          else context.current = undefined;
        };
      }
      const current = context.current as (Resource & { meta?: { versionId?: string }; businessStatus?: unknown }) | undefined;
      if (!current) return { method: 'GET', path: `/fhir/Task/${context.task}` };
      context.turn = ((context.turn as number) ?? 0) + 1;
      const code = STATUSES[(context.turn as number) % 2];
      const body = { ...current, businessStatus: { coding: [{ system: 'https://social-prescribing.example.org/fhir/CodeSystem/sp-business-status', code }] } };
      return { method: 'PUT', path: `/fhir/Task/${context.task}`, headers: { 'if-match': `W/"${current.meta?.versionId}"` }, body: JSON.stringify(body) };
    },
    transaction: () => {
      const bundle = patientBundle(newPatient++, dir, 7);
      // Patient + Consent + referral + Task: the referral transaction of an NHS system.
      bundle.entry = (bundle.entry ?? []).filter(
        (e) =>
          ['Patient', 'Consent', 'Task'].includes(e.resource?.resourceType as string) ||
          (e.resource?.resourceType === 'ServiceRequest' && !(e.resource as { basedOn?: unknown }).basedOn)
      );
      const task = bundle.entry.find((e) => e.resource?.resourceType === 'Task')?.resource as unknown as Record<string, unknown>;
      Object.assign(task, { status: 'requested', owner: { reference: dir.spServices[0] } });
      delete task.output;
      delete task.businessStatus;
      delete task.statusReason;
      return { method: 'POST', path: '/fhir', body: JSON.stringify(bundle) };
    },
    processMessage: () => {
      const m = structuredClone(message);
      const n = newPatient++;
      m.id = `bench-${process.pid}-${n}`;
      (m.entry?.[1].resource as { identifier: { value: string }[] }).identifier[0].value = `BENCH-MSG-${process.pid}-${n}`;
      (m.entry?.[2].resource as { identifier: { value: string }[] }).identifier[0].value = nhsNumber(n);
      return { method: 'POST', path: '/fhir/$process-message', body: JSON.stringify(m) };
    },
    polling: () => ({ method: 'GET', path: `/fhir/Task?owner=${pick(dir.linkWorkers)}&_lastUpdated=gt${encodeURIComponent(since)}&_include=Task:focus` }),
    carePlanByNhs: () => ({
      method: 'GET',
      path: `/fhir/CarePlan?subject:Patient.identifier=https://fhir.nhs.uk/Id/nhs-number|${pick(sample.nhs)}&_revinclude=Task:focus`,
    }),
    near: () => ({ method: 'GET', path: `/fhir/HealthcareService?location.near=${dir.centre.lat}|${dir.centre.lng}|5|km&_count=20` }),
    patientName: () => ({ method: 'GET', path: `/fhir/Patient?name=${pick(['oka', 'smi', 'pat', 'jon', 'now', 'kha', 'tay', 'che'])}&_count=20` }),
    patientPostcode: () => ({ method: 'GET', path: `/fhir/Patient?address-postalcode=${pick(['ls3', 'ls7', 'ls12', 'ls25'])}&_count=20` }),
    validate: () => ({ method: 'POST', path: '/fhir/ServiceRequest/$validate', body: JSON.stringify(referral(pick(sample.patients))) }),
    expand: () => ({
      method: 'GET',
      path: `/fhir/ValueSet/$expand?url=https://social-prescribing.example.org/fhir/ValueSet/sp-activity-type&filter=${pick(['ar', 'gr', 'ca', 'de'])}`,
    }),
  };
}
