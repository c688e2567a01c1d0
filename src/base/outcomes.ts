// OperationOutcomes and the one error type that carries them. The HTTP status
// derives from the outcome's id (see statusOf), so a handler never picks a
// status code and an outcome separately.
import { getStatus, OperationOutcomeError } from '@medplum/core';
import type { OperationOutcome, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

export { OperationOutcomeError };

/**
 * A failure answered with a body of its own instead of the bare outcome (a
 * fatal-error response message for $process-message); the status still comes
 * from the outcome.
 */
export class OperationOutcomeErrorWithBody extends OperationOutcomeError {
  constructor(
    outcome: OperationOutcome,
    readonly body: Resource
  ) {
    super(outcome);
  }
}

type IssueCode = OperationOutcomeIssue['code'];

const STATUS_BY_ID: Record<string, number> = {
  ok: 200,
  created: 201,
  accepted: 202,
  'not-modified': 304,
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  'method-not-allowed': 405,
  conflict: 409,
  gone: 410,
  'precondition-failed': 412,
  'payload-too-large': 413,
  'precondition-required': 428,
  'unsupported-media-type': 415,
  'unprocessable-entity': 422,
  'too-many-requests': 429,
  'server-error': 500,
  'not-implemented': 501,
  'service-unavailable': 503,
};

export function statusOf(outcome: OperationOutcome): number {
  return (outcome.id && STATUS_BY_ID[outcome.id]) || getStatus(outcome);
}

export function outcome(id: string, severity: OperationOutcomeIssue['severity'], code: IssueCode, text: string, expression?: string[]): OperationOutcome {
  return {
    resourceType: 'OperationOutcome',
    id,
    issue: [{ severity, code, diagnostics: text, details: { text }, ...(expression ? { expression } : {}) }],
  };
}

function fail(id: string, code: IssueCode, text: string, expression?: string[]): OperationOutcomeError {
  return new OperationOutcomeError(outcome(id, 'error', code, text, expression));
}

export const allOk = (text = 'All OK'): OperationOutcome => outcome('ok', 'information', 'informational', text);
export const created = (text = 'Created'): OperationOutcome => outcome('created', 'information', 'informational', text);
/** 202: an asynchronous request was accepted, or is still running (async.html). */
export const accepted = (text: string): OperationOutcome => outcome('accepted', 'information', 'informational', text);

export const badRequest = (text: string, expression?: string[]) => fail('bad-request', 'invalid', text, expression);
export const notSupported = (text: string) => fail('bad-request', 'not-supported', text);
export const notFound = (text: string) => fail('not-found', 'not-found', text);
export const gone = (text: string) => fail('gone', 'deleted', text);
export const methodNotAllowed = (text: string) => fail('method-not-allowed', 'not-supported', text);
export const conflict = (text: string) => fail('conflict', 'conflict', text);
export const preconditionFailed = (text: string) => fail('precondition-failed', 'conflict', text);
export const preconditionRequired = (text: string) => fail('precondition-required', 'required', text);
export const payloadTooLarge = (text: string) => fail('payload-too-large', 'too-costly', text);
export const unsupportedMediaType = (text: string) => fail('unsupported-media-type', 'not-supported', text);
export const serviceUnavailable = (text: string) => fail('service-unavailable', 'transient', text);
export const forbidden = (text: string) => fail('forbidden', 'forbidden', text);
export const unauthorized = (text: string) => fail('unauthorized', 'login', text);

/** 422 for a domain rule a resource breaks (a Task state, a self-referral's source). */
export function businessRule(text: string, expression: string): OperationOutcomeError {
  return new OperationOutcomeError({
    resourceType: 'OperationOutcome',
    id: 'unprocessable-entity',
    issue: [{ severity: 'error', code: 'business-rule', diagnostics: text, expression: [expression] }],
  });
}

/** 422: the resource was understood but breaks the rules (FHIR http.html#2.21.0.13). */
export function unprocessable(issues: OperationOutcomeIssue[]): OperationOutcomeError {
  return new OperationOutcomeError({ resourceType: 'OperationOutcome', id: 'unprocessable-entity', issue: issues });
}

/** An outcome carrying the warnings and information validation found on a successful write. */
export function withIssues(base: OperationOutcome, issues: OperationOutcomeIssue[]): OperationOutcome {
  return issues.length === 0 ? base : { ...base, issue: [...(base.issue ?? []), ...issues] };
}

/** Anything that is not an OperationOutcomeError is internal: 500, no details leak. */
export function toOperationOutcome(err: unknown): OperationOutcome {
  if (err instanceof OperationOutcomeError) return err.outcome;
  return outcome('server-error', 'error', 'exception', 'Internal server error');
}

export function isErrorOutcome(o: OperationOutcome): boolean {
  return statusOf(o) >= 400;
}
