// The API's description for people and tools, readable without a token like
// /metadata: [base]/openapi.json (fhir/openapi.ts) and the API explorer at
// [base]/docs/, Swagger UI served from the swagger-ui-dist package. In the
// explorer a user pastes a bearer token (Authorize) and tries requests, which
// then go through the API's authentication like any other.
import path from 'node:path';
import express, { type Router } from 'express';
import { buildCapabilityStatement } from '../fhir/capabilities';
import type { FhirContext } from '../fhir/context';
import { buildOpenApi } from '../fhir/openapi';
import { outcome } from '../fhir/outcomes';
import { sendFhirJson } from './respond';
import { namedFiles, page, pagesDir, pageSecurityPolicy } from './pages';

const SWAGGER_UI = path.dirname(require.resolve('swagger-ui-dist/package.json'));
const SWAGGER_FILES = ['swagger-ui-bundle.js', 'swagger-ui.css', 'favicon-32x32.png', 'favicon-16x16.png'];

export function apiDocs(ctx: FhirContext, fhirPath = '/fhir'): Router {
  const router = express.Router();
  // The statement is rebuilt only when SearchParameters change (capabilities.ts); so is the document.
  const documents = new WeakMap<object, string>();
  router.get(`${fhirPath}/openapi.json`, (_req, res) => {
    const statement = buildCapabilityStatement(ctx);
    let text = documents.get(statement);
    if (!text) {
      text = JSON.stringify(buildOpenApi(statement, ctx.baseUrl));
      documents.set(statement, text);
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
