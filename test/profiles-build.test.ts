// Drift check: profiles/generated must be exactly what profiles/build.js makes
// from profiles/fsh today. The build runs into a fresh temporary directory
// (node profiles/build.js --out <dir>), so the committed files are never
// touched, and its output must match profiles/generated file for file, byte
// for byte. On a fresh clone the build first writes its FHIR package cache
// under node_modules/.cache, which takes a few seconds more.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const ROOT = path.join(__dirname, '..');
const GENERATED = path.join(ROOT, 'profiles', 'generated');
const BUILD = path.join(ROOT, 'profiles', 'build.js');

const jsonFiles = (dir: string): string[] =>
  fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort();

describe('profiles/generated is up to date with profiles/fsh', () => {
  let out: string;
  let built: string[];

  beforeAll(async () => {
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-profiles-build-'));
    // The same Node that runs the tests (24), not whatever `node` is first on PATH.
    await promisify(execFile)(process.execPath, [BUILD, '--out', out], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024 });
    built = jsonFiles(out);
  }, 180_000);

  afterAll(() => {
    if (out) fs.rmSync(out, { recursive: true, force: true });
  });

  test('the build writes the StructureDefinitions and SearchParameters', () => {
    expect(built.some((f) => f.startsWith('StructureDefinition-'))).toBe(true);
    expect(built.filter((f) => f.startsWith('SearchParameter-'))).toEqual([
      'SearchParameter-CarePlan-referral.json',
      'SearchParameter-HealthcareService-activity-type.json',
      'SearchParameter-HealthcareService-capacity-status.json',
      'SearchParameter-HealthcareService-need.json',
      'SearchParameter-ServiceRequest-patient-nhs-number.json',
      'SearchParameter-Task-business-status.json',
      'SearchParameter-Task-referral-source.json',
    ]);
  });

  test('same file list as profiles/generated', () => {
    expect(jsonFiles(GENERATED)).toEqual(built);
  });

  test('every file is byte-identical (run `npm run profiles` and commit the result if not)', () => {
    const differing = built.filter((f) => {
      const committed = path.join(GENERATED, f);
      return !fs.existsSync(committed) || !fs.readFileSync(committed).equals(fs.readFileSync(path.join(out, f)));
    });
    expect(differing).toEqual([]);
  });
});
