// The audit trail: exactly one AuditEvent per request, failures and denials
// included, with who, what, when, outcome and source address; a request whose
// AuditEvent cannot be written is refused.
import type { AuditEvent } from '@medplum/fhirtypes';
import { organization, patient, referral } from './support/resources';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets)('audit trail [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  /** The AuditEvents written since a list of earlier ones was taken. */
  async function since(earlier: AuditEvent[]): Promise<AuditEvent[]> {
    const seen = new Set(earlier.map((e) => e.id));
    return (await auditEvents()).filter((e) => !seen.has(e.id));
  }

  async function auditEvents(): Promise<AuditEvent[]> {
    const rows = await server.store.search({
      resourceType: 'AuditEvent',
      filter: { kind: 'all' },
      sort: [{ field: 'id', descending: false }],
      offset: 0,
      limit: 100000,
    });
    return rows.map((r) => r.resource as AuditEvent);
  }

  test('every request leaves exactly one AuditEvent, denied and failed ones too', async () => {
    const before = await auditEvents();
    const linkWorker = await tokenFor({ sub: 'lw-1', sp_role: 'link-worker', ods_code: 'S99999', scope: 'user/Task.rs' });
    const requests = [
      () => server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient()),
      () => server.api.get('/fhir/Patient?identifier=9434765919'),
      () => server.api.get('/fhir/Patient/does-not-exist'),
      () => server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send({ resourceType: 'Patient', gender: 'sometimes' }),
      () => server.anonymous.get('/fhir/Patient'),
      () => server.anonymous.get('/fhir/Patient').set('Authorization', `Bearer ${linkWorker}`),
      () => server.api.post('/fhir/Patient').set('Content-Type', 'text/plain').send('hello'),
      () => server.api.get('/fhir/metadata'),
    ];
    const statuses: number[] = [];
    for (const send of requests) statuses.push((await send()).status);
    expect(statuses).toEqual([201, 200, 404, 422, 401, 403, 415, 200]);
    const events = await since(before);
    expect(events).toHaveLength(requests.length);
    const byOutcome = events.map((e) => [e.subtype?.[0]?.code, e.outcome]).sort();
    expect(byOutcome).toEqual(
      [
        ['create', '0'],
        ['search-type', '0'],
        ['read', '4'],
        ['create', '4'],
        ['search-type', '4'],
        ['search-type', '4'],
        ['create', '4'],
        ['capabilities', '0'],
      ].sort()
    );
  });

  test('an AuditEvent says who, what, when, with what outcome, from where', async () => {
    const token = await tokenFor({ sub: 'alice', sp_role: 'integrator', ods_code: 'X26', scope: 'system/*.cruds' });
    const created = await server.anonymous
      .post('/fhir/Organization')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', FHIR_JSON)
      .send(organization('X26'));
    expect(created.status).toBe(201);
    const denied = await server.anonymous.get('/fhir/AuditEvent').set('Authorization', `Bearer ${token}`);
    expect(denied.status).toBe(403);
    const events = (await auditEvents()).filter((e) => e.agent?.[0]?.who?.identifier?.value === 'alice');
    const create = events.find((e) => e.action === 'C') as AuditEvent;
    expect(create.type.code).toBe('rest');
    expect(create.outcome).toBe('0');
    expect(create.entity?.[0]?.what?.reference).toBe(`Organization/${created.body.id}`);
    expect(create.agent[0].network?.address).toMatch(/127\.0\.0\.1/);
    expect(create.agent[0].role?.[0]?.text).toBe('integrator');
    expect(create.agent[1].who?.identifier?.value).toBe('X26');
    expect(Date.now() - Date.parse(create.recorded)).toBeLessThan(60000);
    const search = events.find((e) => e.outcome === '4') as AuditEvent;
    expect(search.outcomeDesc).toMatch(/403/);
    const admin = await tokenFor({ sp_role: 'admin', scope: 'system/AuditEvent.rs' });
    const found = await server.anonymous.get('/fhir/AuditEvent?outcome=4&action=E').set('Authorization', `Bearer ${admin}`);
    expect(found.status).toBe(200);
    expect(found.body.entry.length).toBeGreaterThan(0);
  });

  test('a request whose AuditEvent cannot be written is refused, and no data is sent', async () => {
    const stored = await server.api
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .send(patient({ name: [{ family: 'Unaudited' }] }));
    const commit = server.store.commit.bind(server.store);
    server.store.commit = async (writes) => {
      if (writes.some((w) => w.version.resourceType === 'AuditEvent')) throw new Error('audit store full');
      return commit(writes);
    };
    try {
      const res = await server.api.get(`/fhir/Patient/${stored.body.id}`);
      expect(res.status).toBe(503);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(res.text).not.toContain('Unaudited');
      expect(res.text).not.toContain('audit store full');
    } finally {
      server.store.commit = commit;
    }
    expect((await server.api.get(`/fhir/Patient/${stored.body.id}`)).status).toBe(200);
  });

  if (target.name === 'embedded') {
    test('a write and its AuditEvent commit together: when the AuditEvent cannot be stored, neither is', async () => {
      const family = `Atomic${Date.now()}`;
      const count = async () => (await server.api.get(`/fhir/Patient?family=${family}&_summary=count`)).body.total;
      const commit = server.store.commit.bind(server.store);
      let attempted = 0;
      server.store.commit = async (writes) => {
        if (writes.some((w) => w.version.resourceType === 'AuditEvent')) {
          attempted += writes.filter((w) => w.version.resourceType === 'Patient').length;
          throw new Error('audit store full');
        }
        return commit(writes);
      };
      let res;
      try {
        res = await server.api
          .post('/fhir/Patient')
          .set('Content-Type', FHIR_JSON)
          .send(patient({ name: [{ family }] }));
      } finally {
        server.store.commit = commit;
      }
      expect(attempted).toBe(1); // the Patient was offered in the same commit as its AuditEvent
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body.resourceType).toBe('OperationOutcome');
      expect(await count()).toBe(0);
    });

    test('the referral journey: one AuditEvent for each of its requests', async () => {
      const before = await auditEvents();
      let count = 0;
      const send = async (res: Promise<{ status: number; body: { id?: string; entry?: { resource: { id: string } }[] } }>) => {
        count++;
        return res;
      };
      const gp = await send(server.api.post('/fhir/Organization').set('Content-Type', FHIR_JSON).send(organization('A12345')));
      const person = await send(server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient()));
      const sr = await send(
        server.api
          .post('/fhir/ServiceRequest')
          .set('Content-Type', FHIR_JSON)
          .send(referral(`Patient/${person.body.id}`, `Organization/${gp.body.id}`))
      );
      const tasks = await send(server.api.get(`/fhir/Task?focus=ServiceRequest/${sr.body.id}`));
      const taskId = tasks.body.entry?.[0].resource.id as string;
      await send(server.api.get(`/fhir/Task/${taskId}/_history`));
      await send(server.api.get(`/fhir/ServiceRequest?_id=${sr.body.id}&_revinclude=Task:focus`));
      const events = await since(before);
      // The referral's Task was written by the server in the same unit: still one event for the request.
      expect(events).toHaveLength(count);
    });
  }
});
