// The project's own search parameters (profiles/fsh/search-parameters.fsh).
// Two read their values from another resource: a referral by its patient's NHS
// number, a Task by its referral's source. Such a value is read when the
// resource is written, and follows the other resource when it changes.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { NHS_NUMBER_SYSTEM, organization, patient, referral, SOURCE_OF_REFERRAL_URL, task } from './support/resources';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const SNOMED = 'http://snomed.info/sct';
const BASE = 'https://social-prescribing.example.org/fhir';
const GP = '108161000000109';
const SELF = '310434002';
const source = (code: string) => [{ url: SOURCE_OF_REFERRAL_URL, valueCodeableConcept: { coding: [{ system: SNOMED, code }] } }];

describe.each(storeTargets)('search parameters read from another resource [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  async function create<T extends Resource>(resource: T): Promise<T & { id: string }> {
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    expect(res.status).toBe(201);
    return res.body;
  }
  async function ids(query: string): Promise<string[]> {
    const res = await server.api.get(`/fhir/${query}`);
    expect(res.status).toBe(200);
    return ((res.body as Bundle).entry ?? []).map((e) => e.resource?.id as string).sort();
  }

  // A ServiceRequest that is not a social prescribing referral has no Task of its
  // own, so this runs on a MongoDB without transactions (FerretDB) too.
  const request = (subject: string, requester: string, code: string) =>
    referral(subject, requester, { code: { coding: [{ system: SNOMED, code: '183644000' }] }, extension: source(code) });

  test('ServiceRequest?patient-nhs-number follows the patient', async () => {
    const gp = await create(organization('Y01001'));
    const alex = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000009' }] }));
    const sam = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000017' }] }));
    const forAlex = await create(request(`Patient/${alex.id}`, `Organization/${gp.id}`, GP));
    const forSam = await create(request(`Patient/${sam.id}`, `Organization/${gp.id}`, GP));

    expect(await ids(`ServiceRequest?patient-nhs-number=${NHS_NUMBER_SYSTEM}|9000000009`)).toEqual([forAlex.id]);
    expect(await ids('ServiceRequest?patient-nhs-number=9000000017')).toEqual([forSam.id]);
    expect(await ids('ServiceRequest?patient-nhs-number=9000000025')).toEqual([]);

    // The patient's NHS number is corrected: the referral is found by the new one only.
    const corrected = await server.api
      .put(`/fhir/Patient/${alex.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...alex, identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000025' }] });
    expect(corrected.status).toBe(200);
    expect(await ids('ServiceRequest?patient-nhs-number=9000000025')).toEqual([forAlex.id]);
    expect(await ids('ServiceRequest?patient-nhs-number=9000000009')).toEqual([]);
    // Combined with the referral's own parameters.
    expect(await ids(`ServiceRequest?patient-nhs-number=9000000025&status=active&requester=Organization/${gp.id}`)).toEqual([forAlex.id]);
  });

  test('Task?referral-source follows the referral', async () => {
    const gp = await create(organization('Y01002'));
    const person = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000033' }] }));
    const fromGp = await create(request(`Patient/${person.id}`, `Organization/${gp.id}`, GP));
    const fromSelf = await create(request(`Patient/${person.id}`, `Patient/${person.id}`, SELF));
    const gpTask = await create(task(`ServiceRequest/${fromGp.id}`, `Patient/${person.id}`, `Organization/${gp.id}`));
    const selfTask = await create(task(`ServiceRequest/${fromSelf.id}`, `Patient/${person.id}`, `Patient/${person.id}`));

    expect(await ids(`Task?referral-source=${SNOMED}|${GP}&subject=Patient/${person.id}`)).toEqual([gpTask.id]);
    expect(await ids(`Task?referral-source=${SELF}&subject=Patient/${person.id}`)).toEqual([selfTask.id]);
    expect(await ids(`Task?referral-source:not=${SELF}&subject=Patient/${person.id}`)).toEqual([gpTask.id]);

    // The referral's source is corrected to a self-referral: its Task moves with it.
    const updated = await server.api
      .put(`/fhir/ServiceRequest/${fromGp.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...fromGp, requester: { reference: `Patient/${person.id}` }, extension: source(SELF) });
    expect(updated.status).toBe(200);
    expect(await ids(`Task?referral-source=${SELF}&subject=Patient/${person.id}`)).toEqual([gpTask.id, selfTask.id].sort());
    expect(await ids(`Task?referral-source=${GP}&subject=Patient/${person.id}`)).toEqual([]);
  });

  test('HealthcareService by activity type, need served and capacity status', async () => {
    const provider = await create(organization('Y01004'));
    const service = (name: string, activity: string, need: string, capacity: string) =>
      create({
        resourceType: 'HealthcareService',
        identifier: [{ system: 'https://directory.example.org/service-id', value: `${name}-${target.name}` }],
        active: true,
        name,
        providedBy: { reference: `Organization/${provider.id}` },
        type: [{ coding: [{ system: `${BASE}/CodeSystem/sp-activity-type`, code: activity }] }],
        characteristic: [{ coding: [{ system: `${BASE}/CodeSystem/sp-needs-local`, code: need }] }],
        extension: [
          {
            url: `${BASE}/StructureDefinition/capacity-status`,
            valueCodeableConcept: { coding: [{ system: `${BASE}/CodeSystem/sp-capacity-status`, code: capacity }] },
          },
        ],
      });
    const choir = await service('Community choir', 'arts-and-culture', 'loneliness', 'capacity');
    const walks = await service('Health walks', 'physical-activity', 'physical-inactivity', 'no-capacity');
    const cafe = await service('Memory cafe', 'arts-and-culture', 'social-isolation', 'capacity');
    const mine = `&organization=Organization/${provider.id}`;
    expect(await ids(`HealthcareService?activity-type=${BASE}/CodeSystem/sp-activity-type|arts-and-culture${mine}`)).toEqual([choir.id, cafe.id].sort());
    expect(await ids(`HealthcareService?need=loneliness,social-isolation${mine}`)).toEqual([choir.id, cafe.id].sort());
    expect(await ids(`HealthcareService?need=physical-inactivity&capacity-status=capacity${mine}`)).toEqual([]);
    expect(await ids(`HealthcareService?activity-type=arts-and-culture&capacity-status=capacity&need=loneliness${mine}`)).toEqual([choir.id]);
    expect(await ids(`HealthcareService?capacity-status=no-capacity${mine}`)).toEqual([walks.id]);
  });

  test('the project parameters are served, listed in the CapabilityStatement and refused with a clear error when misused', async () => {
    const sp = await server.api.get('/fhir/SearchParameter?url=https://social-prescribing.example.org/fhir/SearchParameter/ServiceRequest-patient-nhs-number');
    expect(sp.body.entry).toHaveLength(1);
    const metadata = await server.api.get('/fhir/metadata');
    const params = (type: string) =>
      metadata.body.rest[0].resource.find((r: { type: string }) => r.type === type).searchParam.map((p: { name: string }) => p.name);
    expect(params('ServiceRequest')).toContain('patient-nhs-number');
    expect(params('Task')).toEqual(expect.arrayContaining(['referral-source', 'business-status']));
    expect(params('HealthcareService')).toEqual(expect.arrayContaining(['activity-type', 'need', 'capacity-status']));
    expect(params('CarePlan')).toContain('referral');
    const bad = await server.api.get('/fhir/Task?referral-source:below=x');
    expect(bad.status).toBe(400);
  });

  test('a SearchParameter reading through resolve() in a form the server cannot index is refused', async () => {
    const res = await server.api
      .post('/fhir/SearchParameter')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'SearchParameter',
        url: `https://social-prescribing.example.org/fhir/SearchParameter/test-resolve-${target.name}`,
        name: 'TestResolve',
        status: 'active',
        description: 'Test: a form of resolve() the server does not index',
        code: `test-resolve-${target.name}`,
        base: ['Task'],
        type: 'string',
        expression: 'Task.focus.resolve().code.text',
      });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body)).toMatch(/resolve\(\)\.ofType/);
  });
});

describe('the referral journey finds referrals by NHS number [embedded]', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('a referral and its Task, written together in a transaction, are found by NHS number and source', async () => {
    const bundle: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:8c6f0c1e-0000-4000-8000-000000000001',
          resource: patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9000000041' }] }),
          request: { method: 'POST', url: 'Patient' },
        },
        { fullUrl: 'urn:uuid:8c6f0c1e-0000-4000-8000-000000000002', resource: organization('Y01003'), request: { method: 'POST', url: 'Organization' } },
        {
          fullUrl: 'urn:uuid:8c6f0c1e-0000-4000-8000-000000000003',
          resource: referral('urn:uuid:8c6f0c1e-0000-4000-8000-000000000001', 'urn:uuid:8c6f0c1e-0000-4000-8000-000000000002'),
          request: { method: 'POST', url: 'ServiceRequest' },
        },
      ],
    };
    const res = await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
    expect(res.status).toBe(200);
    const referralId = res.body.entry[2].response.location.split('/')[1];
    const found = await server.api.get('/fhir/ServiceRequest?patient-nhs-number=9000000041&_revinclude=Task:focus');
    const resources = found.body.entry.map((e: { resource: Resource }) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(resources[0]).toBe(`ServiceRequest/${referralId}`);
    expect(resources.filter((r: string) => r.startsWith('Task/'))).toHaveLength(1);
    const tasks = await server.api.get(`/fhir/Task?referral-source=${GP}&focus=ServiceRequest/${referralId}`);
    expect(tasks.body.entry).toHaveLength(1);
  });
});
