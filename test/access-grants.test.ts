// Access grants follow the data as it is written: a Task written for a patient
// stored earlier gives the Task's owner (here through a PractitionerRole of
// the service) the patient and the patient's records, without new versions of
// them; reassigning or deleting Tasks takes it away again. Another
// organisation's data stays out of every path: read, search, _include and
// _revinclude, history, Patient/$everything and bulk export. On every store.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { ACCESS_GRANTS_RECORD_ID, ensureAccessGrants } from '../src/auth/access-backfill';
import { defaultScopes, type Role } from '../src/auth/roles';
import { bulkClient } from './support/bulk';
import { NHS_NUMBER_SYSTEM, organization, patient, referral, task } from './support/resources';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets)('access grants follow the data [$name]', (target) => {
  let server: TestServer;
  const id: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  async function create<T extends Resource>(resource: T, token?: string): Promise<T & { id: string }> {
    const req = token
      ? server.anonymous.post(`/fhir/${resource.resourceType}`).set('Authorization', `Bearer ${token}`)
      : server.api.post(`/fhir/${resource.resourceType}`);
    const res = await req.set('Content-Type', FHIR_JSON).send(resource);
    if (res.status !== 201) throw new Error(`${resource.resourceType}: ${res.status} ${JSON.stringify(res.body)}`);
    return res.body;
  }
  const as = (who: string) => (path: string) => server.anonymous.get(`/fhir/${path}`).set('Authorization', `Bearer ${tokens[who]}`);
  const s1 = as('s1');
  const s2 = as('s2');
  const fill = (text: string): string => text.replace(/\{(\w+)\}/g, (_m, key: string) => id[key]);
  const refs = (bundle: Bundle, mode = 'match') =>
    (bundle.entry ?? [])
      .filter((e) => e.search?.mode === mode)
      .map((e) => `${e.resource?.resourceType}/${e.resource?.id}`)
      .sort();
  const carePlan = (subject: string, author: string): Resource =>
    ({ resourceType: 'CarePlan', status: 'active', intent: 'plan', subject: { reference: subject }, author: { reference: author } }) as Resource;
  const observation = (subject: string, extra: Record<string, unknown> = {}): Resource =>
    ({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'wellbeing score' },
      subject: { reference: subject },
      valueInteger: 6,
      ...extra,
    }) as Resource;
  /** A referral without the SP referral code: it brings no Task of its own, so every store can write it alone. */
  const plainReferral = (subject: string, requester: string) => ({ ...referral(subject, requester), code: { text: 'Community support' } });

  beforeAll(async () => {
    server = await startServer(target);
    const gp = await create(organization('A81001'));
    const org1 = await create(organization('S10001'));
    const org2 = await create(organization('S20002'));
    const role1 = await create({ resourceType: 'PractitionerRole', active: true, organization: { reference: `Organization/${org1.id}` } } as Resource);
    const service2 = await create({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'https://directory.example.org/id', value: 'befriending' }],
      active: true,
      name: 'Befriending',
      providedBy: { reference: `Organization/${org2.id}` },
    } as Resource);
    const p = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000009' }] }));
    const q = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000017' }], name: [{ family: 'Quebec' }] }));
    const srP = await create(plainReferral(`Patient/${p.id}`, `Organization/${gp.id}`));
    const srQ = await create(plainReferral(`Patient/${q.id}`, `Organization/${gp.id}`));
    const cpP = await create(carePlan(`Patient/${p.id}`, `PractitionerRole/${role1.id}`));
    const obsP = await create(observation(`Patient/${p.id}`));
    const cpQ = await create(carePlan(`Patient/${q.id}`, `PractitionerRole/${role1.id}`));
    const obsQ = await create(observation(`Patient/${q.id}`));
    const tQ = await create(
      task(`ServiceRequest/${srQ.id}`, `Patient/${q.id}`, `Organization/${gp.id}`, { owner: { reference: `HealthcareService/${service2.id}` } })
    );
    Object.assign(id, {
      gp: gp.id,
      org2: org2.id,
      role1: role1.id,
      service2: service2.id,
      p: p.id,
      q: q.id,
      srP: srP.id,
      srQ: srQ.id,
      cpP: cpP.id,
      obsP: obsP.id,
    });
    Object.assign(id, { cpQ: cpQ.id, obsQ: obsQ.id, tQ: tQ.id });
    const claims = (role: Role, ods: string) => ({ sub: `${role}-${ods}`, sp_role: role, scope: defaultScopes(role), ods_code: ods });
    tokens.s1 = await tokenFor(claims('link-worker', 'S10001'));
    tokens.s2 = await tokenFor(claims('link-worker', 'S20002'));
    tokens.gp = await tokenFor(claims('referrer', 'A81001'));
    tokens.provider2 = await tokenFor(claims('community-provider', 'S20002'));
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  test('before any Task of theirs, a service sees none of the patient; the referrer sees the patients it referred', async () => {
    for (const path of ['Patient/{p}', 'CarePlan/{cpP}', 'Observation/{obsP}', 'ServiceRequest/{srP}']) expect((await s1(fill(path))).status).toBe(404);
    expect(refs((await s1('Patient')).body)).toEqual([]);
    expect((await as('gp')(fill('Patient/{p}'))).status).toBe(200);
    expect(refs((await as('gp')('Patient')).body)).toEqual([`Patient/${id.p}`, `Patient/${id.q}`].sort());
  });

  test('a Task written for an existing patient gives its owner the patient and their records, without new versions', async () => {
    const t1 = await create(
      task(`ServiceRequest/${id.srP}`, `Patient/${id.p}`, `Organization/${id.gp}`, { owner: { reference: `PractitionerRole/${id.role1}` } })
    );
    id.t1 = t1.id;
    for (const path of ['Patient/{p}', 'CarePlan/{cpP}', 'Observation/{obsP}', 'ServiceRequest/{srP}', 'Task/{t1}']) {
      const res = await s1(fill(path));
      expect([path, res.status]).toEqual([path, 200]);
      expect(res.body.meta.versionId).toBe('1');
    }
    expect(refs((await s1('Patient')).body)).toEqual([`Patient/${id.p}`]);
    expect(refs((await s1('CarePlan')).body)).toEqual([`CarePlan/${id.cpP}`]);
    expect(refs((await s1(fill('Observation?patient=Patient/{p}'))).body)).toEqual([`Observation/${id.obsP}`]);
    // A record written now takes the patient's grants.
    const goal = await create(
      {
        resourceType: 'Goal',
        lifecycleStatus: 'active',
        description: { text: 'Join the walking group' },
        subject: { reference: `Patient/${id.p}` },
      } as Resource,
      tokens.s1
    );
    id.goal = goal.id;
    expect((await s1(`Goal/${goal.id}`)).status).toBe(200);
    expect((await s2(`Goal/${goal.id}`)).status).toBe(404);
  });

  test('another organisation’s patients, records and Tasks are hidden from reads and searches', async () => {
    for (const path of ['Patient/{q}', 'CarePlan/{cpQ}', 'Observation/{obsQ}', 'Task/{tQ}', 'ServiceRequest/{srQ}'])
      expect((await s1(fill(path))).status).toBe(404);
    expect(refs((await s1('Task')).body)).toEqual([`Task/${id.t1}`]);
    expect(refs((await s1('Patient?identifier=9000000017')).body)).toEqual([]);
    // Service 2 sees its own patient, and none of service 1's.
    expect(refs((await s2('Patient')).body)).toEqual([`Patient/${id.q}`]);
    expect(refs((await s2('CarePlan')).body)).toEqual([`CarePlan/${id.cpQ}`]);
    // The community provider of service 2 sees its Task and the referral it fulfils, not the other referral.
    expect(refs((await as('provider2')('ServiceRequest')).body)).toEqual([`ServiceRequest/${id.srQ}`]);
  });

  test('_include and _revinclude leave out what belongs to another organisation', async () => {
    // Service 2 works with patient P too, through a Task of its own.
    const tP2 = await create(
      task(`ServiceRequest/${id.srP}`, `Patient/${id.p}`, `Organization/${id.gp}`, { owner: { reference: `HealthcareService/${id.service2}` } })
    );
    id.tP2 = tP2.id;
    expect((await s2(fill('Patient/{p}'))).status).toBe(200);
    const revinclude = await s1(fill('Patient?_id={p}&_revinclude=Task:patient'));
    expect(refs(revinclude.body)).toEqual([`Patient/${id.p}`]);
    expect(refs(revinclude.body, 'include')).toEqual([`Task/${id.t1}`]);
    const linked = await create(observation(`Patient/${id.p}`, { hasMember: [{ reference: `Observation/${id.obsQ}` }] }));
    const include = await s1(`Observation?_id=${linked.id}&_include=Observation:has-member&_include=Observation:subject`);
    expect(refs(include.body)).toEqual([`Observation/${linked.id}`]);
    expect(refs(include.body, 'include')).toEqual([`Patient/${id.p}`]);
  });

  test('history and Patient/$everything leave out what belongs to another organisation', async () => {
    const history = (await s1('Patient/_history')).body as Bundle;
    const seen = new Set((history.entry ?? []).map((e) => e.fullUrl?.split('/').slice(-2).join('/')));
    expect(seen.has(`Patient/${id.p}`)).toBe(true);
    expect(seen.has(`Patient/${id.q}`)).toBe(false);
    const plans = (await s1('CarePlan/_history')).body as Bundle;
    expect((plans.entry ?? []).map((e) => e.resource?.id)).toEqual([id.cpP]);
    expect((await s1(fill('Patient/{q}/_history'))).status).toBe(404);
    const everything = await s1(fill('Patient/{p}/$everything'));
    expect(everything.status).toBe(200);
    const all = refs(everything.body);
    for (const ref of [`Patient/${id.p}`, `CarePlan/${id.cpP}`, `Observation/${id.obsP}`, `Task/${id.t1}`, `Goal/${id.goal}`]) expect(all).toContain(ref);
    expect(all).not.toContain(`Task/${id.tP2}`);
    expect((await s1(fill('Patient/{q}/$everything'))).status).toBe(404);
  });

  test('a bulk export by a link worker holds their organisation’s data and nothing else', async () => {
    const client = bulkClient(server.url, { sp_role: 'link-worker', scope: defaultScopes('link-worker'), ods_code: 'S10001' });
    const manifest = await client.manifest(await client.kickOff('/fhir/$export?_type=Patient,CarePlan,Task,ServiceRequest'));
    const files = await client.download(manifest);
    const exported = (type: string) => (files.get(type)?.resources ?? []).map((r) => `${type}/${r.id}`).sort();
    expect(exported('Patient')).toEqual([`Patient/${id.p}`]);
    expect(exported('CarePlan')).toEqual([`CarePlan/${id.cpP}`]);
    expect(exported('Task')).toEqual([`Task/${id.t1}`]);
    expect(exported('ServiceRequest')).toEqual([`ServiceRequest/${id.srP}`]);
  });

  test('reassigning and deleting Tasks takes the grants away again', async () => {
    const read = await server.api.get(`/fhir/Task/${id.t1}`);
    const current = read.body;
    const moved = await server.api
      .put(`/fhir/Task/${id.t1}`)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', read.headers.etag)
      .send({ ...current, owner: { reference: `HealthcareService/${id.service2}` } });
    expect(moved.status).toBe(200);
    for (const path of ['Patient/{p}', 'CarePlan/{cpP}', 'Goal/{goal}', 'Task/{t1}']) expect((await s1(fill(path))).status).toBe(404);
    expect((await s2(fill('Task/{t1}'))).status).toBe(200);
    expect((await s2(fill('CarePlan/{cpP}'))).status).toBe(200);
    for (const t of [id.t1, id.tP2]) expect((await server.api.delete(`/fhir/Task/${t}`)).status).toBe(200);
    expect((await s2(fill('Patient/{p}'))).status).toBe(404);
    expect((await s2(fill('CarePlan/{cpP}'))).status).toBe(404);
    expect(refs((await s2('Patient')).body)).toEqual([`Patient/${id.q}`]);
  });

  /** A PUT of the resource as read, changed by fn: If-Match its version. */
  async function change(path: string, fn: (resource: Record<string, unknown>) => Record<string, unknown>): Promise<void> {
    const read = await server.api.get(`/fhir/${path}`);
    const res = await server.api.put(`/fhir/${path}`).set('Content-Type', FHIR_JSON).set('If-Match', read.headers.etag).send(fn(read.body));
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${JSON.stringify(res.body)}`);
  }

  test('an organisation’s ODS code, and the organisation a service belongs to, reach the Tasks that name them', async () => {
    const org3 = await create({ resourceType: 'Organization', active: true, name: 'Befrienders, east' } as Resource);
    const service3 = await create({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'https://directory.example.org/id', value: 'east' }],
      active: true,
      name: 'East',
      providedBy: { reference: `Organization/${org3.id}` },
    } as Resource);
    const r = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000025' }] }));
    const srR = await create(plainReferral(`Patient/${r.id}`, `Organization/${id.gp}`));
    const tR = await create(
      task(`ServiceRequest/${srR.id}`, `Patient/${r.id}`, `Organization/${id.gp}`, { owner: { reference: `HealthcareService/${service3.id}` } })
    );
    tokens.s3 = await tokenFor({ sub: 'link-worker-S30003', sp_role: 'link-worker', scope: defaultScopes('link-worker'), ods_code: 'S30003' });
    const s3 = as('s3');
    expect((await s3(`Patient/${r.id}`)).status).toBe(404);
    // The organisation gets its ODS code: its service's Task, and the Task's patient, become its link workers'.
    await change(`Organization/${org3.id}`, (o) => ({ ...o, identifier: [{ system: 'https://fhir.nhs.uk/Id/ods-organization-code', value: 'S30003' }] }));
    expect((await s3(`Task/${tR.id}`)).status).toBe(200);
    expect((await s3(`Patient/${r.id}`)).status).toBe(200);
    // The service moves to organisation 2: the grants move with it.
    await change(`HealthcareService/${service3.id}`, (hs) => ({ ...hs, providedBy: { reference: `Organization/${id.org2}` } }));
    expect((await s3(`Patient/${r.id}`)).status).toBe(404);
    expect((await s2(`Patient/${r.id}`)).status).toBe(200);
    expect((await s2(`Task/${tR.id}`)).status).toBe(200);
  });

  test('grants missing from stored data (an upgrade) are rebuilt at start, once', async () => {
    expect((await server.api.get(`/fhir/Basic/${ACCESS_GRANTS_RECORD_ID}`)).status).toBe(200);
    const mine = [`Patient/${id.q}`, `CarePlan/${id.cpQ}`, `Observation/${id.obsQ}`, `Task/${id.tQ}`, `ServiceRequest/${id.srQ}`];
    // Stored as an earlier release left them: without grants.
    const stripped = [];
    for (const ref of mine) {
      const [resourceType, rid] = ref.split('/');
      const current = await server.store.readCurrent(resourceType, rid);
      stripped.push({ resourceType, id: rid, add: [], remove: (current?.idx._access as string[] | undefined) ?? [] });
    }
    await server.store.commit([], { access: stripped });
    for (const ref of mine) expect((await s2(ref)).status).toBe(404);
    // A start with the record in place changes nothing; without it, every grant is rebuilt.
    await ensureAccessGrants(server.app.fhir.repo, server.app.logger);
    expect((await s2(`Patient/${id.q}`)).status).toBe(404);
    expect((await server.api.delete(`/fhir/Basic/${ACCESS_GRANTS_RECORD_ID}`)).status).toBe(200);
    await ensureAccessGrants(server.app.fhir.repo, server.app.logger);
    for (const ref of mine) expect((await s2(ref)).status).toBe(200);
    expect(refs((await s2('CarePlan')).body)).toEqual([`CarePlan/${id.cpQ}`]);
    expect((await server.api.get(`/fhir/Basic/${ACCESS_GRANTS_RECORD_ID}`)).status).toBe(200);
  });
});
