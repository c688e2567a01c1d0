// A commissioner's incremental feed of Task changes (README "Incremental
// pulls"): Task?_lastUpdated=gt<T>&_sort=_lastUpdated and
// Task/_history?_since=<T>, paged while Tasks keep changing, then the next
// pull from the newest lastUpdated seen. Nothing changed after T may be missed.
import type { Bundle, Resource, Task } from '@medplum/fhirtypes';
import { loadHistory } from './support/history';
import { settled, startServer, TEST_SETTLE_MS, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const task = (id: string, status: Task['status']): Resource => ({ resourceType: 'Task', id, status, intent: 'order' }) as Resource;
const T = '2026-01-10T00:00:00.000Z';

describe.each(storeTargets)('incremental pulls on the $name store', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target, { WRITE_SETTLE_MS: String(TEST_SETTLE_MS) });
    // 12 Tasks changed before T (not wanted), 20 after it.
    await loadHistory(server.store, [
      ...Array.from({ length: 12 }, (_, i) => ({ resource: task(`old-${i}`, 'requested'), at: `2026-01-0${1 + (i % 8)}T10:00:00Z` })),
      ...Array.from({ length: 20 }, (_, i) => ({
        resource: task(`new-${String(i).padStart(2, '0')}`, 'requested'),
        at: new Date(Date.parse(T) + (i + 1) * 3600_000).toISOString(),
      })),
    ]);
  }, 60000);
  afterAll(async () => {
    await server.stop();
  });

  /** Follows next links from a first page, calling between() after each page (to change data meanwhile). */
  const pull = async (first: string, between: (page: number) => Promise<void>): Promise<Bundle[]> => {
    const pages: Bundle[] = [];
    let path: string | undefined = first;
    while (path) {
      const res = await server.api.get(path);
      expect(res.status).toBe(200);
      pages.push(res.body);
      await between(pages.length);
      const next: string | undefined = (res.body as Bundle).link?.find((l) => l.relation === 'next')?.url;
      path = next ? next.replace('http://fhir.test', '') : undefined;
    }
    return pages;
  };
  const entries = (pages: Bundle[]) => pages.flatMap((p) => p.entry ?? []).map((e) => e.resource as Task);
  const newest = (tasks: Task[]) =>
    tasks
      .map((t) => t.meta?.lastUpdated as string)
      .sort()
      .pop() as string;

  test('Task?_lastUpdated=gt<T>&_sort=_lastUpdated, paged while Tasks change, then the next pull: no change is lost', async () => {
    const changed = new Map<string, string>(); // id -> the versionId the feed must end up with
    for (let i = 0; i < 20; i++) changed.set(`new-${String(i).padStart(2, '0')}`, '1');
    const pages = await pull(`/fhir/Task?_lastUpdated=gt${T}&_sort=_lastUpdated&_count=5`, async (page) => {
      // While the client pages: a Task it has seen and one it has not yet reached change, and a Task is created.
      const now = new Date().toISOString();
      const writes = [
        { resource: task(`new-0${page - 1}`, 'accepted'), at: now },
        { resource: task(`new-1${page}`, 'accepted'), at: now },
        { resource: task(`during-${page}`, 'requested'), at: now },
      ];
      await loadHistory(server.store, writes);
      for (const w of writes) changed.set(w.resource.id as string, String(Number(changed.get(w.resource.id as string) ?? 0) + 1));
      await new Promise((r) => setTimeout(r, 5));
    });
    const first = entries(pages);
    expect(first.some((t) => t.id?.startsWith('old-'))).toBe(false);
    // The next pull starts from the newest change the first one saw, once what was written meanwhile has settled.
    await settled();
    const second = entries(await pull(`/fhir/Task?_lastUpdated=gt${newest(first)}&_sort=_lastUpdated&_count=5`, async () => undefined));
    const seen = new Map<string, string>();
    for (const t of [...first, ...second]) seen.set(t.id as string, t.meta?.versionId as string);
    for (const [id, versionId] of changed) expect(`${id} v${seen.get(id)}`).toBe(`${id} v${versionId}`);
  });

  test('Task/_history?_since=<T>, paged while Tasks change, then the next pull: every version after T is seen', async () => {
    let newestSeen = T;
    const all = async (since: string, between: (page: number) => Promise<void>) => {
      const tasks = (await pull(`/fhir/Task/_history?_since=${since}&_count=4`, between)).flatMap((p) => p.entry ?? []).map((e) => e.resource as Task);
      if (tasks.length > 0) newestSeen = newest(tasks);
      return tasks.map((t) => `${t.id}/${t.meta?.versionId}`);
    };
    const expected = new Set(await all(T, async () => undefined));
    expect(expected.size).toBeGreaterThanOrEqual(20);
    let written = 0;
    const firstPull = await all(T, async () => {
      await loadHistory(server.store, [{ resource: task(`hist-${++written}`, 'requested'), at: new Date().toISOString() }]);
      expected.add(`hist-${written}/1`);
    });
    // The next pull starts from the newest version the first pull saw, once what was written meanwhile has settled.
    await settled();
    const secondPull = await all(newestSeen, async () => undefined);
    const seen = new Set([...firstPull, ...secondPull]);
    for (const version of expected) expect(seen.has(version) ? version : `${version} missing`).toBe(version);
    // About 15 history pages and a wait for the settle horizon; FerretDB answers a history page in about a second.
  }, 90000);
});
