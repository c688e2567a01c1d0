// search by GET and POST _search (search.html), answered as a searchset Bundle
// with self/next/previous links (keyset cursors; _offset is also accepted) and
// _include/_revinclude entries.
import type { Bundle, BundleEntry, OperationOutcome, Resource } from '@medplum/fhirtypes';
import { applyElements, applySummary } from '../search/shape';
import type { FhirHandler } from '../context';
import { fullUrl, link, urlWithQuery } from '../bundle/entries';
import { allOk, badRequest } from '../../base/outcomes';
import { parseSearchParams, type QueryParams } from '../../base/search-request';

/** POST _search takes parameters in a form body as well as the URL (search.html#Introduction). */
function mergeFormBody(query: QueryParams, body: unknown): QueryParams {
  if (body === undefined) return query;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw badRequest('POST _search takes application/x-www-form-urlencoded parameters');
  }
  const merged: QueryParams = { ...query };
  for (const [key, value] of Object.entries(body as Record<string, unknown>)) {
    const values = Array.isArray(value) ? value : [value];
    if (!values.every((v) => typeof v === 'string')) throw badRequest(`Parameter ${key} has a malformed value`);
    merged[key] = [...(merged[key] ?? []), ...(values as string[])];
  }
  return merged;
}

export const searchType: FhirHandler = async (request, ctx) => {
  const [resourceType] = request.segments;
  const query = request.segments[1] === '_search' ? mergeFormBody(request.query, request.body) : request.query;
  const search = parseSearchParams(resourceType, query, { defaultCount: ctx.defaultPageSize, maxCount: ctx.maxPageSize });
  // The caller's own data only (access.ts): a filter beside the request, so it stays out of the page links.
  const result = await ctx.repo.search(search, request.lenient, await ctx.access.restriction(resourceType));
  result.included = await ctx.access.visible(result.included);

  const selfQuery = Object.fromEntries(Object.entries(query).filter(([key]) => !result.ignored.includes(key)));
  const pageQuery = Object.fromEntries(Object.entries(selfQuery).filter(([key]) => key !== '_offset' && key !== '_cursor'));
  const pageUrl = (params: Record<string, string>): string =>
    urlWithQuery(`${ctx.baseUrl}/${resourceType}`, {
      ...pageQuery,
      _count: [String(search.count)],
      ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, [v]])),
    });
  const bundle: Bundle = { resourceType: 'Bundle', type: 'searchset', total: result.total };
  if (search.summary === 'count') {
    bundle.link = [link('self', urlWithQuery(`${ctx.baseUrl}/${resourceType}`, selfQuery))];
    return [allOk(), bundle];
  }
  bundle.link = [link('self', urlWithQuery(`${ctx.baseUrl}/${resourceType}`, selfQuery))];
  // Page links are keyset cursors: stable while resources are written between pages.
  if (result.next) bundle.link.push(link('next', pageUrl(result.next)));
  if (result.previous) bundle.link.push(link('previous', pageUrl(result.previous)));

  const shape = (resource: Resource): Resource => {
    if (search.summary && search.summary !== 'count') return applySummary(resource, search.summary);
    return search.elements ? applyElements(resource, search.elements) : resource;
  };
  const entries: BundleEntry[] = result.matches.map((v) => ({
    fullUrl: fullUrl(ctx.baseUrl, v.resourceType, v.id),
    resource: shape(v.resource as Resource),
    search: { mode: 'match' },
  }));
  for (const v of result.included) {
    entries.push({ fullUrl: fullUrl(ctx.baseUrl, v.resourceType, v.id), resource: shape(v.resource as Resource), search: { mode: 'include' } });
  }
  if (result.warnings.length > 0) {
    const warning: OperationOutcome = {
      resourceType: 'OperationOutcome',
      issue: result.warnings.map((text) => ({ severity: 'warning', code: 'too-costly', diagnostics: text })),
    };
    entries.push({ resource: warning, search: { mode: 'outcome' } });
  }
  bundle.entry = entries;
  return [allOk(), bundle];
};
