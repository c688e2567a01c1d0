// What every FHIR handler is given besides the request.
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';
import type { TerminologyService } from '../conformance/terminology/service';
import type { DirectoryImports } from '../directory/import-job';
import type { SearchParameterService } from '../store/reindex';
import type { SubscriptionService } from '../subscriptions/service';
import type { Repository } from '../store/repository';
import type { Access } from './access';
import type { FhirRequest, FhirResult } from './request';

export interface FhirContext {
  repo: Repository;
  terminology: TerminologyService;
  searchParameters: SearchParameterService;
  baseUrl: string;
  defaultPageSize: number;
  maxPageSize: number;
  /** Most entries a batch or transaction Bundle may carry. */
  maxBundleEntries: number;
  /** $import-directory: share of a whole directory's services accepted before missing ones are deactivated. */
  directoryMinAcceptedShare: number;
  /** $import-directory with Prefer: respond-async: the background import jobs. */
  directoryImports: DirectoryImports;
  /** The caller's access: set per request from the bearer token (fhir-routes.ts). */
  access: Access;
  /** Runs the validation pipeline as a write would, with these extra profiles ($validate). */
  validate: (resource: Resource, profiles: string[]) => Promise<OperationOutcomeIssue[]>;
  /** The project's profiles of a resource type (CapabilityStatement supportedProfile). */
  supportedProfiles: (resourceType: string) => string[];
  /** Re-dispatches a request through the router: how Bundle entries are processed. */
  dispatch: (request: FhirRequest, ctx: FhirContext) => Promise<FhirResult>;
  /** Subscriptions (subscriptions/service.ts), where the server runs them. */
  subscriptions?: SubscriptionService;
}

export type FhirHandler = (request: FhirRequest, ctx: FhirContext) => Promise<FhirResult>;
