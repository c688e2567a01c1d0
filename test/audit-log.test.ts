// The audit trail as an append-only log (DESIGN.md): AuditEvents are not
// versioned resources (no history copy, one version each), admins search them
// by date, agent, entity, subtype and outcome with paging, nobody changes or
// deletes them through the API, and AUDIT_RETENTION_DAYS removes expired
// ones in the background.
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { AuditTrail } from '../src/audit/audit-trail';
import { patient } from './support/resources';
import { BASE_URL, FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets)('audit trail as an append-only log [$name]', (target) => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startServer(target, { AUDIT_RETENTION_DAYS: '30' });
    admin = await tokenFor({ sp_role: 'admin', scope: 'system/AuditEvent.rs' });
  });
  afterAll(async () => {
    await server.stop();
  });

  const asAdmin = (path: string) => server.anonymous.get(path).set('Authorization', `Bearer ${admin}`);
  const ids = (bundle: Bundle) => (bundle.entry ?? []).map((e) => e.resource?.id as string);

  /** Creates a Patient as a user of its own; returns the patient's id and the user. */
  async function createAs(user: string): Promise<string> {
    const token = await tokenFor({ sub: user, sp_role: 'integrator', ods_code: 'X26', scope: 'system/*.cruds' });
    const res = await server.anonymous.post('/fhir/Patient').set('Authorization', `Bearer ${token}`).set('Content-Type', FHIR_JSON).send(patient());
    expect(res.status).toBe(201);
    return res.body.id as string;
  }

  test('an AuditEvent has one version and no history copy: the history of resources does not list it', async () => {
    const id = await createAs('audit-history');
    const found = await asAdmin(`/fhir/AuditEvent?entity=Patient/${id}`);
    expect(found.status).toBe(200);
    const [eventId] = ids(found.body);
    const history = await server.store.readHistory({ offset: 0, limit: 100000 });
    expect(history.some((v) => v.resourceType === 'AuditEvent')).toBe(false);
    expect(history.some((v) => v.resourceType === 'Patient' && v.id === id)).toBe(true);
    const own = await server.store.readHistory({ resourceType: 'AuditEvent', id: eventId, offset: 0, limit: 10 });
    expect(own.map((v) => v.versionId)).toEqual(['1']);
    expect((await asAdmin(`/fhir/AuditEvent/${eventId}/_history/1`)).body.id).toBe(eventId);
    expect((await asAdmin(`/fhir/AuditEvent/${eventId}/_history/2`)).status).toBe(404);
  });

  test('admins search it by date, agent, entity, subtype and outcome, a page at a time', async () => {
    const start = new Date(Date.now() - 1000).toISOString();
    const user = `audit-user-${Date.now()}`;
    const patients = [await createAs(user), await createAs(user), await createAs(user)];
    const byAgent = await asAdmin(`/fhir/AuditEvent?agent:identifier=${user}&date=ge${start}&subtype=create&outcome=0`);
    expect(byAgent.status).toBe(200);
    expect(byAgent.body.total).toBe(3);
    const entities = (byAgent.body as Bundle<AuditEvent>).entry?.map((e) => e.resource?.entity?.[0]?.what?.reference).sort();
    expect(entities).toEqual(patients.map((p) => `Patient/${p}`).sort());
    expect((await asAdmin(`/fhir/AuditEvent?agent:identifier=${user}&outcome=4&_summary=count`)).body.total).toBe(0);
    expect((await asAdmin(`/fhir/AuditEvent?agent:identifier=${user}&date=lt${start}&_summary=count`)).body.total).toBe(0);

    const first = await asAdmin(`/fhir/AuditEvent?agent:identifier=${user}&_count=2&_sort=-date`);
    const next = (first.body as Bundle).link?.find((l) => l.relation === 'next')?.url as string;
    expect(ids(first.body)).toHaveLength(2);
    const second = await asAdmin(next.replace(BASE_URL, '/fhir'));
    expect(ids(second.body)).toHaveLength(1);
    expect(new Set([...ids(first.body), ...ids(second.body)]).size).toBe(3);
  });

  test('nobody can change or delete an AuditEvent through the API, admins included', async () => {
    const id = await createAs('audit-tamper');
    const [eventId] = ids((await asAdmin(`/fhir/AuditEvent?entity=Patient/${id}`)).body);
    const everything = await tokenFor({ sp_role: 'admin', scope: 'system/*.cruds' });
    const original = (await asAdmin(`/fhir/AuditEvent/${eventId}`)).body as AuditEvent;
    const put = await server.anonymous
      .put(`/fhir/AuditEvent/${eventId}`)
      .set('Authorization', `Bearer ${everything}`)
      .set('Content-Type', FHIR_JSON)
      .send({ ...original, outcome: '8' });
    const del = await server.anonymous.delete(`/fhir/AuditEvent/${eventId}`).set('Authorization', `Bearer ${everything}`);
    expect(put.status).toBe(405);
    expect(del.status).toBe(405);
    expect((await asAdmin(`/fhir/AuditEvent/${eventId}`)).body).toEqual(original);
  });

  test('an admin exports the trail with Bulk $export before it expires', async () => {
    const id = await createAs('audit-export');
    const since = new Date(Date.now() - 60_000).toISOString();
    const kickOff = await asAdmin(`/fhir/$export?_type=AuditEvent&_since=${since}`).set('Prefer', 'respond-async').set('Accept', 'application/fhir+json');
    expect(kickOff.status).toBe(202);
    const status = new URL(kickOff.headers['content-location']).pathname;
    let manifest: { output: Array<{ type: string; url: string }> } | undefined;
    for (let i = 0; i < 100 && !manifest; i++) {
      const res = await asAdmin(status);
      if (res.status === 200) manifest = res.body;
      else await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(manifest?.output.map((o) => o.type)).toEqual(['AuditEvent']);
    const file = await asAdmin(new URL(manifest?.output[0].url as string).pathname).buffer(true);
    const events = String(file.text ?? file.body)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as AuditEvent);
    expect(events.some((e) => e.entity?.[0]?.what?.reference === `Patient/${id}`)).toBe(true);
  });

  test('AUDIT_RETENTION_DAYS: the background sweep removes expired AuditEvents and keeps the rest', async () => {
    const trail = new AuditTrail(server.store, BASE_URL);
    const old = new Date(Date.now() - 40 * 86_400_000).toISOString();
    const expired = Array.from({ length: 3 }, () => {
      const version = trail.versionOf({ method: 'GET', segments: ['Patient', 'expired'], query: '', status: 200 });
      return { ...version, lastUpdated: old, resource: { ...version.resource, meta: { versionId: '1', lastUpdated: old }, recorded: old } as AuditEvent };
    });
    for (const version of expired) await server.store.commit([{ version, expectedVersionId: undefined }]);
    const kept = await createAs('audit-kept');
    expect((await asAdmin('/fhir/AuditEvent?entity=Patient/expired&_summary=count')).body.total).toBe(3);

    const removed = await server.app.auditRetention?.sweep();
    expect(removed).toBe(3);
    expect((await asAdmin('/fhir/AuditEvent?entity=Patient/expired&_summary=count')).body.total).toBe(0);
    expect((await asAdmin(`/fhir/AuditEvent?entity=Patient/${kept}&_summary=count`)).body.total).toBe(1);
    for (const version of expired) expect(await server.store.readCurrent('AuditEvent', version.id)).toBeUndefined();
  });

  test('a broad search of the log (hundreds of events of one agent) pages through every event once, by id and by time', async () => {
    const user = `audit-broad-${Date.now()}`;
    const token = await tokenFor({ sub: user, sp_role: 'integrator', ods_code: 'X26', scope: 'system/*.cruds' });
    const id = await createAs(user);
    // Enough events of one agent for the embedded store to walk the log's index in the page's order (index-walk.ts).
    for (let i = 0; i < 300; i++) expect((await server.anonymous.get(`/fhir/Patient/${id}`).set('Authorization', `Bearer ${token}`)).status).toBe(200);

    // Every event of the agent, in an order no walk follows, as the reference.
    const all = await asAdmin(`/fhir/AuditEvent?agent:identifier=${user}&_sort=subtype&_count=1000`);
    expect(all.status).toBe(200);
    const events = ((all.body as Bundle<AuditEvent>).entry ?? []).map((e) => ({ id: e.resource?.id as string, at: e.resource?.meta?.lastUpdated as string }));
    expect(events).toHaveLength(301);
    const byId = events.map((e) => e.id).sort();
    const newestFirst = [...events].sort((a, b) => (a.at !== b.at ? (a.at < b.at ? 1 : -1) : a.id < b.id ? -1 : 1)).map((e) => e.id);

    const pages = async (first: string): Promise<string[]> => {
      const seen: string[] = [];
      let next: string | undefined = first;
      while (next) {
        const page = await asAdmin(next);
        expect(page.status).toBe(200);
        seen.push(...ids(page.body));
        const link = (page.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
        next = link ? new URL(link).pathname + new URL(link).search : undefined;
      }
      return seen;
    };
    expect(await pages(`/fhir/AuditEvent?agent:identifier=${user}&_count=40`)).toEqual(byId);
    expect(await pages(`/fhir/AuditEvent?agent:identifier=${user}&_sort=-_lastUpdated&_count=40`)).toEqual(newestFirst);
    expect(ids((await asAdmin(`/fhir/AuditEvent?agent:identifier=${user}&_sort=-_lastUpdated&_count=20&_offset=100`)).body)).toEqual(
      newestFirst.slice(100, 120)
    );
  });
});
