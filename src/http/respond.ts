// Writes a FhirResult as an HTTP response: status from the outcome, headers
// from the resource's meta, body chosen by Prefer: return (http.html#ops).
import type { Resource } from '@medplum/fhirtypes';
import type { Response } from 'express';
import { etag, resourceLocation } from '../fhir/bundle/entries';
import { isErrorOutcome, statusOf } from '../base/outcomes';
import type { FhirResult } from '../fhir/request';

export const FHIR_JSON = 'application/fhir+json; charset=utf-8';

export type ReturnPreference = 'minimal' | 'representation' | 'OperationOutcome';

export function sendFhirJson(res: Response, status: number, body: Resource | undefined): void {
  res.status(status);
  if (body === undefined) {
    res.end();
    return;
  }
  res.type(FHIR_JSON).send(JSON.stringify(body));
}

export function sendResult(res: Response, [outcome, resource, headers]: FhirResult, baseUrl: string, prefer?: ReturnPreference): void {
  const status = statusOf(outcome);
  for (const [name, value] of Object.entries(headers ?? {})) res.setHeader(name, value);
  if (isErrorOutcome(outcome) || !resource) {
    sendFhirJson(res, status, outcome);
    return;
  }
  const versionId = resource.meta?.versionId;
  // Bundles and CapabilityStatements are not stored versions: no ETag or Location.
  if (versionId && resource.resourceType !== 'Bundle') {
    res.setHeader('ETag', etag(versionId));
    if (resource.meta?.lastUpdated) res.setHeader('Last-Modified', new Date(resource.meta.lastUpdated).toUTCString());
    if (status === 201) res.setHeader('Location', `${baseUrl}/${resourceLocation(resource)}`);
  }
  if (prefer === 'minimal') sendFhirJson(res, status, undefined);
  else if (prefer === 'OperationOutcome') sendFhirJson(res, status, outcome);
  else sendFhirJson(res, status, resource);
}
