// Table-driven: every fixture under fixtures/profiles/<Profile>/ is posted.
// valid-*.json must be accepted; invalid-*.json must be rejected with exactly
// the issues listed beside it in <name>.expected.json (expression and code),
// and $validate must report the same issues as the failed create.
// Resources the fixtures refer to are loaded first from fixtures/profiles/_context/.
import fs from 'node:fs';
import path from 'node:path';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const ROOT = path.join(__dirname, '../fixtures/profiles');

interface Expected {
  status?: number;
  issues: { expression: string; code: string; severity?: string }[];
}

const read = <T>(file: string): T => JSON.parse(fs.readFileSync(file, 'utf8')) as T;

const profileDirs = fs
  .readdirSync(ROOT)
  .filter((d) => !d.startsWith('_') && fs.statSync(path.join(ROOT, d)).isDirectory())
  .sort();

const cases = profileDirs.flatMap((profile) =>
  fs
    .readdirSync(path.join(ROOT, profile))
    .filter((f) => f.endsWith('.json') && !f.endsWith('.expected.json'))
    .sort()
    .map((file) => ({ profile, file, full: path.join(ROOT, profile, file) }))
);

const errorsOf = (issues: OperationOutcomeIssue[]) =>
  issues
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => `${i.code} @ ${(i.expression ?? []).join(',')}`)
    .sort();

describe('profiles: fixtures accepted and rejected as they say', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
    for (const file of fs
      .readdirSync(path.join(ROOT, '_context'))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const resource = read<Resource>(path.join(ROOT, '_context', file));
      const res = await server.api.put(`/fhir/${resource.resourceType}/${resource.id}`).set('Content-Type', FHIR_JSON).send(resource);
      if (res.status !== 201 && res.status !== 200) throw new Error(`Context ${file} was refused: ${res.text}`);
    }
  });
  afterAll(async () => {
    await server.stop();
  });

  test('every profile has a valid fixture and at least three invalid ones', () => {
    expect(profileDirs.length).toBeGreaterThanOrEqual(11);
    for (const profile of profileDirs) {
      const files = cases.filter((c) => c.profile === profile).map((c) => c.file);
      expect([profile, files.filter((f) => f.startsWith('valid')).length >= 1]).toEqual([profile, true]);
      expect([profile, files.filter((f) => f.startsWith('invalid')).length >= 3]).toEqual([profile, true]);
    }
  });

  test.each(cases)('$profile/$file', async ({ file, full }) => {
    const resource = read<Resource>(full);
    const res = await server.api.post(`/fhir/${resource.resourceType}`).set('Content-Type', FHIR_JSON).send(resource);
    const validation = await server.api.post(`/fhir/${resource.resourceType}/$validate`).set('Content-Type', FHIR_JSON).send(resource);
    expect(validation.status).toBe(200);
    if (file.startsWith('valid')) {
      expect([res.status, res.body.resourceType === 'OperationOutcome' ? res.body.issue : 'stored']).toEqual([201, 'stored']);
      expect(errorsOf(validation.body.issue)).toEqual([]);
      return;
    }
    const expected = read<Expected>(full.replace(/\.json$/, '.expected.json'));
    expect(res.status).toBe(expected.status ?? 422);
    const issues = res.body.issue as OperationOutcomeIssue[];
    for (const want of expected.issues) {
      const match = issues.find(
        (i) => i.code === want.code && (i.expression ?? []).includes(want.expression) && (!want.severity || i.severity === want.severity)
      );
      expect([want, match ? 'found' : issues]).toEqual([want, 'found']);
      expect(typeof match?.diagnostics).toBe('string');
    }
    // $validate reports exactly what the failed create reported.
    expect(errorsOf(validation.body.issue)).toEqual(errorsOf(issues));
  });
});
