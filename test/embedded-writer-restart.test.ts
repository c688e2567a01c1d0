// The serving thread of the embedded store knows every index field number
// without asking SQLite (store.ts fieldIds): it reads them all at start and
// is told of each new one with the commit that interned it. A writer thread
// that stops (an uncaught error, an exit) may have committed a field whose
// answer, and so whose number, never arrived, and the thread that replaces
// it loads that field as known and never tells of it: the serving thread
// reads them all again when the writer stops. Nothing over HTTP stops the
// writer thread, so this test stops it directly, after a commit it "never
// answered" (made here on a connection of the test's own).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import type { Worker } from 'node:worker_threads';
import type { StoredVersion } from '../src/store/port';
import { EmbeddedStore } from '../src/store/embedded/store';
import { DATABASE_FILE } from '../src/store/embedded/schema';

const basic = (id: string): StoredVersion => ({
  resourceType: 'Basic',
  id,
  versionId: '1',
  lastUpdated: '2026-01-01T00:00:00.000Z',
  deleted: false,
  resource: { resourceType: 'Basic', id, code: { text: id } },
  idx: { name: [id] },
  sort: {},
});

describe('embedded store: a writer thread that stops', () => {
  let dir: string;
  let store: EmbeddedStore;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'writer-restart-'));
    store = new EmbeddedStore(dir);
    await store.start();
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test('leaves no field it committed unsearchable, once the thread is replaced', async () => {
    await store.commit([{ version: basic('a'), expectedVersionId: undefined }]);
    // A commit of the writer thread whose answer never came: a new field, with a value for 'a'.
    const other = new DatabaseSync(path.join(dir, DATABASE_FILE));
    try {
      other.exec('PRAGMA busy_timeout = 5000');
      other.prepare('INSERT INTO search_field (type, field) VALUES (?, ?)').run('Basic', 'idx.extra');
      const { fid } = other.prepare('SELECT fid FROM search_field WHERE type = ? AND field = ?').get('Basic', 'idx.extra') as { fid: number };
      const { rid } = other.prepare('SELECT rid FROM current_resource WHERE type = ? AND id = ?').get('Basic', 'a') as { rid: number };
      other.prepare('INSERT INTO search_value (fid, value, rid) VALUES (?, ?, ?)').run(fid, 'x', rid);
    } finally {
      other.close();
    }
    const byExtra = async () =>
      (await store.search({ resourceType: 'Basic', filter: { kind: 'eq', field: 'idx.extra', value: 'x' }, sort: [], offset: 0, limit: 10 })).map((v) => v.id);
    // Not told of it: a field no acknowledged write has.
    expect(await byExtra()).toEqual([]);

    const channel = (store as unknown as { writer: { channel: { worker?: Worker } } }).writer.channel;
    await channel.worker?.terminate();
    await new Promise((resolve) => setImmediate(resolve));

    expect(await byExtra()).toEqual(['a']);
    // The next write starts a new writer thread, and commits.
    await store.commit([{ version: basic('b'), expectedVersionId: undefined }]);
    expect((await store.search({ resourceType: 'Basic', filter: { kind: 'eq', field: 'idx.name', value: 'b' }, sort: [], offset: 0, limit: 10 })).length).toBe(
      1
    );
  });
});
