// What every FHIR handler is given besides the request.
import type { Repository } from '../store/repository';
import type { FhirRequest, FhirResult } from './request';

export interface FhirContext {
  repo: Repository;
  baseUrl: string;
  defaultPageSize: number;
  maxPageSize: number;
  /** Re-dispatches a request through the router: how Bundle entries are processed. */
  dispatch: (request: FhirRequest, ctx: FhirContext) => Promise<FhirResult>;
}

export type FhirHandler = (request: FhirRequest, ctx: FhirContext) => Promise<FhirResult>;
