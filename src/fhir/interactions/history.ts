// history at instance, type and system level (http.html#history), newest
// first, with _count, _since and offset paging.
import type { Bundle, BundleEntry } from '@medplum/fhirtypes';
import type { FhirHandler } from '../context';
import { etag, fullUrl, link, urlWithQuery } from '../bundle/entries';
import { allOk, badRequest } from '../../base/outcomes';
import { dateRange } from '../../store/search/values';
import { checkId } from './resource-body';

const HISTORY_PARAMS = new Set(['_count', '_since', '_offset', '_format', '_pretty']);

function single(query: Record<string, string[]>, name: string): string | undefined {
  const values = query[name];
  if (values && values.length > 1) throw badRequest(`${name} may be given once`, [name]);
  return values?.[0];
}

function wholeNumber(name: string, raw: string | undefined, fallback: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw) || Number(raw) > max) throw badRequest(`${name} must be a whole number up to ${max}`, [name]);
  return Number(raw);
}

export const readHistory: FhirHandler = async (request, ctx) => {
  const historyAt = request.segments.indexOf('_history');
  const [resourceType, id] = historyAt > 0 ? request.segments.slice(0, historyAt) : [];
  if (id) checkId(id);
  for (const key of Object.keys(request.query)) {
    if (!HISTORY_PARAMS.has(key)) throw badRequest(`Unknown history parameter ${key}`, [key]);
  }
  const count = wholeNumber('_count', single(request.query, '_count'), ctx.defaultPageSize, ctx.maxPageSize);
  const offset = wholeNumber('_offset', single(request.query, '_offset'), 0, 1_000_000);
  const sinceText = single(request.query, '_since');
  const since = sinceText === undefined ? undefined : dateRange(sinceText);
  if (sinceText !== undefined && (!since || !sinceText.includes('T'))) {
    throw badRequest('_since must be an instant, such as 2026-01-31T09:00:00Z', ['_since']);
  }
  // Versions strictly after _since: lastUpdated > the last millisecond before it.
  const sinceExclusive = since ? new Date(Date.parse(since.lo) - 1).toISOString() : undefined;
  // Entries of resources the caller may not see are left out (for one resource, authorize.ts checked it).
  const all = await ctx.repo.history({ resourceType, id, since: sinceExclusive, count, offset });
  const versions = id ? all : await ctx.access.visible(all);

  const base = [ctx.baseUrl, ...request.segments].join('/');
  const query = Object.fromEntries(Object.entries(request.query).filter(([k]) => k !== '_offset' && k !== '_count'));
  const bundle: Bundle = { resourceType: 'Bundle', type: 'history', link: [link('self', urlWithQuery(base, request.query))] };
  if (all.length === count && count > 0) {
    bundle.link?.push(link('next', urlWithQuery(base, { ...query, _count: [String(count)], _offset: [String(offset + count)] })));
  }
  bundle.entry = versions.map((v): BundleEntry => {
    const url = `${v.resourceType}/${v.id}`;
    const response = { status: v.deleted ? '410 Gone' : v.versionId === '1' ? '201 Created' : '200 OK', etag: etag(v.versionId), lastModified: v.lastUpdated };
    return {
      fullUrl: fullUrl(ctx.baseUrl, v.resourceType, v.id),
      ...(v.resource ? { resource: v.resource } : {}),
      request: { method: v.deleted ? 'DELETE' : v.versionId === '1' ? 'POST' : 'PUT', url },
      response,
    };
  });
  return [allOk(), bundle];
};
