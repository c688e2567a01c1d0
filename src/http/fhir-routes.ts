// The Express side of the FHIR API: authenticates, parses bodies and headers
// into a FhirRequest, dispatches it, records the audit event, and writes the
// result. Only this folder knows Express.
import { isUtf8 } from 'node:buffer';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import typeis from 'type-is';
import type { AuditTrail } from '../audit/audit-trail';
import { withPendingAudit, type PendingAudit } from '../audit/request-audit';
import type { TokenVerifier } from '../auth/tokens';
import { Access } from '../fhir/access';
import type { FhirContext } from '../fhir/context';
import { JSON_PATCH } from '../fhir/interactions/patch';
import { badRequest, isErrorOutcome, serviceUnavailable, statusOf, toOperationOutcome, unsupportedMediaType } from '../base/outcomes';
import type { FhirMethod, FhirRequest, FhirResult } from '../fhir/request';
import type { QueryParams } from '../base/search-request';
import { parseQueryString } from '../fhir/search/query-string';
import { isStoreUnavailable } from '../store';
import { callerOf, readBearerToken, requireAuthentication } from './authenticate';
import { errorResponse, type HttpError } from './errors';
import { rateLimitPerClient, unsafeKey } from './hardening';
import type { InFlight } from './in-flight';
import { jsonDepth, MAX_JSON_DEPTH } from './json-depth';
import { parsePrefer } from './prefer';
import { sendFhirJson, sendResult } from './respond';
import { smartConfiguration } from './smart-configuration';

const JSON_TYPES = ['application/fhir+json', 'application/json', JSON_PATCH];
const FORM = 'application/x-www-form-urlencoded';
const METHODS = new Set<string>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

export function queryString(req: Request): string {
  return req.originalUrl.includes('?') ? req.originalUrl.slice(req.originalUrl.indexOf('?') + 1) : '';
}

export const queryOf = (req: Request): QueryParams => parseQueryString(queryString(req));

/** A body must be UTF-8 (RFC 8259): invalid bytes are refused, not silently replaced. */
function verifyUtf8(_req: Request, _res: Response, body: Buffer): void {
  if (!isUtf8(body)) throw Object.assign(new Error('The request body is not valid UTF-8'), { status: 400, type: 'charset.invalid' });
}

function segmentsOf(req: Request): string[] {
  try {
    return req.path
      .split('/')
      .filter((s) => s.length > 0)
      .map(decodeURIComponent);
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

function checkBody(body: unknown): void {
  if (jsonDepth(body) > MAX_JSON_DEPTH) throw badRequest(`The request body is nested more than ${MAX_JSON_DEPTH} levels deep`);
  const key = unsafeKey(body);
  if (key) throw badRequest(`The request body has a key no FHIR resource has: ${key}`);
}

/**
 * Records the request in the audit trail, then calls send; answers 503 instead
 * when the AuditEvent cannot be written. Resolves to whether send was called.
 */
export type Audited = (req: Request, res: Response, status: number, failure: string | undefined, send: () => void, created?: string) => Promise<boolean>;

export interface FhirRouteOptions {
  bodyLimit: string;
  rateLimitPerMinute: number;
  /** Undefined when authentication is off (AUTH=off, loopback only). */
  verifier?: TokenVerifier;
  audit: AuditTrail;
  logger: Logger;
  /** Requests being handled, so that shutdown waits for them (in-flight.ts). */
  inFlight?: InFlight;
  /** The issuer's token endpoint, for the SMART configuration. */
  tokenEndpoint?: string;
  /** Routers for answers a FhirResult cannot carry; they answer through `audited`. */
  routes?: (audited: Audited) => Router[];
}

export function fhirRoutes(ctx: FhirContext, options: FhirRouteOptions): Router {
  const router = express.Router();
  const { audit, logger } = options;

  /** Records the request in the audit trail, then sends: a request that cannot be audited fails. */
  const auditAndSend: Audited = async (req, res, status, failure, send, created) => {
    const pending = res.locals.pendingAudit as PendingAudit | undefined;
    if (pending?.written) {
      // Committed with the request's write (request-audit.ts).
      send();
      return true;
    }
    // From here on the request's AuditEvent is this one: work the request left running writes none.
    if (pending) pending.written = true;
    try {
      let segments: string[] = [];
      try {
        segments = segmentsOf(req);
      } catch {
        segments = [];
      }
      await audit.record({
        caller: callerOf(res),
        method: req.method,
        segments,
        query: queryString(req),
        status,
        failure,
        sourceAddress: req.ip,
        createdReference: created,
      });
    } catch (err) {
      logger.error({ err, method: req.method, path: req.path }, 'could not write the audit event; the request is refused');
      res.removeHeader('Location');
      res.removeHeader('ETag');
      if (isStoreUnavailable(err)) res.setHeader('Retry-After', '5');
      const refusal = serviceUnavailable('The request could not be recorded in the audit trail, so it is refused; try again shortly').outcome;
      sendFhirJson(res, 503, refusal);
      return false;
    }
    send();
    return true;
  };
  /** Sends, then marks the request handled. */
  const finished = (res: Response) => (res.locals.endInFlight as (() => void) | undefined)?.();

  router.get('/.well-known/smart-configuration', smartConfiguration(ctx.baseUrl, options.tokenEndpoint));
  // Every request below is tracked until its handling ends, answered or not.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    const end = options.inFlight?.begin();
    if (end) {
      res.locals.endInFlight = end;
      // Answered: handled. A request whose client left is handled when its handler ends (finished()).
      res.on('finish', end);
    }
    next();
  });
  router.use(readBearerToken(options.verifier));
  router.use(rateLimitPerClient(options.rateLimitPerMinute));
  router.use(requireAuthentication(ctx.baseUrl));
  // The caller's access, for every route below.
  router.use((_req: Request, res: Response, next: NextFunction) => {
    const caller = callerOf(res);
    res.locals.ctx = { ...ctx, access: caller ? new Access(caller, ctx.repo) : ctx.access } satisfies FhirContext;
    next();
  });
  for (const extra of options.routes?.(auditAndSend) ?? []) router.use(extra);
  router.use(express.json({ type: JSON_TYPES, limit: options.bodyLimit, strict: true, verify: verifyUtf8 }));
  router.use(express.urlencoded({ type: FORM, limit: options.bodyLimit, extended: false, verify: verifyUtf8 }));
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    try {
      if (!METHODS.has(req.method)) {
        res.setHeader('Allow', [...METHODS].join(', '));
        throw badRequest(`HTTP method ${req.method} is not used by FHIR`);
      }
      const segments = segmentsOf(req);
      checkContentType(req, segments);
      checkBody(req.body);
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
      const pending: PendingAudit | undefined = audit.commitsWithWrites
        ? { trail: audit, record: { caller: callerOf(res), method: req.method, segments, query: queryString(req), sourceAddress: req.ip }, written: false }
        : undefined;
      res.locals.pendingAudit = pending;
      const dispatched = () => ctx.dispatch(request, res.locals.ctx as FhirContext);
      const result: FhirResult = pending ? await withPendingAudit(pending, dispatched) : await dispatched();
      const [outcome, resource] = result;
      const status = statusOf(outcome);
      const created = status === 201 && resource?.id ? `${resource.resourceType}/${resource.id}` : undefined;
      const failure = isErrorOutcome(outcome) ? outcome.issue?.[0]?.diagnostics : undefined;
      await auditAndSend(req, res, status, failure, () => sendResult(res, result, ctx.baseUrl, prefer.return), created);
      finished(res);
    } catch (err) {
      next(err);
    }
  });
  // Errors of this router (401, 413, 415, refusals, failures) are audited like any answer.
  router.use(async (err: HttpError, req: Request, res: Response, next: NextFunction) => {
    void next;
    const { status, body, outcome } = errorResponse(err, req, res, logger);
    if (res.headersSent) {
      res.end();
      finished(res);
      return;
    }
    const failure = outcome.issue?.[0]?.diagnostics ?? toOperationOutcome(err).issue?.[0]?.diagnostics;
    if (isStoreUnavailable(err)) {
      // The store holds the audit trail too, so waiting for it again would only delay the 503;
      // nothing was served, and the log keeps the record of the refusal.
      logger.warn(
        { method: req.method, path: req.path, status, caller: callerOf(res)?.subject },
        'store unavailable: request refused; its AuditEvent could not be stored'
      );
      sendFhirJson(res, status, body);
      finished(res);
      return;
    }
    await auditAndSend(req, res, status, failure, () => sendFhirJson(res, status, body));
    finished(res);
  });
  return router;
}
