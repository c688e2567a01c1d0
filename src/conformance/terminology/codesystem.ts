// A CodeSystem's concepts flattened with what the operations need: display,
// designations, whether active, and the hierarchy (nested concepts and the
// `parent` property, codesystem.html#hierarchy) for is-a and $subsumes.
import type { CodeSystem, CodeSystemConcept, CodeSystemConceptDesignation } from '@medplum/fhirtypes';

export interface FlatConcept {
  system: string;
  version?: string;
  code: string;
  display?: string;
  definition?: string;
  designation?: CodeSystemConceptDesignation[];
  inactive: boolean;
  parents: string[];
}

export interface ConceptIndex {
  codeSystem: CodeSystem;
  concepts: FlatConcept[];
  byCode: Map<string, FlatConcept>;
  /** Whether every code of the system is here (content complete) or only some (fragment, example). */
  complete: boolean;
}

function isInactive(concept: CodeSystemConcept): boolean {
  return (concept.property ?? []).some(
    (p) => (p.code === 'status' && (p.valueCode === 'retired' || p.valueCode === 'inactive')) || (p.code === 'inactive' && p.valueBoolean === true)
  );
}

const cache = new WeakMap<CodeSystem, ConceptIndex>();

export function indexCodeSystem(cs: CodeSystem): ConceptIndex {
  const cached = cache.get(cs);
  if (cached) return cached;
  const concepts: FlatConcept[] = [];
  const byCode = new Map<string, FlatConcept>();
  const visit = (list: CodeSystemConcept[] | undefined, parent?: string): void => {
    for (const c of list ?? []) {
      if (!c.code) continue;
      const declared = (c.property ?? []).filter((p) => p.code === 'parent' && p.valueCode).map((p) => p.valueCode as string);
      const flat: FlatConcept = {
        system: cs.url as string,
        version: cs.version,
        code: c.code,
        display: c.display,
        definition: c.definition,
        designation: c.designation,
        inactive: isInactive(c),
        parents: [...(parent ? [parent] : []), ...declared],
      };
      concepts.push(flat);
      byCode.set(c.code, flat);
      visit(c.concept, c.code);
    }
  };
  visit(cs.concept);
  const index = { codeSystem: cs, concepts, byCode, complete: cs.content === 'complete' || cs.content === undefined };
  cache.set(cs, index);
  return index;
}

/** Whether `ancestor` is a proper ancestor of `code` in the hierarchy. */
export function isDescendant(index: ConceptIndex, code: string, ancestor: string, seen = new Set<string>()): boolean {
  const concept = index.byCode.get(code);
  if (!concept || seen.has(code)) return false;
  seen.add(code);
  return concept.parents.some((p) => p === ancestor || isDescendant(index, p, ancestor, seen));
}
