// The validation pipeline through HTTP: profiles claimed and enforced,
// bindings, the checks no FHIRPath expresses, $validate, and the conformance
// resources the server serves.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { createResource, FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { NHS_NUMBER_SYSTEM, organization, patient, referral, task } from './support/resources';

const BASE = 'https://social-prescribing.example.org/fhir';
const [embedded] = storeTargets;

type Issue = OperationOutcomeIssue;
const find = (issues: Issue[], code: string, expression: string) => issues.find((i) => i.code === code && (i.expression ?? []).includes(expression));

describe('validation pipeline', () => {
  let server: TestServer;
  let gp: string;
  let subject: string;
  const post = (body: object) => createResource(server, body);

  beforeAll(async () => {
    server = await startServer(embedded);
    gp = `Organization/${(await post(organization('Y10001'))).body.id}`;
    subject = `Patient/${(await post(patient())).body.id}`;
  });
  afterAll(async () => {
    await server.stop();
  });

  test('a social prescribing referral is held to SPReferral without claiming it: no requester is 422 at ServiceRequest.requester', async () => {
    const { requester, ...withoutRequester } = referral(subject, gp);
    void requester;
    const res = await post(withoutRequester);
    expect(res.status).toBe(422);
    const issue = find(res.body.issue, 'required', 'ServiceRequest.requester');
    expect(issue?.severity).toBe('error');
    expect(issue?.diagnostics).toEqual(expect.any(String));
  });

  test.each([
    ['an empty array for a single code', { gender: [] }, 'Patient.gender'],
    ['an object for a repeating element', { name: { family: 'Shape' } }, 'Patient.name'],
    ['a number inside a repeating complex element', { identifier: [42] }, 'Patient.identifier[0]'],
    ['a number for a Reference', { managingOrganization: 42 }, 'Patient.managingOrganization'],
    ['an empty string', { gender: '' }, 'Patient.gender'],
    ['a null inside an array', { name: [null] }, 'Patient.name[0]'],
    ['a string for a boolean in a choice type', { deceasedBoolean: 'yes' }, 'Patient.deceasedBoolean'],
  ])('a body of the wrong JSON shape is 422 with where: %s', async (_name, wrong, expression) => {
    const res = await post({ ...patient(), ...wrong });
    expect(res.status).toBe(422);
    expect(find(res.body.issue, 'structure', expression)?.severity).toBe('error');
  });

  test.each([{ toString: false }, { valueOf: [] }, { hasOwnProperty: 1 }, { constructor: 1 }] as Record<string, unknown>[])(
    'a key named like an Object method is an unknown element, not a 500: %j',
    async (wrong) => {
      const res = await post({ ...patient(), ...wrong });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  );

  test('a ServiceRequest that is not a social prescribing referral is not held to SPReferral', async () => {
    const res = await post({ resourceType: 'ServiceRequest', status: 'active', intent: 'order', subject: { reference: subject } });
    expect(res.status).toBe(201);
  });

  test('a valid referral is stored', async () => {
    expect((await post(referral(subject, gp))).status).toBe(201);
  });

  test('a profile the server does not know is an error; a UK Core one is accepted and reported as information', async () => {
    const unknown = await post({ ...patient(), meta: { profile: ['https://example.org/StructureDefinition/Mystery'] } });
    expect(unknown.status).toBe(422);
    expect(find(unknown.body.issue, 'not-supported', 'Patient.meta.profile[0]')).toBeDefined();
    const ukCore = await server.api
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=OperationOutcome')
      .send({ ...patient(), meta: { profile: ['https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient'] } });
    expect(ukCore.status).toBe(201);
    expect(find(ukCore.body.issue, 'informational', 'Patient.meta.profile[0]')?.severity).toBe('information');
  });

  test('a reasonCode outside the extensible needs ValueSet is accepted with a warning', async () => {
    const res = await server.api
      .post('/fhir/ServiceRequest')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=OperationOutcome')
      .send(referral(subject, gp, { reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '73211009' }] }] }));
    expect(res.status).toBe(201);
    const warning = find(res.body.issue, 'code-invalid', 'ServiceRequest.reasonCode[0]');
    expect(warning?.severity).toBe('warning');
    const inSet = await server.api
      .post('/fhir/ServiceRequest')
      .set('Content-Type', FHIR_JSON)
      .set('Prefer', 'return=OperationOutcome')
      .send(referral(subject, gp, { reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '422650009' }] }] }));
    expect(inSet.body.issue.filter((i: Issue) => i.severity === 'warning')).toEqual([]);
  });

  test('a Task status outside the required task-status ValueSet is rejected', async () => {
    const sr = (await post(referral(subject, gp))).body;
    const res = await post(task(`ServiceRequest/${sr.id}`, subject, gp, { status: 'ready' }));
    expect(res.status).toBe(422);
    expect(find(res.body.issue, 'code-invalid', 'Task.status')?.severity).toBe('error');
  });

  test('a required binding under a repeating element is checked in every repeat, also when the first does not have it', async () => {
    const sr = (await post(referral(subject, gp))).body;
    const outputs = [
      { valueString: 'no type' },
      { type: { coding: [{ system: `${BASE}/CodeSystem/sp-task-output-type`, code: 'not-an-output' }] }, valueString: 'x' },
    ];
    // The first output lacks its type on purpose (itself a structure error): the binding's check must look past it.
    const res = await post({ ...task(`ServiceRequest/${sr.id}`, subject, gp, { status: 'in-progress' }), output: outputs });
    expect(res.status).toBe(422);
    const issue = find(res.body.issue, 'code-invalid', 'Task.output[1].type');
    expect([issue?.severity, issue?.diagnostics]).toEqual(['error', expect.stringContaining('is not in the required ValueSet')]);
  });

  test('required bindings inside datatypes are checked: Address.use, ContactPoint.system, HumanName.use, Identifier.use, Quantity.comparator in value[x]', async () => {
    const res = await post(
      patient({
        address: [
          { use: 'home', postalCode: 'LS1 4AP' },
          { use: 'holiday-home' as 'home', postalCode: 'LS2 9JT' },
        ],
        telecom: [{ system: 'pager2' as 'pager', value: '123' }],
        name: [{ use: 'nick-name' as 'nickname', family: 'Walker' }],
        contact: [{ address: { type: 'virtual' as 'both' } }],
      })
    );
    expect(res.status).toBe(422);
    for (const at of ['Patient.address[1].use', 'Patient.telecom[0].system', 'Patient.name[0].use', 'Patient.contact[0].address.type']) {
      const issue = find(res.body.issue, 'code-invalid', at);
      expect([at, issue?.severity, issue?.diagnostics]).toEqual([at, 'error', expect.stringContaining('is not in the required ValueSet')]);
    }
    expect(find(res.body.issue, 'code-invalid', 'Patient.address[0].use')).toBeUndefined();

    const identifierUse = await post(
      referral(subject, gp, { identifier: [{ use: 'ordinary' as 'official', system: 'https://example.org/ids', value: 'x1' }] })
    );
    expect(identifierUse.status).toBe(422);
    expect(find(identifierUse.body.issue, 'code-invalid', 'ServiceRequest.identifier[0].use')?.severity).toBe('error');

    // Inside a choice of a few types too: Observation.value[x] as valueQuantity, in the resource and in its components.
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Steps a day' },
      subject: { reference: subject },
      valueQuantity: { value: 4000, comparator: 'about' },
      component: [
        { code: { text: 'Minimum' }, valueQuantity: { value: 1000, comparator: '>=' } },
        { code: { text: 'Maximum' }, valueQuantity: { value: 9000, comparator: 'at most' } },
      ],
    };
    const choice = await post(observation);
    expect(choice.status).toBe(422);
    for (const at of ['Observation.valueQuantity.comparator', 'Observation.component[1].valueQuantity.comparator']) {
      expect([at, find(choice.body.issue, 'code-invalid', at)?.severity]).toEqual([at, 'error']);
    }
    expect(find(choice.body.issue, 'code-invalid', 'Observation.component[0].valueQuantity.comparator')).toBeUndefined();

    const valid = await post(
      patient({ address: [{ use: 'temp', type: 'physical', postalCode: 'LS1 4AP' }], telecom: [{ system: 'phone', use: 'mobile', value: '07700 900000' }] })
    );
    expect(valid.status).toBe(201);
  });

  test('an invariant holds on patch too: a Task patched to rejected without a statusReason is 422 and unchanged', async () => {
    const sr = (await post(referral(subject, gp))).body;
    const created = (await post(task(`ServiceRequest/${sr.id}`, subject, gp))).body;
    const res = await server.api
      .patch(`/fhir/Task/${created.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"1"')
      .send([{ op: 'replace', path: '/status', value: 'rejected' }]);
    expect(res.status).toBe(422);
    expect(res.body.issue.some((i: Issue) => i.code === 'invariant' && /sp-task-1/.test(i.diagnostics ?? ''))).toBe(true);
    expect((await server.api.get(`/fhir/Task/${created.id}`)).body.status).toBe('requested');
  });

  test('an invalid NHS number is rejected on any resource, profile or not', async () => {
    const res = await post(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9990000000' }] }));
    expect(res.status).toBe(422);
    expect(find(res.body.issue, 'value', 'Patient.identifier[0].value')?.diagnostics).toMatch(/Modulus 11/);
    const onReference = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      subject: { identifier: { system: NHS_NUMBER_SYSTEM, value: '1234567890' } },
    });
    expect(onReference.status).toBe(422);
    expect(find(onReference.body.issue, 'value', 'Observation.subject.identifier.value')).toBeDefined();
  });

  test('a misspelt NHS identifier system is rejected', async () => {
    const res = await post(patient({ identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-numbers', value: '9434765919' }] }));
    expect(res.status).toBe(422);
    expect(find(res.body.issue, 'value', 'Patient.identifier[0].system')).toBeDefined();
    const ods = await post(organization('Y1', { identifier: [{ system: 'http://fhir.nhs.uk/Id/ods-organization-code', value: 'Y1' }] }));
    expect(ods.status).toBe(422);
  });

  test('a reference to a resource that is not on the server is rejected; a contained one is fine', async () => {
    const res = await post({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: 'Patient/not-here' } });
    expect(res.status).toBe(422);
    expect(find(res.body.issue, 'not-found', 'Observation.subject.reference')?.diagnostics).toMatch(/does not resolve/);
    const contained = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'x' },
      contained: [{ resourceType: 'Patient', id: 'p1' }],
      subject: { reference: '#p1' },
    });
    expect(contained.status).toBe(201);
    const deleted = (await post(patient())).body.id;
    await server.api.delete(`/fhir/Patient/${deleted}`).expect(200);
    const toDeleted = await post({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, subject: { reference: `Patient/${deleted}` } });
    expect(toDeleted.status).toBe(422);
  });

  test('a transaction with one invalid entry writes nothing and its OperationOutcome names the entry', async () => {
    const value = `tx-${Date.now()}`;
    const { requester, ...noRequester } = referral('urn:uuid:p', gp);
    void requester;
    const res = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          { fullUrl: 'urn:uuid:p', resource: patient({ identifier: [{ system: 'urn:tx-invalid', value }] }), request: { method: 'POST', url: 'Patient' } },
          { resource: noRequester, request: { method: 'POST', url: 'ServiceRequest' } },
        ],
      });
    expect(res.status).toBe(422);
    expect(find(res.body.issue, 'required', 'Bundle.entry[1].resource.requester')).toBeDefined();
    expect((await server.api.get(`/fhir/Patient?identifier=urn:tx-invalid|${value}`)).body.total).toBe(0);
  });

  describe('$validate', () => {
    test('answers 200 with the same issues as a failed create', async () => {
      const { requester, ...noRequester } = referral(subject, gp);
      void requester;
      const created = await post(noRequester);
      const validated = await server.api.post('/fhir/ServiceRequest/$validate').set('Content-Type', FHIR_JSON).send(noRequester);
      expect(validated.status).toBe(200);
      expect(validated.body.resourceType).toBe('OperationOutcome');
      expect(validated.body.issue).toEqual(created.body.issue);
    });

    test('takes Parameters with a profile, and says so when all is well', async () => {
      const org = organization('Y20002', { name: undefined });
      const res = await server.api
        .post('/fhir/Organization/$validate')
        .set('Content-Type', FHIR_JSON)
        .send({
          resourceType: 'Parameters',
          parameter: [
            { name: 'resource', resource: org },
            { name: 'profile', valueUri: `${BASE}/StructureDefinition/SPOrganization` },
          ],
        });
      expect(res.status).toBe(200);
      expect(find(res.body.issue, 'required', 'Organization.name')).toBeDefined();
      const fine = await server.api.post('/fhir/Organization/$validate').set('Content-Type', FHIR_JSON).send(organization('Y20003'));
      expect(fine.body.issue).toEqual([expect.objectContaining({ severity: 'information' })]);
    });

    test('at instance level validates the stored resource; mode=delete checks it exists', async () => {
      const id = subject.split('/')[1];
      const stored = await server.api.get(`/fhir/Patient/${id}/$validate`);
      expect(stored.status).toBe(200);
      expect(stored.body.issue[0].severity).toBe('information');
      expect((await server.api.get(`/fhir/Patient/${id}/$validate?mode=delete`)).status).toBe(200);
      expect((await server.api.get('/fhir/Patient/nobody/$validate?mode=delete')).status).toBe(404);
      expect((await server.api.get(`/fhir/Patient/${id}/$validate?mode=sideways`)).status).toBe(400);
    });

    test('does not store anything', async () => {
      const before = (await server.api.get('/fhir/Organization?_summary=count')).body.total;
      await server.api.post('/fhir/Organization/$validate').set('Content-Type', FHIR_JSON).send(organization('Y30003')).expect(200);
      expect((await server.api.get('/fhir/Organization?_summary=count')).body.total).toBe(before);
    });
  });

  describe('conformance resources', () => {
    test('profiles are served at /fhir/StructureDefinition and searchable by url', async () => {
      const res = await server.api.get(`/fhir/StructureDefinition?url=${BASE}/StructureDefinition/SPReferral`);
      expect(res.status).toBe(200);
      expect(res.body.total).toBe(1);
      const sd = res.body.entry[0].resource;
      expect(sd.snapshot.element.length).toBeGreaterThan(10);
      expect(sd.differential.element.length).toBeGreaterThan(1);
    });

    test('value sets and code systems are served', async () => {
      const res = await server.api.get(`/fhir/ValueSet?url=${BASE}/ValueSet/sp-task-status`);
      expect(res.body.total).toBe(1);
      expect((await server.api.get('/fhir/CodeSystem?_summary=count')).body.total).toBeGreaterThanOrEqual(9);
    });

    test('the CapabilityStatement lists supported profiles and $validate', async () => {
      const cs = (await server.api.get('/fhir/metadata')).body;
      const sr = cs.rest[0].resource.find((r: { type: string }) => r.type === 'ServiceRequest');
      expect(sr.supportedProfile).toContain(`${BASE}/StructureDefinition/SPReferral`);
      expect(sr.operation.map((o: { name: string }) => o.name)).toContain('validate');
    });

    test('a restart does not add versions of unchanged conformance resources', async () => {
      const res = await server.api.get(`/fhir/StructureDefinition?url=${BASE}/StructureDefinition/SPReferral`);
      expect(res.body.entry[0].resource.meta.versionId).toBe('1');
    });
  });
});

describe('enforcement is configurable per type', () => {
  test('with ENFORCE_PROFILES=none a referral without a requester is only held to base R4', async () => {
    const server = await startServer(embedded, { ENFORCE_PROFILES: 'none' });
    try {
      const pat = (await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body.id;
      const gp = (await server.api.post('/fhir/Organization').set('Content-Type', FHIR_JSON).send(organization('Y1'))).body.id;
      const { requester, ...noRequester } = referral(`Patient/${pat}`, `Organization/${gp}`);
      void requester;
      expect((await server.api.post('/fhir/ServiceRequest').set('Content-Type', FHIR_JSON).send(noRequester)).status).toBe(201);
    } finally {
      await server.stop();
    }
  });
});
