// How the embedded store keeps the audit trail on disk: each AuditEvent's
// JSON deflated with a preset dictionary (audit-compression.ts), so that a
// row is well under half a 4 KiB page. As text, a row was just over half a
// page, each page held one, and the trail took twice the disk its rows
// needed. Events stored as text by an earlier release still read.
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
