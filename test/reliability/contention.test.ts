// Contention at scale, through HTTP on every store (extends concurrency.test.ts
// and the duplicate-delivery case in referral-journey.test.ts):
// - 50 clients update one Task with If-Match, 10,000 attempts in all: the
//   versions form one chain without gaps or duplicates, and every 200 is
//   exactly one version, holding what that request sent, and a refused one
//   (412) wrote nothing; none is answered 503 "send it again": a commit that
//   waits behind others of the same resource is stamped, and its visibility
//   deadline starts, only once its turn comes (repository.ts commit);
// - concurrent conditional creates with one If-None-Exist create one resource;
// - concurrent duplicate $process-message deliveries store one referral.
import type { Bundle } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { fixture } from '../support/resources';
import { startServer, tokenFor, type TestServer } from '../support/server';
import { storeTargets } from '../support/stores';
import { call, jsonInit, report, type Reply } from './harness';

const CLIENTS = 50;
/** 10,000 on the embedded store; FerretDB is far slower, so 2,000 there unless RELIABILITY_UPDATES says otherwise. */
const updatesFor = (store: string): number => Number(process.env.RELIABILITY_UPDATES ?? (store === 'embedded' ? 10_000 : 600));

describe.each(storeTargets)('contention [$name]', (target) => {
  const UPDATES = updatesFor(target.name);
  let server: TestServer;
  let auth: Record<string, string>;
  beforeAll(async () => {
    server = await startServer(target);
    auth = { authorization: `Bearer ${await tokenFor()}` };
  });
  afterAll(async () => {
    await server.stop();
  });

  const fhir = (path: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<Reply> =>
    call(`${server.url}/fhir/${path}`, { ...init, headers: { ...auth, ...(init.headers as Record<string, string>) }, timeoutMs: 60000 });

  test(`${CLIENTS} clients, ${UPDATES} If-Match updates of one Task: one chain of versions, one version per 200`, async () => {
    const patient = await fhir('Patient', jsonInit('POST', { resourceType: 'Patient', name: [{ family: 'Contention' }] }));
    const gp = await fhir('Organization', jsonInit('POST', { resourceType: 'Organization', name: 'Contention GP' }));
    // Not a social prescribing referral (which brings its own Task in a transaction): a plain order to focus on.
    const order = await fhir(
      'ServiceRequest',
      jsonInit('POST', {
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        code: { text: 'contention order' },
        subject: { reference: `Patient/${patient.body.id}` },
        requester: { reference: `Organization/${gp.body.id}` },
      })
    );
    expect([order.status, order.body.issue]).toEqual([201, undefined]);
    const task = await fhir(
      'Task',
      jsonInit('POST', {
        resourceType: 'Task',
        status: 'requested',
        intent: 'order',
        code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
        focus: { reference: `ServiceRequest/${order.body.id}` },
        for: { reference: `Patient/${patient.body.id}` },
        requester: { reference: `Organization/${gp.body.id}` },
        authoredOn: '2026-11-02T09:30:00Z',
      })
    );
    expect([task.status, task.body.issue]).toEqual([201, undefined]);
    const id = task.body.id as string;
    let attempts = 0;
    const wins: { versionId: string; text: string }[] = [];
    /** Updates refused: 412 (another client got there first), or 503 "nothing was written, send it again", which none should get. */
    const refused: string[] = [];
    const unavailable: string[] = [];
    const statuses = new Map<number, number>();
    const client = async (c: number): Promise<void> => {
      let version = '1';
      while (attempts < UPDATES) {
        const text = `client ${c} attempt ${++attempts}`;
        const res = await fhir(`Task/${id}`, jsonInit('PUT', { ...task.body, id, note: [{ text }] }, { 'if-match': `W/"${version}"` }));
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        if (res.status === 200) {
          wins.push({ versionId: res.body.meta.versionId, text });
          version = res.body.meta.versionId;
        } else if (res.status === 412 || (res.status === 503 && res.body?.issue?.[0]?.code === 'transient')) {
          // A 503 is counted and the run goes on, so that the checks below still show whether it wrote anything.
          (res.status === 412 ? refused : unavailable).push(text);
          version = (await fhir(`Task/${id}`)).body.meta.versionId;
        } else {
          throw new Error(`update answered ${res.status}: ${JSON.stringify(res.body)}`);
        }
      }
    };
    const started = Date.now();
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    const seconds = (Date.now() - started) / 1000;

    // The chain: versions 1..n+1, each once, where n is the number of 200s.
    const history: { resource: { meta: { versionId: string }; note?: { text: string }[] } }[] = [];
    for (let page = `Task/${id}/_history?_count=1000`; page;) {
      const res = await fhir(page);
      history.push(...(res.body.entry ?? []));
      const next = (res.body.link ?? []).find((l: { relation: string }) => l.relation === 'next')?.url as string | undefined;
      page = next ? next.slice(next.indexOf('/fhir/') + 6) : '';
    }
    const versionIds = history.map((e) => Number(e.resource.meta.versionId)).sort((a, b) => a - b);
    const byVersion = new Map(history.map((e) => [e.resource.meta.versionId, e.resource.note?.[0]?.text]));
    const wonVersions = new Set(wins.map((w) => w.versionId));
    report(
      `[${target.name}] ${attempts} If-Match updates by ${CLIENTS} clients in ${seconds.toFixed(1)} s: ` +
        `${[...statuses].map(([s, n]) => `${n}×${s}`).join(', ')}; history holds ${history.length} versions`
    );
    expect(attempts).toBeGreaterThanOrEqual(UPDATES);
    expect(wins.length).toBeGreaterThan(0);
    expect(wonVersions.size).toBe(wins.length); // no version given to two requests
    expect(versionIds).toEqual(Array.from({ length: wins.length + 1 }, (_, i) => i + 1)); // no gaps, no duplicates
    for (const win of wins) expect(byVersion.get(win.versionId)).toBe(win.text); // each 200 is its own version
    const texts = new Set(byVersion.values());
    expect([...refused, ...unavailable].filter((text) => texts.has(text))).toEqual([]); // a refused write wrote nothing
    expect(unavailable).toHaveLength(0); // waiting for its turn is no reason to refuse a write
    const current = await fhir(`Task/${id}`);
    expect(current.body.meta.versionId).toBe(String(wins.length + 1));
  }, 900_000);

  test('40 concurrent conditional creates with the same If-None-Exist create exactly one resource', async () => {
    const value = `cond-${randomUUID()}`;
    const body = { resourceType: 'Patient', identifier: [{ system: 'urn:sp-reliability:conditional', value }], name: [{ family: 'Conditional' }] };
    const results = await Promise.all(
      Array.from({ length: 40 }, () => fhir('Patient', jsonInit('POST', body, { 'if-none-exist': `identifier=urn:sp-reliability:conditional|${value}` })))
    );
    const statuses = results.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.every((s) => s === 200 || s === 201)).toBe(true);
    const search = await fhir(`Patient?identifier=urn:sp-reliability:conditional|${value}`);
    expect(search.body.total).toBe(1);
    // Every answer names the one resource.
    expect(new Set(results.map((r) => r.body.id))).toEqual(new Set([search.body.entry[0].resource.id]));
  });

  test('25 concurrent deliveries of one message, by Bundle id and by X-Request-Id, store one referral with one Task', async () => {
    const message = fixture<Bundle>('messages/gp-referral.json');
    const suffix = randomUUID().slice(0, 8);
    message.id = `contention-${suffix}`;
    const sr = message.entry?.[1].resource as { identifier: { value: string }[] };
    sr.identifier[0].value = `RMP-CONTENTION-${suffix}`;
    // Ten copies of the Bundle itself, and fifteen re-sends under new Bundle ids, all with one X-Request-Id.
    const sends = Array.from({ length: 25 }, (_, i) => {
      const copy = JSON.parse(JSON.stringify(message)) as Bundle;
      if (i >= 10) copy.id = `contention-${suffix}-resend-${i}`;
      return fhir('$process-message', jsonInit('POST', copy, { 'x-request-id': `contention-${suffix}` }));
    });
    const results = await Promise.all(sends);
    const referrals = await fhir(`ServiceRequest?identifier=https://gp-system.example.nhs.uk/Id/referral|RMP-CONTENTION-${suffix}`);
    if (!server.store.supportsTransactions) {
      // A referral and its Task must commit together: refused whole where there are no transactions.
      expect(results.every((r) => r.status === 501)).toBe(true);
      expect(referrals.body.total).toBe(0);
      return;
    }
    expect(results.map((r) => r.status)).toEqual(Array(25).fill(200));
    expect(referrals.body.total).toBe(1);
    const tasks = await fhir(`Task?focus=ServiceRequest/${referrals.body.entry[0].resource.id}`);
    expect(tasks.body.total).toBe(1);
  });
});
