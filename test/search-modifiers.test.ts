// More of FHIR search through HTTP on every store: :contains, :text, :of-type,
// :in / :not-in and :above / :below through the terminology service, uri
// :above, _has, _include:iterate and *, _summary and _elements.
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { organization, patient, task } from './support/resources';

const B = 'https://social-prescribing.example.org/fhir';
const TAXONOMY = `${B}/CodeSystem/sp-directory-taxonomy`;
type Entry = { resource: { resourceType: string; id: string; [k: string]: unknown }; search?: { mode: string } };

describe.each(storeTargets)('search modifiers and shaping [$name]', (target) => {
  let server: TestServer;
  const ids: Record<string, string> = {};
  const post = async (body: { resourceType: string }) => {
    const res = await server.api.post(`/fhir/${body.resourceType}`).set('Content-Type', FHIR_JSON).send(body);
    if (res.status !== 201) throw new Error(res.text);
    return res.body.id as string;
  };
  const search = async (url: string, status = 200) => {
    const res = await server.api.get(url);
    expect([res.status, res.status === status ? 'ok' : res.body]).toEqual([status, 'ok']);
    return res.body;
  };
  const matchIds = (bundle: { entry?: Entry[] }) =>
    (bundle.entry ?? [])
      .filter((e) => e.search?.mode === 'match')
      .map((e) => e.resource.id)
      .sort();
  const includedRefs = (bundle: { entry?: Entry[] }) =>
    (bundle.entry ?? [])
      .filter((e) => e.search?.mode === 'include')
      .map((e) => `${e.resource.resourceType}/${e.resource.id}`)
      .sort();

  beforeAll(async () => {
    server = await startServer(target);
    ids.org = await post(organization('Y55555', { name: 'Meanwood Valley Partnership' }));
    ids.jo = await post(
      patient({
        name: [{ family: 'Fairweather', given: ['Jo'] }],
        maritalStatus: { text: 'Widowed' },
        text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml">Jo Fairweather</div>' },
        identifier: [
          { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' },
          { type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] }, system: 'urn:hospital', value: 'H-1' },
        ],
      })
    );
    ids.sam = await post(patient({ name: [{ family: 'Weatherall', given: ['Sam'] }], gender: 'male' }));
    ids.obsLonely = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '267076002', display: 'Feeling lonely' }] },
      subject: { reference: `Patient/${ids.jo}` },
    } as never);
    ids.obsOther = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'Blood pressure' },
      subject: { reference: `Patient/${ids.sam}` },
    } as never);
    ids.singing = await post({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'urn:oruk:service', value: 'sing-1' }],
      providedBy: { reference: `Organization/${ids.org}` },
      category: [{ coding: [{ system: TAXONOMY, code: 'music-singing' }] }],
      name: 'Community choir',
    } as never);
    ids.debt = await post({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'urn:oruk:service', value: 'debt-1' }],
      providedBy: { reference: `Organization/${ids.org}` },
      category: [{ coding: [{ system: TAXONOMY, code: 'debt-advice' }] }],
      name: 'Debt advice drop-in',
    } as never);
    ids.sr = await post({ resourceType: 'ServiceRequest', status: 'completed', intent: 'order', subject: { reference: `Patient/${ids.jo}` } } as never);
    ids.task = await post(
      task(`ServiceRequest/${ids.sr}`, `Patient/${ids.jo}`, `Organization/${ids.org}`, { owner: { reference: `Organization/${ids.org}` } })
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  test(':contains matches anywhere in a string, ignoring case', async () => {
    expect(matchIds(await search('/fhir/Patient?family:contains=WEATHER'))).toEqual([ids.jo, ids.sam].sort());
    expect(matchIds(await search('/fhir/Patient?family:contains=.*'))).toEqual([]);
  });

  test(':text searches the text and displays of codes', async () => {
    expect(matchIds(await search('/fhir/Observation?code:text=lonely'))).toEqual([ids.obsLonely]);
    expect(matchIds(await search('/fhir/Observation?code:text=blood%20pres'))).toEqual([ids.obsOther]);
  });

  test(':of-type finds an identifier by its type and value', async () => {
    expect(matchIds(await search('/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|H-1'))).toEqual([ids.jo]);
    expect(matchIds(await search('/fhir/Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|H-2'))).toEqual([]);
  });

  test(':in and :not-in test codes against a ValueSet', async () => {
    expect(matchIds(await search(`/fhir/Observation?code:in=${B}/ValueSet/sp-needs`))).toEqual([ids.obsLonely]);
    expect(matchIds(await search(`/fhir/Observation?code:not-in=${B}/ValueSet/sp-needs`))).toEqual([ids.obsOther]);
    await search(`/fhir/Observation?code:in=${B}/ValueSet/unknown`, 400);
  });

  test(':below and :above follow the code system hierarchy', async () => {
    expect(matchIds(await search(`/fhir/HealthcareService?service-category:below=${TAXONOMY}|arts-culture`))).toEqual([ids.singing]);
    expect(matchIds(await search(`/fhir/HealthcareService?service-category:below=${TAXONOMY}|advice-practical-support`))).toEqual([ids.debt]);
    expect(matchIds(await search(`/fhir/HealthcareService?service-category:above=${TAXONOMY}|music-singing`))).toEqual([ids.singing]);
  });

  test('uri :above finds resources whose url is a parent of the value; :below its children', async () => {
    const above = await search(`/fhir/ValueSet?url:above=${B}/ValueSet/sp-needs/version/2`);
    expect(above.entry.map((e: Entry) => e.resource.id)).toEqual(['sp-needs']);
    const below = await search(`/fhir/ValueSet?url:below=${B}/ValueSet/sp-task&_count=50`);
    expect(below.entry.map((e: Entry) => e.resource.id).sort()).toEqual(['sp-task-output-type', 'sp-task-status']);
  });

  test(':identifier finds a reference by the identifier it carries', async () => {
    const id = await post({
      resourceType: 'ServiceRequest',
      status: 'draft',
      intent: 'order',
      subject: { reference: `Patient/${ids.sam}`, identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9476719931' } },
    } as never);
    expect(matchIds(await search('/fhir/ServiceRequest?subject:identifier=https://fhir.nhs.uk/Id/nhs-number|9476719931'))).toEqual([id]);
    expect(matchIds(await search('/fhir/ServiceRequest?subject:identifier=9476719931'))).toEqual([id]);
    expect(matchIds(await search('/fhir/ServiceRequest?subject:identifier=https://fhir.nhs.uk/Id/nhs-number|9434765919'))).toEqual([]);
  });

  test('date ap matches values within 10% of their distance from now; _total=none leaves the total out', async () => {
    // Jo was born 1970-05-01: about 55 years ago, so ap allows about 5.5 years either side.
    expect(matchIds(await search(`/fhir/Patient?_id=${ids.jo}&birthdate=ap1972-01-01`))).toEqual([ids.jo]);
    expect(matchIds(await search(`/fhir/Patient?_id=${ids.jo}&birthdate=ap1990-06-01`))).toEqual([]);
    const noTotal = await search(`/fhir/Patient?_id=${ids.jo}&_total=none`);
    expect(noTotal.total).toBeUndefined();
    expect(matchIds(noTotal)).toEqual([ids.jo]);
  });

  test('_has selects by what refers to a resource, and nests', async () => {
    expect(matchIds(await search('/fhir/Patient?_has:ServiceRequest:subject:status=completed'))).toEqual([ids.jo]);
    expect(matchIds(await search('/fhir/Patient?_has:ServiceRequest:subject:status=active'))).toEqual([]);
    expect(matchIds(await search('/fhir/Patient?_has:ServiceRequest:subject:_has:Task:focus:status=requested'))).toEqual([ids.jo]);
    await search('/fhir/Patient?_has:ServiceRequest:nothing:status=active', 400);
  });

  test('_include:iterate follows includes from included resources; * includes every reference', async () => {
    const iterated = await search(`/fhir/ServiceRequest?_id=${ids.sr}&_revinclude=Task:focus&_include:iterate=Task:owner`);
    expect(includedRefs(iterated)).toEqual([`Organization/${ids.org}`, `Task/${ids.task}`].sort());
    const star = await search(`/fhir/Task?_id=${ids.task}&_include=*`);
    expect(includedRefs(star)).toEqual([`Organization/${ids.org}`, `Patient/${ids.jo}`, `ServiceRequest/${ids.sr}`].sort());
  });

  test('_type searches several types at the base, merged and paged', async () => {
    const both = await search('/fhir?_type=Patient,Organization&_id=' + [ids.jo, ids.org, ids.sam].join(','));
    expect(matchIds(both)).toEqual([ids.jo, ids.org, ids.sam].sort());
    expect(both.total).toBe(3);
    const sorted = await search(`/fhir?_type=Patient,Observation&_id=${ids.jo},${ids.obsLonely}&_sort=-_lastUpdated&_count=1`);
    expect(sorted.entry[0].resource.id).toBe(ids.obsLonely);
    expect(sorted.link.some((l: { relation: string }) => l.relation === 'next')).toBe(true);
    await search('/fhir?name=x', 400);
    await search('/fhir?_type=Unicorn', 404);
    await search('/fhir?_type=Patient,Organization&gender=male', 400);
  });

  test('_summary and _elements return part of each resource, marked SUBSETTED', async () => {
    const subsetted = (r: { meta?: { tag?: { code: string }[] } }) => r.meta?.tag?.some((t) => t.code === 'SUBSETTED');
    const summary = (await search(`/fhir/Patient?_id=${ids.jo}&_summary=true`)).entry[0].resource;
    expect(summary.name).toBeDefined();
    expect(summary.maritalStatus).toBeUndefined();
    expect(summary.text).toBeUndefined();
    expect(subsetted(summary)).toBe(true);
    const data = (await search(`/fhir/Patient?_id=${ids.jo}&_summary=data`)).entry[0].resource;
    expect(data.text).toBeUndefined();
    expect(data.maritalStatus).toBeDefined();
    const text = (await search(`/fhir/Patient?_id=${ids.jo}&_summary=text`)).entry[0].resource;
    expect(text.text).toBeDefined();
    expect(text.name).toBeUndefined();
    const elements = (await search(`/fhir/Patient?_id=${ids.jo}&_elements=gender,birthDate`)).entry[0].resource;
    expect(Object.keys(elements).sort()).toEqual(['birthDate', 'gender', 'id', 'meta', 'resourceType']);
    expect(subsetted(elements)).toBe(true);
    await search(`/fhir/Patient?_summary=some`, 400);
  });
});
