// Authorisation of every FhirRequest, at the router, so that Bundle entries
// (re-dispatched through it) are checked exactly like top-level requests.
// Interactions map to SMART permissions: create c, read/vread r, update and
// patch u, delete d, search and history s (history of one resource: r).
// Instance interactions also need the resource to be the caller's to see
// (access.ts); one that is not answers 404, as if it did not exist.
import type { Bundle } from '@medplum/fhirtypes';
import type { Permission } from '../auth/scopes';
import type { FhirContext } from './context';
import { findOperation, operationLevel } from './operations/registry';
import { forbidden, methodNotAllowed, notFound, payloadTooLarge } from '../base/outcomes';
import type { FhirRequest } from './request';
import { isResourceId } from '../base/ids';
import type { StoredVersion } from '../store/port';

/** The audit trail is written by the server only (security: AuditEvents cannot be changed through the API). */
const APPEND_ONLY = new Set(['AuditEvent']);

/** Whether clients may create, update, patch or delete resources of this type (the CapabilityStatement reads this too). */
export const writableThroughApi = (resourceType: string): boolean => !APPEND_ONLY.has(resourceType);

function permissionOf(request: FhirRequest): Permission {
  const { method, segments } = request;
  // GET of one resource (read, vread, its history) reads; of a type or the system, searches.
  if (method === 'GET') return segments.length >= 2 && segments[1] !== '_history' ? 'r' : 's';
  if (method === 'POST') return segments[1] === '_search' ? 's' : 'c';
  if (method === 'DELETE') return 'd';
  return 'u';
}

export async function authorize(request: FhirRequest, ctx: FhirContext): Promise<void> {
  const { segments, method } = request;
  const [type, id] = segments;
  const access = ctx.access;
  if (segments.length === 0) {
    if (method === 'POST') return checkBundleSize(request, ctx);
    // Search across types: each type as if searched alone.
    const types = (request.query._type ?? []).flatMap((t) => t.split(','));
    for (const t of types) {
      access.require(t.trim(), 's');
      if (await access.restriction(t.trim())) throw forbidden(`Access denied: search ${t.trim()} on its own; your access to it is limited to your own records`);
    }
    return;
  }
  if (type === 'metadata') return;
  const at = segments.findIndex((s) => s.startsWith('$'));
  if (at >= 0) {
    const resourceType = at > 0 ? type : undefined;
    const level = operationLevel(at);
    const operation = level && findOperation(segments[at].slice(1), level, resourceType);
    // An operation that does not exist is the router's 404; each declared one states the access it needs.
    if (!operation) return;
    operation.authorize(ctx, resourceType);
    if (level === 'instance' && resourceType) await requireVisible(ctx, resourceType, id);
    return;
  }
  if (type === '_history') return; // system history: each entry is filtered (history.ts)
  const permission = permissionOf(request);
  if (APPEND_ONLY.has(type) && (permission === 'c' || permission === 'u' || permission === 'd')) {
    throw methodNotAllowed(`${type} resources are written by the server only; they cannot be created, changed or deleted through the API`);
  }
  access.require(type, permission);
  if (id && id !== '_search' && id !== '_history') {
    // An update may create (update-as-create); otherwise the resource must be the caller's.
    if (method === 'PUT') {
      const existing = await ctx.repo.readLatest(type, id).catch(() => undefined);
      if (existing && !existing.deleted && !(await access.canSee(existing))) throw notFound(`${type}/${id} is not known`);
      return;
    }
    const current = await requireVisible(ctx, type, id);
    if (current && segments.length === 2 && method === 'GET') request.checkedCurrent = current;
  }
}

/** The current version, when it had to be read to check it is the caller's to see. */
async function requireVisible(ctx: FhirContext, type: string, id: string): Promise<StoredVersion | undefined> {
  if (ctx.access.caller.unrestricted || !isResourceId(id)) return undefined;
  const current = await ctx.repo.readLatest(type, id);
  // Unknown or deleted: the interaction answers 404 or 410 itself.
  if (!current || current.deleted) return undefined;
  if (!(await ctx.access.canSee(current))) throw notFound(`${type}/${id} is not known`);
  return current;
}

function checkBundleSize(request: FhirRequest, ctx: FhirContext): void {
  const entries = (request.body as Bundle | undefined)?.entry;
  if (Array.isArray(entries) && entries.length > ctx.maxBundleEntries) {
    throw payloadTooLarge(`A Bundle may carry at most ${ctx.maxBundleEntries} entries; this one has ${entries.length}`);
  }
}
