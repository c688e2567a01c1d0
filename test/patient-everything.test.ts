// Patient/[id]/$everything through HTTP, on every store: the patient's
// compartment and nothing else, paged, narrowed by _type and _since, and under
// the caller's access as any search is (scopes, role, organisation).
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { defaultScopes } from '../src/auth/roles';
import { organization, patient, task } from './support/resources';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets.map((t) => [t.name, t] as const))('Patient/$everything [%s]', (_name, target) => {
  let server: TestServer;
  const id: Record<string, string> = {};
  /** Every resource of patient A's compartment, as Type/id. */
  let compartmentA: string[] = [];

  async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    if (res.status !== 201) throw new Error(`${resource.resourceType}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  const observation = (subject: string, value: number): Resource =>
    ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'wellbeing score' },
      subject: { reference: subject },
      effectiveDateTime: '2026-11-03T10:00:00Z',
      valueInteger: value,
    }) as Resource;
  const refs = (bundle: Bundle, mode = 'match') =>
    (bundle.entry ?? []).filter((e) => e.search?.mode === mode).map((e) => `${e.resource?.resourceType}/${e.resource?.id}`);
  const get = (path: string, token?: string) => {
    const req = server.anonymous.get(`/fhir/${path}`);
    return token ? req.set('Authorization', `Bearer ${token}`) : server.api.get(`/fhir/${path}`);
  };

  beforeAll(async () => {
    server = await startServer(target);
    const s1 = await create(organization('S10001'));
    const s2 = await create(organization('S20002'));
    const pa = await create(patient({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000009' }] }));
    const pb = await create(patient({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000017' }] }));
    const linked = await create(
      patient({
        identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9000000025' }],
        link: [{ other: { reference: `Patient/${pa.id}` }, type: 'seealso' }],
      })
    );
    const obs = [
      await create(observation(`Patient/${pa.id}`, 5)),
      await create(observation(`Patient/${pa.id}`, 7)),
      await create(observation(`Patient/${pa.id}`, 8)),
    ];
    await create(observation(`Patient/${pb.id}`, 3));
    const goal = await create({
      resourceType: 'Goal',
      lifecycleStatus: 'active',
      description: { text: 'Walk twice a week' },
      subject: { reference: `Patient/${pa.id}` },
    } as Resource);
    // A request for a service (not a social prescribing referral, so no Task is made for it): what the Tasks fulfil.
    const request = (subject: string) =>
      create({
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        code: { text: 'walking group' },
        subject: { reference: subject },
      } as Resource);
    const [srA, srB] = [await request(`Patient/${pa.id}`), await request(`Patient/${pb.id}`)];
    const taskS1 = await create(
      task(`ServiceRequest/${srA.id}`, `Patient/${pa.id}`, `Organization/${s1.id}`, { owner: { reference: `Organization/${s1.id}` } })
    );
    const taskS2 = await create(
      task(`ServiceRequest/${srA.id}`, `Patient/${pa.id}`, `Organization/${s2.id}`, { owner: { reference: `Organization/${s2.id}` } })
    );
    await create(task(`ServiceRequest/${srB.id}`, `Patient/${pb.id}`, `Organization/${s2.id}`, { owner: { reference: `Organization/${s2.id}` } }));
    Object.assign(id, { s1: s1.id, pa: pa.id, pb: pb.id, linked: linked.id, goal: goal.id, taskS1: taskS1.id, taskS2: taskS2.id, obs0: obs[0].id });
    compartmentA = [
      `Patient/${pa.id}`,
      `Patient/${linked.id}`,
      `Goal/${goal.id}`,
      ...obs.map((o) => `Observation/${o.id}`),
      `ServiceRequest/${srA.id}`,
      `Task/${taskS1.id}`,
      `Task/${taskS2.id}`,
    ];
  });
  afterAll(async () => {
    await server.stop();
  });

  test('returns the patient first, then every resource of their compartment and nothing of another patient', async () => {
    const res = await get(`Patient/${id.pa}/$everything`);
    expect(res.status).toBe(200);
    expect(res.body.resourceType).toBe('Bundle');
    expect(res.body.type).toBe('searchset');
    const found = refs(res.body);
    expect(found[0]).toBe(`Patient/${id.pa}`);
    expect([...found].sort()).toEqual([...compartmentA].sort());
    expect(res.body.total).toBe(compartmentA.length);
    expect(res.body.link.find((l: { relation: string }) => l.relation === 'next')).toBeUndefined();
  });

  test('pages with _count through next links, each resource exactly once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `Patient/${id.pa}/$everything?_count=2`;
    let pages = 0;
    while (url) {
      const res = await get(url);
      expect(res.status).toBe(200);
      expect(refs(res.body).length).toBeLessThanOrEqual(2);
      expect(res.body.total).toBe(compartmentA.length);
      seen.push(...refs(res.body));
      const next = (res.body.link as { relation: string; url: string }[]).find((l) => l.relation === 'next')?.url;
      url = next ? next.slice(next.indexOf('/fhir/') + '/fhir/'.length) : undefined;
      pages++;
      expect(pages).toBeLessThan(10);
    }
    expect(pages).toBe(Math.ceil(compartmentA.length / 2));
    expect(seen.sort()).toEqual([...compartmentA].sort());
  });

  test('_type keeps to the listed types', async () => {
    const res = await get(`Patient/${id.pa}/$everything?_type=Observation,Goal`);
    expect(res.status).toBe(200);
    expect(refs(res.body).sort()).toEqual(compartmentA.filter((r) => r.startsWith('Observation/') || r.startsWith('Goal/')).sort());
  });

  test('_since keeps to resources changed at or after it', async () => {
    await new Promise((r) => setTimeout(r, 20));
    const since = new Date().toISOString();
    const current = await server.api.get(`/fhir/Observation/${id.obs0}`);
    const updated = await server.api
      .put(`/fhir/Observation/${id.obs0}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...current.body, valueInteger: 6 });
    expect(updated.status).toBe(200);
    const res = await get(`Patient/${id.pa}/$everything?_since=${encodeURIComponent(since)}`);
    expect(res.status).toBe(200);
    expect(refs(res.body)).toEqual([`Observation/${id.obs0}`]);
  });

  test('the audit trail of the record comes only when _type asks for it', async () => {
    const res = await get(`Patient/${id.pa}/$everything?_type=AuditEvent`);
    expect(res.status).toBe(200);
    // The calls above read the patient's record: each left an AuditEvent naming the patient.
    expect(refs(res.body).length).toBeGreaterThan(0);
    expect(refs(res.body).every((r) => r.startsWith('AuditEvent/'))).toBe(true);
  });

  test('POST with a Parameters resource gives the same answer as GET', async () => {
    const res = await server.api
      .post(`/fhir/Patient/${id.pa}/$everything`)
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Parameters', parameter: [{ name: '_type', valueString: 'Goal' }] });
    expect(res.status).toBe(200);
    expect(refs(res.body)).toEqual([`Goal/${id.goal}`]);
  });

  test('a link worker sees only what their organisation may: their own Task, not another service’s', async () => {
    const token = await tokenFor({ sub: 'lw', sp_role: 'link-worker', scope: defaultScopes('link-worker'), ods_code: 'S10001' });
    const res = await get(`Patient/${id.pa}/$everything`, token);
    expect(res.status).toBe(200);
    const found = refs(res.body);
    expect(found).toContain(`Task/${id.taskS1}`);
    expect(found).not.toContain(`Task/${id.taskS2}`);
    expect(found).toContain(`Goal/${id.goal}`);
    expect(res.body.total).toBe(found.length);
    // Another patient of another service is not theirs to see at all.
    const other = await get(`Patient/${id.pb}/$everything`, token);
    expect(other.status).toBe(404);
    expect(other.body.resourceType).toBe('OperationOutcome');
  });

  test('types the token may not search are left out and named in an outcome entry', async () => {
    const token = await tokenFor({ scope: 'system/Patient.rs system/Observation.rs' });
    const res = await get(`Patient/${id.pa}/$everything`, token);
    expect(res.status).toBe(200);
    expect(refs(res.body).every((r) => r.startsWith('Patient/') || r.startsWith('Observation/'))).toBe(true);
    expect(refs(res.body)).toHaveLength(5);
    const note = res.body.entry.find((e: { search: { mode: string } }) => e.search.mode === 'outcome');
    expect(note.resource.issue[0].diagnostics).toMatch(/Goal/);
    expect(note.resource.issue[0].diagnostics).toMatch(/Task/);
  });

  test('a patient-context token reaches its own patient only', async () => {
    const token = await tokenFor({ scope: 'patient/*.rs', patient: id.pa });
    const own = await get(`Patient/${id.pa}/$everything?_type=Observation`, token);
    expect(own.status).toBe(200);
    expect(refs(own.body)).toHaveLength(3);
    expect((await get(`Patient/${id.pb}/$everything`, token)).status).toBe(404);
  });

  test('a commissioner, who may not read patients, is refused', async () => {
    const token = await tokenFor({ sub: 'cm', sp_role: 'commissioner', scope: defaultScopes('commissioner') });
    const res = await get(`Patient/${id.pa}/$everything`, token);
    expect(res.status).toBe(403);
    expect(res.body.issue[0].code).toBe('forbidden');
  });

  test('without a token it is 401', async () => {
    expect((await server.anonymous.get(`/fhir/Patient/${id.pa}/$everything`)).status).toBe(401);
  });

  test.each([
    ['_since=yesterday', /_since/],
    ['_type=Organization', /not a resource type of the Patient compartment/],
    ['_count=0', /_count/],
    ['start=2026-01-01', /start and end/],
    ['_cursor=bm9wZQ', /_cursor/],
    ['colour=blue', /Unknown parameter colour/],
  ])('refuses %s with a 400 OperationOutcome', async (query, message) => {
    const res = await get(`Patient/${id.pa}/$everything?${query}`);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
    expect(res.body.issue[0].diagnostics).toMatch(message);
  });

  test('an unknown patient is 404', async () => {
    const res = await get('Patient/no-such-patient/$everything');
    expect(res.status).toBe(404);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('the CapabilityStatement announces it on Patient', async () => {
    const res = await server.anonymous.get('/fhir/metadata');
    const patientResource = res.body.rest[0].resource.find((r: { type: string }) => r.type === 'Patient');
    expect(patientResource.operation).toContainEqual({ name: 'everything', definition: 'http://hl7.org/fhir/OperationDefinition/Patient-everything' });
  });
});
