// The FHIR RESTful interactions through HTTP, on every store (the storage
// contract as users see it): create, read, vread, update, patch, delete,
// conditional variants, history and the HTTP headers that go with them.
import { FHIR_JSON, startServer, BASE_URL, settled, TEST_SETTLE_MS, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { patient, NHS_NUMBER_SYSTEM } from './support/resources';

describe.each(storeTargets)('interactions [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target, { WRITE_SETTLE_MS: String(TEST_SETTLE_MS) });
  });
  afterAll(async () => {
    await server.stop();
  });

  const create = async (body: object = patient()) => {
    const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(body);
    expect(res.status).toBe(201);
    return res;
  };

  test('create answers 201 with Location, ETag, Last-Modified and the stored resource', async () => {
    const res = await create(patient({ id: 'client-chosen' }));
    expect(res.headers['content-type']).toMatch(/^application\/fhir\+json/);
    expect(res.body.id).toMatch(/^[A-Za-z0-9\-.]{1,64}$/);
    // The server assigns the id on create; one in the body is ignored.
    expect(res.body.id).not.toBe('client-chosen');
    expect(res.body.meta.versionId).toBe('1');
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/${res.body.id}/_history/1`);
    expect(res.headers.etag).toBe('W/"1"');
    expect(new Date(res.headers['last-modified']).getTime()).toBeGreaterThan(0);
  });

  test('application/json is accepted as well as application/fhir+json', async () => {
    const res = await server.api.post('/fhir/Patient').set('Content-Type', 'application/json').send(patient());
    expect(res.status).toBe(201);
  });

  test('read returns the current version and vread any version', async () => {
    const { body: created } = await create();
    const read = await server.api.get(`/fhir/Patient/${created.id}`);
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created);
    expect(read.headers.etag).toBe('W/"1"');

    const updated = await server.api
      .put(`/fhir/Patient/${created.id}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...created, gender: 'male' });
    expect(updated.status).toBe(200);
    expect(updated.body.meta.versionId).toBe('2');

    const v1 = await server.api.get(`/fhir/Patient/${created.id}/_history/1`);
    expect(v1.status).toBe(200);
    expect(v1.body.gender).toBe('female');
    const v2 = await server.api.get(`/fhir/Patient/${created.id}/_history/2`);
    expect(v2.body.gender).toBe('male');
    expect((await server.api.get(`/fhir/Patient/${created.id}/_history/3`)).status).toBe(404);
  });

  test('update of an unknown id with a client id creates it (update-as-create)', async () => {
    const res = await server.api
      .put('/fhir/Patient/my-own-id')
      .set('Content-Type', FHIR_JSON)
      .send(patient({ id: 'my-own-id' }));
    expect(res.status).toBe(201);
    expect(res.body.id).toBe('my-own-id');
    expect(res.headers.location).toBe(`${BASE_URL}/Patient/my-own-id/_history/1`);
  });

  test('update rejects a body whose id differs from the URL', async () => {
    const res = await server.api
      .put('/fhir/Patient/abc')
      .set('Content-Type', FHIR_JSON)
      .send(patient({ id: 'xyz' }));
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('update with a stale If-Match answers 412 and changes nothing', async () => {
    const { body: created } = await create();
    await server.api.put(`/fhir/Patient/${created.id}`).set('Content-Type', FHIR_JSON).set('If-Match', 'W/"1"').send(created).expect(200);
    const stale = await server.api
      .put(`/fhir/Patient/${created.id}`)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', 'W/"1"')
      .send({ ...created, gender: 'other' });
    expect(stale.status).toBe(412);
    expect(stale.body.resourceType).toBe('OperationOutcome');
    const current = await server.api.get(`/fhir/Patient/${created.id}`);
    expect(current.body.meta.versionId).toBe('2');
    expect(current.body.gender).toBe('female');
  });

  test('conditional create with If-None-Exist creates once, then returns the match', async () => {
    const value = `cc-${Date.now()}`;
    const body = patient({ identifier: [{ system: 'urn:test', value }] });
    const first = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=urn:test|${value}`).send(body);
    expect(first.status).toBe(201);
    const second = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', `identifier=urn:test|${value}`).send(body);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    const search = await server.api.get(`/fhir/Patient?identifier=urn:test|${value}`);
    expect(search.body.total).toBe(1);
  });

  test('conditional create with criteria matching several resources answers 412', async () => {
    const body = patient({ identifier: [{ system: 'urn:multi', value: 'same' }] });
    await create(body);
    await create(body);
    const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('If-None-Exist', 'identifier=urn:multi|same').send(body);
    expect(res.status).toBe(412);
  });

  test('conditional update creates when nothing matches and updates the single match', async () => {
    const value = `cu-${Date.now()}`;
    const url = `/fhir/Patient?identifier=urn:cond|${value}`;
    const body = patient({ identifier: [{ system: 'urn:cond', value }] });
    const created = await server.api.put(url).set('Content-Type', FHIR_JSON).send(body);
    expect(created.status).toBe(201);
    const updated = await server.api
      .put(url)
      .set('Content-Type', FHIR_JSON)
      .send({ ...body, gender: 'male' });
    expect(updated.status).toBe(200);
    expect(updated.body.id).toBe(created.body.id);
    expect(updated.body.meta.versionId).toBe('2');
  });

  test('patch applies a JSON Patch and keeps the version chain', async () => {
    const { body: created } = await create();
    const res = await server.api
      .patch(`/fhir/Patient/${created.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .set('If-Match', 'W/"1"')
      .send([
        { op: 'replace', path: '/gender', value: 'male' },
        { op: 'add', path: '/active', value: true },
      ]);
    expect(res.status).toBe(200);
    expect(res.body.gender).toBe('male');
    expect(res.body.active).toBe(true);
    expect(res.body.meta.versionId).toBe('2');
  });

  test('patch that would make the resource invalid answers 422 and stores nothing', async () => {
    const { body: created } = await create();
    const res = await server.api
      .patch(`/fhir/Patient/${created.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'add', path: '/birthDate', value: 'not-a-date' }]);
    expect(res.status).toBe(422);
    expect((await server.api.get(`/fhir/Patient/${created.id}`)).body.meta.versionId).toBe('1');
  });

  test('patch with a malformed operation answers 400', async () => {
    const { body: created } = await create();
    const res = await server.api
      .patch(`/fhir/Patient/${created.id}`)
      .set('Content-Type', 'application/json-patch+json')
      .send([{ op: 'remove', path: '/nothing/here' }]);
    expect(res.status).toBe(400);
    expect(res.body.resourceType).toBe('OperationOutcome');
  });

  test('patch with a FHIR body instead of JSON Patch answers 415', async () => {
    const { body: created } = await create();
    const res = await server.api.patch(`/fhir/Patient/${created.id}`).set('Content-Type', FHIR_JSON).send(created);
    expect(res.status).toBe(415);
  });

  test('delete is soft: read answers 410, history keeps every version, and delete again is harmless', async () => {
    const { body: created } = await create();
    const del = await server.api.delete(`/fhir/Patient/${created.id}`);
    expect(del.status).toBe(200);
    expect(del.body.resourceType).toBe('OperationOutcome');
    const read = await server.api.get(`/fhir/Patient/${created.id}`);
    expect(read.status).toBe(410);
    expect(read.body.resourceType).toBe('OperationOutcome');
    expect((await server.api.get(`/fhir/Patient/${created.id}/_history/1`)).status).toBe(200);
    const history = await server.api.get(`/fhir/Patient/${created.id}/_history`);
    expect(history.body.entry.map((e: { request: { method: string } }) => e.request.method)).toEqual(['DELETE', 'POST']);
    expect((await server.api.delete(`/fhir/Patient/${created.id}`)).status).toBe(200);
    // Deleted resources are not found by search.
    const search = await server.api.get(`/fhir/Patient?_id=${created.id}`);
    expect(search.body.total).toBe(0);
  });

  test('delete of an unknown id answers 404', async () => {
    expect((await server.api.delete('/fhir/Patient/never-was')).status).toBe(404);
  });

  test('conditional delete removes the single match', async () => {
    const value = `cd-${Date.now()}`;
    const { body: created } = await create(patient({ identifier: [{ system: 'urn:del', value }] }));
    const res = await server.api.delete(`/fhir/Patient?identifier=urn:del|${value}`);
    expect(res.status).toBe(200);
    expect((await server.api.get(`/fhir/Patient/${created.id}`)).status).toBe(410);
  });

  test('a resource can be recreated by update after delete', async () => {
    const { body: created } = await create();
    await server.api.delete(`/fhir/Patient/${created.id}`).expect(200);
    const res = await server.api.put(`/fhir/Patient/${created.id}`).set('Content-Type', FHIR_JSON).send(created);
    expect(res.status).toBe(201);
    expect(res.body.meta.versionId).toBe('3');
  });

  test('Prefer: return=minimal sends no body; return=OperationOutcome sends the outcome', async () => {
    const minimal = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=minimal').send(patient());
    expect(minimal.status).toBe(201);
    expect(minimal.text).toBe('');
    expect(minimal.headers.location).toMatch(/\/Patient\/.+\/_history\/1$/);
    const outcome = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=OperationOutcome').send(patient());
    expect(outcome.status).toBe(201);
    expect(outcome.body.resourceType).toBe('OperationOutcome');
    const representation = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).set('Prefer', 'return=representation').send(patient());
    expect(representation.body.resourceType).toBe('Patient');
  });

  describe('history', () => {
    test('instance history lists versions newest first with _count paging', async () => {
      const { body: created } = await create();
      for (const gender of ['male', 'other', 'unknown']) {
        await server.api
          .put(`/fhir/Patient/${created.id}`)
          .set('Content-Type', FHIR_JSON)
          .send({ ...created, gender })
          .expect(200);
      }
      const page1 = await server.api.get(`/fhir/Patient/${created.id}/_history?_count=2`);
      expect(page1.status).toBe(200);
      expect(page1.body.type).toBe('history');
      expect(page1.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId)).toEqual(['4', '3']);
      const next = page1.body.link.find((l: { relation: string }) => l.relation === 'next').url as string;
      const page2 = await server.api.get(next.replace(BASE_URL, '/fhir'));
      expect(page2.body.entry.map((e: { resource: { meta: { versionId: string } } }) => e.resource.meta.versionId)).toEqual(['2', '1']);
    });

    test('type and system history honour _since', async () => {
      const before = await create();
      await new Promise((r) => setTimeout(r, 5));
      const since = new Date().toISOString();
      await new Promise((r) => setTimeout(r, 5));
      const after = await create();
      // History since an instant answers what has settled (docs/storage.md, "Polling").
      await settled();
      const typeHistory = await server.api.get(`/fhir/Patient/_history?_since=${since}&_count=1000`);
      const ids = typeHistory.body.entry.map((e: { resource: { id: string } }) => e.resource.id);
      expect(ids).toContain(after.body.id);
      expect(ids).not.toContain(before.body.id);
      const systemHistory = await server.api.get(`/fhir/_history?_since=${since}`);
      expect(systemHistory.status).toBe(200);
      expect(systemHistory.body.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(after.body.id);
    });

    test('history rejects a _since that is not an instant', async () => {
      expect((await server.api.get('/fhir/_history?_since=yesterday')).status).toBe(400);
    });

    test('history of an unknown resource answers 404', async () => {
      expect((await server.api.get('/fhir/Patient/nobody/_history')).status).toBe(404);
    });
  });

  test('identifier search finds a resource created with an NHS number', async () => {
    const { body: created } = await create(patient({ identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9476719931' }] }));
    const res = await server.api.get(`/fhir/Patient?identifier=${NHS_NUMBER_SYSTEM}|9476719931&_id=${created.id}`);
    expect(res.body.total).toBe(1);
  });
});
