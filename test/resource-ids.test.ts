// Ids the server assigns (a create, a transaction's POST, a conditional
// create, an AuditEvent) are UUIDs that grow with time (version 7), so each
// store adds them at the end of its id index rather than at a random page of
// it (base/ids.ts). On every store.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { patient } from './support/resources';
import { createResource, FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets, withTransactions } from './support/stores';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe.each(storeTargets)('ids the server assigns grow with time [$name]', (target) => {
  let server: TestServer;

  beforeAll(async () => {
    server = await startServer(target);
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  test('creates, one after another, get version 7 UUIDs in the order they were made', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push(((await createResource(server, patient({ name: [{ family: `Order-${i}` }] }))).body as Resource).id as string);
      // Version 7 orders by the millisecond: a pause keeps two creates from sharing one.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    for (const id of ids) expect(id).toMatch(UUID_V7);
    expect([...ids].sort()).toEqual(ids);
  });

  withTransactions(target)('a transaction’s creations are named the same way', async () => {
    const tx = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:3f1c2b7e-0000-4000-8000-000000000001',
            resource: patient({ name: [{ family: 'InTransaction' }] }),
            request: { method: 'POST', url: 'Patient' },
          },
        ],
      });
    expect(tx.status).toBe(200);
    const location = (tx.body as Bundle).entry?.[0]?.response?.location as string;
    expect(location.split('/')[1]).toMatch(UUID_V7);
  });

  test('a conditional create and the AuditEvents are named the same way', async () => {
    const conditional = await server.api
      .post('/fhir/Patient')
      .set('Content-Type', FHIR_JSON)
      .set('If-None-Exist', 'identifier=https://example.org/ids|conditional-1')
      .send(patient({ identifier: [{ system: 'https://example.org/ids', value: 'conditional-1' }] }));
    expect(conditional.status).toBe(201);
    expect(conditional.body.id).toMatch(UUID_V7);
    const audit = await server.api.get('/fhir/AuditEvent?_count=5&_sort=-date');
    expect(audit.status).toBe(200);
    const auditIds = ((audit.body as Bundle).entry ?? []).map((e) => e.resource?.id as string);
    expect(auditIds.length).toBeGreaterThan(0);
    for (const id of auditIds) expect(id).toMatch(UUID_V7);
  });
});
