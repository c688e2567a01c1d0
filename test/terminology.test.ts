// The terminology operations through HTTP, by GET parameters and by POST
// Parameters, over the shipped content and over resources created at runtime.
import type { Parameters, ParametersParameter, ValueSet } from '@medplum/fhirtypes';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const B = 'https://social-prescribing.example.org/fhir';
const SNOMED = 'http://snomed.info/sct';
const TAXONOMY = `${B}/CodeSystem/sp-directory-taxonomy`;

const param = (p: Parameters, name: string): ParametersParameter | undefined => p.parameter?.find((x) => x.name === name);
const codes = (vs: ValueSet) => (vs.expansion?.contains ?? []).map((c) => c.code as string);

describe.each(storeTargets)('terminology [$name]', (target) => {
  let server: TestServer;
  const put = (resource: { resourceType: string; id: string }) =>
    server.api.put(`/fhir/${resource.resourceType}/${resource.id}`).set('Content-Type', FHIR_JSON).send(resource);
  const postOp = (path: string, parameter: ParametersParameter[]) =>
    server.api.post(`/fhir/${path}`).set('Content-Type', FHIR_JSON).send({ resourceType: 'Parameters', parameter });

  beforeAll(async () => {
    server = await startServer(target);
  });
  afterAll(async () => {
    await server.stop();
  });

  describe('$expand', () => {
    test('a filter matches display terms whatever their case and accents', async () => {
      const res = await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/sp-directory-taxonomy&filter=DEBT`);
      expect(res.status).toBe(200);
      expect(codes(res.body)).toContain('debt-advice');
      const accented = await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/sp-directory-taxonomy&filter=${encodeURIComponent('Débt')}`);
      expect(codes(accented.body)).toEqual(codes(res.body));
      // Type-ahead: each word of the filter starts a word of the display.
      const typed = await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/sp-task-status&filter=in%20prog`);
      expect(codes(typed.body)).toEqual(['in-progress']);
    });

    test('count and offset page through an expansion without overlap', async () => {
      const all = (await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/sp-directory-taxonomy&count=1000`)).body;
      const total = all.expansion.total;
      expect(total).toBeGreaterThan(20);
      const seen: string[] = [];
      for (let offset = 0; offset < total; offset += 7) {
        const page = (await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/sp-directory-taxonomy&count=7&offset=${offset}`)).body;
        expect(page.expansion.total).toBe(total);
        expect(page.expansion.offset).toBe(offset);
        seen.push(...codes(page));
      }
      expect(seen).toEqual(codes(all));
    });

    test('a ValueSet built from another ValueSet plus an exclude, created at runtime, expands at once', async () => {
      const res = await put({
        resourceType: 'ValueSet',
        id: 'open-statuses',
        url: `${B}/ValueSet/open-statuses-test`,
        status: 'active',
        compose: {
          include: [{ valueSet: [`${B}/ValueSet/sp-task-status`] }],
          exclude: [{ system: 'http://hl7.org/fhir/task-status', concept: [{ code: 'completed' }, { code: 'cancelled' }, { code: 'entered-in-error' }] }],
        },
      } as never);
      expect(res.status).toBe(201);
      const expanded = (await server.api.get(`/fhir/ValueSet/open-statuses/$expand`)).body;
      expect(codes(expanded).sort()).toEqual(['accepted', 'draft', 'failed', 'in-progress', 'on-hold', 'rejected', 'requested']);
    });

    test('is-a and descendent-of filters follow the code system hierarchy', async () => {
      const isA = await postOp('ValueSet/$expand', [
        {
          name: 'valueSet',
          resource: {
            resourceType: 'ValueSet',
            status: 'active',
            compose: { include: [{ system: TAXONOMY, filter: [{ property: 'concept', op: 'is-a', value: 'advice-practical-support' }] }] },
          },
        },
      ]);
      expect(isA.status).toBe(200);
      expect(codes(isA.body)).toEqual(expect.arrayContaining(['advice-practical-support', 'debt-advice', 'housing-advice']));
      const descendants = await postOp('ValueSet/$expand', [
        {
          name: 'valueSet',
          resource: {
            resourceType: 'ValueSet',
            status: 'active',
            compose: { include: [{ system: TAXONOMY, filter: [{ property: 'concept', op: 'descendent-of', value: 'advice-practical-support' }] }] },
          },
        },
      ]);
      expect(codes(descendants.body)).not.toContain('advice-practical-support');
      expect(codes(descendants.body)).toContain('debt-advice');
      const equal = await postOp('ValueSet/$expand', [
        {
          name: 'valueSet',
          resource: {
            resourceType: 'ValueSet',
            status: 'active',
            compose: { include: [{ system: TAXONOMY, filter: [{ property: 'code', op: '=', value: 'debt-advice' }] }] },
          },
        },
      ]);
      expect(codes(equal.body)).toEqual(['debt-advice']);
    });

    test('includeDesignations and activeOnly', async () => {
      await put({
        resourceType: 'CodeSystem',
        id: 'rt-moods',
        url: `${B}/CodeSystem/rt-moods`,
        status: 'active',
        content: 'complete',
        concept: [
          { code: 'calm', display: 'Calm', designation: [{ language: 'cy', value: 'Tawel' }] },
          { code: 'old', display: 'Old code', property: [{ code: 'status', valueCode: 'retired' }] },
        ],
      } as never).expect(201);
      await put({
        resourceType: 'ValueSet',
        id: 'rt-moods',
        url: `${B}/ValueSet/rt-moods`,
        status: 'active',
        compose: { include: [{ system: `${B}/CodeSystem/rt-moods` }] },
      } as never).expect(201);
      const withDesignations = (await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/rt-moods&includeDesignations=true`)).body;
      expect(withDesignations.expansion.contains.find((c: { code: string }) => c.code === 'calm').designation[0].value).toBe('Tawel');
      const plain = (await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/rt-moods`)).body;
      expect(plain.expansion.contains[0].designation).toBeUndefined();
      expect(codes((await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/rt-moods&activeOnly=true`)).body)).toEqual(['calm']);
      // A designation is found by the filter too.
      expect(codes((await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/rt-moods&filter=tawel`)).body)).toEqual(['calm']);
    });

    test('an unknown ValueSet is 404; bad paging is 400; a whole external system cannot be expanded', async () => {
      expect((await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/nope`)).status).toBe(404);
      expect((await server.api.get(`/fhir/ValueSet/$expand?url=${B}/ValueSet/sp-task-status&count=-1`)).status).toBe(400);
      const snomed = await postOp('ValueSet/$expand', [
        { name: 'valueSet', resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: SNOMED }] } } },
      ]);
      expect(snomed.status).toBe(422);
      expect(snomed.body.issue[0].code).toBe('too-costly');
    });
  });

  describe('$validate-code', () => {
    test('ValueSet: a code in the set is valid; a wrong display gives result=false with a message', async () => {
      const ok = (await server.api.get(`/fhir/ValueSet/$validate-code?url=${B}/ValueSet/sp-referral-code&system=${SNOMED}&code=871731000000106`)).body;
      expect(param(ok, 'result')?.valueBoolean).toBe(true);
      expect(param(ok, 'display')?.valueString).toBe('Referral to social prescribing service');
      const wrong = await postOp('ValueSet/$validate-code', [
        { name: 'url', valueUri: `${B}/ValueSet/sp-referral-code` },
        { name: 'coding', valueCoding: { system: SNOMED, code: '871731000000106', display: 'Referral to a gym' } },
      ]);
      expect(param(wrong.body, 'result')?.valueBoolean).toBe(false);
      expect(param(wrong.body, 'message')?.valueString).toMatch(/display/);
      const outside = (await server.api.get(`/fhir/ValueSet/$validate-code?url=${B}/ValueSet/sp-referral-code&system=${SNOMED}&code=390893007`)).body;
      expect(param(outside, 'result')?.valueBoolean).toBe(false);
    });

    test('ValueSet: by instance, and with the ValueSet given inline', async () => {
      const byInstance = (await server.api.get(`/fhir/ValueSet/sp-task-status/$validate-code?system=http://hl7.org/fhir/task-status&code=ready`)).body;
      expect(param(byInstance, 'result')?.valueBoolean).toBe(false);
      const inline = await postOp('ValueSet/$validate-code', [
        {
          name: 'valueSet',
          resource: { resourceType: 'ValueSet', status: 'active', compose: { include: [{ system: 'urn:colours', concept: [{ code: 'red' }] }] } },
        },
        { name: 'code', valueCode: 'red' },
        { name: 'system', valueUri: 'urn:colours' },
      ]);
      expect(param(inline.body, 'result')?.valueBoolean).toBe(true);
    });

    test('ValueSet: a CodeableConcept is valid when one of its codings is', async () => {
      const res = await postOp('ValueSet/$validate-code', [
        { name: 'url', valueUri: `${B}/ValueSet/sp-needs` },
        {
          name: 'codeableConcept',
          valueCodeableConcept: {
            coding: [
              { system: 'urn:other', code: 'x' },
              { system: SNOMED, code: '267076002' },
            ],
          },
        },
      ]);
      expect(param(res.body, 'result')?.valueBoolean).toBe(true);
    });

    test('CodeSystem: code and display checked at type and instance level', async () => {
      const ok = (await server.api.get(`/fhir/CodeSystem/$validate-code?url=${B}/CodeSystem/sp-capacity-status&code=waitlist`)).body;
      expect(param(ok, 'result')?.valueBoolean).toBe(true);
      const unknown = (await server.api.get(`/fhir/CodeSystem/$validate-code?url=${B}/CodeSystem/sp-capacity-status&code=full`)).body;
      expect(param(unknown, 'result')?.valueBoolean).toBe(false);
      expect(param(unknown, 'message')?.valueString).toContain('full');
      const instance = (await server.api.get(`/fhir/CodeSystem/sp-capacity-status/$validate-code?code=waitlist&display=Queue`)).body;
      expect(param(instance, 'result')?.valueBoolean).toBe(false);
    });
  });

  test('$lookup gives the display, designations and hierarchy of a code, by GET and POST', async () => {
    const get = await server.api.get(`/fhir/CodeSystem/$lookup?system=${TAXONOMY}&code=debt-advice`);
    expect(get.status).toBe(200);
    expect(param(get.body, 'display')?.valueString).toMatch(/debt/i);
    const parent = get.body.parameter.find((p: ParametersParameter) => p.name === 'property' && p.part?.[0].valueCode === 'parent');
    expect(parent.part[1].valueCode).toBe('advice-practical-support');
    const post = await postOp('CodeSystem/$lookup', [{ name: 'coding', valueCoding: { system: SNOMED, code: '871711000000103' } }]);
    expect(param(post.body, 'display')?.valueString).toBe('Social prescribing declined');
    expect((await server.api.get(`/fhir/CodeSystem/$lookup?system=${TAXONOMY}&code=nope`)).status).toBe(404);
  });

  test('$subsumes says how two codes relate in the hierarchy', async () => {
    const outcome = async (a: string, b: string) =>
      param((await server.api.get(`/fhir/CodeSystem/$subsumes?system=${TAXONOMY}&codeA=${a}&codeB=${b}`)).body, 'outcome')?.valueCode;
    expect(await outcome('advice-practical-support', 'debt-advice')).toBe('subsumes');
    expect(await outcome('debt-advice', 'advice-practical-support')).toBe('subsumed-by');
    expect(await outcome('debt-advice', 'debt-advice')).toBe('equivalent');
    expect(await outcome('debt-advice', 'housing-advice')).toBe('not-subsumed');
    const post = await postOp('CodeSystem/$subsumes', [
      { name: 'codingA', valueCoding: { system: TAXONOMY, code: 'arts-culture' } },
      { name: 'codingB', valueCoding: { system: TAXONOMY, code: 'music-singing' } },
    ]);
    expect(param(post.body, 'outcome')?.valueCode).toBe('subsumes');
    expect((await server.api.get(`/fhir/CodeSystem/$subsumes?system=${TAXONOMY}&codeA=debt-advice&codeB=nope`)).status).toBe(404);
  });

  test('$translate maps a local need to SNOMED CT where a concept exists', async () => {
    const url = `${B}/ConceptMap/sp-needs-local-to-snomed`;
    const mapped = (await server.api.get(`/fhir/ConceptMap/$translate?url=${url}&system=${B}/CodeSystem/sp-needs-local&code=loneliness`)).body;
    expect(param(mapped, 'result')?.valueBoolean).toBe(true);
    expect(param(mapped, 'match')?.part?.find((p) => p.name === 'concept')?.valueCoding).toMatchObject({ system: SNOMED, code: '267076002' });
    const unmatched = await postOp('ConceptMap/$translate', [
      { name: 'url', valueUri: url },
      { name: 'coding', valueCoding: { system: `${B}/CodeSystem/sp-needs-local`, code: 'bereavement' } },
    ]);
    expect(param(unmatched.body, 'result')?.valueBoolean).toBe(false);
  });

  test('a ValueSet changed at runtime changes binding validation at once, with no restart', async () => {
    const org = (await server.api.post('/fhir/Organization').set('Content-Type', FHIR_JSON).send({ resourceType: 'Organization', name: 'VCSE' })).body;
    const service = (capacity: string) => ({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'urn:oruk:service', value: `svc-${capacity}-${Date.now()}` }],
      providedBy: { reference: `Organization/${org.id}` },
      name: 'Walking group',
      extension: [
        {
          url: `${B}/StructureDefinition/capacity-status`,
          valueCodeableConcept: { coding: [{ system: `${B}/CodeSystem/sp-capacity-status`, code: capacity }] },
        },
      ],
    });
    const before = await server.api.post('/fhir/HealthcareService').set('Content-Type', FHIR_JSON).send(service('paused'));
    expect(before.status).toBe(422);
    const vs = (await server.api.get(`/fhir/ValueSet?url=${B}/ValueSet/sp-capacity-status`)).body.entry[0].resource;
    vs.compose.include.push({ system: `${B}/CodeSystem/sp-capacity-status-extra`, concept: [{ code: 'paused', display: 'Paused' }] });
    await server.api.put(`/fhir/ValueSet/${vs.id}`).set('Content-Type', FHIR_JSON).send(vs).expect(200);
    const pausedCoding = { system: `${B}/CodeSystem/sp-capacity-status-extra`, code: 'paused' };
    const after = await server.api
      .post('/fhir/HealthcareService')
      .set('Content-Type', FHIR_JSON)
      .send({ ...service('x'), extension: [{ url: `${B}/StructureDefinition/capacity-status`, valueCodeableConcept: { coding: [pausedCoding] } }] });
    expect(after.status).toBe(201);
  });

  test('CodeSystems and ValueSets are searchable by url, version, name, status and code', async () => {
    const search = async (query: string) => (await server.api.get(`/fhir/${query}`)).body.entry?.map((e: { resource: { id: string } }) => e.resource.id) ?? [];
    expect(await search(`CodeSystem?url=${B}/CodeSystem/sp-business-status`)).toEqual(['sp-business-status']);
    expect(await search('CodeSystem?name=SPBusinessStatus&version=0.1.0&status=active')).toEqual(['sp-business-status']);
    expect(await search('CodeSystem?code=plan-agreed')).toEqual(['sp-business-status']);
    expect(await search('ValueSet?code=871731000000106')).toEqual(expect.arrayContaining(['sp-referral-code']));
  });

  test('the CapabilityStatement lists each terminology operation with its OperationDefinition', async () => {
    const cs = (await server.api.get('/fhir/metadata')).body;
    const ops = (type: string) => cs.rest[0].resource.find((r: { type: string }) => r.type === type).operation.map((o: { definition: string }) => o.definition);
    expect(ops('ValueSet')).toEqual(
      expect.arrayContaining(['http://hl7.org/fhir/OperationDefinition/ValueSet-expand', 'http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code'])
    );
    expect(ops('CodeSystem')).toEqual(
      expect.arrayContaining([
        'http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup',
        'http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code',
        'http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes',
      ])
    );
    expect(ops('ConceptMap')).toContain('http://hl7.org/fhir/OperationDefinition/ConceptMap-translate');
  });
});
