// Authorisation of every FhirRequest, at the router, so that Bundle entries
// (re-dispatched through it) are checked exactly like top-level requests.
// Interactions map to SMART permissions: create c, read/vread r, update and
// patch u, delete d, search and history s (history of one resource: r).
// Instance interactions also need the resource to be the caller's to see
// (access.ts); one that is not answers 404, as if it did not exist.
import type { Bundle } from '@medplum/fhirtypes';
import type { Permission } from '../auth/scopes';
import { authorizeActivityReport } from '../bulk/export-access';
import type { FhirContext } from './context';
import { findOperation } from './operations/registry';
import { forbidden, methodNotAllowed, notFound, payloadTooLarge } from './outcomes';
import type { FhirRequest } from './request';

/** The audit trail is written by the server only (security: AuditEvents cannot be changed through the API). */
const APPEND_ONLY = new Set(['AuditEvent']);

/** What an operation needs, by name: the permission on a type, or a check of its own. */
type OperationRule = (request: FhirRequest, ctx: FhirContext, resourceType: string | undefined) => void;
const TERMINOLOGY_READ: OperationRule = (_r, ctx, type) => ctx.access.require(type ?? 'ValueSet', 'r');
const operationRules: Record<string, OperationRule> = {
  validate: (_r, ctx, type) => {
    if (type) ctx.access.require(type, 'r');
  },
  lookup: TERMINOLOGY_READ,
  'validate-code': TERMINOLOGY_READ,
  expand: TERMINOLOGY_READ,
  subsumes: TERMINOLOGY_READ,
  translate: TERMINOLOGY_READ,
  // A referral message creates the referral, its patient and its Task.
  'process-message': (_r, ctx) => ctx.access.require('ServiceRequest', 'c'),
  reindex: (_r, ctx) => ctx.access.require('SearchParameter', 'u'),
  // Reaches the router only inside a Bundle, where it is refused (bulk-routes.ts serves it).
  export: () => undefined,
  'activity-report': (_r, ctx) => authorizeActivityReport(ctx.access),
  // The patient's record; each type in it is then searched under the caller's access (everything.ts).
  everything: (_r, ctx) => ctx.access.require('Patient', 'r'),
  'import-directory': (_r, ctx) => {
    ctx.access.require('HealthcareService', 'c');
    ctx.access.require('HealthcareService', 'u');
    ctx.access.require('Organization', 'u');
    ctx.access.require('Location', 'u');
  },
};

/** Lets an operation registered elsewhere say what it needs. */
export function registerOperationRule(name: string, rule: OperationRule): void {
  operationRules[name] = rule;
}

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
    const name = segments[at].slice(1);
    const resourceType = at > 0 ? type : undefined;
    const rule = Object.hasOwn(operationRules, name) ? operationRules[name] : undefined;
    const level = at === 0 ? 'system' : at === 1 ? 'type' : 'instance';
    // An operation that does not exist is the router's 404; one without a rule is closed to all.
    if (!rule && !findOperation(name, level, resourceType)) return;
    if (!rule) throw forbidden(`Access denied: $${name} has no access rule`);
    rule(request, ctx, resourceType);
    if (at === 2 && resourceType) await requireVisible(ctx, resourceType, id);
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
    await requireVisible(ctx, type, id);
  }
}

async function requireVisible(ctx: FhirContext, type: string, id: string): Promise<void> {
  if (ctx.access.caller.unrestricted || !/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return;
  const current = await ctx.repo.readLatest(type, id);
  // Unknown or deleted: the interaction answers 404 or 410 itself.
  if (!current || current.deleted) return;
  if (!(await ctx.access.canSee(current))) throw notFound(`${type}/${id} is not known`);
}

function checkBundleSize(request: FhirRequest, ctx: FhirContext): void {
  const entries = (request.body as Bundle | undefined)?.entry;
  if (Array.isArray(entries) && entries.length > ctx.maxBundleEntries) {
    throw payloadTooLarge(`A Bundle may carry at most ${ctx.maxBundleEntries} entries; this one has ${entries.length}`);
  }
}

