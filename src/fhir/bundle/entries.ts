// Building blocks of response Bundles: full URLs, links and entry responses.
import type { BundleLink, Resource } from '@medplum/fhirtypes';
import type { QueryParams } from '../../base/search-request';

export function fullUrl(baseUrl: string, resourceType: string, id: string): string {
  return `${baseUrl}/${resourceType}/${id}`;
}

export function link(relation: string, url: string): BundleLink {
  return { relation, url };
}

/** A URL with query parameters in a stable order, for Bundle links. */
export function urlWithQuery(base: string, query: QueryParams): string {
  const search = new URLSearchParams();
  for (const [key, values] of Object.entries(query)) values.forEach((v) => search.append(key, v));
  const text = search.toString();
  return text ? `${base}?${text}` : base;
}

export function etag(versionId: string): string {
  return `W/"${versionId}"`;
}

export function resourceLocation(resource: Resource): string {
  return `${resource.resourceType}/${resource.id}/_history/${resource.meta?.versionId}`;
}
