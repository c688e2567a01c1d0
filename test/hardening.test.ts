// Hostile requests get a 4xx OperationOutcome and the server keeps serving:
// oversized bodies, deep nesting, prototype-pollution keys, MongoDB operators
// in bodies and parameters, regular-expression bombs, a thousand-entry
// Bundle, too many requests; and the security headers and CORS allow-list.
import { patient } from './support/resources';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

describe.each(storeTargets)('hardening [$name]', (target) => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(target, { BODY_LIMIT: '100kb', CORS_ORIGINS: 'https://app.example-gp.nhs.uk' });
  });
  afterAll(async () => {
    await server.stop();
  });

  const expect4xx = (res: { status: number; body: { resourceType?: string } }, status?: number) => {
    if (status) expect(res.status).toBe(status);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.resourceType).toBe('OperationOutcome');
  };

  test.each([
    ['an oversized body', () => JSON.stringify({ ...patient(), text: { status: 'generated', div: `<div>${'x'.repeat(200_000)}</div>` } }), 413],
    ['deep nesting', () => `{"resourceType":"Patient","extension":${'[{"extension":'.repeat(150)}[]${'}]'.repeat(150)}}`, 400],
    ['a __proto__ key', () => '{"resourceType":"Patient","__proto__":{"polluted":true}}', 400],
    ['a constructor key', () => '{"resourceType":"Patient","name":[{"constructor":{"prototype":{"polluted":true}}}]}', 400],
    ['a MongoDB operator key', () => '{"resourceType":"Patient","identifier":[{"value":{"$gt":""}}]}', 400],
    ['malformed JSON', () => '{"resourceType":"Patient",', 400],
  ])('%s is refused', async (_name, body, status) => {
    const res = await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(body());
    expect4xx(res, status);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  test.each([
    'Patient?name[$ne]=x',
    'Patient?_id[$gt]=',
    'Patient?identifier=%7B%22%24gt%22%3A%22%22%7D',
    'Patient?name=(a%2B)%2B%24',
    'Patient?name:contains=((((((((((a*)*)*)*)*)*)*)*)*)*)',
    'Patient?birthdate=gt%7B%7D',
    'Patient?_sort=$where',
    'Patient?_count=99999999',
    'Patient?toString=',
    'Patient?valueOf=x',
    'Patient?hasOwnProperty=1',
    'Patient?_has:Observation:toString:code=x',
  ])('%s is answered safely', async (query) => {
    const started = Date.now();
    const res = await server.api.get(`/fhir/${query}`);
    expect(res.status === 200 || (res.status >= 400 && res.status < 500)).toBe(true);
    expect(res.body.resourceType).toMatch(/Bundle|OperationOutcome/);
    if (res.status === 200) expect(res.body.total ?? res.body.entry?.length ?? 0).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  test('a thousand-entry Bundle is refused whole', async () => {
    const entry = Array.from({ length: 1000 }, () => ({ resource: patient(), request: { method: 'POST', url: 'Patient' } }));
    const before = (await server.api.get('/fhir/Patient?_summary=count')).body.total;
    const res = await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send({ resourceType: 'Bundle', type: 'batch', entry });
    expect4xx(res, 413);
    expect((await server.api.get('/fhir/Patient?_summary=count')).body.total).toBe(before);
  });

  test('security headers are set, and CORS answers only allowed origins', async () => {
    const res = await server.api.get('/fhir/metadata').set('Origin', 'https://app.example-gp.nhs.uk');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
    expect(res.headers['strict-transport-security']).toBeDefined();
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example-gp.nhs.uk');
    const other = await server.api.get('/fhir/metadata').set('Origin', 'https://evil.example.com');
    expect(other.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('errors carry no stack traces or driver messages', async () => {
    const res = await server.api.get('/fhir/Patient?_sort=nonsense');
    expect(res.status).toBe(400);
    expect(res.text).not.toMatch(/at .*\.(js|ts):\d+|MongoServerError|node_modules/);
  });

  test('the server keeps serving afterwards', async () => {
    expect((await server.api.get('/fhir/metadata')).status).toBe(200);
    expect((await server.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).status).toBe(201);
  });
});

describe('rate limiting [embedded]', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0], { RATE_LIMIT: '20' });
  });
  afterAll(async () => {
    await server.stop();
  });

  test('a client over its limit gets 429 with Retry-After; another client is unaffected', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 25; i++) statuses.push((await server.api.get('/fhir/Patient?_summary=count')).status);
    expect(statuses.slice(0, 20).every((s) => s === 200)).toBe(true);
    expect(statuses.slice(20).every((s) => s === 429)).toBe(true);
    const limited = await server.api.get('/fhir/Patient');
    expect(limited.headers['retry-after']).toBeDefined();
    expect(limited.body.resourceType).toBe('OperationOutcome');
    const other = await tokenFor({ sub: 'another-client' });
    expect((await server.anonymous.get('/fhir/Patient').set('Authorization', `Bearer ${other}`)).status).toBe(200);
  });
});
