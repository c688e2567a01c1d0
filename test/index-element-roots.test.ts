// The indexer skips a search parameter whose expression starts from elements
// the resource does not have (base/expression-roots.ts). These searches reach
// values through the forms that skip must not miss: a second step (name.given,
// meta.tag) where only some repeats have it, a choice of type
// (occurrence[x]), a where() on a reference, and an expression it cannot
// analyse (Patient.deceased), through HTTP on every store.
import type { ServiceRequest } from '@medplum/fhirtypes';
import { createResource, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { organization, patient, referral } from './support/resources';

type Entry = { resource: { id: string }; search?: { mode: string } };

describe.each(storeTargets)('index values reached from the elements an expression starts from [$name]', (target) => {
  let server: TestServer;
  const ids: Record<string, string> = {};
  const post = async (body: object): Promise<string> => {
    const res = await createResource(server, body);
    if (res.status !== 201) throw new Error(res.text);
    return res.body.id as string;
  };
  const found = async (url: string): Promise<string[]> => {
    const res = await server.api.get(url);
    expect([res.status, res.status === 200 ? 'ok' : res.body]).toEqual([200, 'ok']);
    return (res.body.entry ?? [])
      .filter((e: Entry) => e.search?.mode === 'match')
      .map((e: Entry) => e.resource.id)
      .sort();
  };

  beforeAll(async () => {
    server = await startServer(target);
    // The second name has the given name; the first has none.
    ids.zed = await post(patient({ name: [{ family: 'Ames' }, { given: ['Zedekiah'] }] }));
    ids.tagged = await post(patient({ name: [{ family: 'Tagg' }], meta: { tag: [{ system: 'urn:test:tags', code: 'pilot' }] } }));
    ids.died = await post(patient({ name: [{ family: 'Dunn' }], deceasedDateTime: '2026-10-01' }));
    ids.alive = await post(patient({ name: [{ family: 'Ali' }], deceasedBoolean: false }));
    const practice = `Organization/${await post(organization('B86001'))}`;
    // Requests for physiotherapy, not social prescribing referrals: no Task comes with them, so every store can write them alone.
    const request = (subject: string, overrides: Partial<ServiceRequest> = {}) =>
      referral(subject, practice, { code: { coding: [{ system: 'http://snomed.info/sct', code: '91251008' }] }, ...overrides });
    ids.inPeriod = await post(request(`Patient/${ids.zed}`, { occurrencePeriod: { start: '2027-03-01', end: '2027-03-31' } }));
    ids.onDay = await post(request(`Patient/${ids.tagged}`, { occurrenceDateTime: '2027-02-14' }));
    ids.undated = await post(request(`Patient/${ids.died}`));
  });
  afterAll(async () => {
    await server.stop();
  });

  test('a value under a second step, held by only some repeats of the first', async () => {
    expect(await found('/fhir/Patient?given=Zedekiah')).toEqual([ids.zed]);
    expect(await found('/fhir/Patient?_tag=urn:test:tags|pilot')).toEqual([ids.tagged]);
  });

  test('a choice of type, whichever type the resource chose', async () => {
    expect(await found('/fhir/ServiceRequest?occurrence=2027-03')).toEqual([ids.inPeriod]);
    expect(await found('/fhir/ServiceRequest?occurrence=2027-02-14')).toEqual([ids.onDay]);
    expect(await found('/fhir/ServiceRequest?occurrence=ge2027-01-01')).toEqual([ids.inPeriod, ids.onDay].sort());
  });

  test('a reference filtered by where()', async () => {
    expect(await found(`/fhir/ServiceRequest?patient=Patient/${ids.died}`)).toEqual([ids.undated]);
  });

  test('an expression that can have a value without its elements is always evaluated', async () => {
    expect(await found('/fhir/Patient?deceased=true')).toEqual([ids.died]);
    expect(await found('/fhir/Patient?deceased=false&family=Ali,Ames,Tagg')).toEqual([ids.alive, ids.tagged, ids.zed].sort());
  });
});
