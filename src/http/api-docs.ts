// The API's description for people and tools, readable without a token like
// /metadata: [base]/openapi.json (fhir/openapi.ts) and the API explorer at
// [base]/docs/, Swagger UI served from the swagger-ui-dist package.
// openapi.json?_type=A,B describes only those types (and the server's own
// paths): the explorer starts with the project's profiled types, as the
// whole API (about 2,400 operations) takes Swagger UI long to load. In the
// explorer a user pastes a bearer token (Authorize) and tries requests, which
// then go through the API's authentication like any other.
import path from 'node:path';
import express, { type Router } from 'express';
import { buildCapabilityStatement } from '../fhir/capabilities';
import type { FhirContext } from '../fhir/context';
import { buildOpenApi } from '../fhir/openapi';
import { badRequest, outcome } from '../base/outcomes';
import { queryOf } from './fhir-routes';
import { sendFhirJson } from './respond';
import { namedFiles, page, pagesDir, pageSecurityPolicy } from './pages';

const SWAGGER_UI = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png'];

export function apiDocs(ctx: FhirContext, fhirPath = '/fhir'): Router {
  const router = express.Router();
  // The statement is rebuilt only when SearchParameters change (capabilities.ts); so are the documents.
  const documents = new WeakMap<object, Map<string, string>>();
  router.get(`${fhirPath}/openapi.json`, (req, res) => {
    const statement = buildCapabilityStatement(ctx);
    const query = queryOf(req);
    const unknown = Object.keys(query).filter((k) => k !== '_type');
    if (unknown.length > 0) return sendFhirJson(res, 400, badRequest(`Unknown parameter ${unknown.join(', ')}; openapi.json takes only _type`).outcome);
    const types = query._type
      ?.flatMap((t) => t.split(','))
      .map((t) => t.trim())
      .filter(Boolean);
    const known = new Set((statement.rest?.[0]?.resource ?? []).map((r) => r.type as string));
    const wrong = (types ?? []).filter((t) => !known.has(t));
    if (wrong.length > 0) return sendFhirJson(res, 400, badRequest(`Unknown resource type ${wrong.join(', ')} in _type`).outcome);
    if (types?.length === 0) return sendFhirJson(res, 400, badRequest('_type lists no resource type').outcome);
    const only = types && [...new Set(types)].sort();
    const key = only ? `only:${only.join(',')}` : 'all';
    let cache = documents.get(statement);
    if (!cache) documents.set(statement, (cache = new Map()));
    let text = cache.get(key);
    if (!text) {
      text = JSON.stringify(buildOpenApi(statement, ctx.baseUrl, only));
      // A handful of type lists is all the explorer asks for; anything else is not kept.
      if (cache.size < 16) cache.set(key, text);
    }
    res.type('application/json').send(text);
  });
  const docs = `${fhirPath}/docs`;
  router.use(docs, pageSecurityPolicy());
  router.use(`${docs}/assets`, namedFiles(Object.fromEntries(SWAGGER_FILES.map((f) => [f, path.join(SWAGGER_UI, f)]))));
  router.use(docs, page(path.join(pagesDir(), 'docs'), ['explorer.js', 'explorer.css']));
  router.use(docs, (req, res) => sendFhirJson(res, 404, outcome('not-found', 'error', 'not-found', `Nothing at ${req.originalUrl.split('?')[0]}`)));
  return router;
}
