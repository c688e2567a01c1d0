// The Express side of the FHIR API: parses bodies and headers into a
// FhirRequest, dispatches it, and writes the result. Only this folder knows Express.
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import typeis from 'type-is';
import type { FhirContext } from '../fhir/context';
import { JSON_PATCH } from '../fhir/interactions/patch';
import { badRequest, unsupportedMediaType } from '../fhir/outcomes';
import type { FhirMethod, FhirRequest } from '../fhir/request';
import type { QueryParams } from '../fhir/search/parse';
import { jsonDepth, MAX_JSON_DEPTH } from './json-depth';
import { parsePrefer } from './prefer';
import { sendResult } from './respond';

const JSON_TYPES = ['application/fhir+json', 'application/json', JSON_PATCH];
const FORM = 'application/x-www-form-urlencoded';
const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

function queryOf(req: Request): QueryParams {
  const query: QueryParams = {};
  const search = req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
  for (const [key, value] of new URLSearchParams(search)) (query[key] ??= []).push(value);
  return query;
}

function segmentsOf(req: Request): string[] {
  try {
    return req.path.split('/').filter((s) => s.length > 0).map(decodeURIComponent);
  } catch {
    throw badRequest('The URL path is not validly percent-encoded');
  }
}

/** A body must be FHIR JSON (or a form, for _search): anything else is 415. */
function checkContentType(req: Request, segments: string[]): void {
  if (!typeis.hasBody(req)) return;
  const allowed = segments[segments.length - 1] === '_search' ? [...JSON_TYPES, FORM] : JSON_TYPES;
  if (!typeis(req, allowed)) {
    throw unsupportedMediaType(`Content-Type ${req.headers['content-type'] ?? '(none)'} is not supported; use application/fhir+json`);
  }
}

export function fhirRoutes(ctx: FhirContext, bodyLimit: string): Router {
  const router = express.Router();
  router.use(express.json({ type: JSON_TYPES, limit: bodyLimit, strict: true }));
  router.use(express.urlencoded({ type: FORM, limit: bodyLimit, extended: false }));
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!METHODS.has(req.method)) {
        res.setHeader('Allow', [...METHODS].join(', '));
        throw badRequest(`HTTP method ${req.method} is not used by FHIR`);
      }
      const segments = segmentsOf(req);
      checkContentType(req, segments);
      if (jsonDepth(req.body) > MAX_JSON_DEPTH) throw badRequest(`The request body is nested more than ${MAX_JSON_DEPTH} levels deep`);
      const prefer = parsePrefer(req.get('prefer'));
      const request: FhirRequest = {
        method: req.method as FhirMethod,
        segments,
        query: queryOf(req),
        body: req.body,
        contentType: typeis(req, JSON_TYPES) || undefined,
        ifMatch: req.get('if-match'),
        ifNoneExist: req.get('if-none-exist'),
        lenient: prefer.lenient,
        respondAsync: prefer.respondAsync,
        requestId: req.get('x-request-id'),
      };
      // NHS senders trace a request across systems by X-Correlation-Id: echo it.
      const correlationId = req.get('x-correlation-id');
      if (correlationId) res.setHeader('X-Correlation-Id', correlationId);
      if (request.contentType === 'application/json') request.contentType = 'application/fhir+json';
      sendResult(res, await ctx.dispatch(request, ctx), ctx.baseUrl, prefer.return);
    } catch (err) {
      next(err);
    }
  });
  return router;
}
