// update, update-as-create and conditional update (http.html#update, #cond-update).
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext, FhirHandler } from '../context';
import { allOk, badRequest, created, preconditionFailed, withIssues } from '../../base/outcomes';
import type { FhirResult } from '../request';
import { conditionalKey, findConditionalMatch } from './conditional';
import { createWithKey, underConditionalKey, writeFound } from './conditional-write';
import { checkId, parseIfMatch, requireIfMatch, resourceBody } from './resource-body';

async function save(ctx: FhirContext, resource: Resource, ifMatch?: string): Promise<FhirResult> {
  const { version, created: isNew, issues } = await ctx.repo.update(resource, { ifMatch });
  return [withIssues(isNew ? created() : allOk(), issues), version.resource];
}

export const updateResource: FhirHandler = async (request, ctx) => {
  const [resourceType, id] = request.segments;
  checkId(id);
  const resource = resourceBody(request, resourceType);
  if (resource.id !== id) {
    throw badRequest(`The body's id (${resource.id ?? 'missing'}) must equal the id in the URL (${id})`, ['id']);
  }
  // Creating with a client id needs no If-Match; changing an existing resource may.
  if (await ctx.repo.readLatest(resourceType, id)) requireIfMatch(resourceType, request.ifMatch);
  return save(ctx, resource, parseIfMatch(request.ifMatch));
};

export const conditionalUpdate: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  const resource = resourceBody(request, resourceType);
  const clientIfMatch = parseIfMatch(request.ifMatch);
  // Searches and then writes: under the criteria's key, as a conditional create (conditional-write.ts).
  return underConditionalKey(ctx, await conditionalKey(ctx, resourceType, request.query), async (ticket) => {
    const match = await findConditionalMatch(ctx, resourceType, request.query, 'Conditional update');
    if (match) {
      if (resource.id && resource.id !== match.id) {
        throw badRequest(`The body's id (${resource.id}) is not the id of the matching resource (${match.id})`, ['id']);
      }
      requireIfMatch(resourceType, request.ifMatch);
      // The client's If-Match, when given, decides alone (412); else the version found is the one replaced.
      if (clientIfMatch !== undefined) return save(ctx, { ...resource, id: match.id }, clientIfMatch);
      const {
        version,
        created: isNew,
        issues,
      } = await writeFound(() => ctx.repo.update({ ...resource, id: match.id }, { ifMatch: match.versionId, lockOnly: true }));
      return [withIssues(isNew ? created() : allOk(), issues), version.resource] as FhirResult;
    }
    // No match the caller may see: create, with the client's id if it gave one. An id that names a
    // resource the criteria did not select (another organisation's, say) is refused, never overwritten.
    if (resource.id) {
      checkId(resource.id);
      const existing = await ctx.repo.readLatest(resourceType, resource.id);
      if (existing && !existing.deleted) {
        throw preconditionFailed(
          `Conditional update: no ${resourceType} you may change matches the criteria, and the body's id names another resource; nothing was written`
        );
      }
    }
    const { version, issues } = await createWithKey(ctx, resource, ticket, resource.id ?? request.assignedId);
    return [withIssues(created(), issues), version.resource] as FhirResult;
  });
};
