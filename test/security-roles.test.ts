// Who may do what, through HTTP: roles × resource types × interactions,
// allowed and denied, including reads through _include, inside Bundles and in
// history. Data are kept to the caller's organisation (the ods_code claim):
// a link worker of service S1 cannot read service S2's Tasks. Runs on the
// embedded store (access control sits above the store; referrals need transactions).
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { organization, patient, referral, task } from './support/resources';
import { bulkClient } from './support/bulk';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { defaultScopes, type Role } from '../src/auth/roles';

describe('roles and scopes [embedded]', () => {
  let server: TestServer;
  const tokens = {} as Record<Role, string>;
  const id: Record<string, string> = {};

  async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    if (res.status !== 201) throw new Error(`${resource.resourceType}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }

  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
    const gpA = await create(organization('A81001'));
    const gpB = await create(organization('B82002'));
    const s1 = await create(organization('S10001'));
    const s2 = await create(organization('S20002'));
    const p1 = await create(organization('P30003'));
    const choir = await create({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'https://directory.example.org/id', value: 'choir' }],
      active: true,
      name: 'Choir',
      providedBy: { reference: `Organization/${p1.id}` },
    });
    const pa = await create(patient({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' }] }));
    const pb = await create(patient({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000017' }] }));
    const srA = await create(referral(`Patient/${pa.id}`, `Organization/${gpA.id}`, { performer: [{ reference: `Organization/${s1.id}` }] }));
    const srB = await create(referral(`Patient/${pb.id}`, `Organization/${gpB.id}`, { performer: [{ reference: `Organization/${s2.id}` }] }));
    const taskOf = async (sr: string) => (await server.api.get(`/fhir/Task?focus=ServiceRequest/${sr}`)).body.entry[0].resource.id as string;
    const [taskA, taskB] = [await taskOf(srA.id), await taskOf(srB.id)];
    const onward = await create(
      task(`ServiceRequest/${srA.id}`, `Patient/${pa.id}`, `Organization/${s1.id}`, { owner: { reference: `HealthcareService/${choir.id}` } })
    );
    Object.assign(id, { gpA: gpA.id, s1: s1.id, pa: pa.id, pb: pb.id, srA: srA.id, srB: srB.id, taskA, taskB, onward: onward.id, choir: choir.id });
    const ods: Partial<Record<Role, string>> = { referrer: 'A81001', 'link-worker': 'S10001', 'community-provider': 'P30003' };
    for (const role of ['referrer', 'link-worker', 'community-provider', 'integrator', 'commissioner', 'admin'] as Role[]) {
      tokens[role] = await tokenFor({ sub: `${role}-user`, sp_role: role, scope: defaultScopes(role), ...(ods[role] ? { ods_code: ods[role] } : {}) });
    }
  });
  afterAll(async () => {
    await server.stop();
  });

  const as = (role: Role) => ({
    get: (path: string) => server.anonymous.get(`/fhir/${path}`).set('Authorization', `Bearer ${tokens[role]}`),
    post: (path: string, body: unknown) =>
      server.anonymous
        .post(`/fhir/${path}`)
        .set('Authorization', `Bearer ${tokens[role]}`)
        .set('Content-Type', FHIR_JSON)
        .send(body as object),
    delete: (path: string) => server.anonymous.delete(`/fhir/${path}`).set('Authorization', `Bearer ${tokens[role]}`),
  });
  const ids = (bundle: Bundle, mode = 'match') =>
    (bundle.entry ?? [])
      .filter((e) => e.search?.mode === mode)
      .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
      .sort();

  // [role, method, path (ids filled in), expected status]
  const table: [Role, 'GET' | 'DELETE', string, number][] = [
    ['referrer', 'GET', 'ServiceRequest/{srA}', 200],
    ['referrer', 'GET', 'ServiceRequest/{srB}', 404],
    ['referrer', 'GET', 'Task/{taskA}', 200],
    ['referrer', 'GET', 'Task/{taskB}', 404],
    ['referrer', 'GET', 'Patient/{pa}', 200],
    ['referrer', 'GET', 'Patient/{pb}', 404],
    ['referrer', 'GET', 'CarePlan?subject=Patient/{pa}', 403],
    ['referrer', 'DELETE', 'ServiceRequest/{srA}', 403],
    ['referrer', 'GET', 'AuditEvent', 403],
    ['link-worker', 'GET', 'Task/{taskA}', 200],
    ['link-worker', 'GET', 'Task/{taskB}', 404],
    ['link-worker', 'GET', 'Task/{taskA}/_history', 200],
    ['link-worker', 'GET', 'Task/{taskB}/_history', 404],
    ['link-worker', 'GET', 'Task/{taskB}/_history/1', 404],
    ['link-worker', 'GET', 'Patient/{pa}', 200],
    ['link-worker', 'GET', 'Patient/{pb}', 404],
    ['link-worker', 'GET', 'ServiceRequest/{srA}', 200],
    ['link-worker', 'GET', 'ServiceRequest/{srB}', 404],
    ['link-worker', 'GET', 'HealthcareService/{choir}', 200],
    ['link-worker', 'DELETE', 'Patient/{pa}', 403],
    ['link-worker', 'GET', 'SearchParameter?code=business-status', 200],
    ['community-provider', 'GET', 'Task/{onward}', 200],
    ['community-provider', 'GET', 'Task/{taskA}', 404],
    ['community-provider', 'GET', 'ServiceRequest/{srA}', 200],
    ['community-provider', 'GET', 'ServiceRequest/{srB}', 404],
    ['community-provider', 'GET', 'Patient/{pa}', 403],
    ['integrator', 'GET', 'Patient/{pb}', 200],
    ['integrator', 'GET', 'Task/{taskA}', 200],
    ['integrator', 'GET', 'AuditEvent', 403],
    ['integrator', 'DELETE', 'SearchParameter/Task-business-status', 403],
    ['commissioner', 'GET', 'Task?status=requested', 200],
    ['commissioner', 'GET', 'Patient/{pa}', 403],
    ['commissioner', 'GET', 'Patient?identifier=9000000009', 403],
    ['commissioner', 'GET', 'ServiceRequest/{srA}', 403],
    ['commissioner', 'GET', 'CarePlan', 403],
    ['admin', 'GET', 'AuditEvent?_count=1', 200],
    ['admin', 'GET', 'Patient/{pa}', 403],
    ['admin', 'GET', 'Task', 403],
    ['admin', 'GET', 'CodeSystem?url=https://social-prescribing.example.org/fhir/CodeSystem/sp-business-status', 200],
  ];
  test.each(table)('%s %s %s → %i', async (role, method, template, status) => {
    const path = template.replace(/\{(\w+)\}/g, (_m, key: string) => id[key]);
    const res = method === 'GET' ? await as(role).get(path) : await as(role).delete(path);
    expect(res.status).toBe(status);
    if (status >= 400) {
      expect(res.body.resourceType).toBe('OperationOutcome');
      if (status === 403) expect(res.body.issue[0].code).toBe('forbidden');
    }
  });

  test('searches return the caller’s own data only', async () => {
    expect(ids((await as('link-worker').get('Task')).body)).toEqual([`Task/${id.taskA}`]);
    expect(ids((await as('community-provider').get('Task')).body)).toEqual([`Task/${id.onward}`]);
    expect(ids((await as('referrer').get('ServiceRequest')).body)).toEqual([`ServiceRequest/${id.srA}`]);
    expect(ids((await as('link-worker').get('Patient')).body)).toEqual([`Patient/${id.pa}`]);
    // A search naming another service's data finds nothing, rather than erring.
    expect(ids((await as('link-worker').get(`Task?focus=ServiceRequest/${id.srB}`)).body)).toEqual([]);
    // The restriction does not leak into page links.
    const linked = await as('link-worker').get('Task?_count=1');
    expect(linked.body.link[0].url).not.toMatch(/owner/);
  });

  test('_include and _revinclude leave out what the caller may not read', async () => {
    // The link worker sees the referral and its own Task, not the provider's onward Task.
    const rev = await as('link-worker').get(`ServiceRequest?_id=${id.srA}&_revinclude=Task:focus`);
    expect(ids(rev.body, 'include')).toEqual([`Task/${id.taskA}`]);
    // The integrator sees both.
    const all = await as('integrator').get(`ServiceRequest?_id=${id.srA}&_revinclude=Task:focus`);
    expect(ids(all.body, 'include')).toEqual([`Task/${id.onward}`, `Task/${id.taskA}`].sort());
    // A commissioner may read Tasks but not the patients they point to.
    const tasks = await as('commissioner').get(`Task?_id=${id.taskA}&_include=Task:patient`);
    expect(ids(tasks.body)).toEqual([`Task/${id.taskA}`]);
    expect(ids(tasks.body, 'include')).toEqual([]);
  });

  test('reads inside a batch Bundle are checked entry by entry', async () => {
    const res = await as('link-worker').post('', {
      resourceType: 'Bundle',
      type: 'batch',
      entry: [
        { request: { method: 'GET', url: `Task/${id.taskA}` } },
        { request: { method: 'GET', url: `Task/${id.taskB}` } },
        { request: { method: 'GET', url: 'AuditEvent' } },
        { request: { method: 'DELETE', url: `Patient/${id.pa}` } },
      ],
    });
    expect(res.status).toBe(200);
    expect(res.body.entry.map((e: { response: { status: string } }) => e.response.status.slice(0, 3))).toEqual(['200', '404', '403', '403']);
  });

  test('a transaction with one entry the caller may not write writes nothing', async () => {
    const before = (await server.api.get('/fhir/Patient?_summary=count')).body.total;
    const res = await as('referrer').post('', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          resource: patient({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000025' }] }),
          request: { method: 'POST', url: 'Patient' },
        },
        {
          resource: { resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: `Patient/${id.pa}` } },
          request: { method: 'POST', url: 'CarePlan' },
        },
      ],
    });
    expect(res.status).toBe(403);
    expect((await server.api.get('/fhir/Patient?_summary=count')).body.total).toBe(before);
  });

  test('history leaves out what the caller may not read', async () => {
    const history = await as('link-worker').get('Task/_history');
    const seen = new Set((history.body.entry ?? []).map((e: { resource: Resource }) => `Task/${e.resource.id}`));
    expect(seen).toEqual(new Set([`Task/${id.taskA}`]));
    const system = await as('integrator').get('_history?_count=1000');
    expect(system.status).toBe(200);
    expect(system.body.entry.some((e: { resource?: Resource }) => e.resource?.resourceType === 'AuditEvent')).toBe(false);
  });

  test('bulk export and activity reports by role', async () => {
    const kickOff = (role: Role, query: string) =>
      server.anonymous
        .get(`/fhir/$export?${query}`)
        .set('Authorization', `Bearer ${tokens[role]}`)
        .set('Prefer', 'respond-async')
        .set('Accept', 'application/fhir+json');
    // Organisations export their own data: the grants their searches are kept to (access-grants.test.ts).
    expect((await kickOff('referrer', '_type=Task')).status).toBe(202);
    expect((await kickOff('link-worker', '_type=Task')).status).toBe(202);
    expect((await kickOff('link-worker', '_type=Organization')).status).toBe(202);
    expect((await kickOff('link-worker', '_type=Encounter')).status).toBe(403);
    expect((await kickOff('admin', '_type=Patient')).status).toBe(403);
    expect((await kickOff('integrator', '_type=Task,Patient')).status).toBe(202);
    // A commissioner's export is always minimised and pseudonymous.
    const started = await kickOff('commissioner', '_type=Patient,Task');
    expect(started.status).toBe(202);
    const statusPath = new URL(started.headers['content-location']).pathname;
    // The commissioner's own token (its subject is who started the export), through the tests' bulk client.
    const commissioner = bulkClient(server.url, { sp_role: 'commissioner', scope: defaultScopes('commissioner') });
    const manifest = await commissioner.manifest(statusPath, 'commissioner-user');
    // The files below are what is checked: an export that wrote none would check nothing.
    expect(manifest.output.length).toBeGreaterThan(0);
    // Only the commissioner who asked may fetch it.
    expect((await server.anonymous.get(statusPath).set('Authorization', `Bearer ${tokens.integrator}`)).status).toBe(403);
    for (const { lines } of (await commissioner.download(manifest, 'commissioner-user')).values()) {
      const body = lines.join('\n');
      expect(body).not.toMatch(/9000000009|9000000017|Smith/);
      expect(body).not.toContain(id.pa);
    }
    const report = (role: Role) =>
      server.anonymous.get('/fhir/$activity-report?periodStart=2026-01-01&periodEnd=2026-12-31').set('Authorization', `Bearer ${tokens[role]}`);
    expect((await report('commissioner')).status).toBe(200);
    expect((await report('link-worker')).status).toBe(403);
    // Importing the directory is for admins.
    expect((await as('link-worker').post('$import-directory', { items: [] })).status).toBe(403);
    expect((await as('commissioner').post('$import-directory', { items: [] })).status).toBe(403);
    expect((await as('admin').post('$import-directory', { items: [] })).status).not.toBe(403);
  });

  test('a token without the scope is refused with 403 and says which scope is needed', async () => {
    const narrow = await tokenFor({ scope: 'system/Patient.rs' });
    const res = await server.anonymous.get('/fhir/Task').set('Authorization', `Bearer ${narrow}`);
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/Task\.s/);
    expect((await server.anonymous.get(`/fhir/Patient/${id.pa}`).set('Authorization', `Bearer ${narrow}`)).status).toBe(200);
    // v1 scopes are understood too.
    const v1 = await tokenFor({ scope: 'user/Task.read' });
    expect((await server.anonymous.get('/fhir/Task').set('Authorization', `Bearer ${v1}`)).status).toBe(200);
    expect((await server.anonymous.delete(`/fhir/Task/${id.taskA}`).set('Authorization', `Bearer ${v1}`)).status).toBe(403);
  });

  test('patient/ scopes see the patient in context only', async () => {
    const token = await tokenFor({ scope: 'patient/*.rs', patient: id.pa });
    const get = (path: string) => server.anonymous.get(`/fhir/${path}`).set('Authorization', `Bearer ${token}`);
    expect((await get(`Patient/${id.pa}`)).status).toBe(200);
    expect((await get(`Patient/${id.pb}`)).status).toBe(404);
    expect(ids((await get('ServiceRequest')).body)).toEqual([`ServiceRequest/${id.srA}`]);
    const noContext = await tokenFor({ scope: 'patient/*.rs' });
    expect((await server.anonymous.get(`/fhir/Patient/${id.pa}`).set('Authorization', `Bearer ${noContext}`)).status).toBe(403);
  });

  test('a role token without its organisation is refused', async () => {
    const token = await tokenFor({ sp_role: 'link-worker', scope: defaultScopes('link-worker') });
    const res = await server.anonymous.get('/fhir/Task').set('Authorization', `Bearer ${token}`);
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/ods_code/);
  });

  test('AuditEvents cannot be created, changed or deleted, even by admins', async () => {
    const admin = await tokenFor({ sp_role: 'admin', scope: defaultScopes('admin') });
    const list = await server.anonymous.get('/fhir/AuditEvent?_count=1').set('Authorization', `Bearer ${admin}`);
    const auditId = list.body.entry[0].resource.id;
    for (const res of [
      await server.api.delete(`/fhir/AuditEvent/${auditId}`),
      await server.api.put(`/fhir/AuditEvent/${auditId}`).set('Content-Type', FHIR_JSON).send(list.body.entry[0].resource),
      await server.api.post('/fhir/AuditEvent').set('Content-Type', FHIR_JSON).send(list.body.entry[0].resource),
    ]) {
      expect(res.status).toBe(405);
    }
    expect((await server.anonymous.get(`/fhir/AuditEvent/${auditId}`).set('Authorization', `Bearer ${admin}`)).status).toBe(200);
  });
});
