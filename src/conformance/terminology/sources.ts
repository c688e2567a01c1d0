// Where the terminology service finds CodeSystems, ValueSets and ConceptMaps:
// the store (what the server runs on), or a fixed list (benchmarks, tools).
import type { CodeSystem, ConceptMap, Resource, ValueSet } from '@medplum/fhirtypes';
import { parseSearchParams } from '../../fhir/search/parse';
import type { Repository } from '../../store/repository';
import type { TerminologySource } from './service';

type Terminology = CodeSystem | ValueSet | ConceptMap;

/** The newest stored resource with the canonical url (and version). */
export function storeSource(repo: Repository): TerminologySource {
  return async (resourceType, url, version) => {
    const query: Record<string, string[]> = { url: [url], _sort: ['-_lastUpdated'], _count: ['1'] };
    if (version) query.version = [version];
    const request = parseSearchParams(resourceType, query, { defaultCount: 1, maxCount: 1 });
    request.total = 'none';
    const { matches } = await repo.search(request);
    return matches[0]?.resource as Terminology | undefined;
  };
}

export function listSource(resources: Resource[]): TerminologySource {
  return async (resourceType, url, version) =>
    resources.find((r) => r.resourceType === resourceType && (r as Terminology).url === url && (!version || (r as Terminology).version === version)) as
      | Terminology
      | undefined;
}
