// Routes a FhirRequest to its interaction by method and path (http.html).
// The HTTP adapter and Bundle processing both come through here.
import type { Bundle } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../base/definitions';
import { processBatch } from './bundle/batch';
import { processTransaction } from './bundle/transaction';
import { buildCapabilityStatement } from './capabilities';
import { authorize } from './authorize';
import type { FhirContext, FhirHandler } from './context';
import { createResource } from './interactions/create';
import { conditionalDelete, deleteResource } from './interactions/delete';
import { readHistory } from './interactions/history';
import { patchResource } from './interactions/patch';
import { readResource, vreadResource } from './interactions/read';
import { searchType } from './interactions/search';
import { searchSystem } from './interactions/search-system';
import { conditionalUpdate, updateResource } from './interactions/update';
import { createSubscription, refuseSubscriptionPatch, updateSubscription } from './interactions/subscription';
import { findOperation, operationLevel } from './operations/registry';
import { allOk, badRequest, methodNotAllowed, notFound } from '../base/outcomes';
import type { FhirRequest, FhirResult } from './request';

/** Bundle.entry must be an array of objects before anything walks it. */
export function checkBundleEntries(body: Bundle): void {
  if (body.entry === undefined) return;
  if (!Array.isArray(body.entry)) throw badRequest('Bundle.entry must be an array', ['Bundle.entry']);
  body.entry.forEach((entry, i) => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw badRequest(`Bundle.entry[${i}] must be an object`, [`Bundle.entry[${i}]`]);
  });
}

type Routes = Partial<Record<FhirRequest['method'], FhirHandler>>;

const metadata: FhirHandler = async (_request, ctx) => [allOk(), buildCapabilityStatement(ctx)];

const bundle: FhirHandler = async (request, ctx) => {
  const body = request.body as Bundle | undefined;
  if (body?.resourceType !== 'Bundle') throw badRequest('POST to the base takes a Bundle');
  checkBundleEntries(body);
  if (body.type === 'batch') return processBatch(body, ctx);
  if (body.type === 'transaction') return processTransaction(body, ctx);
  throw badRequest(`Bundle.type must be batch or transaction, not ${body.type}`, ['Bundle.type']);
};

/** A Subscription is checked and owned when written (interactions/subscription.ts). */
const SUBSCRIPTION_TYPE: Routes = { GET: searchType, POST: createSubscription, DELETE: conditionalDelete };
const SUBSCRIPTION_INSTANCE: Routes = { GET: readResource, PUT: updateSubscription, PATCH: refuseSubscriptionPatch, DELETE: deleteResource };

function routesFor(segments: string[]): Routes | undefined {
  const [first, second, third, fourth] = segments;
  if (first === 'Subscription' && segments.length === 1) return SUBSCRIPTION_TYPE;
  if (first === 'Subscription' && segments.length === 2 && !second.startsWith('_')) return SUBSCRIPTION_INSTANCE;
  switch (segments.length) {
    case 0:
      return { POST: bundle, GET: searchSystem };
    case 1:
      if (first === 'metadata') return { GET: metadata };
      if (first === '_history') return { GET: readHistory };
      return { GET: searchType, POST: createResource, PUT: conditionalUpdate, DELETE: conditionalDelete };
    case 2:
      if (second === '_search') return { POST: searchType };
      if (second === '_history') return { GET: readHistory };
      return { GET: readResource, PUT: updateResource, PATCH: patchResource, DELETE: deleteResource };
    case 3:
      return third === '_history' ? { GET: readHistory } : undefined;
    case 4:
      return third === '_history' && fourth ? { GET: vreadResource } : undefined;
    default:
      return undefined;
  }
}

function operationHandler(request: FhirRequest): FhirHandler {
  const at = request.segments.findIndex((s) => s.startsWith('$'));
  const name = request.segments[at].slice(1);
  const level = operationLevel(at);
  const operation = level && at === request.segments.length - 1 ? findOperation(name, level, request.segments[0]) : undefined;
  if (!operation) throw notFound(`Operation $${name} is not supported at ${request.segments.slice(0, at).join('/') || 'the base'}`);
  return operation.handler;
}

export const dispatch = async (request: FhirRequest, ctx: FhirContext): Promise<FhirResult> => {
  const { segments } = request;
  const type = segments[0];
  const isResourcePath = type !== undefined && !['metadata', '_history'].includes(type) && !type.startsWith('$');
  if (isResourcePath && !isKnownResourceType(type)) throw notFound(`Unknown resource type ${type}`);
  await authorize(request, ctx);
  if (segments.some((s) => s.startsWith('$'))) {
    if (request.method !== 'GET' && request.method !== 'POST') throw methodNotAllowed(`Operations are called with GET or POST, not ${request.method}`);
    return operationHandler(request)(request, ctx);
  }
  const routes = routesFor(segments);
  if (!routes) throw notFound(`No FHIR interaction at /${segments.join('/')}`);
  const handler = routes[request.method];
  if (!handler) throw methodNotAllowed(`${request.method} is not allowed on /${segments.join('/')}`);
  return handler(request, ctx);
};
