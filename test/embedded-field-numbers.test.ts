// The serving thread of the embedded store keeps the index field numbers
// (store.ts fieldIds): read at start, told of by the writer thread with each
// commit's answer. A commit is visible to reads before it is answered, and a
// writer thread that stops never answers: a field such a commit made must be
// found all the same. Taking a field missing from the map as absent lost a
// subscription its first event (its criteria were matched against a Task
// whose commit was visible, but not yet answered). This test makes such a
// commit on a connection of its own, so the serving thread is never told.
// Broad searches run on the reader thread (reader-thread.ts), which reads
// field numbers on its own connection: the same holds there.
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

describe('embedded store: index fields of commits not yet answered', () => {
  let dir: string;
  let store: EmbeddedStore;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'field-numbers-'));
    store = new EmbeddedStore(dir);
    await store.start();
    await store.commit([{ version: basic('a'), expectedVersionId: undefined }]);
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** A commit of a new field with a value for 'a', visible to reads, that the serving thread is never told of. */
  const commitUntold = (field: string, value: string): void => {
    const other = new DatabaseSync(path.join(dir, DATABASE_FILE));
    try {
      other.exec('PRAGMA busy_timeout = 5000');
      other.prepare('INSERT INTO search_field (type, field) VALUES (?, ?)').run('Basic', field);
      const { fid } = other.prepare('SELECT fid FROM search_field WHERE type = ? AND field = ?').get('Basic', field) as { fid: number };
      const { rid } = other.prepare('SELECT rid FROM current_resource WHERE type = ? AND id = ?').get('Basic', 'a') as { rid: number };
      other.prepare('INSERT INTO search_value (fid, value, rid) VALUES (?, ?, ?)').run(fid, value, rid);
    } finally {
      other.close();
    }
  };
  const found = async (field: string, value: string) =>
    (await store.search({ resourceType: 'Basic', filter: { kind: 'eq', field, value }, sort: [], offset: 0, limit: 10 })).map((v) => v.id);

  test('a search finds what the field holds', async () => {
    commitUntold('idx.extra', 'x');
    expect(await found('idx.extra', 'x')).toEqual(['a']);
  });

  test("a look-up of the records holding a value (a patient's re-grant) finds it", async () => {
    commitUntold('idx.patient', 'Patient/p1');
    expect((await store.indexesHolding(['Basic', 'Goal'], 'idx.patient', 'Patient/p1', [])).map((v) => v.id)).toEqual(['a']);
  });

  test('after the writer thread stops, fields it committed are found, and the next write starts a new one', async () => {
    const channel = (store as unknown as { writer: { channel: { worker?: Worker } } }).writer.channel;
    await channel.worker?.terminate();
    commitUntold('idx.later', 'y');
    expect(await found('idx.later', 'y')).toEqual(['a']);
    await store.commit([{ version: basic('b'), expectedVersionId: undefined }]);
    expect(await found('idx.name', 'b')).toEqual(['b']);
  });

  // A broad search (a prefix) runs on the reader thread, whose connection keeps field numbers of its own.
  const foundByPrefix = async (field: string, value: string) =>
    (
      await store.search({ resourceType: 'Basic', filter: { kind: 'prefix', field, value }, sort: [{ field: 'id', descending: false }], offset: 0, limit: 10 })
    ).map((v) => v.id);

  test('a broad search on the reader thread finds what the field holds, and counts it', async () => {
    commitUntold('idx.broad', 'prefixed');
    expect(await foundByPrefix('idx.broad', 'pre')).toEqual(['a']);
    expect(await store.count('Basic', { kind: 'prefix', field: 'idx.broad', value: 'pre' })).toBe(1);
  });

  test('after the reader thread stops, the searches it was given are refused as unavailable, and the next starts a new one', async () => {
    const channel = (store as unknown as { reader: { channel: { worker?: Worker } } }).reader.channel;
    const worker = channel.worker as Worker;
    const given = foundByPrefix('idx.name', 'a');
    await worker.terminate();
    await expect(given).rejects.toThrow(/reader stopped/);
    commitUntold('idx.afterwards', 'later');
    expect(await foundByPrefix('idx.afterwards', 'lat')).toEqual(['a']);
  });
});
