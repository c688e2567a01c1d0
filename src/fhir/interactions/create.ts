// create and conditional create (http.html#create, #ccreate).
import type { Resource } from '@medplum/fhirtypes';
import type { FhirContext, FhirHandler } from '../context';
import { allOk, conflict, created, withIssues } from '../../base/outcomes';
import type { FhirResult } from '../request';
import { conditionalKey, findConditionalMatch, queryFromString } from './conditional';
import { createWithKey, underConditionalKey } from './conditional-write';
import { resourceBody } from './resource-body';

export const createResource: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  const resource = resourceBody(request, resourceType);
  const ifNoneExist = request.ifNoneExist;
  // The server assigns the id; one in the body is ignored (http.html#create).
  if (ifNoneExist === undefined) return stored(await ctx.repo.create(resource, request.assignedId));
  // A conditional create searches and then creates: no twin may do the same in between, in this
  // process (the lock) or in another one on the same store (the key, conditional-keys.ts).
  // A match found before taking the key is already the answer, and writes nothing that a twin could
  // race: only a create waits for the key (in a transaction, until it commits), and searches again.
  const criteria = queryFromString(ifNoneExist);
  if (request.matchedId) return matched(ctx, resourceType, await stillThere(ctx, resourceType, request.matchedId, ifNoneExist));
  // A transaction that found no match searched under the key, which it holds until it commits.
  const found = request.assignedId ? undefined : await findConditionalMatch(ctx, resourceType, criteria, 'If-None-Exist');
  if (found) return matched(ctx, resourceType, found.resource);
  return underConditionalKey(ctx, await conditionalKey(ctx, resourceType, criteria), async (ticket) => {
    const existing = await findConditionalMatch(ctx, resourceType, criteria, 'If-None-Exist');
    if (existing) return matched(ctx, resourceType, existing.resource);
    return stored(await createWithKey(ctx, resource, ticket, request.assignedId));
  });
};

/** The resource a transaction's conditional create matched when its ids were assigned, unless it was deleted since. */
async function stillThere(ctx: FhirContext, resourceType: string, id: string, ifNoneExist: string): Promise<Resource | undefined> {
  const current = await ctx.repo.readLatest(resourceType, id);
  if (!current || current.deleted) throw conflict(`The ${resourceType} matching ${ifNoneExist} was deleted while this transaction ran; send it again`);
  return current.resource;
}

/** Only a caller who may read the type is shown the match (the match is already one the caller may see). */
const matched = (ctx: FhirContext, resourceType: string, existing: Resource | undefined): FhirResult => [
  allOk('A resource matching If-None-Exist already exists; nothing was created'),
  ctx.access.may(resourceType, 'r') ? existing : undefined,
];

const stored = ({ version, issues }: { version: { resource?: Resource }; issues: Parameters<typeof withIssues>[1] }): FhirResult => [
  withIssues(created(), issues),
  version.resource,
];

/** The key of a conditional create (conditional.ts): If-None-Exist's criteria. */
export async function conditionalCreateKey(ctx: FhirContext, resourceType: string, ifNoneExist: string): Promise<string> {
  return conditionalKey(ctx, resourceType, queryFromString(ifNoneExist));
}
