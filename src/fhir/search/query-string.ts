// Parameters from a query string (the URL's, a conditional criteria, a Bundle
// entry's url), by name, each with its values in order. Keys are the request's
// own: none may reach the object's prototype, and a name such as "toString"
// is just an unknown parameter.
import { badRequest } from '../../base/outcomes';
import type { QueryParams } from '../../base/search-request';

const UNSAFE_PARAMETER = /^(__proto__|constructor|prototype)([.:[]|$)/;

export function parseQueryString(text: string): QueryParams {
  const query: QueryParams = {};
  for (const [key, value] of new URLSearchParams(text)) {
    // No FHIR parameter is named so; as a key it would reach the object's prototype.
    if (UNSAFE_PARAMETER.test(key)) throw badRequest(`Unknown search parameter ${key.slice(0, 64)}`);
    if (Object.hasOwn(query, key)) query[key].push(value);
    else query[key] = [value];
  }
  return query;
}
