// Subscription benchmark on the embedded store, through HTTP:
//   1. notification latency, commit to receiver: referrals (a ServiceRequest
//      and the Task the server makes with it) arrive at a steady rate (100/s
//      by default) for a link-worker service with one rest-hook subscription;
//      latency is the receiver's clock at arrival minus the Task version's
//      lastUpdated (stamped just before commit, so the figure includes the commit);
//   2. write throughput cost of active subscriptions: referrals created as fast
//      as a few concurrent clients can, with no subscription and then with N
//      active ones (each watching its own service; referrals spread across them).
// Run: npm run build && node dist/test/bench/subscriptions.js [rate] [seconds] [subscriptions]
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Bundle, Resource, Task } from '@medplum/fhirtypes';
import { createApp, type App } from '../../src/app';
import { loadConfig } from '../../src/config';

const JSON_TYPE = { 'Content-Type': 'application/fhir+json' };

interface Harness {
  app: App;
  url: string;
  stop(): Promise<void>;
}

async function startApp(): Promise<Harness> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-bench-subscriptions-'));
  const app = await createApp(
    loadConfig({
      LOG_LEVEL: 'silent',
      DATA_DIR: dataDir,
      AUTH: 'off',
      RATE_LIMIT: '0',
      SUBSCRIPTION_ALLOWED_ENDPOINTS: 'http://127.0.0.1',
      SUBSCRIPTION_POLL_MS: '100',
    })
  );
  const server = await new Promise<http.Server>((resolve) => {
    const s = app.express.listen(0, '127.0.0.1', () => resolve(s));
  });
  return {
    app,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/fhir`,
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await app.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function post<T extends Resource>(url: string, resource: T): Promise<T & { id: string }> {
  const res = await fetch(`${url}/${resource.resourceType}`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify(resource) });
  const body = (await res.json()) as T & { id: string };
  if (res.status !== 201) throw new Error(`${resource.resourceType} refused: ${JSON.stringify(body)}`);
  return body;
}

let referralNumber = 0;
function referral(patient: string, requester: string, performer: string): Resource {
  return {
    resourceType: 'ServiceRequest',
    extension: [
      {
        url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest',
        valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '108161000000109' }] },
      },
    ],
    identifier: [{ system: 'https://bench.example.org/referral', value: `B-${Date.now()}-${++referralNumber}` }],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106' }] },
    subject: { reference: patient },
    requester: { reference: requester },
    performer: [{ reference: performer }],
    authoredOn: new Date().toISOString(),
  } as Resource;
}

/** A GP practice, a patient, and `services` link-worker services. */
async function directory(url: string, services: number): Promise<{ gp: string; patient: string; services: string[] }> {
  const gp = await post(url, {
    resourceType: 'Organization',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'Y99001' }],
    name: 'Bench surgery',
  });
  const patient = await post(url, {
    resourceType: 'Patient',
    identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
    name: [{ family: 'Bench' }],
    gender: 'female',
    birthDate: '1970-01-01',
  });
  const list: string[] = [];
  for (let i = 0; i < services; i++) {
    const svc = await post(url, {
      resourceType: 'HealthcareService',
      identifier: [{ system: 'https://bench.example.org/service', value: `svc-${i}` }],
      active: true,
      name: `Link workers ${i}`,
      providedBy: { reference: `Organization/${gp.id}` },
    });
    list.push(`HealthcareService/${svc.id}`);
  }
  return { gp: `Organization/${gp.id}`, patient: `Patient/${patient.id}`, services: list };
}

/** A receiver on 127.0.0.1 that notes when each Task version arrives. */
async function receiver(): Promise<{ url: string; arrivals: { lastUpdated: string; at: number }[]; close(): Promise<void> }> {
  const arrivals: { lastUpdated: string; at: number }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const at = Date.now();
      const bundle = JSON.parse(body) as Bundle;
      for (const entry of (bundle.entry ?? []).slice(1)) {
        const task = entry.resource as Task | undefined;
        if (task?.resourceType === 'Task' && task.meta?.lastUpdated) arrivals.push({ lastUpdated: task.meta.lastUpdated, at });
      }
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    arrivals,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function subscribe(h: Harness, endpoint: string, service: string): Promise<string> {
  const sub = await post(h.url, {
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'bench',
    criteria: `Task?owner=${service}`,
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
  } as Resource);
  return sub.id as string;
}

async function waitActive(h: Harness, ids: string[]): Promise<void> {
  const deadline = Date.now() + 120000;
  for (const id of ids) {
    for (;;) {
      const sub = (await (await fetch(`${h.url}/Subscription/${id}`)).json()) as { status: string };
      if (sub.status === 'active') break;
      if (Date.now() > deadline) throw new Error(`Subscription/${id} did not become active`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];

async function latency(rate: number, seconds: number): Promise<Record<string, number>> {
  const h = await startApp();
  const hook = await receiver();
  try {
    const dir = await directory(h.url, 1);
    await waitActive(h, [await subscribe(h, hook.url, dir.services[0])]);
    const total = rate * seconds;
    const started = Date.now();
    const inFlight: Promise<unknown>[] = [];
    let failed = 0;
    // Open loop: referral i is sent at started + i/rate, whether or not earlier ones have answered.
    for (let i = 0; i < total; i++) {
      const due = started + (i * 1000) / rate;
      const wait = due - Date.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      inFlight.push(post(h.url, referral(dir.patient, dir.gp, dir.services[0])).catch(() => failed++));
    }
    await Promise.all(inFlight);
    const sendSeconds = (Date.now() - started) / 1000;
    const deadline = Date.now() + 60000;
    while (hook.arrivals.length < total - failed && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const latencies = hook.arrivals.map((a) => a.at - Date.parse(a.lastUpdated)).sort((a, b) => a - b);
    return {
      referralsSent: total,
      refused: failed,
      achievedPerSecond: Math.round(total / sendSeconds),
      notified: hook.arrivals.length,
      p50Ms: percentile(latencies, 0.5),
      p95Ms: percentile(latencies, 0.95),
      p99Ms: percentile(latencies, 0.99),
      maxMs: latencies[latencies.length - 1],
    };
  } finally {
    await hook.close();
    await h.stop();
  }
}

/** Referrals per second that `clients` concurrent clients achieve for `seconds`, with `subscriptions` active. */
async function throughput(subscriptions: number, seconds: number, clients = 8): Promise<Record<string, number>> {
  const h = await startApp();
  const hook = await receiver();
  try {
    const dir = await directory(h.url, Math.max(1, subscriptions));
    const ids: string[] = [];
    for (let i = 0; i < subscriptions; i++) ids.push(await subscribe(h, hook.url, dir.services[i]));
    await waitActive(h, ids);
    let done = 0;
    const until = Date.now() + seconds * 1000;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (Date.now() < until) {
          await post(h.url, referral(dir.patient, dir.gp, dir.services[done % dir.services.length]));
          done++;
        }
      })
    );
    return { subscriptions, referrals: done, perSecond: Math.round(done / seconds), notifiedDuringRun: hook.arrivals.length };
  } finally {
    await hook.close();
    await h.stop();
  }
}

async function main(): Promise<void> {
  const rate = Number(process.argv[2] ?? 100);
  const seconds = Number(process.argv[3] ?? 20);
  const subscriptions = Number(process.argv[4] ?? 100);
  process.stdout.write(`Machine: ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB; embedded store; Node ${process.version}\n`);
  process.stdout.write(
    `1. Notification latency at ${rate} referrals/s for ${seconds} s, one rest-hook subscription:\n${JSON.stringify(await latency(rate, seconds))}\n`
  );
  const without = await throughput(0, seconds);
  const withSubs = await throughput(subscriptions, seconds);
  const cost = Math.round((1 - withSubs.perSecond / without.perSecond) * 100);
  process.stdout.write(
    `2. Referral write throughput (8 clients, ${seconds} s):\n${JSON.stringify(without)}\n${JSON.stringify(withSubs)}\ncost of ${subscriptions} active subscriptions: ${cost}%\n`
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
