// Keyset paging through HTTP on every store: 1,000 results paged while other
// resources are written between pages; nothing that existed at the start is
// seen twice or missed. Previous links lead back to the same pages.
import type { BundleEntry } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { BASE_URL, FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const basic = (code: string) => ({ resourceType: 'Basic', code: { coding: [{ system: 'urn:paging-test', code }] } });

describe.each(storeTargets)('keyset paging [$name]', (target) => {
  let server: TestServer;
  const code = `run-${randomUUID().slice(0, 8)}`;
  const initial = new Set<string>();

  beforeAll(async () => {
    server = await startServer(target, { MAX_BUNDLE_ENTRIES: '1000' });
    const entries = Array.from({ length: 1000 }, () => ({ resource: basic(code), request: { method: 'POST', url: 'Basic' } }));
    const res = await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'batch', entry: entries });
    expect(res.status).toBe(200);
    for (const e of res.body.entry as BundleEntry[]) initial.add(e.resource?.id as string);
    expect(initial.size).toBe(1000);
  }, 120000);
  afterAll(async () => {
    await server.stop();
  });

  const page = async (url: string) => {
    const res = await server.api.get(url.replace(BASE_URL, '/fhir'));
    expect(res.status).toBe(200);
    return res.body;
  };
  const ids = (bundle: { entry?: BundleEntry[] }) => (bundle.entry ?? []).map((e) => e.resource?.id as string);
  const linkOf = (bundle: { link: { relation: string; url: string }[] }, relation: string) => bundle.link.find((l) => l.relation === relation)?.url;

  test('paging 1,000 results while others are written sees each one exactly once', async () => {
    const seen: string[] = [];
    let url: string | undefined = `/fhir/Basic?code=urn:paging-test|${code}&_count=100`;
    let pages = 0;
    while (url) {
      const bundle = await page(url);
      seen.push(...ids(bundle));
      // Writes between pages: new resources that sort anywhere among the old ones, and a deletion-free update.
      for (let i = 0; i < 5; i++) await server.api.post('/fhir/Basic').set('Content-Type', FHIR_JSON).send(basic(code)).expect(201);
      url = linkOf(bundle, 'next');
      pages++;
      expect(pages).toBeLessThan(30);
    }
    expect(new Set(seen).size).toBe(seen.length);
    for (const id of initial) expect(seen).toContain(id);
  }, 120000);

  test('a previous link leads back to the page before', async () => {
    const first = await page(`/fhir/Basic?code=urn:paging-test|${code}&_count=50`);
    expect(linkOf(first, 'previous')).toBeUndefined();
    const second = await page(linkOf(first, 'next') as string);
    const back = await page(linkOf(second, 'previous') as string);
    expect(ids(back)).toEqual(ids(first));
    expect(ids(second).some((id) => ids(first).includes(id))).toBe(false);
  }, 60000);

  test('paging works with a sort on a parameter, descending', async () => {
    const all: string[] = [];
    let url: string | undefined = `/fhir/Basic?code=urn:paging-test|${code}&_sort=-_lastUpdated&_count=250`;
    while (url) {
      const bundle = await page(url);
      all.push(...ids(bundle));
      url = linkOf(bundle, 'next');
    }
    expect(new Set(all).size).toBe(all.length);
    for (const id of initial) expect(all).toContain(id);
  }, 120000);

  test('a cursor that is not a page link is refused', async () => {
    const res = await server.api.get(`/fhir/Basic?code=urn:paging-test|${code}&_cursor=nonsense`);
    expect(res.status).toBe(400);
  });
});
