// Every operation is declared once (src/fhir/operations/registry.ts): the
// CapabilityStatement lists it, the router serves it, the access rules come
// with it, and its OperationDefinition is served at /fhir/OperationDefinition.
import type { CapabilityStatement, OperationDefinition } from '@medplum/fhirtypes';
import { defaultScopes } from '../src/auth/roles';
import { startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe('operation declarations [embedded]', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('each operation in the CapabilityStatement has its OperationDefinition, found by its canonical', async () => {
    const statement = (await server.api.get('/fhir/metadata')).body as CapabilityStatement;
    const rest = statement.rest?.[0];
    const listed = [
      ...(rest?.operation ?? []).map((op) => ({ ...op, level: 'system' as const, type: undefined })),
      ...(rest?.resource ?? []).flatMap((r) => (r.operation ?? []).map((op) => ({ ...op, level: 'type' as const, type: r.type }))),
    ];
    expect(listed.length).toBeGreaterThan(10);
    const byUrl = new Map<string, OperationDefinition>();
    for (const op of listed) {
      if (!byUrl.has(op.definition)) {
        const res = await server.api.get(`/fhir/OperationDefinition?url=${encodeURIComponent(op.definition)}`);
        expect(res.status).toBe(200);
        expect(res.body.total).toBe(1);
        byUrl.set(op.definition, res.body.entry[0].resource);
      }
      const definition = byUrl.get(op.definition) as OperationDefinition;
      expect(definition.code).toBe(op.name);
      if (op.level === 'system') expect(definition.system).toBe(true);
      else {
        expect(definition.type || definition.instance).toBe(true);
        expect(definition.resource?.includes(op.type as never) || definition.resource?.includes('Resource' as never)).toBe(true);
      }
    }
  });

  test('the OperationDefinitions are read by everyone and written by no one but admins', async () => {
    const referrer = await tokenFor({ sub: 'r', sp_role: 'referrer', ods_code: 'A81001', scope: defaultScopes('referrer') });
    const read = await server.anonymous.get('/fhir/OperationDefinition/Resource-validate').set('Authorization', `Bearer ${referrer}`);
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ code: 'validate', kind: 'operation', type: true, instance: true, system: false, affectsState: false });
    const write = await server.anonymous
      .put('/fhir/OperationDefinition/Resource-validate')
      .set('Authorization', `Bearer ${referrer}`)
      .set('Content-Type', 'application/fhir+json')
      .send(read.body);
    expect(write.status).toBe(403);
  });

  test('an operation refuses a caller without the access its declaration names', async () => {
    const commissioner = await tokenFor({ sub: 'c', sp_role: 'commissioner', ods_code: 'QWE', scope: defaultScopes('commissioner') });
    const res = await server.anonymous
      .post('/fhir/$process-message')
      .set('Authorization', `Bearer ${commissioner}`)
      .set('Content-Type', 'application/fhir+json')
      .send({ resourceType: 'Bundle', type: 'message' });
    expect(res.status).toBe(403);
    expect(res.body.issue[0].diagnostics).toMatch(/ServiceRequest/);
  });
});
