// Search across resource types at the base (search.html#searchall):
// GET [base]?_type=Patient,Practitioner&name=smith. The parameters must mean
// something for every type listed; each type is searched, and the results are
// merged in the order asked (_sort, then type and id), paged by _offset.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { isKnownResourceType } from '../../base/definitions';
import type { StoredVersion } from '../../store/port';
import { link, fullUrl, urlWithQuery } from '../bundle/entries';
import type { FhirHandler } from '../context';
import { allOk, badRequest, notFound } from '../../base/outcomes';
import { parseSearchParams } from '../../base/search-request';

export const SYSTEM_SEARCH_TYPES_MAX = 20;

export const searchSystem: FhirHandler = async (request, ctx) => {
  const types = (request.query._type ?? [])
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter(Boolean);
  if (types.length === 0) throw badRequest('Search at the base needs _type, e.g. ?_type=Patient,Practitioner', ['_type']);
  if (types.length > SYSTEM_SEARCH_TYPES_MAX) throw badRequest(`_type lists at most ${SYSTEM_SEARCH_TYPES_MAX} types`, ['_type']);
  for (const type of types) if (!isKnownResourceType(type)) throw notFound(`Unknown resource type ${type} in _type`);
  const { _type, _offset, _count, ...rest } = request.query;
  void _type;
  const first = parseSearchParams(types[0], { _offset: _offset ?? [], _count: _count ?? [] }, { defaultCount: ctx.defaultPageSize, maxCount: ctx.maxPageSize });
  const { offset, count } = first;
  // Each type gives its first offset+count matches; merging them yields the page.
  let total = 0;
  const rows: { version: StoredVersion; key: (string | number)[] }[] = [];
  for (const type of types) {
    const search = parseSearchParams(
      type,
      { ...rest, _count: [String(Math.min(offset + count, ctx.maxPageSize))] },
      { defaultCount: ctx.defaultPageSize, maxCount: ctx.maxPageSize }
    );
    const result = await ctx.repo.search(search, request.lenient);
    total += result.total ?? 0;
    for (const version of result.matches) {
      rows.push({ version, key: search.sort.map((s) => (s.code === '_id' ? version.id : (version.sort[s.code] ?? ''))) });
    }
  }
  const descending = parseSearchParams(types[0], { _sort: rest._sort ?? [] }, { defaultCount: 1, maxCount: 1 }).sort.map((s) => s.descending);
  rows.sort((a, b) => {
    for (let i = 0; i < a.key.length; i++) {
      if (a.key[i] !== b.key[i]) return (a.key[i] < b.key[i] ? -1 : 1) * (descending[i] ? -1 : 1);
    }
    const ka = `${a.version.resourceType}/${a.version.id}`;
    const kb = `${b.version.resourceType}/${b.version.id}`;
    return ka < kb ? -1 : ka > kb ? 1 : 0;
  });
  const page = rows.slice(offset, offset + count);
  const base = ctx.baseUrl;
  const bundle: Bundle = {
    resourceType: 'Bundle',
    type: 'searchset',
    total,
    link: [link('self', urlWithQuery(base, request.query))],
    entry: page.map((r): BundleEntry => ({
      fullUrl: fullUrl(base, r.version.resourceType, r.version.id),
      resource: r.version.resource as Resource,
      search: { mode: 'match' },
    })),
  };
  if (offset + count < total)
    bundle.link?.push(link('next', urlWithQuery(base, { ...request.query, _offset: [String(offset + count)], _count: [String(count)] })));
  if (offset > 0)
    bundle.link?.push(link('previous', urlWithQuery(base, { ...request.query, _offset: [String(Math.max(0, offset - count))], _count: [String(count)] })));
  return [allOk(), bundle];
};
