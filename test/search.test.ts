// Search through HTTP on every store: parameter types, chaining, paging,
// sorting, _include/_revinclude, _summary=count, unknown parameters and
// hostile values that must stay data.
import { FHIR_JSON, startServer, BASE_URL, settled, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { organization, patient, referral, task, NHS_NUMBER_SYSTEM } from './support/resources';

type Entry = { resource: { resourceType: string; id: string; [k: string]: unknown }; search?: { mode: string } };

describe.each(storeTargets)('search [$name]', (target) => {
  let server: TestServer;
  const ids: Record<string, string> = {};

  const post = async (body: { resourceType: string }) => {
    const res = await server.api.post(`/fhir/${body.resourceType}`).set('Content-Type', FHIR_JSON).send(body);
    expect(res.status).toBe(201);
    return res.body.id as string;
  };
  const search = async (url: string, status = 200) => {
    const res = await server.api.get(url);
    expect(res.status).toBe(status);
    return res.body;
  };
  const matchIds = (bundle: { entry?: Entry[] }) => (bundle.entry ?? []).filter((e) => e.search?.mode === 'match').map((e) => e.resource.id);

  beforeAll(async () => {
    server = await startServer(target);
    ids.gp = await post(organization('Y00001'));
    await server.api
      .put('/fhir/Organization/sp-service')
      .set('Content-Type', FHIR_JSON)
      .send(organization('Y00002', { id: 'sp-service' }))
      .expect(201);
    ids.ada = await post(
      patient({
        name: [{ family: 'Lovelace', given: ['Ada'] }],
        birthDate: '1815-12-10',
        gender: 'female',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9990000018' }],
      })
    );
    ids.zoe = await post(
      patient({
        name: [{ family: 'Ærøskøbing', given: ['Zoë'] }],
        birthDate: '1990-06-15',
        gender: 'female',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9990000026' }],
      })
    );
    ids.bob = await post(
      patient({
        name: [{ family: 'Lovell', given: ['Bob'] }],
        birthDate: '1990-01-31',
        gender: 'male',
        identifier: [{ system: 'urn:other', value: '9990000018' }],
      })
    );
    ids.dot = await post(
      patient({ name: [{ family: '.*', given: ['Regex'] }], birthDate: '2000-01-01', gender: 'unknown', identifier: [{ system: 'urn:x', value: 'dot' }] })
    );
    const gp = `Organization/${ids.gp}`;
    // Onward referrals (not coded as social prescribing referrals), so that no
    // workflow writes run and the suite is about search alone on every store.
    const onward = { code: { coding: [{ system: 'http://snomed.info/sct', code: '390893007' }] } };
    ids.srAda = await post(referral(`Patient/${ids.ada}`, gp, { ...onward, authoredOn: '2026-11-02T09:30:00Z' }));
    ids.srBob = await post(referral(`Patient/${ids.bob}`, gp, { ...onward, authoredOn: '2026-10-01T09:30:00Z', status: 'completed' }));
    ids.taskAda = await post(task(`ServiceRequest/${ids.srAda}`, `Patient/${ids.ada}`, gp, { owner: { reference: 'Organization/sp-service' } }));
    ids.taskBob = await post(
      task(`ServiceRequest/${ids.srBob}`, `Patient/${ids.bob}`, gp, {
        status: 'completed',
        output: [
          {
            type: { coding: [{ system: 'https://social-prescribing.example.org/fhir/CodeSystem/sp-task-output-type', code: 'resulting-activity' }] },
            valueString: 'Joined a walking group',
          },
        ],
      })
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  describe('token', () => {
    test('system|code, code alone, and |code', async () => {
      expect(matchIds(await search(`/fhir/Patient?identifier=${NHS_NUMBER_SYSTEM}|9990000018`))).toEqual([ids.ada]);
      expect(matchIds(await search('/fhir/Patient?identifier=9990000018')).sort()).toEqual([ids.ada, ids.bob].sort());
      expect(matchIds(await search('/fhir/Patient?gender=male'))).toEqual([ids.bob]);
      expect(matchIds(await search('/fhir/Patient?identifier=|9990000018'))).toEqual([]);
    });

    test('system| matches any code in the system, and commas mean OR', async () => {
      expect(matchIds(await search('/fhir/Patient?identifier=urn:other|')).sort()).toEqual([ids.bob]);
      expect(matchIds(await search('/fhir/Patient?gender=male,unknown')).sort()).toEqual([ids.bob, ids.dot].sort());
    });

    test(':not excludes the code', async () => {
      const found = matchIds(await search('/fhir/Patient?gender:not=female'));
      expect(found.sort()).toEqual([ids.bob, ids.dot].sort());
    });

    test(':missing finds resources with and without a value', async () => {
      expect(matchIds(await search('/fhir/Task?owner:missing=true'))).toEqual([ids.taskBob]);
      expect(matchIds(await search('/fhir/Task?owner:missing=false'))).toEqual([ids.taskAda]);
    });
  });

  describe('string', () => {
    test('matches the start of a name, ignoring case and accents', async () => {
      expect(matchIds(await search('/fhir/Patient?name=LOVE')).sort()).toEqual([ids.ada, ids.bob].sort());
      expect(matchIds(await search('/fhir/Patient?name=aeroskobing'))).toEqual([]);
      expect(matchIds(await search('/fhir/Patient?name=ærø'))).toEqual([ids.zoe]);
      expect(matchIds(await search('/fhir/Patient?given=zoe'))).toEqual([ids.zoe]);
    });

    test(':exact matches the whole string, case-sensitively', async () => {
      expect(matchIds(await search('/fhir/Patient?family:exact=Lovelace'))).toEqual([ids.ada]);
      expect(matchIds(await search('/fhir/Patient?family:exact=lovelace'))).toEqual([]);
      expect(matchIds(await search('/fhir/Patient?family:exact=Love'))).toEqual([]);
    });

    test('regular expression metacharacters are matched literally', async () => {
      expect(matchIds(await search('/fhir/Patient?name=.*'))).toEqual([ids.dot]);
      expect(matchIds(await search('/fhir/Patient?name=.'))).toEqual([ids.dot]);
      expect(matchIds(await search(`/fhir/Patient?name=${encodeURIComponent('^(a+)+$')}`))).toEqual([]);
      expect(matchIds(await search(`/fhir/Patient?name=${encodeURIComponent('[')}`))).toEqual([]);
      expect(matchIds(await search(`/fhir/Patient?name=${encodeURIComponent('\\')}`))).toEqual([]);
    });
  });

  describe('hostile parameters', () => {
    test('a MongoDB operator in a parameter name is an unknown parameter: 400', async () => {
      const body = await search('/fhir/Patient?name[$ne]=x', 400);
      expect(body.resourceType).toBe('OperationOutcome');
      expect((await search('/fhir/Patient?_id[$gt]=', 400)).resourceType).toBe('OperationOutcome');
      expect((await search('/fhir/Patient?$where=1', 400)).resourceType).toBe('OperationOutcome');
    });

    test('a MongoDB operator as a value is just a value', async () => {
      expect(matchIds(await search(`/fhir/Patient?name=${encodeURIComponent('{"$ne":"x"}')}`))).toEqual([]);
      expect(matchIds(await search(`/fhir/Patient?gender=${encodeURIComponent('{"$gt":""}')}`))).toEqual([]);
      expect(matchIds(await search('/fhir/Patient?_id=$gt'))).toEqual([]);
    });

    test('unknown parameters are refused, or ignored with Prefer: handling=lenient', async () => {
      const strict = await search('/fhir/Patient?colour=blue', 400);
      expect(strict.issue[0].diagnostics).toContain('colour');
      const res = await server.api.get('/fhir/Patient?colour=blue&gender=male').set('Prefer', 'handling=lenient');
      expect(res.status).toBe(200);
      expect(matchIds(res.body)).toEqual([ids.bob]);
      expect(res.body.link[0].url).not.toContain('colour');
    });

    test('unknown modifiers and malformed values are refused with 400', async () => {
      await search('/fhir/Patient?gender:foo=male', 400);
      await search('/fhir/Patient?birthdate=yesterday', 400);
      await search('/fhir/Patient?_count=lots', 400);
      await search('/fhir/Patient?_sort=colour', 400);
    });
  });

  describe('reference', () => {
    test('by Type/id, by plain id, by type modifier, and by absolute URL', async () => {
      expect(matchIds(await search(`/fhir/ServiceRequest?subject=Patient/${ids.ada}`))).toEqual([ids.srAda]);
      expect(matchIds(await search(`/fhir/ServiceRequest?subject=${ids.ada}`))).toEqual([ids.srAda]);
      expect(matchIds(await search(`/fhir/ServiceRequest?subject:Patient=${ids.bob}`))).toEqual([ids.srBob]);
      expect(matchIds(await search(`/fhir/ServiceRequest?subject=${BASE_URL}/Patient/${ids.ada}`))).toEqual([ids.srAda]);
    });

    test('chained: subject:Patient.identifier=system|value', async () => {
      const bundle = await search(`/fhir/ServiceRequest?subject:Patient.identifier=${NHS_NUMBER_SYSTEM}|9990000018`);
      expect(matchIds(bundle)).toEqual([ids.srAda]);
      expect(matchIds(await search('/fhir/ServiceRequest?subject.name=lovell'))).toEqual([ids.srBob]);
      expect(matchIds(await search('/fhir/ServiceRequest?subject:Patient.name=nobody'))).toEqual([]);
    });

    test('two-level chain: Task by its referral subject NHS number', async () => {
      const bundle = await search(`/fhir/Task?focus:ServiceRequest.subject:Patient.identifier=${NHS_NUMBER_SYSTEM}|9990000018`);
      expect(matchIds(bundle)).toEqual([ids.taskAda]);
    });
  });

  describe('date', () => {
    test('equality covers the precision of the value', async () => {
      expect(matchIds(await search('/fhir/Patient?birthdate=1990')).sort()).toEqual([ids.zoe, ids.bob].sort());
      expect(matchIds(await search('/fhir/Patient?birthdate=1990-06'))).toEqual([ids.zoe]);
      expect(matchIds(await search('/fhir/Patient?birthdate=1990-06-15'))).toEqual([ids.zoe]);
    });

    test('prefixes gt, lt, ge, le, ne, sa, eb', async () => {
      expect(matchIds(await search('/fhir/Patient?birthdate=gt1990-01-31')).sort()).toEqual([ids.zoe, ids.dot].sort());
      expect(matchIds(await search('/fhir/Patient?birthdate=ge1990-01-31')).sort()).toEqual([ids.zoe, ids.bob, ids.dot].sort());
      expect(matchIds(await search('/fhir/Patient?birthdate=lt1990')).sort()).toEqual([ids.ada]);
      expect(matchIds(await search('/fhir/Patient?birthdate=le1990-01-31')).sort()).toEqual([ids.ada, ids.bob].sort());
      expect(matchIds(await search('/fhir/Patient?birthdate=ne1990')).sort()).toEqual([ids.ada, ids.dot].sort());
      expect(matchIds(await search('/fhir/Patient?birthdate=sa1990-12-31'))).toEqual([ids.dot]);
      expect(matchIds(await search('/fhir/Patient?birthdate=eb1900'))).toEqual([ids.ada]);
      expect(matchIds(await search('/fhir/Patient?birthdate=ge1990&birthdate=lt1990-06')).sort()).toEqual([ids.bob]);
    });

    test('dateTime values with time zones', async () => {
      expect(matchIds(await search('/fhir/ServiceRequest?authored=2026-11-02'))).toEqual([ids.srAda]);
      expect(matchIds(await search(`/fhir/ServiceRequest?authored=${encodeURIComponent('gt2026-11-02T10:00:00+01:00')}`))).toEqual([ids.srAda]);
      expect(matchIds(await search(`/fhir/ServiceRequest?authored=${encodeURIComponent('gt2026-11-02T10:31:00+01:00')}`))).toEqual([]);
    });

    test('_lastUpdated selects by the time of the last write', async () => {
      // A _lastUpdated search answers what has settled (docs/storage.md, "Polling").
      await settled();
      const before = new Date(Date.now() - 60000).toISOString();
      expect(matchIds(await search(`/fhir/Task?_lastUpdated=gt${before}`)).sort()).toEqual([ids.taskAda, ids.taskBob].sort());
      expect(matchIds(await search('/fhir/Task?_lastUpdated=lt2000-01-01'))).toEqual([]);
    });
  });

  test('_id selects by id', async () => {
    expect(matchIds(await search(`/fhir/Patient?_id=${ids.ada},${ids.bob}`)).sort()).toEqual([ids.ada, ids.bob].sort());
  });

  describe('paging and sorting', () => {
    test('_count pages with self and next links until the end', async () => {
      const seen: string[] = [];
      let url: string | undefined = '/fhir/Patient?_count=3&_sort=birthdate';
      let pages = 0;
      while (url) {
        const bundle = await search(url);
        expect(bundle.total).toBe(4);
        expect(bundle.link.find((l: { relation: string }) => l.relation === 'self')).toBeDefined();
        seen.push(...matchIds(bundle));
        const next = bundle.link.find((l: { relation: string }) => l.relation === 'next');
        url = next ? (next.url as string).replace(BASE_URL, '/fhir') : undefined;
        pages++;
      }
      expect(pages).toBe(2);
      expect(seen).toEqual([ids.ada, ids.bob, ids.zoe, ids.dot]);
    });

    test('_sort ascending and descending on date, string and _lastUpdated', async () => {
      expect(matchIds(await search('/fhir/Patient?_sort=-birthdate'))).toEqual([ids.dot, ids.zoe, ids.bob, ids.ada]);
      // Æ is a letter of its own, not A with an accent, so it sorts after L.
      expect(matchIds(await search('/fhir/Patient?_sort=family&gender=female,male'))).toEqual([ids.ada, ids.bob, ids.zoe]);
      expect(matchIds(await search('/fhir/Patient?_sort=-_lastUpdated'))).toEqual([ids.dot, ids.bob, ids.zoe, ids.ada]);
      expect(matchIds(await search('/fhir/Patient?_sort=gender,-birthdate'))).toEqual([ids.zoe, ids.ada, ids.bob, ids.dot]);
    });

    test('_summary=count returns only the total', async () => {
      const bundle = await search('/fhir/Patient?_summary=count&gender=female');
      expect(bundle.total).toBe(2);
      expect(bundle.entry).toBeUndefined();
    });
  });

  describe('_include and _revinclude', () => {
    test('_include=Task:focus brings the referral of each task', async () => {
      const bundle = await search(`/fhir/Task?_id=${ids.taskAda}&_include=Task:focus`);
      expect(matchIds(bundle)).toEqual([ids.taskAda]);
      const included = bundle.entry.filter((e: Entry) => e.search?.mode === 'include').map((e: Entry) => `${e.resource.resourceType}/${e.resource.id}`);
      expect(included).toEqual([`ServiceRequest/${ids.srAda}`]);
    });

    test('_include with a target type, and several includes', async () => {
      const bundle = await search(`/fhir/Task?_id=${ids.taskBob}&_include=Task:subject:Patient&_include=Task:focus`);
      const included = bundle.entry.filter((e: Entry) => e.search?.mode === 'include').map((e: Entry) => e.resource.id);
      expect(included.sort()).toEqual([ids.bob, ids.srBob].sort());
    });

    test('_revinclude=Task:focus brings the tasks of each referral', async () => {
      const bundle = await search(`/fhir/ServiceRequest?_id=${ids.srAda},${ids.srBob}&_revinclude=Task:focus`);
      const included = bundle.entry.filter((e: Entry) => e.search?.mode === 'include').map((e: Entry) => e.resource.id);
      expect(included.sort()).toEqual([ids.taskAda, ids.taskBob].sort());
    });

    test('_include on a parameter that is not a reference is refused', async () => {
      await search('/fhir/Task?_include=Task:status', 400);
    });
  });

  test('POST _search takes form parameters and answers like GET', async () => {
    const res = await server.api.post('/fhir/Patient/_search').type('form').send({ gender: 'male' });
    expect(res.status).toBe(200);
    expect(matchIds(res.body)).toEqual([ids.bob]);
  });
});
