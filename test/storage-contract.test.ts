// The storage contract: what every adapter behind the StoragePort must do,
// run against the embedded store and, with MONGODB_URI, against MongoDB.
// The HTTP suites cover the same ground end to end; this suite pins the
// semantics of compiled queries, so both stores answer alike.
import { CommitDeadlineError } from '../src/store/commit-stamp';
import { TransactionsUnsupportedError, VersionConflictError, type StoragePort, type StoredVersion } from '../src/store/port';
import type { Filter } from '../src/store/search/filter';
import { storeTargets } from './support/stores';

function version(
  id: string,
  versionId: string,
  lastUpdated: string,
  idx: StoredVersion['idx'] = {},
  sort: StoredVersion['sort'] = {},
  deleted = false
): StoredVersion {
  return {
    resourceType: 'Basic',
    id,
    versionId,
    lastUpdated,
    deleted,
    ...(deleted ? {} : { resource: { resourceType: 'Basic', id, meta: { versionId, lastUpdated } } as never }),
    idx,
    sort,
  };
}

describe.each(storeTargets)('storage contract [$name]', (target) => {
  let store: StoragePort;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ store, cleanup } = target.create());
    await store.start(['Basic']);
    // Documents for the query semantics below.
    const docs = [
      version(
        'a',
        '1',
        '2026-01-01T00:00:00.000Z',
        { code: ['x|1', '1'], name: ['alpha', 'a.b'], n: [1, 10], d: { lo: ['2020-01-01T00:00:00.000Z'], hi: ['2020-12-31T23:59:59.999Z'] } },
        { name: 'a.b', n: 1 }
      ),
      version('b', '1', '2026-01-02T00:00:00.000Z', { code: ['y|2', '2'], name: ['beta'], n: [5] }, { name: 'beta', n: 5 }),
      version('c', '1', '2026-01-03T00:00:00.000Z', { name: ['gamma'] }, { name: 'gamma' }),
      version('gone', '1', '2026-01-04T00:00:00.000Z', { name: ['alpha'] }, { name: 'alpha' }),
    ];
    for (const doc of docs) await store.commit([{ version: doc, expectedVersionId: undefined }]);
    await store.commit([{ version: version('gone', '2', '2026-01-05T00:00:00.000Z', {}, {}, true), expectedVersionId: '1' }]);
  });
  afterAll(async () => {
    await store.close();
    await cleanup();
  });

  const ids = async (filter: Filter, sort = [{ field: 'id', descending: false }]) =>
    (await store.search({ resourceType: 'Basic', filter, sort, offset: 0, limit: 100 })).map((v) => v.id);

  test('reads the current version and any version by id', async () => {
    expect((await store.readCurrent('Basic', 'a'))?.versionId).toBe('1');
    expect((await store.readVersion('Basic', 'gone', '1'))?.deleted).toBe(false);
    expect((await store.readCurrent('Basic', 'gone'))?.deleted).toBe(true);
    expect(await store.readCurrent('Basic', 'nope')).toBeUndefined();
  });

  test('a stale expected version is a conflict and writes nothing', async () => {
    await expect(store.commit([{ version: version('a', '8', '2026-02-01T00:00:00.000Z'), expectedVersionId: '7' }])).rejects.toBeInstanceOf(
      VersionConflictError
    );
    await expect(store.commit([{ version: version('a', '1', '2026-02-01T00:00:00.000Z'), expectedVersionId: undefined }])).rejects.toBeInstanceOf(
      VersionConflictError
    );
    expect((await store.readCurrent('Basic', 'a'))?.versionId).toBe('1');
    expect(await store.readVersion('Basic', 'a', '8')).toBeUndefined();
    expect((await store.readHistory({ resourceType: 'Basic', id: 'a', offset: 0, limit: 10 })).map((v) => v.versionId)).toEqual(['1']);
  });

  test('a commit of several versions is all or nothing', async () => {
    const writes = [
      { version: version('t1', '1', '2026-03-01T00:00:00.000Z'), expectedVersionId: undefined },
      { version: version('a', '2', '2026-03-01T00:00:00.000Z'), expectedVersionId: '9' },
    ];
    const attempt = store.commit(writes);
    if (store.supportsTransactions) await expect(attempt).rejects.toBeInstanceOf(VersionConflictError);
    else await expect(attempt).rejects.toBeInstanceOf(TransactionsUnsupportedError);
    expect(await store.readCurrent('Basic', 't1')).toBeUndefined();
  });

  test('history is newest first, by resource, by type, and after an instant', async () => {
    const gone = await store.readHistory({ resourceType: 'Basic', id: 'gone', offset: 0, limit: 10 });
    expect(gone.map((v) => v.versionId)).toEqual(['2', '1']);
    const since = await store.readHistory({ resourceType: 'Basic', since: '2026-01-02T00:00:00.000Z', offset: 0, limit: 10 });
    expect(since.map((v) => `${v.id}/${v.versionId}`)).toEqual(['gone/2', 'gone/1', 'c/1']);
    const paged = await store.readHistory({ offset: 1, limit: 2 });
    expect(paged.map((v) => `${v.id}/${v.versionId}`)).toEqual(['gone/1', 'c/1']);
  });

  test('search never returns deleted resources', async () => {
    expect(await ids({ kind: 'all' })).toEqual(['a', 'b', 'c']);
    expect(await ids({ kind: 'eq', field: 'idx.name', value: 'alpha' })).toEqual(['a']);
  });

  test('eq and in match any element of an array field', async () => {
    expect(await ids({ kind: 'eq', field: 'idx.code', value: '1' })).toEqual(['a']);
    expect(await ids({ kind: 'in', field: 'idx.code', values: ['2', 'x|1'] })).toEqual(['a', 'b']);
    expect(await ids({ kind: 'in', field: 'id', values: ['c', 'zzz'] })).toEqual(['c']);
    expect(await ids({ kind: 'none' })).toEqual([]);
  });

  test('a comparison holds when any element satisfies it', async () => {
    expect(await ids({ kind: 'cmp', field: 'idx.n', op: 'gt', value: 5 })).toEqual(['a']);
    expect(await ids({ kind: 'cmp', field: 'idx.n', op: 'ge', value: 5 })).toEqual(['a', 'b']);
    expect(await ids({ kind: 'cmp', field: 'idx.d.lo', op: 'lt', value: '2021-01-01' })).toEqual(['a']);
    // Strings never compare with numbers.
    expect(await ids({ kind: 'cmp', field: 'idx.name', op: 'gt', value: 0 })).toEqual([]);
  });

  test('prefix is literal: regular expression characters match themselves', async () => {
    expect(await ids({ kind: 'prefix', field: 'idx.name', value: 'a.' })).toEqual(['a']);
    expect(await ids({ kind: 'prefix', field: 'idx.name', value: '.' })).toEqual([]);
    expect(await ids({ kind: 'prefix', field: 'idx.name', value: '(' })).toEqual([]);
    expect(await ids({ kind: 'prefix', field: 'idx.name', value: 'ga' })).toEqual(['c']);
  });

  test('exists, not, and, or', async () => {
    expect(await ids({ kind: 'exists', field: 'idx.code', exists: false })).toEqual(['c']);
    expect(await ids({ kind: 'not', filter: { kind: 'eq', field: 'idx.code', value: '1' } })).toEqual(['b', 'c']);
    expect(
      await ids({
        kind: 'or',
        filters: [
          { kind: 'eq', field: 'idx.name', value: 'beta' },
          { kind: 'eq', field: 'idx.name', value: 'gamma' },
        ],
      })
    ).toEqual(['b', 'c']);
    expect(
      await ids({
        kind: 'and',
        filters: [
          { kind: 'exists', field: 'idx.n', exists: true },
          { kind: 'cmp', field: 'idx.n', op: 'lt', value: 2 },
        ],
      })
    ).toEqual(['a']);
  });

  test('sort keys order results; a missing key sorts first ascending and last descending', async () => {
    expect(
      await ids({ kind: 'all' }, [
        { field: 'sort.n', descending: false },
        { field: 'id', descending: false },
      ])
    ).toEqual(['c', 'a', 'b']);
    expect(
      await ids({ kind: 'all' }, [
        { field: 'sort.n', descending: true },
        { field: 'id', descending: false },
      ])
    ).toEqual(['b', 'a', 'c']);
    const page = await store.search({
      resourceType: 'Basic',
      filter: { kind: 'all' },
      sort: [
        { field: 'sort.name', descending: true },
        { field: 'id', descending: false },
      ],
      offset: 1,
      limit: 1,
    });
    expect(page.map((v) => v.id)).toEqual(['b']);
  });

  test('history until an instant leaves out versions stamped after it', async () => {
    await store.commit([{ version: version('until', '1', '2026-05-01T00:00:00.000Z'), expectedVersionId: undefined }]);
    await store.commit([{ version: version('until', '2', '2026-05-02T00:00:00.000Z'), expectedVersionId: '1' }]);
    const history = await store.readHistory({ resourceType: 'Basic', id: 'until', until: '2026-05-01T12:00:00.000Z', offset: 0, limit: 10 });
    expect(history.map((v) => v.versionId)).toEqual(['1']);
  });

  // Where commits are visible in call order (embedded) no deadline applies; elsewhere a late commit must leave nothing.
  (target.name === 'mongodb' ? test : test.skip)('a commit that cannot be sent within its visibility window is refused and leaves nothing behind', async () => {
    const late = store.commit([{ version: version('late', '1', new Date().toISOString()), expectedVersionId: undefined }], { visibleWithinMs: 0 });
    await expect(late).rejects.toBeInstanceOf(CommitDeadlineError);
    expect(await store.readCurrent('Basic', 'late')).toBeUndefined();
    expect(await store.readHistory({ resourceType: 'Basic', id: 'late', offset: 0, limit: 10 })).toEqual([]);
    // Stamped again and handed over in time, it commits.
    await store.commit([{ version: version('late', '1', new Date().toISOString()), expectedVersionId: undefined }], { visibleWithinMs: 60_000 });
    expect((await store.readCurrent('Basic', 'late'))?.versionId).toBe('1');
  });

  // The embedded store commits a version in one SQLite transaction: there is no such crash to recover from.
  (target.name === 'mongodb' ? test : test.skip)(
    'a version that reached history but not the current document (a crash between the two) is rolled forward',
    async () => {
      await store.commit([{ version: version('crash', '1', '2026-04-01T00:00:00.000Z'), expectedVersionId: undefined }]);
      const orphan = version('crash', '2', '2026-04-02T00:00:00.000Z', { name: ['orphan'] });
      // What a crash after the history write and before the current write leaves behind.
      const history = (store as unknown as { history(): { insertOne(doc: object): Promise<unknown> } }).history();
      await history.insertOne({ _id: 'Basic/crash/2', ...orphan });
      // The next writer that expected version 1 collides with version 2 and is told so...
      await expect(store.commit([{ version: version('crash', '2', '2026-04-03T00:00:00.000Z'), expectedVersionId: '1' }])).rejects.toBeInstanceOf(
        VersionConflictError
      );
      // ...and the current document has been moved forward, so the chain continues.
      expect((await store.readCurrent('Basic', 'crash'))?.versionId).toBe('2');
      await store.commit([{ version: version('crash', '3', '2026-04-04T00:00:00.000Z'), expectedVersionId: '2' }]);
      expect((await store.readHistory({ resourceType: 'Basic', id: 'crash', offset: 0, limit: 10 })).map((v) => v.versionId)).toEqual(['3', '2', '1']);
    }
  );

  test('count agrees with search', async () => {
    expect(await store.count('Basic', { kind: 'exists', field: 'idx.name', exists: true })).toBe(3);
    expect(await store.count('Basic', { kind: 'eq', field: 'idx.code', value: 'nothing' })).toBe(0);
  });

  test('a job record is written only on the revision the writer read: one of two writers on one revision wins', async () => {
    expect(await store.writeJob('contract', 'j1', '{"n":1}', 0)).toBe(true);
    expect(await store.writeJob('contract', 'j1', '{"n":"again"}', 0)).toBe(false);
    expect(await store.readJob('contract', 'j1')).toEqual({ kind: 'contract', id: 'j1', revision: 1, data: '{"n":1}' });
    const racers = await Promise.all([store.writeJob('contract', 'j1', '{"by":"a"}', 1), store.writeJob('contract', 'j1', '{"by":"b"}', 1)]);
    expect(racers.filter(Boolean)).toHaveLength(1);
    const after = await store.readJob('contract', 'j1');
    expect(after?.revision).toBe(2);
    expect(after?.data).toBe(racers[0] ? '{"by":"a"}' : '{"by":"b"}');
    expect(await store.writeJob('contract', 'j1', '{"stale":true}', 1)).toBe(false);
    // Job records are not resources: no history, no versions.
    expect(await store.readHistory({ id: 'j1', offset: 0, limit: 10 })).toEqual([]);
  });

  test('job records are listed by kind, and removed only at the revision given', async () => {
    await store.writeJob('listed', 'b', '{}', 0);
    await store.writeJob('listed', 'a', '{}', 0);
    await store.writeJob('other-kind', 'c', '{}', 0);
    expect((await store.listJobs('listed')).map((r) => r.id)).toEqual(['a', 'b']);
    await store.writeJob('listed', 'a', '{"moved":"on"}', 1);
    expect(await store.deleteJob('listed', 'a', 1)).toBe(false);
    expect(await store.deleteJob('listed', 'a', 2)).toBe(true);
    expect(await store.deleteJob('listed', 'b')).toBe(true);
    expect(await store.deleteJob('listed', 'b')).toBe(false);
    expect(await store.listJobs('listed')).toEqual([]);
    expect(await store.readJob('other-kind', 'c')).toBeDefined();
  });
});
