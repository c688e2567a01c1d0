// Turns every error into an OperationOutcome response. Body-parser errors get
// their FHIR status; anything unknown is a 500 that reveals no internals.
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import {
  OperationOutcomeError,
  OperationOutcomeErrorWithBody,
  outcome,
  payloadTooLarge,
  serviceUnavailable,
  statusOf,
  toOperationOutcome,
} from '../base/outcomes';
import { isStoreUnavailable } from '../store';
import { sendFhirJson } from './respond';

export interface HttpError extends Error {
  type?: string;
  status?: number;
}

const BODY_ERRORS: Record<string, () => ReturnType<typeof outcome>> = {
  'entity.parse.failed': () => outcome('bad-request', 'error', 'structure', 'The request body is not valid JSON'),
  'entity.too.large': () => payloadTooLarge('The request body is larger than the server accepts').outcome,
  'encoding.unsupported': () => outcome('unsupported-media-type', 'error', 'not-supported', 'The request body encoding is not supported'),
  'charset.invalid': () => outcome('bad-request', 'error', 'structure', 'The request body is not valid UTF-8'),
  'charset.unsupported': () => outcome('unsupported-media-type', 'error', 'not-supported', 'The request body charset is not supported; use UTF-8'),
  'request.aborted': () => outcome('bad-request', 'error', 'incomplete', 'The request body was cut short'),
};

/** The status and body an error is answered with; sets Retry-After for an unavailable store. */
export function errorResponse(err: HttpError, req: Request, res: Response, logger: Logger): { status: number; body: Resource; outcome: OperationOutcome } {
  if (err instanceof OperationOutcomeErrorWithBody) {
    // e.g. a failed message, answered with a fatal-error response message (DOMAIN.md section 5).
    return { status: statusOf(err.outcome), body: err.body, outcome: err.outcome };
  }
  const bodyError = err.type ? BODY_ERRORS[err.type] : undefined;
  let result = bodyError?.();
  if (!result && !(err instanceof OperationOutcomeError) && err.status && err.status >= 400 && err.status < 500) {
    result = outcome('bad-request', 'error', 'invalid', 'The request could not be read');
  }
  if (!result && isStoreUnavailable(err)) {
    // The store will likely be back: say so, and when to try again.
    res.setHeader('Retry-After', '5');
    result = serviceUnavailable('The data store is unavailable; try again shortly').outcome;
  }
  result ??= toOperationOutcome(err);
  const status = statusOf(result);
  if (status >= 500) logger.error({ err, method: req.method, path: req.path }, 'request failed');
  return { status, body: result, outcome: result };
}

export function errorHandler(logger: Logger) {
  return (err: HttpError, req: Request, res: Response, next: NextFunction): void => {
    void next;
    const { status, body } = errorResponse(err, req, res, logger);
    if (res.headersSent) {
      res.end();
      return;
    }
    sendFhirJson(res, status, body);
  };
}
