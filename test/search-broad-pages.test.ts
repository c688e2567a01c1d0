// A broad search (hundreds of matches of one criterion, such as a name
// prefix or a gender) pages in id order, and by lastUpdated, like any
// other: every live match once, in order, by cursor, by offset and in
// reverse, with deleted matches and resources that do not match in
// between. The embedded store finds such pages by walking an index in that
// order (index-walk.ts): a prefix's matches gathered first, one value's
// probed entry by entry. This holds it to the same answers as reading every
// match. On every store.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { patient } from './support/resources';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const MATCHES = 320;

describe.each(storeTargets)('pages of a broad search [$name]', (target) => {
  let server: TestServer;
  const family = `Brd${Date.now().toString(36)}`;
  let expected: string[] = [];
  /** lastUpdated of each live match. */
  const lastUpdated = new Map<string, string>();

  const ids = (bundle: Bundle): string[] => (bundle.entry ?? []).map((e) => (e.resource as Resource).id as string);
  const get = async (path: string): Promise<Bundle> => {
    const res = await server.api.get(path);
    expect(res.status).toBe(200);
    return res.body as Bundle;
  };
  /** Every page's ids, following next links from the first. */
  const allPages = async (first: string): Promise<string[]> => {
    const seen: string[] = [];
    let bundle = await get(first);
    for (;;) {
      seen.push(...ids(bundle));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) return seen;
      bundle = await get(new URL(next).pathname + new URL(next).search);
    }
  };
  /** The live matches by lastUpdated, ties by id. */
  const byLastUpdated = (descending: boolean): string[] =>
    [...expected].sort((a, b) => {
      const [x, y] = [lastUpdated.get(a) as string, lastUpdated.get(b) as string];
      if (x !== y) return (x < y ? -1 : 1) * (descending ? -1 : 1);
      return a < b ? -1 : 1;
    });

  beforeAll(async () => {
    server = await startServer(target);
    // Matches, every third one followed by a patient that does not match, in batches.
    const entries: BundleEntry[] = [];
    for (let i = 0; i < MATCHES; i++) {
      entries.push({
        resource: patient({ gender: 'other', name: [{ family: `${family}${i % 7}`, given: ['Broad'] }] }),
        request: { method: 'POST', url: 'Patient' },
      });
      if (i % 3 === 0)
        entries.push({ resource: patient({ gender: 'male', name: [{ family: `Other${family.slice(3)}` }] }), request: { method: 'POST', url: 'Patient' } });
    }
    const created: string[] = [];
    for (let i = 0; i < entries.length; i += 100) {
      const res = await server.api
        .post('/fhir')
        .set('Content-Type', FHIR_JSON)
        .send({ resourceType: 'Bundle', type: 'batch', entry: entries.slice(i, i + 100) });
      expect(res.status).toBe(200);
      for (const [j, e] of ((res.body as Bundle).entry ?? []).entries()) {
        expect(e.response?.status).toMatch(/^201/);
        const name = (entries[i + j].resource as { name: Array<{ family: string }> }).name[0].family;
        if (name.startsWith(family)) created.push(e.response?.location?.split('/')[1] as string);
      }
    }
    // Every tenth match deleted: found by no search.
    const deleted = created.filter((_, i) => i % 10 === 5);
    for (const id of deleted) expect((await server.api.delete(`/fhir/Patient/${id}`)).status).toBe(200);
    expected = created.filter((id) => !deleted.includes(id)).sort();
    for (const e of (await get(`/fhir/Patient?gender=other&_count=1000&_elements=id`)).entry ?? [])
      lastUpdated.set(e.resource?.id as string, e.resource?.meta?.lastUpdated as string);
    expect([...lastUpdated.keys()].sort()).toEqual(expected);
  }, 180000);
  afterAll(async () => {
    await server.stop();
  });

  test('following next links gives every live match once, in id order', async () => {
    const seen: string[] = [];
    let bundle = await get(`/fhir/Patient?name=${family}&_count=50`);
    expect(bundle.total).toBe(expected.length);
    for (;;) {
      seen.push(...ids(bundle));
      const next = bundle.link?.find((l) => l.relation === 'next')?.url;
      if (!next) break;
      bundle = await get(new URL(next).pathname + new URL(next).search);
    }
    expect(seen).toEqual(expected);
  });

  test('a previous link gives the page before', async () => {
    const first = await get(`/fhir/Patient?name=${family}&_count=40`);
    const nextUrl = new URL(first.link?.find((l) => l.relation === 'next')?.url as string);
    const second = await get(nextUrl.pathname + nextUrl.search);
    const thirdUrl = new URL(second.link?.find((l) => l.relation === 'next')?.url as string);
    const third = await get(thirdUrl.pathname + thirdUrl.search);
    expect(ids(third)).toEqual(expected.slice(80, 120));
    const backUrl = new URL(third.link?.find((l) => l.relation === 'previous')?.url as string);
    expect(ids(await get(backUrl.pathname + backUrl.search))).toEqual(expected.slice(40, 80));
  });

  test('an offset page and a reverse page hold the matches at those places', async () => {
    expect(ids(await get(`/fhir/Patient?name=${family}&_count=25&_offset=100`))).toEqual(expected.slice(100, 125));
    expect(ids(await get(`/fhir/Patient?name=${family}&_count=30&_sort=-_id`))).toEqual([...expected].reverse().slice(0, 30));
  });

  test('a last page shorter than the count is still right', async () => {
    const page = ids(await get(`/fhir/Patient?name=${family}&_count=40&_offset=${expected.length - 10}`));
    expect(page).toEqual(expected.slice(-10));
  });

  test('one value (a gender) pages in id order like a prefix', async () => {
    expect(await allPages(`/fhir/Patient?gender=other&_count=50`)).toEqual(expected);
    expect(ids(await get(`/fhir/Patient?gender=other&_count=25&_offset=100`))).toEqual(expected.slice(100, 125));
  });

  test('by lastUpdated, newest or oldest first, next links give every live match once in that order', async () => {
    expect(await allPages(`/fhir/Patient?name=${family}&_sort=-_lastUpdated&_count=40`)).toEqual(byLastUpdated(true));
    expect(await allPages(`/fhir/Patient?gender=other&_sort=-_lastUpdated&_count=40`)).toEqual(byLastUpdated(true));
    expect(await allPages(`/fhir/Patient?gender=other&_sort=_lastUpdated&_count=35`)).toEqual(byLastUpdated(false));
    expect(ids(await get(`/fhir/Patient?name=${family}&_sort=_lastUpdated&_count=20&_offset=60`))).toEqual(byLastUpdated(false).slice(60, 80));
  });
});
