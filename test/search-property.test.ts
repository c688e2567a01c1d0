// Property-based: for random Patients and random search expressions, the
// server returns exactly the resources an independent in-memory matcher
// selects (@medplum/core's matchesSearchRequest), on every store.
import { matchesSearchRequest, parseSearchRequest } from '@medplum/core';
import type { Patient } from '@medplum/fhirtypes';
import fc from 'fast-check';
import { loadBaseDefinitions } from '../src/base/definitions';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const FAMILIES = ['Smith', 'Smithson', 'Jones', 'Ójones', 'Brown', 'Browning', 'Okafor', 'Patel'];
const GIVEN = ['Ada', 'Adam', 'Bea', 'Ben', 'Zoë'];
const SYSTEMS = ['urn:a', 'urn:b'];

const patientArb: fc.Arbitrary<Patient> = fc.record({
  resourceType: fc.constant('Patient' as const),
  gender: fc.constantFrom('male', 'female', 'other', 'unknown'),
  active: fc.boolean(),
  birthDate: fc.date({ min: new Date('1930-01-01'), max: new Date('2020-12-31'), noInvalidDate: true }).map((d) => d.toISOString().slice(0, 10)),
  name: fc.tuple(fc.constantFrom(...FAMILIES), fc.constantFrom(...GIVEN)).map(([family, given]) => [{ family, given: [given] }]),
  identifier: fc.tuple(fc.constantFrom(...SYSTEMS), fc.integer({ min: 1, max: 6 })).map(([system, n]) => [{ system, value: `v${n}` }]),
});

/** One search clause, written as a query string pair. */
const clauseArb: fc.Arbitrary<string> = fc.oneof(
  fc.subarray(['male', 'female', 'other', 'unknown'], { minLength: 1, maxLength: 2 }).map((g) => `gender=${g.join(',')}`),
  fc.boolean().map((b) => `active=${b}`),
  fc.constantFrom('smi', 'Smith', 'jon', 'bro', 'OKA', 'pat', 'x').map((s) => `family=${encodeURIComponent(s)}`),
  fc.constantFrom('ad', 'be', 'zo').map((s) => `given=${s}`),
  fc.tuple(fc.constantFrom(...SYSTEMS, ''), fc.integer({ min: 1, max: 6 })).map(([s, n]) => `identifier=${encodeURIComponent(s ? `${s}|v${n}` : `v${n}`)}`),
  fc
    .tuple(fc.constantFrom('eq', 'lt', 'gt', 'le', 'ge', 'ne'), fc.date({ min: new Date('1930-01-01'), max: new Date('2020-12-31'), noInvalidDate: true }))
    .map(([p, d]) => `birthdate=${p}${d.toISOString().slice(0, 10)}`)
);

const fold = (s: string): string =>
  s
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();

/** family=x or given=x: some part of the name starts with x, ignoring case and accents. */
function startsWith(patient: Patient, clause: string): boolean {
  const [param, raw] = clause.split('=');
  const value = fold(decodeURIComponent(raw));
  const parts = (patient.name ?? []).flatMap((n) => (param === 'family' ? [n.family ?? ''] : (n.given ?? [])));
  return parts.some((part) => fold(part).startsWith(value));
}

describe.each(storeTargets)('search agrees with an in-memory matcher [$name]', (target) => {
  let server: TestServer;
  const stored: Patient[] = [];

  beforeAll(async () => {
    loadBaseDefinitions();
    server = await startServer(target);
    const patients = fc.sample(patientArb, { numRuns: 60, seed: 20261124 });
    const res = await server.api
      .post('/fhir')
      .set('Content-Type', FHIR_JSON)
      .send({ resourceType: 'Bundle', type: 'batch', entry: patients.map((resource) => ({ resource, request: { method: 'POST', url: 'Patient' } })) });
    expect(res.status).toBe(200);
    for (const e of res.body.entry) stored.push(e.resource as Patient);
    expect(stored).toHaveLength(60);
  });
  afterAll(async () => {
    await server.stop();
  });

  test('random searches return exactly the matching patients', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(clauseArb, { minLength: 1, maxLength: 3 }), async (clauses) => {
        const query = clauses.join('&');
        const res = await server.api.get(`/fhir/Patient?${query}&_count=1000`);
        expect(res.status).toBe(200);
        const got = (res.body.entry ?? []).map((e: { resource: Patient }) => e.resource.id).sort();
        // Medplum's matcher reads string parameters as "contains"; FHIR's default is
        // "starts with" (search.html#string), so those clauses are checked here.
        const stringClauses = clauses.filter((c) => c.startsWith('family=') || c.startsWith('given='));
        const others = clauses.filter((c) => !stringClauses.includes(c));
        const request = parseSearchRequest(`Patient?${others.join('&')}`);
        const expected = stored
          .filter((p) => matchesSearchRequest(p, request) && stringClauses.every((c) => startsWith(p, c)))
          .map((p) => p.id)
          .sort();
        expect([query, got]).toEqual([query, expected]);
      }),
      { numRuns: target.name === 'mongodb' ? 60 : 200, seed: 42 }
    );
  }, 120000);
});
