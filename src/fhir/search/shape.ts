// Shaping search results (search.html#summary, #elements): _summary=true|text|data
// and _elements keep part of each resource, marked SUBSETTED as the specification asks.
import type { Resource } from '@medplum/fhirtypes';
import { getBaseDefinition } from '../../base/definitions';

export type Summary = 'true' | 'text' | 'data';

const SUBSETTED = { system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue', code: 'SUBSETTED' };
const ALWAYS = new Set(['resourceType', 'id', 'meta']);

interface TopElement {
  name: string;
  choice: boolean;
  summary: boolean;
  mandatory: boolean;
}

const elementsByType = new Map<string, TopElement[]>();

/** The top-level elements of a resource type, from its base StructureDefinition. */
function topElements(resourceType: string): TopElement[] {
  let found = elementsByType.get(resourceType);
  if (!found) {
    found = (getBaseDefinition(resourceType)?.snapshot?.element ?? [])
      .filter((e) => e.path && e.path.split('.').length === 2)
      .map((e) => {
        const name = (e.path as string).split('.')[1];
        return { name: name.replace('[x]', ''), choice: name.endsWith('[x]'), summary: !!e.isSummary, mandatory: (e.min ?? 0) > 0 };
      });
    elementsByType.set(resourceType, found);
  }
  return found;
}

/** The element a JSON key belongs to: `valueQuantity` and `_status` belong to value[x] and status. */
function elementOf(key: string, elements: TopElement[]): TopElement | undefined {
  const bare = key.startsWith('_') ? key.slice(1) : key;
  return elements.find((e) => e.name === bare || (e.choice && bare.startsWith(e.name) && /^[A-Z]/.test(bare.slice(e.name.length))));
}

function subset(resource: Resource, keep: (key: string, element: TopElement | undefined) => boolean): Resource {
  const elements = topElements(resource.resourceType);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(resource)) {
    if (ALWAYS.has(key) || keep(key, elementOf(key, elements))) out[key] = value;
  }
  const meta = resource.meta ?? {};
  out.meta = { ...meta, tag: [...(meta.tag ?? []), SUBSETTED] };
  return out as unknown as Resource;
}

export function applySummary(resource: Resource, summary: Summary): Resource {
  switch (summary) {
    case 'true':
      return subset(resource, (_key, element) => !!element?.summary);
    case 'text':
      return subset(resource, (key, element) => key === 'text' || !!element?.mandatory);
    case 'data':
      return subset(resource, (key) => key !== 'text');
  }
}

export function applyElements(resource: Resource, elements: string[]): Resource {
  const wanted = new Set(elements);
  return subset(resource, (key, element) => wanted.has(element?.name ?? key) || !!element?.mandatory);
}
