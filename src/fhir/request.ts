// The FHIR layer's own request and response, free of Express: the HTTP
// adapter maps to and from these, and Bundle entries are turned into them
// so that batch and transaction entries take exactly the same path.
import type { OperationOutcome, Resource } from '@medplum/fhirtypes';
import type { QueryParams } from '../base/search-request';
import type { StoredVersion } from '../store/port';

export type FhirMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface FhirRequest {
  method: FhirMethod;
  /** Path below the FHIR base, split into segments: ["Patient", "123", "_history"]. */
  segments: string[];
  query: QueryParams;
  body?: unknown;
  /** Media type of the body, without parameters. */
  contentType?: string;
  ifMatch?: string;
  ifNoneExist?: string;
  /** The Prefer header's handling preference (http.html#prefer). */
  lenient?: boolean;
  /** Prefer: respond-async (async.html): run a long operation in the background. */
  respondAsync?: boolean;
  /** X-Request-Id: the sender's idempotency key for messages. */
  requestId?: string;
  /** Set by a transaction for a create whose id was assigned up front (urn:uuid rewriting). */
  assignedId?: string;
  /**
   * Set by a transaction for a conditional create whose If-None-Exist matched
   * a resource when ids were assigned: the id of that resource, which the
   * create answers with instead of searching again.
   */
  matchedId?: string;
  /**
   * The current version authorize() read to see that the caller may see the
   * resource: the read interaction answers with it instead of reading it again.
   */
  checkedCurrent?: StoredVersion;
}

/**
 * What a handler returns: the outcome decides the status (see outcomes.ts),
 * the resource is the body when the client wants a representation.
 */
export type FhirResult = [OperationOutcome, Resource?, ResponseHeaders?];

/** Headers an operation sets itself, e.g. Content-Location and X-Progress of an asynchronous job. */
export type ResponseHeaders = Record<string, string>;
