// create and conditional create (http.html#create, #ccreate).
import { randomUUID } from 'node:crypto';
import type { Resource } from '@medplum/fhirtypes';
import { ConditionalKeyTaken } from '../../store/conditional-keys';
import type { FhirContext, FhirHandler } from '../context';
import { allOk, conflict, created, withIssues } from '../../base/outcomes';
import type { FhirResult } from '../request';
import { findConditionalMatch, queryFromString } from './conditional';
import { resourceBody } from './resource-body';

/** Searches again after a twin took the key: it has created the match, or is about to. */
const KEY_ATTEMPTS = 40;

export const createResource: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  const resource = resourceBody(request, resourceType);
  const ifNoneExist = request.ifNoneExist;
  // The server assigns the id; one in the body is ignored (http.html#create).
  if (ifNoneExist === undefined) return stored(await ctx.repo.create(resource, request.assignedId));
  // A conditional create searches and then creates: no twin may do the same in between, in this
  // process (the lock) or in another one on the same store (the key, conditional-keys.ts).
  const key = await conditionalCreateKey(ctx, resourceType, ifNoneExist);
  for (let attempt = 1; ; attempt++) {
    try {
      return await ctx.repo.exclusive([key], async () => {
        const existing = await findConditionalMatch(ctx, resourceType, queryFromString(ifNoneExist), 'If-None-Exist');
        // Only a caller who may read the type is shown the match (the match is already one the caller may see).
        if (existing)
          return [
            allOk('A resource matching If-None-Exist already exists; nothing was created'),
            ctx.access.may(resourceType, 'r') ? existing.resource : undefined,
          ];
        return stored(await createWithKey(ctx, resource, key, request.assignedId));
      });
    } catch (err) {
      if (!(err instanceof ConditionalKeyTaken)) throw err;
      if (attempt >= KEY_ATTEMPTS) throw conflict('Another request kept creating a resource matching the same criteria; send this one again');
      await new Promise((resolve) => setTimeout(resolve, 50 + Math.random() * 50));
    }
  }
};

const stored = ({ version, issues }: { version: { resource?: Resource }; issues: Parameters<typeof withIssues>[1] }): FhirResult => [
  withIssues(created(), issues),
  version.resource,
];

/** Creates the resource and claims its key: in one unit where the store has transactions, else the key first. */
async function createWithKey(ctx: FhirContext, resource: Resource, key: string, assignedId: string | undefined) {
  const id = assignedId ?? randomUUID();
  const target = `${resource.resourceType}/${id}`;
  if (ctx.repo.store.supportsTransactions || ctx.repo.inUnit) {
    return ctx.repo.transaction(async (unit) => {
      const result = await unit.create(resource, id);
      await unit.claimConditionalKey(key, target);
      return result;
    });
  }
  await ctx.repo.claimConditionalKey(key, target);
  return ctx.repo.create(resource, id);
}

/**
 * The key of a conditional create: its type, its criteria (parameters in a
 * stable order) and what the caller may see of the type, since a match hidden
 * from the caller is no match for them (conditional.ts).
 */
export async function conditionalCreateKey(ctx: FhirContext, resourceType: string, ifNoneExist: string): Promise<string> {
  const params = [...new URLSearchParams(ifNoneExist)].map(([k, v]) => `${k}=${v}`).sort();
  const restriction = await ctx.access.restriction(resourceType);
  return `${resourceType}?${params.join('&')}${restriction ? `#${JSON.stringify(restriction)}` : ''}`;
}
