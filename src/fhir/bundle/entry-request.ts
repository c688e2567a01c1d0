// Turns a batch or transaction entry into a FhirRequest, and a handler's
// result back into an entry response (http.html#transaction).
import type { Binary, BundleEntry } from '@medplum/fhirtypes';
import { STATUS_CODES } from 'node:http';
import { queryFromString } from '../interactions/conditional';
import { JSON_PATCH } from '../interactions/patch';
import { badRequest, isErrorOutcome, statusOf, toOperationOutcome } from '../../base/outcomes';
import type { FhirMethod, FhirRequest, FhirResult } from '../request';
import { etag, resourceLocation } from './entries';

const METHODS = new Set<FhirMethod>(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']);

/** The JSON Patch carried by a PATCH entry, which must be a Binary (http.html#patch). */
function patchBody(entry: BundleEntry, where: string): unknown {
  const binary = entry.resource as Binary | undefined;
  if (binary?.resourceType !== 'Binary' || binary.contentType !== JSON_PATCH || !binary.data) {
    throw badRequest(`${where}: a PATCH entry carries a Binary with contentType ${JSON_PATCH}`);
  }
  try {
    return JSON.parse(Buffer.from(binary.data, 'base64').toString('utf8'));
  } catch {
    throw badRequest(`${where}: the Binary does not hold a JSON Patch document`);
  }
}

export function entryToRequest(entry: BundleEntry, index: number, baseUrl: string): FhirRequest {
  const where = `Bundle.entry[${index}]`;
  const method = entry.request?.method as FhirMethod | undefined;
  let url = entry.request?.url;
  if (!method || !METHODS.has(method) || !url) throw badRequest(`${where}.request needs a method and a url`, [`${where}.request`]);
  if (url.startsWith(baseUrl + '/')) url = url.slice(baseUrl.length + 1);
  if (/^[a-z]+:/i.test(url)) throw badRequest(`${where}.request.url must be relative to this server, not ${url}`);
  const [path, queryText = ''] = url.split('?', 2);
  const segments = path.split('/').filter((s) => s.length > 0);
  if (segments.length === 0) throw badRequest(`${where}: a Bundle may not contain another batch or transaction`);
  return {
    method,
    segments,
    query: queryFromString(queryText),
    body: method === 'PATCH' ? patchBody(entry, where) : entry.resource,
    contentType: method === 'PATCH' ? JSON_PATCH : 'application/fhir+json',
    ifMatch: entry.request?.ifMatch,
    ifNoneExist: entry.request?.ifNoneExist,
  };
}

export function statusLine(status: number): string {
  return `${status} ${STATUS_CODES[status] ?? ''}`.trim();
}

export function resultToEntry([outcome, resource]: FhirResult): BundleEntry {
  const status = statusOf(outcome);
  if (isErrorOutcome(outcome)) return { response: { status: statusLine(status), outcome } };
  const entry: BundleEntry = { response: { status: statusLine(status) } };
  if (resource) {
    entry.resource = resource;
    if (resource.meta?.versionId) {
      entry.response = {
        status: statusLine(status),
        etag: etag(resource.meta.versionId),
        lastModified: resource.meta.lastUpdated,
        ...(status === 201 ? { location: resourceLocation(resource) } : {}),
        // Validation warnings travel with the entry (http.html#transaction-response).
        ...(outcome.issue?.some((i) => i.severity === 'warning') ? { outcome } : {}),
      };
    }
  }
  return entry;
}

export function errorToEntry(err: unknown): BundleEntry {
  return resultToEntry([toOperationOutcome(err)]);
}
