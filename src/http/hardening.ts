// Protections in front of the FHIR API: security headers (helmet), CORS for an
// allow-list of origins only, a request rate limit per client, and refusal of
// body keys that could reach object prototypes or read as MongoDB operators.
import cors from 'cors';
import type { Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import helmet from 'helmet';
import { outcome } from '../base/outcomes';
import { callerOf } from './authenticate';
import { sendFhirJson } from './respond';

export function securityHeaders(): RequestHandler {
  // An API of JSON documents: no scripts, frames or inline content anywhere.
  return helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } });
}

/** CORS for the configured origins; with none configured, browsers on other origins are refused by default. */
export function corsAllowList(origins: string[]): RequestHandler {
  return cors({
    origin: origins.length > 0 ? origins : false,
    exposedHeaders: ['Location', 'Content-Location', 'ETag', 'Last-Modified', 'X-Progress', 'Retry-After', 'X-Correlation-Id', 'WWW-Authenticate'],
    maxAge: 600,
  });
}

/** Per client: the token's subject once authenticated, else the network address. */
export function rateLimitPerClient(perMinute: number): RequestHandler {
  if (perMinute === 0) return (_req, _res, next) => next();
  return rateLimit({
    windowMs: 60_000,
    limit: perMinute,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    keyGenerator: (req: Request, res: Response) => {
      const caller = callerOf(res);
      return caller && !caller.unrestricted
        ? `token:${caller.issuer}|${caller.subject}`
        : `ip:${ipKeyGenerator(req.ip ?? req.socket.remoteAddress ?? 'unknown')}`;
    },
    handler: (_req: Request, res: Response) => {
      res.setHeader('Retry-After', '60');
      sendFhirJson(
        res,
        429,
        outcome('too-many-requests', 'error', 'throttled', `More than ${perMinute} requests in a minute from this client; try again later`)
      );
    },
  });
}

/** Keys no FHIR JSON has, which could reach a prototype or read as a query operator. */
const UNSAFE_KEY = /^(__proto__|constructor|prototype|\$.*)$/;

/** The first unsafe key in a parsed body, with its path; undefined when there is none. */
export function unsafeKey(value: unknown, path = ''): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const entries = Array.isArray(value)
    ? value.map((v, i) => [String(i), v] as const)
    : Object.keys(value).map((k) => [k, (value as Record<string, unknown>)[k]] as const);
  for (const [key, child] of entries) {
    if (!Array.isArray(value) && UNSAFE_KEY.test(key)) return `${path}${path ? '.' : ''}${key}`;
    const found = unsafeKey(child, `${path}${path ? '.' : ''}${key}`);
    if (found) return found;
  }
  return undefined;
}
