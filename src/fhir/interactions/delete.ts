// delete and conditional delete (http.html#delete, #3.1.0.7.1). Deletes are
// soft: history keeps every version and a later read answers 410 Gone.
import type { FhirHandler } from '../context';
import { allOk } from '../../base/outcomes';
import type { FhirResult } from '../request';
import { conditionalKey, findConditionalMatch } from './conditional';
import { underConditionalKey, writeFound } from './conditional-write';
import { checkId, parseIfMatch } from './resource-body';

export const deleteResource: FhirHandler = async (request, ctx) => {
  const [resourceType, id] = request.segments;
  checkId(id);
  const version = await ctx.repo.delete(resourceType, id, { ifMatch: parseIfMatch(request.ifMatch) });
  return [allOk(version ? `Deleted ${resourceType}/${id}` : `${resourceType}/${id} was already deleted`)];
};

export const conditionalDelete: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  // Under the criteria's key (conditional-write.ts), and deleting exactly the version found: a resource
  // changed meanwhile may no longer match, so a lost race searches again rather than delete it blindly.
  return underConditionalKey(ctx, await conditionalKey(ctx, resourceType, request.query), async () => {
    const match = await findConditionalMatch(ctx, resourceType, request.query, 'Conditional delete');
    if (!match) return [allOk(`No ${resourceType} matched; nothing was deleted`)] as FhirResult;
    await writeFound(() => ctx.repo.delete(resourceType, match.id, { ifMatch: match.versionId, lockOnly: true }));
    return [allOk(`Deleted ${resourceType}/${match.id}`)] as FhirResult;
  });
};
