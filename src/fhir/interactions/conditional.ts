// Conditional interactions (http.html#ccreate, #cond-update, #3.1.0.7.1):
// the search criteria select the resource to act on.
import type { StoredVersion } from '../../store/port';
import type { FhirContext } from '../context';
import { badRequest, preconditionFailed } from '../outcomes';
import type { QueryParams } from '../search/parse';
import { parseQueryString } from '../search/query-string';

export const queryFromString = (text: string): QueryParams => parseQueryString(text);

/** Resources matching the criteria: none, one, or a 412 for several. */
export async function findConditionalMatch(
  ctx: FhirContext,
  resourceType: string,
  query: QueryParams,
  what: string
): Promise<StoredVersion | undefined> {
  if (Object.keys(query).length === 0) throw badRequest(`${what} needs search criteria`);
  const matches = await ctx.repo.find(resourceType, query, 2);
  if (matches.length > 1) throw preconditionFailed(`${what}: the criteria match more than one ${resourceType}`);
  return matches[0];
}
