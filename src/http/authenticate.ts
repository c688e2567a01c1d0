// Authentication of FHIR requests: a bearer JWT (auth/tokens.ts) on every
// request except the CapabilityStatement and the SMART configuration, which
// clients read before they have a token. A request without a valid token is
// answered 401 with WWW-Authenticate (RFC 6750); the rate limiter runs between
// reading the token and refusing it, so floods of bad tokens are limited too.
import type { NextFunction, Request, Response } from 'express';
import { ANONYMOUS_LOCAL, type Caller } from '../auth/caller';
import { InvalidTokenError, type TokenVerifier } from '../auth/tokens';
import { OperationOutcomeError, unauthorized } from '../base/outcomes';

/** Paths below the FHIR base that need no token. */
const OPEN_PATHS = new Set(['/metadata', '/.well-known/smart-configuration']);

export interface Authentication {
  caller?: Caller;
  /** Why the request has no caller: the error_description of the 401. */
  failure?: { error?: 'invalid_token'; description: string };
}

export const authenticationOf = (res: Response): Authentication => (res.locals.authentication ?? {}) as Authentication;
export const callerOf = (res: Response): Caller | undefined => authenticationOf(res).caller;

/** Reads and verifies the bearer token; the outcome waits in res.locals for requireAuthentication. */
export function readBearerToken(verifier: TokenVerifier | undefined) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const auth: Authentication = {};
    res.locals.authentication = auth;
    if (!verifier) {
      auth.caller = ANONYMOUS_LOCAL;
      return next();
    }
    const header = req.get('authorization');
    const m = header ? /^Bearer\s+([A-Za-z0-9\-_.~+/]+=*)\s*$/i.exec(header) : null;
    if (!header) auth.failure = { description: 'A bearer token is needed' };
    else if (!m) auth.failure = { error: 'invalid_token', description: 'The Authorization header must be "Bearer <token>"' };
    else {
      try {
        auth.caller = await verifier.verify(m[1]);
      } catch (err) {
        if (!(err instanceof InvalidTokenError)) return next(err);
        auth.failure = { error: 'invalid_token', description: err.message };
      }
    }
    next();
  };
}

export function requireAuthentication(realm: string) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const auth = authenticationOf(res);
    if (auth.caller || OPEN_PATHS.has(req.path)) return next();
    const failure = auth.failure ?? { description: 'A bearer token is needed' };
    const params = [
      `realm="${realm}"`,
      ...(failure.error ? [`error="${failure.error}"`, `error_description="${failure.description.replace(/"/g, "'")}"`] : []),
    ];
    res.setHeader('WWW-Authenticate', `Bearer ${params.join(', ')}`);
    next(unauthorized(failure.description) as OperationOutcomeError);
  };
}
