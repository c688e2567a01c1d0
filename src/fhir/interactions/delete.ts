// delete and conditional delete (http.html#delete, #3.1.0.7.1). Deletes are
// soft: history keeps every version and a later read answers 410 Gone.
import type { FhirHandler } from '../context';
import { allOk } from '../../base/outcomes';
import { findConditionalMatch } from './conditional';
import { checkId, parseIfMatch } from './resource-body';

export const deleteResource: FhirHandler = async (request, ctx) => {
  const [resourceType, id] = request.segments;
  checkId(id);
  const version = await ctx.repo.delete(resourceType, id, { ifMatch: parseIfMatch(request.ifMatch) });
  return [allOk(version ? `Deleted ${resourceType}/${id}` : `${resourceType}/${id} was already deleted`)];
};

export const conditionalDelete: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  const match = await findConditionalMatch(ctx, resourceType, request.query, 'Conditional delete');
  if (!match) return [allOk(`No ${resourceType} matched; nothing was deleted`)];
  await ctx.repo.delete(resourceType, match.id);
  return [allOk(`Deleted ${resourceType}/${match.id}`)];
};
