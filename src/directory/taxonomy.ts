// ORUK taxonomy terms -> HealthcareService.category (directory taxonomy) and
// HealthcareService.type (activity type). A term from the project's directory
// taxonomy (terminology/CodeSystem-sp-directory-taxonomy.json) is kept as a
// category coding and gives the service its activity type; a term from any
// other vocabulary (LGA service types, OpenActive, ...) is kept as a category
// coding in its own system, so nothing the publisher said is lost.
import type { CodeableConcept, CodeSystem, CodeSystemConcept } from '@medplum/fhirtypes';
import { PROJECT_BASE } from '../base/project';
import { readResourceFolder } from '../base/project-files';
import type { OrukService, OrukTaxonomyTerm } from './oruk';

export const DIRECTORY_TAXONOMY = `${PROJECT_BASE}/CodeSystem/sp-directory-taxonomy`;
export const ACTIVITY_TYPE = `${PROJECT_BASE}/CodeSystem/sp-activity-type`;
/** The system given to terms of a vocabulary that names no URI of its own. */
export const UNNAMED_VOCABULARY = `${PROJECT_BASE}/CodeSystem/oruk-taxonomy`;

/**
 * Activity type of each directory taxonomy category; a child takes its
 * parent's unless listed here itself (the activity types are coarser than the
 * taxonomy, and a few children belong to a different activity than their parent).
 */
const ACTIVITY_OF_TAXONOMY: Record<string, string> = {
  'arts-culture': 'arts-and-culture',
  'sport-physical-activity': 'physical-activity',
  'social-connection': 'social-groups',
  'befriending-services': 'befriending',
  'debt-advice': 'debt-and-money-advice',
  'benefits-advice': 'debt-and-money-advice',
  'housing-advice': 'housing-advice',
  'health-wellbeing': 'mental-wellbeing',
  'carers-families': 'carers-support',
  'nature-environment': 'green-spaces',
  'learning-work': 'learning-and-skills',
  'volunteering-opportunities': 'volunteering',
};

interface Concept {
  display: string;
  parent?: string;
}

let taxonomy: Map<string, Concept> | undefined;
let activityDisplays: Map<string, string> | undefined;

function conceptsOf(system: string): CodeSystem | undefined {
  return readResourceFolder('terminology').find((r): r is CodeSystem => r.resourceType === 'CodeSystem' && r.url === system);
}

function loadTerminology(): { taxonomy: Map<string, Concept>; activityDisplays: Map<string, string> } {
  if (!taxonomy || !activityDisplays) {
    taxonomy = new Map();
    const walk = (concepts: CodeSystemConcept[] | undefined, parent?: string): void => {
      for (const c of concepts ?? []) {
        taxonomy?.set(c.code as string, { display: c.display ?? (c.code as string), parent });
        walk(c.concept, c.code);
      }
    };
    walk(conceptsOf(DIRECTORY_TAXONOMY)?.concept);
    activityDisplays = new Map((conceptsOf(ACTIVITY_TYPE)?.concept ?? []).map((c) => [c.code as string, c.display ?? (c.code as string)]));
  }
  return { taxonomy, activityDisplays };
}

/** The taxonomy terms of a service: HSDS 3 attributes, and ORUK's flattened list. */
export function taxonomyTermsOf(service: OrukService): OrukTaxonomyTerm[] {
  const terms = [...(service.attributes ?? []).map((a) => a.taxonomy_term).filter((t): t is OrukTaxonomyTerm => !!t), ...(service.taxonomy_terms ?? [])];
  const seen = new Set<string>();
  return terms.filter((t) => !seen.has(t.id) && !!seen.add(t.id));
}

function vocabularyOf(term: OrukTaxonomyTerm): string {
  const named = term.taxonomy_detail?.uri ?? term.taxonomy ?? undefined;
  return named && /^[a-z][a-z0-9+.-]*:/i.test(named) ? named : UNNAMED_VOCABULARY;
}

function activityOf(code: string, concepts: Map<string, Concept>): string | undefined {
  for (let c: string | undefined = code; c; c = concepts.get(c)?.parent) {
    if (ACTIVITY_OF_TAXONOMY[c]) return ACTIVITY_OF_TAXONOMY[c];
  }
  return undefined;
}

/** category and type for a service's taxonomy terms, without duplicates, in the order given. */
export function classify(terms: OrukTaxonomyTerm[]): { category: CodeableConcept[]; type: CodeableConcept[] } {
  const { taxonomy: concepts, activityDisplays: activities } = loadTerminology();
  const category: CodeableConcept[] = [];
  const types = new Set<string>();
  for (const term of terms) {
    const code = term.code ?? term.id;
    const system = vocabularyOf(term);
    if (system === ACTIVITY_TYPE || (system === UNNAMED_VOCABULARY && activities.has(code) && !concepts.has(code))) {
      if (activities.has(code)) types.add(code);
      continue;
    }
    const ours = concepts.get(code);
    if (ours && (system === DIRECTORY_TAXONOMY || system === UNNAMED_VOCABULARY)) {
      category.push({ coding: [{ system: DIRECTORY_TAXONOMY, code, display: ours.display }], text: term.name });
      const activity = activityOf(code, concepts);
      if (activity) types.add(activity);
    } else {
      category.push({ coding: [{ system, code, display: term.name }], text: term.name });
    }
  }
  const type = [...types].map((code) => ({ coding: [{ system: ACTIVITY_TYPE, code, display: activities.get(code) }] }));
  return { category, type };
}
