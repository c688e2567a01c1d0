// Batch and transaction Bundles through HTTP. Transactions are all-or-nothing:
// on a store without transactions (MongoDB standalone, FerretDB) they are
// refused whole, and nothing is written.
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import { conditionalCreateKey } from '../src/fhir/interactions/create';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets, withTransactions } from './support/stores';
import { fixture, patient, NHS_NUMBER_SYSTEM } from './support/resources';

describe.each(storeTargets)('bundles [$name]', (target) => {
  let server: TestServer;
  let transactions: boolean;
  beforeAll(async () => {
    server = await startServer(target);
    transactions = server.store.supportsTransactions;
  });
  afterAll(async () => {
    await server.stop();
  });

  const postBundle = (bundle: Bundle) => server.api.post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
  const count = async (url: string) => (await server.api.get(`${url}${url.includes('?') ? '&' : '?'}_summary=count`)).body.total as number;

  withTransactions(target)('a conditional create whose resource exists does not wait while another request holds its criteria', async () => {
    const system = `urn:shared-practice:${Date.now()}`;
    const practice = { resourceType: 'Organization', active: true, name: 'The practice', identifier: [{ system, value: 'P1' }] };
    expect((await server.api.post('/fhir/Organization').set('Content-Type', FHIR_JSON).send(practice)).status).toBe(201);
    // As a transaction creating a resource by these criteria holds them until it commits: here, until released.
    const key = await conditionalCreateKey(server.app.fhir, 'Organization', `identifier=${system}|P1`);
    let release!: () => void;
    const holding = server.app.fhir.repo.exclusive([key], () => new Promise<void>((resolve) => (release = resolve)));
    try {
      // Every message of a GP names its practice this way: none may wait for another's commit.
      const tx = await postBundle({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { resource: practice, request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=${system}|P1` } } as BundleEntry,
          {
            resource: patient({ identifier: [{ system: 'urn:bundle-tests', value: 'waits-for-nobody' }], name: [{ family: 'Waits-for-nobody' }] }),
            request: { method: 'POST', url: 'Patient' },
          } as BundleEntry,
        ],
      });
      expect(tx.status).toBe(200);
      expect(tx.body.entry[0].response.status).toMatch(/^200/);
      const single = await server.api.post('/fhir/Organization').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=${system}|P1`).send(practice);
      expect(single.status).toBe(200);
    } finally {
      release();
      await holding;
    }
    expect(await count(`/fhir/Organization?identifier=${system}|P1`)).toBe(1);
  });

  withTransactions(target)('concurrent transactions that each create the same new resource by If-None-Exist create it once', async () => {
    const system = `urn:new-practice:${Date.now()}`;
    const practice = { resourceType: 'Organization', active: true, name: 'A new practice', identifier: [{ system, value: 'P2' }] };
    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        postBundle({
          resourceType: 'Bundle',
          type: 'transaction',
          entry: [
            { resource: practice, request: { method: 'POST', url: 'Organization', ifNoneExist: `identifier=${system}|P2` } } as BundleEntry,
            {
              resource: patient({ identifier: [{ system: 'urn:bundle-tests', value: `twin-${i}` }], name: [{ family: `Twin-${i}` }] }),
              request: { method: 'POST', url: 'Patient' },
            } as BundleEntry,
          ],
        })
      )
    );
    expect(results.map((r) => r.status)).toEqual(Array(8).fill(200));
    expect(await count(`/fhir/Organization?identifier=${system}|P2`)).toBe(1);
  });

  test('a referral transaction (Patient + ServiceRequest + Task by urn:uuid) is stored with every reference rewritten', async () => {
    const bundle = fixture<Bundle>('bundles/referral-transaction.json');
    const res = await postBundle(bundle);
    if (!transactions) {
      expect(res.status).toBe(501);
      expect(res.body.issue[0].diagnostics).toMatch(/transactions/);
      expect(await count(`/fhir/Patient?identifier=${NHS_NUMBER_SYSTEM}|9434765919`)).toBe(0);
      return;
    }
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('transaction-response');
    const [org, p, sr, t] = res.body.entry as BundleEntry[];
    expect(org.response?.status).toBe('201 Created');
    expect(p.response?.status).toBe('201 Created');
    expect(p.response?.location).toMatch(/^Patient\/[^/]+\/_history\/1$/);
    const patientRef = `Patient/${p.resource?.id}`;
    const srRef = `ServiceRequest/${sr.resource?.id}`;

    const storedSr = (await server.api.get(`/fhir/${srRef}`)).body;
    expect(storedSr.subject.reference).toBe(patientRef);
    const storedTask = (await server.api.get(`/fhir/Task/${t.resource?.id}`)).body;
    expect(storedTask.focus.reference).toBe(srRef);
    expect(storedTask.for.reference).toBe(patientRef);
    expect(storedTask.requester.reference).toBe(`Organization/${org.resource?.id}`);
    expect(JSON.stringify([storedSr, storedTask])).not.toContain('urn:uuid');

    // The Patient's If-None-Exist makes a resend match the same patient.
    const again = await postBundle(fixture<Bundle>('bundles/referral-transaction.json'));
    expect(again.status).toBe(200);
    expect(again.body.entry[0].resource.id).toBe(org.resource?.id);
    expect(again.body.entry[1].response.status).toBe('200 OK');
    expect(again.body.entry[1].resource.id).toBe(p.resource?.id);
    expect((await server.api.get(`/fhir/ServiceRequest/${again.body.entry[2].resource.id}`)).body.subject.reference).toBe(patientRef);
  });

  test('a transaction with one invalid entry writes nothing and names the entry', async () => {
    const value = `tx-fail-${Date.now()}`;
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: 'urn:uuid:a1', resource: patient({ identifier: [{ system: 'urn:tx', value }] }), request: { method: 'POST', url: 'Patient' } },
        {
          resource: { resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'urn:uuid:a1' } },
          request: { method: 'POST', url: 'Observation' },
        },
        { resource: { ...patient(), birthDate: 'the fifth of May' } as never, request: { method: 'POST', url: 'Patient' } },
      ],
    };
    const res = await postBundle(bundle);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(await count(`/fhir/Patient?identifier=urn:tx|${value}`)).toBe(0);
    expect(await count('/fhir/Observation?code:missing=false')).toBe(0);
    if (!transactions) {
      expect(res.status).toBe(501);
      return;
    }
    expect(res.status).toBe(422);
    const issue = res.body.issue[0];
    expect(issue.expression[0]).toBe('Bundle.entry[2].resource.birthDate');
    expect(issue.diagnostics).toContain('Bundle.entry[2]');
  });

  withTransactions(target)('a transaction whose later entry conflicts leaves the earlier entries unwritten', async () => {
    const created = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    const value = `tx-conflict-${Date.now()}`;
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: patient({ identifier: [{ system: 'urn:tx', value }] }), request: { method: 'POST', url: 'Patient' } },
        { resource: { ...created, gender: 'male' }, request: { method: 'PUT', url: `Patient/${created.id}`, ifMatch: 'W/"7"' } },
      ],
    });
    expect(res.status).toBe(412);
    expect(await count(`/fhir/Patient?identifier=urn:tx|${value}`)).toBe(0);
    expect((await server.api.get(`/fhir/Patient/${created.id}`)).body.gender).toBe('female');
  });

  withTransactions(target)('conditional references are resolved inside a transaction', async () => {
    const value = `9${Date.now()}`.slice(0, 10);
    const existing = (
      await server.api
        .post('/fhir/Patient')
        .set('Content-Type', FHIR_JSON)
        .send(patient({ identifier: [{ system: 'urn:cond-ref', value }] }))
    ).body;
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: {
            resourceType: 'ServiceRequest',
            status: 'active',
            intent: 'order',
            subject: { reference: `Patient?identifier=urn:cond-ref|${value}` },
          },
          request: { method: 'POST', url: 'ServiceRequest' },
        },
      ],
    });
    expect(res.status).toBe(200);
    const sr = (await server.api.get(`/fhir/ServiceRequest/${res.body.entry[0].resource.id}`)).body;
    expect(sr.subject.reference).toBe(`Patient/${existing.id}`);
  });

  withTransactions(target)('a conditional reference to a conditional create in the same transaction resolves to it', async () => {
    const value = `new-${Date.now()}`;
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: `Patient?identifier=urn:same-tx|${value}` } },
          request: { method: 'POST', url: 'ServiceRequest' },
        },
        {
          resource: patient({ identifier: [{ system: 'urn:same-tx', value }] }),
          request: { method: 'POST', url: 'Patient', ifNoneExist: `identifier=urn:same-tx|${value}` },
        },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry[0].resource.subject.reference).toBe(`Patient/${res.body.entry[1].resource.id}`);
  });

  withTransactions(target)('a conditional reference that matches nothing fails the transaction', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'Patient?identifier=urn:none|nobody' } },
          request: { method: 'POST', url: 'ServiceRequest' },
        },
      ],
    });
    expect(res.status).toBe(412);
    expect(res.body.issue[0].diagnostics).toContain('Bundle.entry[0]');
  });

  test('a urn:uuid reference to no entry fails the transaction with 400', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: { resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: 'urn:uuid:0000-nowhere' } },
          request: { method: 'POST', url: 'ServiceRequest' },
        },
      ],
    });
    expect(res.status).toBe(400);
  });

  withTransactions(target)('a transaction can update, delete and read in one go', async () => {
    const a = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    const b = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { request: { method: 'GET', url: `Patient/${a.id}` } },
        { resource: { ...a, gender: 'male' }, request: { method: 'PUT', url: `Patient/${a.id}` } },
        { request: { method: 'DELETE', url: `Patient/${b.id}` } },
      ],
    });
    expect(res.status).toBe(200);
    // GET runs last (DELETE, POST, PUT, GET), so it sees the update.
    expect(res.body.entry[0].resource.gender).toBe('male');
    expect(res.body.entry[1].response.status).toBe('200 OK');
    expect((await server.api.get(`/fhir/Patient/${b.id}`)).status).toBe(410);
  });

  test('a batch processes each entry on its own', async () => {
    const res = await postBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { resource: patient(), request: { method: 'POST', url: 'Patient' } },
        { resource: { ...patient(), birthDate: 'never' } as never, request: { method: 'POST', url: 'Patient' } },
        { request: { method: 'GET', url: 'Patient/does-not-exist' } },
        { request: { method: 'GET', url: 'Patient?gender=female&_count=1' } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.type).toBe('batch-response');
    const statuses = res.body.entry.map((e: BundleEntry) => e.response?.status);
    expect(statuses).toEqual(['201 Created', '422 Unprocessable Entity', '404 Not Found', '200 OK']);
    expect(res.body.entry[1].response.outcome.resourceType).toBe('OperationOutcome');
    expect(res.body.entry[3].resource.resourceType).toBe('Bundle');
  });

  test('a Bundle of another type, or nested bundles, are refused with 400', async () => {
    expect((await postBundle({ resourceType: 'Bundle', type: 'collection' })).status).toBe(400);
    const nested = await postBundle({
      resourceType: 'Bundle',
      type: 'batch',
      entry: [{ resource: { resourceType: 'Bundle', type: 'batch' }, request: { method: 'POST', url: '/' } }],
    });
    expect(nested.body.entry[0].response.status).toMatch(/^400/);
  });
});
