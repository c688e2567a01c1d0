// The OpenAPI description at /fhir/openapi.json: valid OpenAPI 3.1 (checked by
// @seriousme/openapi-schema-validator), open without a token, and saying
// exactly what /fhir/metadata says: every type, interaction, search
// parameter and operation, nothing more; profiles as schema links; the bearer
// scheme. Also the explorer page that shows it, with its own strict CSP.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import type { CapabilityStatement } from '@medplum/fhirtypes';
import { RESULT_PARAMETERS } from '../src/fhir/capabilities';
import { startServer, type TestServer } from './support/server';
import { storeTargets, tempDir } from './support/stores';

// An OpenAPI document is walked freely here.
type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const METHODS = ['get', 'put', 'post', 'delete', 'patch'] as const;

/** The FHIR interaction a path and method stand for (http.html), or undefined for an operation or the server's own paths. */
function interactionOf(pathName: string, method: string): { type: string; code: string } | undefined {
  const parts = pathName.split('/').filter(Boolean);
  if (parts.length === 0 || parts.some((p) => p.startsWith('$'))) return undefined;
  const [type, second, third, fourth] = parts;
  const key = [second === '{id}' ? 'id' : second, third, fourth === '{vid}' ? 'vid' : fourth].filter(Boolean).join('/');
  const table: Record<string, string> = {
    'get:': 'search-type',
    'post:': 'create',
    'put:': 'update',
    'delete:': 'delete',
    'post:_search': 'search-type',
    'get:id': 'read',
    'put:id': 'update',
    'patch:id': 'patch',
    'delete:id': 'delete',
    'get:_history': 'history-type',
    'get:id/_history': 'history-instance',
    'get:id/_history/vid': 'vread',
  };
  const code = table[`${method}:${key}`];
  return code ? { type, code } : undefined;
}

describe('OpenAPI description, API explorer and dashboard pages', () => {
  let server: TestServer;
  let doc: Json;
  let statement: CapabilityStatement;

  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
    const res = await server.anonymous.get('/fhir/openapi.json');
    expect(res.status).toBe(200);
    doc = res.body;
    statement = (await server.anonymous.get('/fhir/metadata')).body;
  });
  afterAll(async () => {
    await server.stop();
  });

  test('is served without a token, as JSON', async () => {
    const res = await server.anonymous.get('/fhir/openapi.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(doc.openapi).toBe('3.1.0');
  });

  test('validates against the OpenAPI 3.1 schema', async () => {
    const file = path.join(tempDir('sp-openapi-'), 'openapi.json');
    fs.writeFileSync(file, JSON.stringify(doc));
    // The validator is an ES module: it runs in its own Node process, as its command-line tool.
    const cli = path.join(path.dirname(require.resolve('@seriousme/openapi-schema-validator/package.json')), 'bin', 'validate-api-cli.js');
    const { stdout } = await promisify(execFile)(process.execPath, [cli, file], { maxBuffer: 64 * 1024 * 1024 }).catch((err: { stdout: string }) => ({
      stdout: err.stdout,
    }));
    const result = JSON.parse(stdout) as { valid: boolean; errors?: unknown[] };
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  }, 60000);

  test('has every type and interaction of /metadata, and nothing else', () => {
    const fromMetadata = new Set<string>();
    for (const r of statement.rest?.[0].resource ?? []) for (const i of r.interaction ?? []) fromMetadata.add(`${r.type} ${i.code}`);
    const fromOpenApi = new Set<string>();
    for (const [pathName, item] of Object.entries(doc.paths as Json)) {
      for (const method of METHODS) {
        if (!item[method]) continue;
        const interaction = interactionOf(pathName, method);
        if (interaction) fromOpenApi.add(`${interaction.type} ${interaction.code}`);
      }
    }
    // The server's own paths.
    fromOpenApi.delete('metadata search-type');
    fromOpenApi.delete('_history search-type');
    expect([...fromOpenApi].filter((k) => !fromMetadata.has(k))).toEqual([]);
    expect([...fromMetadata].filter((k) => !fromOpenApi.has(k))).toEqual([]);
    expect(doc.paths['/metadata'].get.security).toEqual([]);
    const system = (statement.rest?.[0].interaction ?? []).map((i) => i.code).sort();
    expect(system).toEqual(['batch', 'history-system', 'transaction']);
    expect(doc.paths['/'].post).toBeDefined();
    expect(doc.paths['/_history'].get).toBeDefined();
  });

  test('lists each type’s search parameters exactly, with their FHIR types, and the result parameters', () => {
    for (const r of statement.rest?.[0].resource ?? []) {
      const params = (doc.paths[`/${r.type}`].get.parameters as Json[]).filter((p) => !p.$ref);
      expect(params.map((p) => `${p.name}:${p['x-fhir-search-type']}`).sort()).toEqual((r.searchParam ?? []).map((p) => `${p.name}:${p.type}`).sort());
      const refs = (doc.paths[`/${r.type}`].get.parameters as Json[]).filter((p) => p.$ref).map((p) => doc.components.parameters[p.$ref.split('/').pop()].name);
      expect(refs).toEqual(RESULT_PARAMETERS);
    }
  });

  test('has every operation of /metadata at its level, and nothing else', () => {
    const rest = statement.rest?.[0];
    const fromMetadata = new Set<string>([
      ...(rest?.operation ?? []).map((o) => `system $${o.name} ${o.definition}`),
      ...(rest?.resource ?? []).flatMap((r) => (r.operation ?? []).map((o) => `${r.type} $${o.name} ${o.definition}`)),
    ]);
    const fromOpenApi = new Set<string>();
    for (const [pathName, item] of Object.entries(doc.paths as Json)) {
      const parts = pathName.split('/').filter(Boolean);
      const op = parts.find((p) => p.startsWith('$'));
      if (!op) continue;
      expect(item.get && item.post).toBeTruthy();
      fromOpenApi.add(`${parts.length === 1 ? 'system' : parts[0]} ${op} ${item.get.externalDocs.url}`);
    }
    expect([...fromOpenApi].sort()).toEqual([...fromMetadata].sort());
    // Operations that declare their parameters have them listed.
    const names = (params: Json[]) => params.filter((p) => !p.$ref).map((p) => p.name);
    expect(names(doc.paths['/Patient/{id}/$everything'].get.parameters)).toEqual(['_since', '_type', '_count']);
    expect(doc.paths['/$activity-report'].get.parameters.filter((p: Json) => p.required).map((p: Json) => p.name)).toEqual(['periodStart', 'periodEnd']);
  });

  test('links each of the project’s profiles as a schema, used by the type’s create and update', () => {
    const profiled = (statement.rest?.[0].resource ?? []).filter((r) => (r.supportedProfile ?? []).length > 0);
    expect(profiled.length).toBeGreaterThan(0);
    for (const r of profiled) {
      const anyOf = doc.paths[`/${r.type}`].post.requestBody.content['application/fhir+json'].schema.anyOf as Json[];
      for (const profile of r.supportedProfile ?? []) {
        const name = Object.keys(doc.components.schemas).find((k) => doc.components.schemas[k]['x-fhir-profile'] === profile) as string;
        expect(name).toBeDefined();
        expect(doc.components.schemas[name].externalDocs.url).toBe(`${server.app.fhir.baseUrl}/StructureDefinition?url=${encodeURIComponent(profile)}`);
        expect(anyOf).toContainEqual({ $ref: `#/components/schemas/${name}` });
      }
      expect(doc.paths[`/${r.type}/{id}`].put.requestBody.content['application/fhir+json'].schema.anyOf).toEqual(anyOf);
    }
  });

  test('_type narrows the description to those types and the server’s own paths; an unknown type is a 400', async () => {
    const res = await server.anonymous.get('/fhir/openapi.json?_type=Patient,Task');
    expect(res.status).toBe(200);
    const typed = Object.keys(res.body.paths)
      .map((p) => p.split('/')[1])
      .filter((t) => /^[A-Z]/.test(t));
    expect([...new Set(typed)].sort()).toEqual(['Patient', 'Task']);
    expect(res.body.paths['/Patient/{id}/$everything']).toEqual(doc.paths['/Patient/{id}/$everything']);
    expect(res.body.paths['/Task']).toEqual(doc.paths['/Task']);
    expect(res.body.paths['/$activity-report']).toBeDefined();
    for (const query of ['_type=Nonsense', 'colour=blue', '_type=']) {
      const bad = await server.anonymous.get(`/fhir/openapi.json?${query}`);
      expect(bad.status).toBe(400);
      expect(bad.body.resourceType).toBe('OperationOutcome');
    }
    // A narrowed description never stands in for the whole one.
    expect((await server.anonymous.get('/fhir/openapi.json')).body).toEqual(doc);
  });

  test('a SearchParameter created at runtime appears in the description once /metadata lists it', async () => {
    const code = 'openapi-favourite-colour';
    const created = await server.api
      .post('/fhir/SearchParameter')
      .set('Content-Type', 'application/fhir+json')
      .send({
        resourceType: 'SearchParameter',
        url: `https://social-prescribing.example.org/fhir/SearchParameter/test-${code}`,
        name: code,
        status: 'active',
        description: 'Test: a patient by their favourite colour',
        code,
        base: ['Patient'],
        type: 'string',
        expression: "Patient.extension.where(url = 'https://social-prescribing.example.org/fhir/StructureDefinition/test-colour').value",
      });
    expect(created.status).toBe(201);
    const listed = async (): Promise<boolean> =>
      ((await server.anonymous.get('/fhir/metadata')).body as CapabilityStatement).rest?.[0].resource
        ?.find((r) => r.type === 'Patient')
        ?.searchParam?.some((p) => p.name === code) ?? false;
    for (let i = 0; i < 100 && !(await listed()); i++) await new Promise((r) => setTimeout(r, 100));
    expect(await listed()).toBe(true);
    const params = (await server.anonymous.get('/fhir/openapi.json')).body.paths['/Patient'].get.parameters as Json[];
    expect(params.find((p) => p.name === code)).toMatchObject({ in: 'query', 'x-fhir-search-type': 'string' });
  });

  test('declares the bearer-token scheme and requires it everywhere but the CapabilityStatement', () => {
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' });
    expect(doc.security).toEqual([{ bearer: [] }]);
  });

  test('the explorer page loads without a token, under a CSP allowing only this origin', async () => {
    const redirect = await server.anonymous.get('/fhir/docs');
    expect(redirect.status).toBe(301);
    expect(redirect.headers.location).toBe('/fhir/docs/');
    const res = await server.anonymous.get('/fhir/docs/');
    expect(res.status).toBe(200);
    expect(res.text).toContain('assets/swagger-ui-bundle.js');
    expect(res.text).not.toMatch(/<script>|<style>|https?:\/\/(?!hl7)/);
    const csp = res.headers['content-security-policy'] as string;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("connect-src 'self'");
    expect(csp).not.toContain('unsafe');
    for (const asset of ['assets/swagger-ui-bundle.js', 'assets/swagger-ui.css', 'explorer.js', 'explorer.css']) {
      expect((await server.anonymous.get(`/fhir/docs/${asset}`)).status).toBe(200);
    }
  });

  test('only the explorer’s own files are served: anything else of the package is 404', async () => {
    for (const other of ['assets/index.html', 'assets/swagger-initializer.js', 'assets/..%2Fpackage.json', 'nothing.js']) {
      const res = await server.anonymous.get(`/fhir/docs/${other}`);
      expect(res.status).toBe(404);
      expect(res.body.resourceType).toBe('OperationOutcome');
    }
  });

  test('the dashboard page and its scripts are served without a token, under the pages’ CSP; nothing else is', async () => {
    expect((await server.anonymous.get('/dashboard')).headers.location).toBe('/dashboard/');
    const res = await server.anonymous.get('/dashboard/');
    expect(res.status).toBe(200);
    expect(res.text).not.toMatch(/<script>|<style>|style="|https?:\/\//);
    expect(res.headers['content-security-policy']).toBe(
      "default-src 'none';script-src 'self';style-src 'self';img-src 'self' data:;font-src 'self';connect-src 'self';base-uri 'none';form-action 'none';frame-ancestors 'none'"
    );
    for (const asset of ['assets/chart.umd.min.js', 'dashboard.js', 'report.js', 'dashboard.css']) {
      expect((await server.anonymous.get(`/dashboard/${asset}`)).status).toBe(200);
    }
    for (const other of ['assets/chart.js', 'index.js', '..%2Fpackage.json']) {
      const missing = await server.anonymous.get(`/dashboard/${other}`);
      expect(missing.status).toBe(404);
      expect(missing.body.resourceType).toBe('OperationOutcome');
    }
  });

  test('the API itself still needs a token', async () => {
    expect((await server.anonymous.get('/fhir/Patient')).status).toBe(401);
  });
});
