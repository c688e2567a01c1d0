// Every path that finds a resource by criteria selects only what the caller
// may see, as a search by the same caller would: conditional create, update and
// delete, transaction ifNoneExist and conditional references, referral update
// and cancellation messages, message idempotency, _include/_revinclude and
// history. A table of role × path × own organisation / another organisation,
// each row with its expected status, and for every row about another
// organisation a check that nothing of it appears in the body, in the Location
// or ETag headers, or changed in the store afterwards.
//
// On a store without multi-document transactions (FerretDB), writes of several
// resources are refused whole with 501: the rows say so, and the leak checks
// still hold. Referrals there are plain ServiceRequests with their Tasks
// written one by one, since an SP referral brings its Task in the same commit.
import type { Bundle, BundleEntry, Resource, ServiceRequest } from '@medplum/fhirtypes';
import type { Response } from 'supertest';
import { defaultScopes, type Role } from '../src/auth/roles';
import { NHS_NUMBER_SYSTEM, organization, patient, referral, task } from './support/resources';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const BARS = 'https://fhir.nhs.uk/CodeSystem/message-events-bars';
const REFERRAL_ID_SYSTEM = 'https://fhir.example-gp.nhs.uk/referral-id';
const NHS_A = '9000000009';
const NHS_B = '9000000017';

describe.each(storeTargets)('criteria-based paths keep to the caller [$name]', (target) => {
  let server: TestServer;
  let transactions = false;
  const tokens = {} as Record<Role | 'referrerB', string>;
  const id: Record<string, string> = {};
  /** Organisation B's resources as stored before the table ran: [path, versionId, JSON]. */
  let before: [string, string, string][] = [];

  async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    if (res.status !== 201) throw new Error(`${resource.resourceType}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  /** A referral with its Task: one commit where the store can, else the request and the Task one by one. */
  async function referralWithTask(subject: string, requester: string, owner: string, refId: string): Promise<[string, string]> {
    const identifier = [{ system: REFERRAL_ID_SYSTEM, value: refId }];
    if (transactions) {
      const sr = await create(referral(subject, requester, { identifier, performer: [{ reference: owner }] }));
      const found = await server.api.get(`/fhir/Task?focus=ServiceRequest/${sr.id}`);
      return [sr.id, found.body.entry[0].resource.id];
    }
    const sr = await create<ServiceRequest>({
      ...referral(subject, requester, { identifier, performer: [{ reference: owner }] }),
      code: { text: 'Community support' },
    });
    const t = await create(task(`ServiceRequest/${sr.id}`, subject, requester, { owner: { reference: owner } }));
    return [sr.id, t.id];
  }

  beforeAll(async () => {
    server = await startServer(target);
    transactions = server.store.supportsTransactions;
    const gpA = await create(organization('A81001'));
    const gpB = await create(organization('B82002'));
    const s1 = await create(organization('S10001'));
    const s2 = await create(organization('S20002'));
    const pa = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_A }], name: [{ family: 'Alpha', given: ['Ann'] }] }));
    const pb = await create(
      patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_B }], name: [{ family: 'Bravo', given: ['Bea'] }], birthDate: '1951-02-03' })
    );
    const [srA, taskA] = await referralWithTask(`Patient/${pa.id}`, `Organization/${gpA.id}`, `Organization/${s1.id}`, 'REF-A');
    const [srB, taskB] = await referralWithTask(`Patient/${pb.id}`, `Organization/${gpB.id}`, `Organization/${s2.id}`, 'REF-B');
    Object.assign(id, { gpA: gpA.id, gpB: gpB.id, s1: s1.id, s2: s2.id, pa: pa.id, pb: pb.id, srA, srB, taskA, taskB });
    const ods: Partial<Record<Role, string>> = { referrer: 'A81001', 'link-worker': 'S10001', 'community-provider': 'S10001' };
    for (const role of ['referrer', 'link-worker', 'community-provider', 'integrator', 'commissioner', 'admin'] as Role[]) {
      tokens[role] = await tokenFor({ sub: `${role}-user`, sp_role: role, scope: defaultScopes(role), ...(ods[role] ? { ods_code: ods[role] } : {}) });
    }
    tokens.referrerB = await tokenFor({ sub: 'referrer-b-user', sp_role: 'referrer', scope: defaultScopes('referrer'), ods_code: 'B82002' });
    before = await snapshotOfB();
  });
  afterAll(async () => {
    await server.stop();
  });

  /** Organisation B's patient, referral and Task as the store holds them. */
  async function snapshotOfB(): Promise<[string, string, string][]> {
    const out: [string, string, string][] = [];
    for (const path of [`Patient/${id.pb}`, `ServiceRequest/${id.srB}`, `Task/${id.taskB}`]) {
      const res = await server.api.get(`/fhir/${path}`);
      out.push([path, res.body.meta.versionId, JSON.stringify({ ...res.body, meta: undefined })]);
    }
    return out;
  }

  function call(who: Role | 'referrerB', method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: unknown, headers: Record<string, string> = {}) {
    let req = server.anonymous[method === 'DELETE' ? 'delete' : (method.toLowerCase() as 'get' | 'post' | 'put')](`/fhir/${path}`).set(
      'Authorization',
      `Bearer ${tokens[who]}`
    );
    for (const [k, v] of Object.entries(headers)) req = req.set(k, v);
    if (body !== undefined) req = req.set('Content-Type', FHIR_JSON).send(body as object);
    return req;
  }

  const fill = (text: string): string => text.replace(/\{(\w+)\}/g, (_m, key: string) => id[key]);

  /** Nothing of organisation B in the answer: ids, the patient's name and birth date, in the body or the headers. */
  function expectNothingOfB(res: Response): void {
    const text = `${JSON.stringify(res.body ?? '')} ${res.headers.location ?? ''} ${res.headers.etag ?? ''} ${res.headers['content-location'] ?? ''}`;
    for (const secret of [id.pb, id.srB, id.taskB, 'Bravo', '1951-02-03']) expect(text).not.toContain(secret);
  }

  function cancellation(bundleId: string, referralId: string, requester: string): Bundle {
    return {
      resourceType: 'Bundle',
      id: bundleId,
      type: 'message',
      entry: [
        {
          fullUrl: 'urn:uuid:6a3b6c4e-0001-4000-8000-000000000001',
          resource: {
            resourceType: 'MessageHeader',
            eventCoding: { system: BARS, code: 'servicerequest-request' },
            reason: { coding: [{ system: 'https://fhir.nhs.uk/CodeSystem/message-reason-bars', code: 'update' }] },
            source: { endpoint: 'https://gp.example.nhs.uk/fhir' },
            focus: [{ reference: 'urn:uuid:6a3b6c4e-0001-4000-8000-000000000002' }],
          },
        },
        {
          fullUrl: 'urn:uuid:6a3b6c4e-0001-4000-8000-000000000002',
          resource: referral(`Patient/${id.pa}`, requester, { identifier: [{ system: REFERRAL_ID_SYSTEM, value: referralId }], status: 'revoked' }),
        },
      ],
    };
  }

  function newReferralMessage(bundleId: string, nhs: string, family: string, requester: string): Bundle {
    const p = 'urn:uuid:7b4c7d5f-0002-4000-8000-000000000002';
    const sr = 'urn:uuid:7b4c7d5f-0002-4000-8000-000000000003';
    return {
      resourceType: 'Bundle',
      id: bundleId,
      type: 'message',
      entry: [
        {
          fullUrl: 'urn:uuid:7b4c7d5f-0002-4000-8000-000000000001',
          resource: {
            resourceType: 'MessageHeader',
            eventCoding: { system: BARS, code: 'servicerequest-request' },
            source: { endpoint: 'https://gp.example.nhs.uk/fhir' },
            focus: [{ reference: sr }],
          },
        },
        { fullUrl: p, resource: patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: nhs }], name: [{ family, given: ['New'] }] }) },
        { fullUrl: sr, resource: referral(p, requester, { performer: [{ reference: `Organization/${id.s1}` }] }) },
      ],
    };
  }

  const transactionOf = (...entries: BundleEntry[]): Bundle => ({ resourceType: 'Bundle', type: 'transaction', entry: entries });

  // [who, what, method, path, body (ids filled in), headers, expected status (store with / without transactions), own organisation?]
  type Row = [Role | 'referrerB', string, 'GET' | 'POST' | 'PUT' | 'DELETE', string, () => unknown, Record<string, string>, [number, number], boolean];
  const rows: Row[] = [
    // Conditional create: the caller's own match is returned; another organisation's is not seen, so the caller's own is created.
    [
      'referrer',
      'conditional create, own patient',
      'POST',
      'Patient',
      () => patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_A }] }),
      { 'If-None-Exist': `identifier=${NHS_NUMBER_SYSTEM}|${NHS_A}` },
      [200, 200],
      true,
    ],
    [
      'referrer',
      'conditional create, other practice patient',
      'POST',
      'Patient',
      () => patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_B }], name: [{ family: 'Own', given: ['Copy'] }] }),
      { 'If-None-Exist': `identifier=${NHS_NUMBER_SYSTEM}|${NHS_B}` },
      [201, 201],
      false,
    ],
    [
      'link-worker',
      'conditional create of a patient (no create permission)',
      'POST',
      'Patient',
      () => patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_B }] }),
      { 'If-None-Exist': `identifier=${NHS_NUMBER_SYSTEM}|${NHS_B}` },
      [403, 403],
      false,
    ],
    // Transaction ifNoneExist, with a representation asked for.
    [
      'referrer',
      'transaction ifNoneExist, own patient',
      'POST',
      '',
      () =>
        transactionOf({
          resource: patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_A }] }),
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS_NUMBER_SYSTEM}|${NHS_A}` },
        }),
      { Prefer: 'return=representation' },
      [200, 501],
      true,
    ],
    [
      'referrer',
      'transaction ifNoneExist, other practice patient',
      'POST',
      '',
      () =>
        transactionOf({
          resource: patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_B }], name: [{ family: 'Own', given: ['Copy'] }] }),
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=${NHS_NUMBER_SYSTEM}|${NHS_B}` },
        }),
      { Prefer: 'return=representation' },
      [200, 501],
      false,
    ],
    // A conditional reference in a transaction resolves only to what the caller may see.
    [
      'referrer',
      'transaction conditional reference, other practice patient',
      'POST',
      '',
      () =>
        transactionOf({
          resource: referral(`Patient?identifier=${NHS_NUMBER_SYSTEM}|${NHS_B}`, `Organization/${id.gpA}`),
          request: { method: 'POST', url: 'ServiceRequest' },
        }),
      {},
      [412, 412],
      false,
    ],
    // Conditional update: the caller's own Task changes; another service's is not selected, and its id is never overwritten.
    [
      'link-worker',
      'conditional update, own Task',
      'PUT',
      'Task?_id={taskA}',
      () => ({
        ...task(`ServiceRequest/${id.srA}`, `Patient/${id.pa}`, `Organization/${id.gpA}`, { owner: { reference: `Organization/${id.s1}` } }),
        id: id.taskA,
      }),
      { 'If-Match': 'W/"1"' },
      [200, 200],
      true,
    ],
    [
      'link-worker',
      'conditional update, other service Task',
      'PUT',
      'Task?_id={taskB}',
      () => ({
        ...task(`ServiceRequest/${id.srB}`, `Patient/${id.pb}`, `Organization/${id.gpB}`, { owner: { reference: `Organization/${id.s1}` } }),
        id: id.taskB,
      }),
      { 'If-Match': 'W/"1"' },
      [412, 412],
      false,
    ],
    [
      'link-worker',
      'conditional update, own patient',
      'PUT',
      `Patient?identifier=${NHS_NUMBER_SYSTEM}|${NHS_A}`,
      () => patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_A }], name: [{ family: 'Alpha', given: ['Anne'] }] }),
      { 'If-Match': 'W/"1"' },
      [200, 200],
      true,
    ],
    [
      'link-worker',
      'conditional update, other service patient (update-as-create)',
      'PUT',
      `Patient?identifier=${NHS_NUMBER_SYSTEM}|${NHS_B}`,
      () => patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_B }], name: [{ family: 'Overwritten' }] }),
      { 'If-Match': 'W/"1"' },
      [201, 201],
      false,
    ],
    [
      'link-worker',
      'conditional update naming the other patient by id',
      'PUT',
      `Patient?identifier=${NHS_NUMBER_SYSTEM}|${NHS_B}`,
      () => ({ ...patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_B }], name: [{ family: 'Overwritten' }] }), id: id.pb }),
      { 'If-Match': 'W/"1"' },
      [412, 412],
      false,
    ],
    // Conditional delete: no role kept to its organisation may delete; an integrator (all organisations) may.
    ['link-worker', 'conditional delete, other service Task', 'DELETE', 'Task?_id={taskB}', () => undefined, {}, [403, 403], false],
    // Referral update and cancellation messages: only the referral's own requester.
    [
      'referrer',
      'cancellation message, other practice referral',
      'POST',
      '$process-message',
      () => cancellation('cancel-b-by-a', 'REF-B', `Organization/${id.gpA}`),
      {},
      [404, 501],
      false,
    ],
    [
      'link-worker',
      'cancellation message, referral of a patient they see but did not make',
      'POST',
      '$process-message',
      () => cancellation('cancel-a-by-lw', 'REF-A', `Organization/${id.gpA}`),
      {},
      [403, 501],
      true,
    ],
    // Reads by criteria: _include, _revinclude and history.
    [
      'referrer',
      '_revinclude of referrals from patients',
      'GET',
      'Patient?_revinclude=ServiceRequest:subject&_count=100',
      () => undefined,
      {},
      [200, 200],
      false,
    ],
    [
      'referrer',
      '_include of the referral subject',
      'GET',
      'ServiceRequest?_include=ServiceRequest:subject&_count=100',
      () => undefined,
      {},
      [200, 200],
      false,
    ],
    [
      'link-worker',
      '_include of Task patients and focus',
      'GET',
      'Task?_include=Task:patient&_include=Task:focus&_count=100',
      () => undefined,
      {},
      [200, 200],
      false,
    ],
    ['community-provider', 'referrals through their Tasks', 'GET', 'ServiceRequest?_count=100', () => undefined, {}, [200, 200], false],
    ['referrer', 'Patient type history', 'GET', 'Patient/_history?_count=100', () => undefined, {}, [200, 200], false],
    ['link-worker', 'system history', 'GET', '_history?_count=100', () => undefined, {}, [200, 200], false],
    ['referrer', 'system export', 'GET', '$export', () => undefined, { Prefer: 'respond-async' }, [403, 403], false],
  ];

  it.each(rows)('%s: %s', async (who, _what, method, path, body, headers, [withTx, withoutTx], own) => {
    const res = await call(who, method, fill(path), body(), headers);
    expect(res.status).toBe(transactions ? withTx : withoutTx);
    if (!own) expectNothingOfB(res);
  });

  it('a referrer sees its own patient returned by a conditional create', async () => {
    const res = await call('referrer', 'POST', 'Patient', patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: NHS_A }] }), {
      'If-None-Exist': `identifier=${NHS_NUMBER_SYSTEM}|${NHS_A}`,
    });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(id.pa);
  });

  it('the resources of organisation B are unchanged after every row', async () => {
    expect(await snapshotOfB()).toEqual(before);
  });

  it('a cancellation from the referral’s own practice is accepted (refused whole without transactions)', async () => {
    const res = await call('referrer', 'POST', '$process-message', cancellation('cancel-a-by-a', 'REF-A', `Organization/${id.gpA}`));
    expect(res.status).toBe(transactions ? 200 : 501);
    const sr = await server.api.get(`/fhir/ServiceRequest/${id.srA}`);
    expect(sr.body.status).toBe(transactions ? 'revoked' : 'active');
  });

  it('message idempotency is kept per sender: a repeated Bundle.id from another sender is its own message', async () => {
    const fromA = await call(
      'referrer',
      'POST',
      '$process-message',
      newReferralMessage('shared-message-id', '9434765919', 'Alphamsg', `Organization/${id.gpA}`)
    );
    const fromB = await call(
      'referrerB',
      'POST',
      '$process-message',
      newReferralMessage('shared-message-id', '9434765870', 'Bravomsg', `Organization/${id.gpB}`)
    );
    expect(fromA.status).toBe(transactions ? 200 : 501);
    expect(fromB.status).toBe(transactions ? 200 : 501);
    expect(JSON.stringify(fromB.body)).not.toContain('Alphamsg');
    if (transactions) {
      const idsOf = (b: Bundle) => (b.entry ?? []).slice(1).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
      expect(idsOf(fromB.body).filter((r) => idsOf(fromA.body).includes(r))).toEqual([]);
      // The same sender repeating it gets its own response back.
      const again = await call(
        'referrer',
        'POST',
        '$process-message',
        newReferralMessage('shared-message-id', '9434765919', 'Alphamsg', `Organization/${id.gpA}`)
      );
      expect(again.body.id).toBe(fromA.body.id);
    }
  });
});
