// Quantity and number (with the precision of the value) and near, through
// HTTP on every store.
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { organization } from './support/resources';

type Entry = { resource: { id: string }; search?: { mode: string } };
const UCUM = 'http://unitsofmeasure.org';

describe.each(storeTargets)('quantity, number and near [$name]', (target) => {
  let server: TestServer;
  const ids: Record<string, string> = {};
  const post = async (body: object) => {
    const res = await server.api
      .post(`/fhir/${(body as { resourceType: string }).resourceType}`)
      .set('Content-Type', FHIR_JSON)
      .send(body);
    if (res.status !== 201) throw new Error(res.text);
    return res.body.id as string;
  };
  const found = async (url: string, status = 200) => {
    const res = await server.api.get(url);
    expect([res.status, res.status === status ? 'ok' : res.body]).toEqual([status, 'ok']);
    return (res.body.entry ?? []).filter((e: Entry) => e.search?.mode === 'match').map((e: Entry) => e.resource.id);
  };
  const weight = (value: number, code = 'kg') =>
    post({ resourceType: 'Observation', status: 'final', code: { text: 'Body weight' }, valueQuantity: { value, unit: code, system: UCUM, code } });
  const place = (name: string, latitude: number, longitude: number) => post({ resourceType: 'Location', name, position: { latitude, longitude } });

  beforeAll(async () => {
    server = await startServer(target);
    ids.w70 = await weight(70);
    ids.w705 = await weight(70.5);
    ids.w80 = await weight(80);
    ids.g70 = await weight(70000, 'g');
    // Leeds city centre is 53.7997, -1.5492; distances below are from there.
    ids.millennium = await place('Millennium Square', 53.8015, -1.5486); // ~0.2 km
    ids.meanwood = await place('Meanwood Park', 53.8366, -1.5776); // ~4.5 km
    ids.harrogate = await place('Harrogate', 53.9921, -1.5418); // ~21 km
    ids.york = await place('York', 53.959, -1.0815); // ~35 km
    const org = await post(organization('Y77777'));
    ids.choir = await post({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'urn:oruk:service', value: 'choir' }],
      providedBy: { reference: `Organization/${org}` },
      location: [{ reference: `Location/${ids.meanwood}` }],
      name: 'Meanwood choir',
    });
    ids.walks = await post({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'urn:oruk:service', value: 'walks' }],
      providedBy: { reference: `Organization/${org}` },
      location: [{ reference: `Location/${ids.york}` }],
      name: 'York walks',
    });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('quantity by value with prefixes and by unit', async () => {
    expect((await found(`/fhir/Observation?value-quantity=70|${UCUM}|kg`)).sort()).toEqual([ids.w70].sort());
    expect((await found(`/fhir/Observation?value-quantity=gt70|${UCUM}|kg`)).sort()).toEqual([ids.w705, ids.w80].sort());
    expect((await found('/fhir/Observation?value-quantity=le70.5||kg')).sort()).toEqual([ids.w70, ids.w705].sort());
    expect((await found(`/fhir/Observation?value-quantity=70000|${UCUM}|g`)).sort()).toEqual([ids.g70]);
    await found('/fhir/Observation?value-quantity=heavy', 400);
  });

  test('eq takes the precision of the value written', async () => {
    // 70 means [69.5, 70.5): 70 matches, 70.5 does not; 70.5 means [70.45, 70.55).
    expect((await found('/fhir/Observation?value-quantity=70||kg')).sort()).toEqual([ids.w70]);
    expect((await found('/fhir/Observation?value-quantity=70.5||kg')).sort()).toEqual([ids.w705]);
    expect((await found('/fhir/Observation?value-quantity=7e1||kg')).sort()).toEqual([ids.w70]);
  });

  test('composite: a component code with its value, and a code with a concept', async () => {
    const loinc = 'http://loinc.org';
    const bp = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: loinc, code: '85354-9' }] },
      component: [
        { code: { coding: [{ system: loinc, code: '8480-6' }] }, valueQuantity: { value: 120, system: UCUM, code: 'mm[Hg]' } },
        { code: { coding: [{ system: loinc, code: '8462-4' }] }, valueQuantity: { value: 80, system: UCUM, code: 'mm[Hg]' } },
      ],
    });
    const need = await post({
      resourceType: 'Observation',
      status: 'final',
      code: { coding: [{ system: 'http://snomed.info/sct', code: '422650009' }] },
      valueCodeableConcept: { coding: [{ system: 'urn:severity', code: 'high' }] },
    });
    expect(await found(`/fhir/Observation?component-code-value-quantity=${loinc}|8480-6$gt110`)).toEqual([bp]);
    // 80 is the diastolic value: systolic > 110 does not mix the two components.
    expect(await found(`/fhir/Observation?component-code-value-quantity=${loinc}|8462-4$gt110`)).toEqual([]);
    expect(await found(`/fhir/Observation?component-code-value-quantity=8462-4$80||mm[Hg]`)).toEqual([bp]);
    expect(await found(`/fhir/Observation?combo-code-value-quantity=${loinc}|8480-6$120`)).toEqual([bp]);
    expect(await found('/fhir/Observation?code-value-concept=http://snomed.info/sct|422650009$urn:severity|high')).toEqual([need]);
    expect(await found('/fhir/Observation?code-value-concept=422650009$low')).toEqual([]);
    await found('/fhir/Observation?code-value-concept=nodollar', 400);
  });

  test('near returns locations within the distance, nearest first', async () => {
    expect(await found('/fhir/Location?near=53.7997|-1.5492|25|km')).toEqual([ids.millennium, ids.meanwood, ids.harrogate]);
    expect(await found('/fhir/Location?near=53.7997|-1.5492|5000|m')).toEqual([ids.millennium, ids.meanwood]);
    expect(await found('/fhir/Location?near=53.7997|-1.5492|50|mi')).toEqual([ids.millennium, ids.meanwood, ids.harrogate, ids.york]);
    await found('/fhir/Location?near=north', 400);
    await found('/fhir/Location?near=95|0|1|km', 400);
  });

  test('services near a point, through their location', async () => {
    expect(await found('/fhir/HealthcareService?location.near=53.7997|-1.5492|10|km')).toEqual([ids.choir]);
    expect((await found('/fhir/HealthcareService?location.near=53.7997|-1.5492|40|km')).sort()).toEqual([ids.choir, ids.walks].sort());
  });

  test('near pages by offset with a total', async () => {
    const res = await server.api.get('/fhir/Location?near=53.7997|-1.5492|50|mi&_count=2');
    expect(res.body.total).toBe(4);
    expect(res.body.entry.map((e: Entry) => e.resource.id)).toEqual([ids.millennium, ids.meanwood]);
    const next = res.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
    const page2 = await server.api.get(next.replace(/^.*\/fhir/, '/fhir'));
    expect(page2.body.entry.map((e: Entry) => e.resource.id)).toEqual([ids.harrogate, ids.york]);
  });
});
