// create and conditional create (http.html#create, #ccreate).
import type { FhirHandler } from '../context';
import { allOk, created, withIssues } from '../../base/outcomes';
import { findConditionalMatch, queryFromString } from './conditional';
import { resourceBody } from './resource-body';

export const createResource: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  const resource = resourceBody(request, resourceType);
  const ifNoneExist = request.ifNoneExist;
  // A conditional create searches and then creates: no twin may do the same in between.
  const keys = ifNoneExist !== undefined ? [conditionalCreateKey(resourceType, ifNoneExist)] : [];
  return ctx.repo.exclusive(keys, async () => {
    if (ifNoneExist !== undefined) {
      const existing = await findConditionalMatch(ctx, resourceType, queryFromString(ifNoneExist), 'If-None-Exist');
      // Only a caller who may read the type is shown the match (the match is already one the caller may see).
      if (existing) return [allOk('A resource matching If-None-Exist already exists; nothing was created'), ctx.access.may(resourceType, 'r') ? existing.resource : undefined];
    }
    // The server assigns the id; one in the body is ignored (http.html#create).
    const { version, issues } = await ctx.repo.create(resource, request.assignedId);
    return [withIssues(created(), issues), version.resource];
  });
};

/** The lock key of a conditional create: its type and criteria, parameters in a stable order. */
export function conditionalCreateKey(resourceType: string, ifNoneExist: string): string {
  const params = [...new URLSearchParams(ifNoneExist)].map(([k, v]) => `${k}=${v}`).sort();
  return `${resourceType}?${params.join('&')}`;
}
