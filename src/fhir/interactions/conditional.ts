// Conditional interactions (http.html#ccreate, #cond-update, #3.1.0.7.1):
// the search criteria select the resource to act on.
//
// The criteria select only what the caller may see (access.ts), exactly as a
// search by the same caller would: a resource of another organisation is never
// returned, changed, deleted or revealed by its criteria. What a hidden match
// means, decided here and documented in the README:
// - conditional create (and transaction ifNoneExist, message matching): as no
//   match, so the caller's own resource is created. Answering 409 or 412 instead
//   would tell the caller that another organisation holds, say, that NHS number.
// - conditional update: as no match (update-as-create); an id in the body that
//   names an existing resource the criteria did not select is refused (412).
// - conditional delete: as no match, nothing is deleted.
import type { StoredVersion } from '../../store/port';
import type { FhirContext } from '../context';
import { badRequest, preconditionFailed } from '../../base/outcomes';
import type { QueryParams } from '../../base/search-request';
import { parseQueryString } from '../search/query-string';

export const queryFromString = (text: string): QueryParams => parseQueryString(text);

/**
 * The key of conditional writes with these criteria (store/conditional-keys.ts):
 * the type, the criteria (parameters in a stable order) and what the caller
 * may see of the type, since a match hidden from the caller is no match for
 * them. A conditional create and a conditional update with the same criteria
 * share it.
 */
export async function conditionalKey(ctx: FhirContext, resourceType: string, query: QueryParams): Promise<string> {
  const params = Object.entries(query)
    .flatMap(([name, values]) => values.map((value) => `${name}=${value}`))
    .sort();
  const restriction = await ctx.access.restriction(resourceType);
  return `${resourceType}?${params.join('&')}${restriction ? `#${JSON.stringify(restriction)}` : ''}`;
}

/** Resources matching the criteria that the caller may see: none, one, or a 412 for several. */
export async function findConditionalMatch(ctx: FhirContext, resourceType: string, query: QueryParams, what: string): Promise<StoredVersion | undefined> {
  if (Object.keys(query).length === 0) throw badRequest(`${what} needs search criteria`);
  // The criteria and the caller's restriction, both required.
  const matches = await ctx.repo.find(resourceType, query, 2, await ctx.access.restriction(resourceType));
  if (matches.length > 1) throw preconditionFailed(`${what}: the criteria match more than one ${resourceType}`);
  return matches[0];
}
