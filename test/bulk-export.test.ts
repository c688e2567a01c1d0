// FHIR Bulk Data export through HTTP (export.html): the asynchronous cycle,
// its parameters, cancellation, clients kept apart, expiry, and the
// commissioner view with no patient identifiers and stable pseudonyms.
import type { Group, Observation, Patient, Resource, ServiceRequest, Task } from '@medplum/fhirtypes';
import { bulkClient, pathOf, PREFER_ASYNC, type BulkClient } from './support/bulk';
import { loadHistory } from './support/history';
import { NHS_NUMBER_SYSTEM, patient } from './support/resources';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const KEY = 'test-pseudonym-key-of-at-least-32-characters';
const OLD = '2025-06-01T10:00:00.000Z';
const NEW = '2026-03-01T10:00:00.000Z';
const BETWEEN = '2026-01-01T00:00:00Z';

const PEOPLE = [
  { nhs: '9434765919', family: 'Okafor', given: 'Adaeze', birthDate: '1958-04-17', line: '14 Quarry Hill' },
  { nhs: '9476719931', family: 'Whitfield', given: 'Bernard', birthDate: '1990-11-02', line: '7 Harehills Lane' },
  { nhs: '9990000026', family: 'Lindqvist', given: 'Maja', birthDate: '2001-01-30', line: '221 Otley Road' },
];

const referral = (id: string, patientId: string): ServiceRequest => ({
  resourceType: 'ServiceRequest',
  id,
  status: 'active',
  intent: 'order',
  code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106' }] },
  subject: { reference: `Patient/${patientId}`, display: 'named in the referral' },
  authoredOn: OLD,
});

const taskOf = (id: string, patientId: string, status: Task['status']): Task => ({
  resourceType: 'Task',
  id,
  status,
  intent: 'order',
  focus: { reference: `ServiceRequest/sr-${id}` },
  for: { reference: `Patient/${patientId}`, identifier: { system: NHS_NUMBER_SYSTEM, value: 'hidden' } },
  authoredOn: OLD,
});

describe.each(storeTargets)('bulk export on the $name store', (target) => {
  let server: TestServer;
  let bulk: BulkClient;
  const patients: Patient[] = [];

  beforeAll(async () => {
    server = await startServer(target, { PSEUDONYM_KEY: KEY, EXPORT_PAGE_SIZE: '2' });
    bulk = bulkClient(server.url);
    for (const p of PEOPLE) {
      const body = patient({
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: p.nhs }],
        name: [{ family: p.family, given: [p.given] }],
        birthDate: p.birthDate,
        address: [{ line: [p.line], city: 'Leeds', postalCode: 'LS2 7UE' }],
        telecom: [{ system: 'phone', value: '0113 496 0000' }],
      });
      const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(body);
      expect(res.status).toBe(201);
      patients.push(res.body);
    }
    // Observations about the first patient, through the API.
    for (const value of [4, 8]) {
      const obs: Observation = {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Life satisfaction' },
        subject: { reference: `Patient/${patients[0].id}`, display: `${PEOPLE[0].given} ${PEOPLE[0].family}` },
        valueInteger: value,
      };
      expect((await server.api.post('/fhir/Observation').set('Content-Type', FHIR_JSON).send(obs)).status).toBe(201);
    }
    // Referrals and Tasks with a past: three last changed in 2025, two in 2026.
    const tasks: [string, number, Task['status'], string][] = [
      ['t1', 0, 'completed', OLD],
      ['t2', 0, 'in-progress', OLD],
      ['t3', 1, 'requested', OLD],
      ['t4', 1, 'completed', NEW],
      ['t5', 2, 'rejected', NEW],
    ];
    await loadHistory(
      server.store,
      tasks.flatMap(([id, who, status, at]) => [
        { resource: referral(`sr-${id}`, patients[who].id as string), at },
        { resource: taskOf(id, patients[who].id as string, status), at },
      ])
    );
  });
  afterAll(async () => {
    await server.stop();
  });

  const idsOf = (resources: Resource[] | undefined) => (resources ?? []).map((r) => r.id).sort();

  test('the whole asynchronous cycle: kick-off 202 with Content-Location, 202 polls with X-Progress, a manifest, NDJSON files', async () => {
    const kickOff = await server.api.get('/fhir/$export?_type=Patient,Task,Observation').set('Prefer', PREFER_ASYNC).set('Accept', FHIR_JSON);
    expect(kickOff.status).toBe(202);
    expect(kickOff.headers['content-location']).toMatch(/^http:\/\/fhir\.test\/fhir\/_export\/[0-9a-f-]{36}$/);
    const statusPath = pathOf(kickOff.headers['content-location']);
    // The job waits a moment before reading (its transaction time must settle), so the first poll is a 202.
    const first = await server.api.get(statusPath);
    expect(first.status).toBe(202);
    expect(first.headers['retry-after']).toMatch(/^\d+$/);
    expect(first.headers['x-progress']).toBeDefined();

    const manifest = await bulk.manifest(statusPath);
    expect(manifest.request).toBe('http://fhir.test/fhir/$export?_type=Patient,Task,Observation');
    expect(Date.parse(manifest.transactionTime)).toBeGreaterThan(Date.parse(NEW));
    expect(manifest.requiresAccessToken).toBe(true);
    expect(manifest.output.map((o) => [o.type, o.count]).sort()).toEqual([
      ['Observation', 2],
      ['Patient', 3],
      ['Task', 5],
    ]);
    const files = await bulk.download(manifest);
    expect(idsOf(files.get('Task')?.resources)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    expect(idsOf(files.get('Patient')?.resources)).toEqual(idsOf(patients));
    // A file written in pages of two is still one NDJSON line per resource.
    expect(files.get('Task')?.lines.every((l) => JSON.parse(l).resourceType === 'Task')).toBe(true);
    // Files and status stay until they expire.
    expect((await server.api.get(statusPath)).status).toBe(200);
  });

  test('_since exports only what changed after the instant', async () => {
    const manifest = await bulk.manifest(await bulk.kickOff(`/fhir/$export?_type=Task,ServiceRequest&_since=${BETWEEN}`));
    const files = await bulk.download(manifest);
    expect(idsOf(files.get('Task')?.resources)).toEqual(['t4', 't5']);
    expect(idsOf(files.get('ServiceRequest')?.resources)).toEqual(['sr-t4', 'sr-t5']);
  });

  test('_typeFilter narrows a type with search criteria; several filters for one type are ORed', async () => {
    const filters = encodeURIComponent('Task?status=completed') + ',' + encodeURIComponent('Task?_id=t3');
    const manifest = await bulk.manifest(await bulk.kickOff(`/fhir/$export?_type=Task,Patient&_typeFilter=${filters}`));
    const files = await bulk.download(manifest);
    expect(idsOf(files.get('Task')?.resources)).toEqual(['t1', 't3', 't4']);
    expect(files.get('Patient')?.resources).toHaveLength(3);
    const since = await bulk.manifest(
      await bulk.kickOff(`/fhir/$export?_type=Task&_since=${BETWEEN}&_typeFilter=${encodeURIComponent('Task?status=completed')}`)
    );
    expect(idsOf((await bulk.download(since)).get('Task')?.resources)).toEqual(['t4']);
  });

  test('Patient/$export reads the Patient compartment; Group/[id]/$export that of its members', async () => {
    const all = await bulk.download(await bulk.manifest(await bulk.kickOff('/fhir/Patient/$export?_type=Patient,Task')));
    expect(idsOf(all.get('Task')?.resources)).toEqual(['t1', 't2', 't3', 't4', 't5']);
    const group: Group = { resourceType: 'Group', type: 'person', actual: true, member: [{ entity: { reference: `Patient/${patients[1].id}` } }] };
    const created = await server.api.post('/fhir/Group').set('Content-Type', FHIR_JSON).send(group);
    const files = await bulk.download(await bulk.manifest(await bulk.kickOff(`/fhir/Group/${created.body.id}/$export?_type=Patient,Task,Observation`)));
    expect(idsOf(files.get('Patient')?.resources)).toEqual([patients[1].id]);
    expect(idsOf(files.get('Task')?.resources)).toEqual(['t3', 't4']);
    expect(files.get('Observation')).toBeUndefined();
    const missing = await server.api.get('/fhir/Group/no-such-group/$export').set('Prefer', PREFER_ASYNC);
    expect([missing.status, missing.body.resourceType]).toEqual([404, 'OperationOutcome']);
  });

  test('POST kick-off takes a Parameters resource', async () => {
    const res = await server.api
      .post('/fhir/$export')
      .set('Prefer', PREFER_ASYNC)
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Parameters',
        parameter: [
          { name: '_type', valueString: 'Task' },
          { name: '_outputFormat', valueString: 'application/fhir+ndjson' },
        ],
      });
    expect(res.status).toBe(202);
    const manifest = await bulk.manifest(pathOf(res.headers['content-location']));
    expect(manifest.output.map((o) => o.type)).toEqual(['Task']);
  });

  test.each([
    ['no Prefer: respond-async', '/fhir/$export', {}],
    ['an output format other than NDJSON', '/fhir/$export?_outputFormat=text/csv', { Prefer: PREFER_ASYNC }],
    ['an unknown type', '/fhir/$export?_type=Tusk', { Prefer: PREFER_ASYNC }],
    ['a bad _since', '/fhir/$export?_since=yesterday', { Prefer: PREFER_ASYNC }],
    ['a _typeFilter with an unknown parameter', `/fhir/$export?_typeFilter=${encodeURIComponent('Task?colour=blue')}`, { Prefer: PREFER_ASYNC }],
    [
      'a _typeFilter for a type not exported',
      `/fhir/$export?_type=Patient&_typeFilter=${encodeURIComponent('Task?status=completed')}`,
      { Prefer: PREFER_ASYNC },
    ],
    ['an unsupported parameter', '/fhir/$export?includeAssociatedData=LatestProvenanceResources', { Prefer: PREFER_ASYNC }],
    ['a type outside the Patient compartment', '/fhir/Patient/$export?_type=Organization', { Prefer: PREFER_ASYNC }],
    ['a type a commissioner may not receive', '/fhir/$export?_type=RelatedPerson&_commissioner=ICB-1', { Prefer: PREFER_ASYNC }],
  ])('a kick-off with %s is refused with 400 and an OperationOutcome', async (_what, path, headers) => {
    const res = await server.api.get(path).set(headers);
    expect([res.status, res.body.resourceType]).toEqual([400, 'OperationOutcome']);
    expect(res.body.issue[0].diagnostics).toBeTruthy();
  });

  test('DELETE on the status URL cancels the job: 202, then its status and files are gone', async () => {
    const statusPath = await bulk.kickOff('/fhir/$export?_type=Task,Patient');
    const cancel = await server.api.delete(statusPath);
    expect(cancel.status).toBe(202);
    const after = await server.api.get(statusPath);
    expect([after.status, after.body.resourceType]).toEqual([404, 'OperationOutcome']);
    expect((await server.api.delete(statusPath)).status).toBe(404);
    // The job notices at its next save and removes anything it wrote meanwhile.
    const jobId = statusPath.split('/').pop() as string;
    await new Promise((r) => setTimeout(r, 2000));
    expect(await server.store.readExportChunk(jobId, 'Task', 0)).toBeUndefined();
    expect((await server.api.get(`${statusPath}/Task.ndjson`)).status).toBe(404);
  });

  test('status and files are served to the client that started the export only', async () => {
    const statusPath = await bulk.kickOff('/fhir/$export?_type=Task', 'commissioner-system-a');
    const manifest = await bulk.manifest(statusPath, 'commissioner-system-a');
    const other = await server.api.get(statusPath).set('X-Client-Id', 'someone-else');
    expect([other.status, other.body.resourceType]).toEqual([403, 'OperationOutcome']);
    expect((await server.api.get(pathOf(manifest.output[0].url))).status).toBe(403);
    expect((await server.api.delete(statusPath)).status).toBe(403);
    expect((await bulk.download(manifest, 'commissioner-system-a')).get('Task')?.resources).toHaveLength(5);
    expect((await server.api.get('/fhir/_export/not-a-job')).status).toBe(404);
  });

  describe('for a commissioner', () => {
    const identifying = PEOPLE.flatMap((p) => [p.nhs, p.family, p.given, p.birthDate, p.line, 'LS2 7UE', '0113 496 0000']);

    test('no line of the export carries an NHS number, name, address or birth date', async () => {
      const manifest = await bulk.manifest(await bulk.kickOff('/fhir/$export?_commissioner=ICB-QWE'));
      const files = await bulk.download(manifest);
      expect([...files.keys()].sort()).toEqual(expect.arrayContaining(['Observation', 'Patient', 'ServiceRequest', 'Task']));
      let lines = 0;
      for (const { lines: fileLines } of files.values()) {
        for (const line of fileLines) {
          lines++;
          for (const value of identifying) expect(line.includes(value) ? `${value} in ${line}` : 'none').toBe('none');
          expect(line).not.toContain(NHS_NUMBER_SYSTEM);
          expect(line).not.toMatch(/"(name|birthDate|address|telecom)"/);
        }
      }
      expect(lines).toBeGreaterThanOrEqual(3 + 2 + 5 + 5);
      // Patients are present, under pseudonyms, with what commissioners may know.
      const exported = files.get('Patient')?.resources as Patient[];
      expect(exported).toHaveLength(3);
      expect(exported.map((p) => p.gender)).toEqual(['female', 'female', 'female']);
      expect(exported.every((p) => /^[0-9a-f]{32}$/.test(p.id as string) && !patients.some((q) => q.id === p.id))).toBe(true);
      // Every Patient reference points at an exported pseudonym.
      const pseudonyms = new Set(exported.map((p) => `Patient/${p.id}`));
      const tasks = files.get('Task')?.resources as Task[];
      expect(tasks.every((t) => pseudonyms.has(t.for?.reference as string) && Object.keys(t.for as object).length === 1)).toBe(true);
      const observations = files.get('Observation')?.resources as Observation[];
      expect(observations.every((o) => pseudonyms.has(o.subject?.reference as string))).toBe(true);
    });

    test('the same patient has the same pseudonym in two exports to one commissioner, and another with another commissioner', async () => {
      const pseudonymOf = async (commissioner: string): Promise<string> => {
        const files = await bulk.download(
          await bulk.manifest(await bulk.kickOff(`/fhir/$export?_type=Task&_commissioner=${commissioner}&_typeFilter=${encodeURIComponent('Task?_id=t1')}`))
        );
        return (files.get('Task')?.resources[0] as Task).for?.reference as string;
      };
      const first = await pseudonymOf('ICB-QWE');
      const second = await pseudonymOf('ICB-QWE');
      expect(first).toMatch(/^Patient\/[0-9a-f]{32}$/);
      expect(second).toBe(first);
      expect(await pseudonymOf('LA-LEEDS')).not.toBe(first);
      // And the pseudonym is the exported Patient's id in a Patient/$export too.
      const files = await bulk.download(await bulk.manifest(await bulk.kickOff(`/fhir/Patient/$export?_type=Patient&_commissioner=ICB-QWE`)));
      expect(files.get('Patient')?.resources.map((p) => `Patient/${p.id}`)).toContain(first);
    });
  });
});

describe.each(storeTargets)('bulk export expiry on the $name store', (target) => {
  test('a completed export is removed when it expires: status 404 and no files', async () => {
    const server = await startServer(target, { EXPORT_RETENTION_SECONDS: '1', EXPORT_LEASE_SECONDS: '1' });
    try {
      const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient());
      expect(res.status).toBe(201);
      const bulk = bulkClient(server.url);
      const statusPath = await bulk.kickOff('/fhir/$export?_type=Patient');
      const manifest = await bulk.manifest(statusPath);
      expect(manifest.output[0].count).toBe(1);
      const jobId = statusPath.split('/').pop() as string;
      const deadline = Date.now() + 15000;
      while (Date.now() < deadline && (await server.api.get(statusPath)).status === 200) await new Promise((r) => setTimeout(r, 200));
      const gone = await server.api.get(statusPath);
      expect([gone.status, gone.body.resourceType]).toEqual([404, 'OperationOutcome']);
      expect(await server.store.readExportChunk(jobId, 'Patient', 0)).toBeUndefined();
    } finally {
      await server.stop();
    }
  });
});
