// Checks shared by the interactions that take a resource in the body.
import type { Resource } from '@medplum/fhirtypes';
import { IF_MATCH_REQUIRED } from '../../domain/server-profiles';
import { badRequest, preconditionRequired } from '../../base/outcomes';
import type { FhirRequest } from '../request';
import { ID_PATTERN } from '../../base/ids';

/** The body as a resource of the expected type, or a 400 that says what is wrong. */
export function resourceBody(request: FhirRequest, resourceType: string): Resource {
  const body = request.body;
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw badRequest(`The request body must be a ${resourceType} resource as a JSON object`);
  }
  const actual = (body as { resourceType?: unknown }).resourceType;
  if (actual !== resourceType) {
    throw badRequest(`The body's resourceType is ${JSON.stringify(actual)}, but the URL is for ${resourceType}`, ['resourceType']);
  }
  return body as Resource;
}

export function checkId(id: string): void {
  if (!ID_PATTERN.test(id)) throw badRequest(`"${id}" is not a valid FHIR id (1-64 of A-Z a-z 0-9 - .)`);
}

/** The versionId in an If-Match header: W/"3" (http.html#concurrency). */
export function parseIfMatch(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^(?:W\/)?"([^"]+)"$/.exec(header.trim());
  if (!m) throw badRequest(`If-Match must look like W/"<versionId>", not ${header}`);
  return m[1];
}

/** Refuses an update of a type that needs If-Match when the request has none (428). */
export function requireIfMatch(resourceType: string, header: string | undefined): void {
  if (header === undefined && IF_MATCH_REQUIRED.has(resourceType)) {
    throw preconditionRequired(`Updates of ${resourceType} need an If-Match header with the version you read, e.g. If-Match: W/"3"`);
  }
}
