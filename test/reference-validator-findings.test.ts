// Where the server and the HL7 reference validator disagreed about a resource,
// and the server was wrong by the FHIR specification: each case through HTTP,
// with create and $validate, on both stores.
import type { Bundle, CodeSystem, HealthcareService, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { fixture, NHS_NUMBER_SYSTEM, organization, patient, referral } from './support/resources';

const BASE = 'https://social-prescribing.example.org/fhir';
const DIRECTORY_TAXONOMY = `${BASE}/CodeSystem/sp-directory-taxonomy`;

type Issue = OperationOutcomeIssue;
const errors = (issues: Issue[]): Issue[] => issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
const at = (issues: Issue[], expression: string): Issue[] => errors(issues).filter((i) => (i.expression ?? []).includes(expression));

describe.each(storeTargets)('agreement with the HL7 validator ($name store)', (target) => {
  let server: TestServer;
  let gp: string;
  let subject: string;
  const post = (body: object) =>
    server.api
      .post(`/fhir/${(body as Resource).resourceType}`)
      .set('Content-Type', FHIR_JSON)
      .send(body);
  const validate = async (body: object): Promise<Issue[]> => {
    const res = await server.api
      .post(`/fhir/${(body as Resource).resourceType}/$validate`)
      .set('Content-Type', FHIR_JSON)
      .send(body);
    expect(res.status).toBe(200);
    return res.body.issue as Issue[];
  };
  const communityService = (): HealthcareService => {
    const service = fixture<HealthcareService>('profiles/SPCommunityService/valid-community-service-singing.json');
    return { ...service, providedBy: { reference: gp }, location: undefined };
  };

  beforeAll(async () => {
    server = await startServer(target);
    gp = `Organization/${(await post(organization('Y10019'))).body.id}`;
    subject = `Patient/${(await post(patient())).body.id}`;
  });
  afterAll(async () => {
    await server.stop();
  });

  describe('R4 definitions only (no R5 elements)', () => {
    test('a HealthcareService with offeredIn (an R5 element) is refused at HealthcareService.offeredIn', async () => {
      const service = { ...communityService(), offeredIn: [{ reference: 'HealthcareService/other' }] };
      const res = await post(service);
      expect(res.status).toBe(422);
      expect(at(res.body.issue, 'HealthcareService.offeredIn')).toHaveLength(1);
      expect(at(await validate(service), 'HealthcareService.offeredIn')).toHaveLength(1);
    });

    test('the SPCommunityService snapshot has no offeredIn element', async () => {
      const res = await server.api.get('/fhir/StructureDefinition?url=' + encodeURIComponent(`${BASE}/StructureDefinition/SPCommunityService`));
      const sd = (res.body as Bundle<StructureDefinition>).entry?.[0]?.resource;
      expect(sd?.snapshot?.element?.length).toBeGreaterThan(10);
      expect(sd?.snapshot?.element?.filter((e) => e.path?.startsWith('HealthcareService.offeredIn'))).toEqual([]);
    });
  });

  describe('urn:uuid references inside Bundles', () => {
    test.each([
      'bundles/referral-transaction.json',
      'messages/gp-referral.json',
      'messages/gp-referral-duplicate.json',
      'messages/self-referral.json',
      'messages/cancellation.json',
    ])('Bundle $validate accepts %s, whose references resolve within the Bundle', async (file) => {
      expect(errors(await validate(fixture<Bundle>(file)))).toEqual([]);
    });

    test('Bundle $validate refuses a urn:uuid reference that matches no entry', async () => {
      const bundle = fixture<Bundle>('bundles/referral-transaction.json');
      const entry = bundle.entry?.find((e) => e.resource?.resourceType === 'ServiceRequest');
      (entry?.resource as { subject: { reference: string } }).subject.reference = 'urn:uuid:00000000-0000-4000-8000-00000000dead';
      const issues = errors(await validate(bundle));
      expect(issues.some((i) => i.code === 'not-found' && (i.expression ?? [])[0]?.endsWith('.subject.reference'))).toBe(true);
    });

    test('Bundle $validate and the transaction refuse a urn:uuid subject that names an Organization entry', async () => {
      const bundle = fixture<Bundle>('bundles/invalid-transaction-subject-organization.json');
      const issues = errors(await validate(bundle));
      expect(issues.some((i) => i.code === 'value' && /is a Organization/.test(i.diagnostics ?? ''))).toBe(true);
      const res = await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
      // A store without transactions (FerretDB) refuses every transaction Bundle first.
      expect(res.status).toBe(server.store.supportsTransactions ? 422 : 501);
    });

    test('a resource on its own gets no wrong-type error for a urn:uuid reference', async () => {
      const issues = await validate(referral('urn:uuid:0e3c1f9a-7b1d-4d55-9b1e-1a0000000002', gp));
      expect(issues.filter((i) => /wrong type/.test(i.diagnostics ?? ''))).toEqual([]);
    });
  });

  describe('reference targets inside extensions', () => {
    test('a CarePlan basedOn extension pointing at a Patient is refused', async () => {
      const plan = fixture<Resource>('profiles/SPPersonalisedCarePlan/invalid-referral-extension-patient.json');
      const res = await post(plan);
      expect(res.status).toBe(422);
      expect(at(res.body.issue, 'CarePlan.extension[0].valueReference')).toHaveLength(1);
      expect(at(await validate(plan), 'CarePlan.extension[0].valueReference')).toHaveLength(1);
    });

    test('a source-of-referral extension with a Reference value (it takes a CodeableConcept) is refused', async () => {
      const body = referral(subject, gp);
      body.extension = [{ url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest', valueReference: { reference: subject } }];
      expect(at(await validate(body), 'ServiceRequest.extension[0].valueReference')).toHaveLength(1);
      // A referral is stored with its Task in one commit: a store without transactions refuses it first.
      expect((await post(body)).status).toBe(server.store.supportsTransactions ? 422 : 501);
    });
  });

  describe('codes of complete CodeSystems', () => {
    test('a code missing from a complete CodeSystem is an error even under an extensible binding', async () => {
      const service = communityService();
      service.category = [{ coding: [{ system: DIRECTORY_TAXONOMY, code: 'no-such-category' }] }];
      const res = await post(service);
      expect(res.status).toBe(422);
      const issue = at(res.body.issue, 'HealthcareService.category[0].coding[0]')[0];
      expect(issue?.code).toBe('code-invalid');
      expect(issue?.diagnostics).toContain('no-such-category');
      expect(at(await validate(service), 'HealthcareService.category[0].coding[0]')).toHaveLength(1);
    });

    test('the same code in an unbound element is an error too', async () => {
      const body = patient({ maritalStatus: { coding: [{ system: DIRECTORY_TAXONOMY, code: 'no-such-category' }] } });
      expect(at(await validate(body), 'Patient.maritalStatus.coding[0]')).toHaveLength(1);
    });

    test('a SNOMED CT code the fragment does not hold is no error (the fragment is not complete)', async () => {
      const body = patient({ maritalStatus: { coding: [{ system: 'http://snomed.info/sct', code: '1234567' }] } });
      expect(errors(await validate(body))).toEqual([]);
    });
  });

  describe('NHS rules carried by the profiles as FHIRPath invariants', () => {
    const profile = async (id: string): Promise<StructureDefinition> => (await server.api.get(`/fhir/StructureDefinition/${id}`)).body;

    test('SPPatient carries the Modulus 11 check (sp-pat-4), and a wrong check digit breaks it as well as the server check', async () => {
      const sd = await profile('SPPatient');
      expect(sd.snapshot?.element?.[0]?.constraint?.map((c) => c.key)).toEqual(expect.arrayContaining(['sp-pat-4', 'sp-id-1']));
      const body = patient({ meta: { profile: [`${BASE}/StructureDefinition/SPPatient`] }, identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9434765918' }] });
      const issues = await validate(body);
      expect(at(issues, 'Patient').some((i) => i.code === 'invariant' && /Modulus 11/.test(i.diagnostics ?? ''))).toBe(true);
      expect(at(issues, 'Patient.identifier[0].value').some((i) => i.code === 'value')).toBe(true);
    });

    test.each(['9434765919', '9990000018', '4010232137', '9000000009'])('a valid NHS number %s meets sp-pat-4', async (value) => {
      const body = patient({ meta: { profile: [`${BASE}/StructureDefinition/SPPatient`] }, identifier: [{ system: NHS_NUMBER_SYSTEM, value }] });
      expect(errors(await validate(body))).toEqual([]);
    });

    test('a misspelt SDS system breaks sp-id-1 on SPPractitionerRole', async () => {
      const sd = await profile('SPPractitionerRole');
      expect(sd.snapshot?.element?.[0]?.constraint?.map((c) => c.key)).toContain('sp-id-1');
      const role = {
        resourceType: 'PractitionerRole',
        meta: { profile: [`${BASE}/StructureDefinition/SPPractitionerRole`] },
        identifier: [{ system: 'https://fhir.nhs.uk/Id/sds-role-profile', value: '555' }],
        organization: { reference: gp },
      };
      const issues = await validate(role);
      expect(at(issues, 'PractitionerRole').some((i) => i.code === 'invariant')).toBe(true);
    });
  });

  test('a message error names the entry as sent: the Patient is Bundle.entry[2]', async () => {
    const message = fixture<Bundle>('messages/invalid-nhs-number.json');
    const res = await server.api.post('/fhir/$process-message').set('Content-Type', FHIR_JSON).send(message);
    expect(message.entry?.[2]?.resource?.resourceType).toBe('Patient');
    const outcome = (res.body as Bundle).entry?.find((e) => e.resource?.resourceType === 'OperationOutcome')?.resource as { issue: Issue[] };
    if (!server.store.supportsTransactions) {
      // A message is stored as one transaction: a store without transactions refuses it before validating.
      expect([res.status, outcome.issue[0]?.diagnostics]).toEqual([501, expect.stringMatching(/transactions/)]);
      return;
    }
    const expressions = errors(outcome.issue).flatMap((i) => i.expression ?? []);
    expect(expressions).toContain('Bundle.entry[2].resource.identifier[0].value');
    expect(expressions.filter((e) => e.startsWith('Bundle.entry[1]'))).toEqual([]);
  });

  test('the SNOMED CT fragment gives no count and no version (they would speak for all of SNOMED CT)', async () => {
    const res = await server.api.get('/fhir/CodeSystem?url=' + encodeURIComponent('http://snomed.info/sct'));
    const cs = (res.body as Bundle<CodeSystem>).entry?.[0]?.resource;
    expect(cs?.content).toBe('fragment');
    expect(cs?.concept?.length).toBeGreaterThan(0);
    expect([cs?.count, cs?.version]).toEqual([undefined, undefined]);
  });
});
