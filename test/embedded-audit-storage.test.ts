// How the embedded store keeps the audit trail on disk: each AuditEvent's
// JSON deflated with a preset dictionary (audit-compression.ts), so that a
// row is well under half a 4 KiB page. As text, a row was just over half a
// page, each page held one, and the trail took twice the disk its rows
// needed. Events stored as text by an earlier release still read. An
// event's time fields are read from its row, with no value rows of their own
// (audit-log.ts), and still select it, as do those an earlier release wrote.
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { AuditEvent, Bundle } from '@medplum/fhirtypes';
import { DATABASE_FILE } from '../src/store/embedded/schema';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { embeddedIn, tempDir } from './support/stores';
import { patient } from './support/resources';

const dir = tempDir('sp-audit-storage-');

describe('embedded store: the audit trail on disk', () => {
  let server: TestServer;
  let admin: string;
  beforeAll(async () => {
    server = await startServer(embeddedIn(dir, {}));
    admin = await tokenFor({ sp_role: 'admin', scope: 'system/AuditEvent.rs' });
  });
  afterAll(async () => {
    await server.stop();
  });

  const asAdmin = (url: string) => server.anonymous.get(url).set('Authorization', `Bearer ${admin}`);
  const database = () => new DatabaseSync(path.join(dir, DATABASE_FILE));

  test('each AuditEvent is stored deflated, under a third of its JSON, and reads back whole', async () => {
    const created = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient());
    expect(created.status).toBe(201);
    for (let i = 0; i < 5; i++) expect((await server.api.get(`/fhir/Patient/${created.body.id}`)).status).toBe(200);

    const found = await asAdmin(`/fhir/AuditEvent?entity=Patient/${created.body.id}&_count=50`);
    expect(found.status).toBe(200);
    const events = ((found.body as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource as AuditEvent);
    expect(events).toHaveLength(6);
    for (const event of events) {
      expect(event.agent?.[0]?.who?.identifier?.value).toBeTruthy();
      expect(event.source?.observer?.display).toBe('social-prescribing-fhir-server');
      expect(event.meta?.versionId).toBe('1');
    }

    const db = database();
    try {
      const rows = db.prepare('SELECT id, typeof(resource) AS kind, length(resource) AS size FROM audit_event').all() as Array<{
        id: string;
        kind: string;
        size: number;
      }>;
      expect(rows.length).toBeGreaterThanOrEqual(6);
      for (const row of rows) {
        expect(row.kind).toBe('blob');
        const event = events.find((e) => e.id === row.id);
        if (event) expect(row.size).toBeLessThan(JSON.stringify(event).length / 3);
      }
    } finally {
      db.close();
    }
  });

  test('date and _lastUpdated are read from the event row, with no value rows, and select events old and new', async () => {
    const created = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient());
    expect((await server.api.get(`/fhir/Patient/${created.body.id}`)).status).toBe(200);
    const entity = `entity=Patient/${created.body.id}`;
    const events = ((await asAdmin(`/fhir/AuditEvent?${entity}&_sort=date`)).body as Bundle<AuditEvent>).entry?.map((e) => e.resource as AuditEvent) ?? [];
    expect(events).toHaveLength(2);
    const [first, second] = events.map((e) => e.recorded as string);
    expect(events.map((e) => e.meta?.lastUpdated)).toEqual([first, second]);

    const db = database();
    try {
      const timeRows = db
        .prepare(
          "SELECT count(*) AS n FROM audit_value v JOIN search_field f ON f.fid = v.fid WHERE f.type = 'AuditEvent' AND (f.field LIKE 'idx.date.%' OR f.field LIKE 'idx._lastUpdated.%')"
        )
        .get() as { n: number };
      expect(timeRows.n).toBe(0);
      // An event as an earlier release wrote it: a copy of the first, with value rows for its time fields too.
      const { rid } = db.prepare('SELECT rid FROM audit_event WHERE id = ?').get(events[0].id as string) as { rid: number };
      const copy = db
        .prepare(
          "INSERT INTO audit_event (id, last_updated, resource, idx, sort) SELECT 'with-time-rows', last_updated, ?, idx, sort FROM audit_event WHERE rid = ?"
        )
        .run(JSON.stringify({ ...events[0], id: 'with-time-rows' }), rid);
      db.prepare('INSERT INTO audit_value (fid, value, rid) SELECT fid, value, ? FROM audit_value WHERE rid = ?').run(copy.lastInsertRowid, rid);
      const fid = (field: string): number => {
        const found = db.prepare("SELECT fid FROM search_field WHERE type = 'AuditEvent' AND field = ?").get(field) as { fid: number } | undefined;
        return found ? found.fid : Number(db.prepare("INSERT INTO search_field (type, field) VALUES ('AuditEvent', ?)").run(field).lastInsertRowid);
      };
      for (const field of ['idx.date.lo', 'idx.date.hi', 'idx._lastUpdated.lo', 'idx._lastUpdated.hi'])
        db.prepare('INSERT INTO audit_value (fid, value, rid) VALUES (?, ?, ?)').run(fid(field), first, copy.lastInsertRowid);
    } finally {
      db.close();
    }

    const found = async (query: string): Promise<string[]> => {
      const res = await asAdmin(`/fhir/AuditEvent?${entity}&${query}&_count=50`);
      expect(res.status).toBe(200);
      return (((res.body as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource?.id as string) ?? []).sort();
    };
    const all = [events[0].id, events[1].id, 'with-time-rows'].sort();
    const firstTwo = [events[0].id, 'with-time-rows'].sort();
    expect(await found(`date=ge${encodeURIComponent(first)}`)).toEqual(all);
    expect(await found(`date=${encodeURIComponent(first)}`)).toEqual(firstTwo);
    expect(await found(`date=gt${encodeURIComponent(first)}`)).toEqual(first === second ? [] : [events[1].id]);
    expect(await found(`date=lt${encodeURIComponent(first)}`)).toEqual([]);
    expect(await found(`date=${first.slice(0, 10)}`)).toEqual(all);
    expect(await found(`date=ne${first.slice(0, 10)}`)).toEqual([]);
    expect(await found(`_lastUpdated=le${encodeURIComponent(first)}`)).toEqual(firstTwo);
    expect(await found(`_lastUpdated=gt${encodeURIComponent(second)}`)).toEqual([]);
    expect(await found('date:missing=false')).toEqual(all);
    expect(await found('date:missing=true')).toEqual([]);
    const count = await asAdmin(`/fhir/AuditEvent?${entity}&date=ge${encodeURIComponent(first)}&_summary=count`);
    expect(count.body.total).toBe(3);
  });

  test('an AuditEvent stored as JSON text by an earlier release still reads and is found', async () => {
    const created = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient());
    const found = await asAdmin(`/fhir/AuditEvent?entity=Patient/${created.body.id}`);
    const event = (found.body as Bundle<AuditEvent>).entry?.[0]?.resource as AuditEvent;
    const earlier = { ...event, id: 'stored-as-text', outcomeDesc: 'written by an earlier release' };
    const db = database();
    try {
      // The row and its index values, as an earlier release wrote them.
      const { rid } = db.prepare('SELECT rid FROM audit_event WHERE id = ?').get(event.id as string) as { rid: number };
      const inserted = db
        .prepare(
          "INSERT INTO audit_event (id, last_updated, resource, idx, sort) SELECT 'stored-as-text', last_updated, ?, idx, sort FROM audit_event WHERE rid = ?"
        )
        .run(JSON.stringify(earlier), rid);
      db.prepare('INSERT INTO audit_value (fid, value, rid) SELECT fid, value, ? FROM audit_value WHERE rid = ?').run(inserted.lastInsertRowid, rid);
    } finally {
      db.close();
    }
    const read = await asAdmin('/fhir/AuditEvent/stored-as-text');
    expect(read.status).toBe(200);
    expect(read.body).toEqual(earlier);
    const byEntity = await asAdmin(`/fhir/AuditEvent?entity=Patient/${created.body.id}`);
    const resources = ((byEntity.body as Bundle<AuditEvent>).entry ?? []).map((e) => e.resource);
    expect(resources.map((r) => r?.id).sort()).toEqual([event.id, 'stored-as-text'].sort());
    expect(resources.find((r) => r?.id === 'stored-as-text')).toEqual(earlier);
  });
});
