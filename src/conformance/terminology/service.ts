// The terminology service: resolves CodeSystems, ValueSets and ConceptMaps by
// canonical URL from the store (shipped ones are stored at start; ones created
// through the API are found the same way), expands ValueSets from their compose
// (valueset.html#compose), and answers membership, $lookup, $subsumes and
// $translate. Binding validation and $validate-code both call validateCode.
//
// Resolved resources and expansions are cached. A write of a CodeSystem,
// ValueSet or ConceptMap through this server clears the cache at once; other
// server processes see the change within CACHE_TTL_MS.
import type { CodeSystem, Coding, ConceptMap, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';
import { indexCodeSystem, isDescendant, type ConceptIndex, type FlatConcept } from './codesystem';

export type TerminologyType = 'CodeSystem' | 'ValueSet' | 'ConceptMap';

/** Finds the current resource of a type by canonical URL (and version, when given). */
export type TerminologySource = (resourceType: TerminologyType, url: string, version?: string) => Promise<CodeSystem | ValueSet | ConceptMap | undefined>;

export const CACHE_TTL_MS = 5000;

export interface Expansion {
  concepts: FlatConcept[];
  /** Systems included whole that the server cannot enumerate (e.g. SNOMED CT): any code of them is in. */
  openSystems: Set<string>;
}

export interface CodeCheck {
  /** undefined when the ValueSet or CodeSystem is not known to the server. */
  result: boolean | undefined;
  message?: string;
  display?: string;
}

export type SubsumptionOutcome = 'equivalent' | 'subsumes' | 'subsumed-by' | 'not-subsumed';

const keyOf = (system: string, code: string): string => `${system}|${code}`;
const splitCanonical = (canonical: string): [string, string | undefined] => {
  const [url, version] = canonical.split('|');
  return [url, version];
};

export class TerminologyService {
  private resolved = new Map<string, { value: Promise<CodeSystem | ValueSet | ConceptMap | undefined>; at: number }>();
  /** By resource object: a resolved one is the same object while cached; an inline one is new each time. */
  private expansions = new WeakMap<ValueSet, Promise<Expansion>>();

  constructor(private readonly source: TerminologySource) {}

  /** Called after a terminology resource is written here: results change at once. */
  invalidate(): void {
    this.resolved.clear();
    this.expansions = new WeakMap();
  }

  private fresh<T>(cache: Map<string, { value: Promise<T>; at: number }>, key: string, load: () => Promise<T>): Promise<T> {
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < CACHE_TTL_MS) return hit.value;
    const value = load();
    cache.set(key, { value, at: Date.now() });
    value.catch(() => cache.delete(key));
    return value;
  }

  private resolve<T extends CodeSystem | ValueSet | ConceptMap>(type: TerminologyType, canonical: string, version?: string): Promise<T | undefined> {
    const [url, v] = splitCanonical(canonical);
    const ver = version ?? v;
    return this.fresh(this.resolved, `${type}|${url}|${ver ?? ''}`, () => this.source(type, url, ver)) as Promise<T | undefined>;
  }

  codeSystem(url: string, version?: string): Promise<CodeSystem | undefined> {
    return this.resolve<CodeSystem>('CodeSystem', url, version);
  }

  valueSet(url: string, version?: string): Promise<ValueSet | undefined> {
    return this.resolve<ValueSet>('ValueSet', url, version);
  }

  conceptMap(url: string): Promise<ConceptMap | undefined> {
    return this.resolve<ConceptMap>('ConceptMap', url);
  }

  /** The expansion of a ValueSet (by resource, so unsaved ones can be expanded too). */
  expand(valueSet: ValueSet): Promise<Expansion> {
    const cached = this.expansions.get(valueSet);
    if (cached) return cached;
    const value = this.expandCompose(valueSet, new Set(valueSet.url ? [valueSet.url] : []));
    this.expansions.set(valueSet, value);
    value.catch(() => this.expansions.delete(valueSet));
    return value;
  }

  private async expandCompose(valueSet: ValueSet, seen: Set<string>): Promise<Expansion> {
    const concepts = new Map<string, FlatConcept>();
    const openSystems = new Set<string>();
    for (const include of valueSet.compose?.include ?? []) {
      const part = await this.includeSet(include, seen);
      part.concepts.forEach((c) => concepts.set(keyOf(c.system, c.code), c));
      part.openSystems.forEach((s) => openSystems.add(s));
    }
    for (const exclude of valueSet.compose?.exclude ?? []) {
      const part = await this.includeSet(exclude, seen);
      part.concepts.forEach((c) => concepts.delete(keyOf(c.system, c.code)));
      part.openSystems.forEach((s) => {
        for (const [k, c] of concepts) if (c.system === s) concepts.delete(k);
      });
    }
    return { concepts: [...concepts.values()], openSystems };
  }

  private async systemPart(include: ValueSetComposeInclude): Promise<Expansion> {
    const system = include.system as string;
    const cs = await this.codeSystem(system, include.version);
    const index = cs ? indexCodeSystem(cs) : undefined;
    if (include.concept?.length) {
      return {
        concepts: include.concept.map((c) => {
          const known = index?.byCode.get(c.code as string);
          return known
            ? { ...known, display: c.display ?? known.display, designation: c.designation ?? known.designation }
            : { system, version: include.version, code: c.code as string, display: c.display, designation: c.designation, inactive: false, parents: [] };
        }),
        openSystems: new Set(),
      };
    }
    // A system the server does not hold whole cannot be enumerated: any of its codes is in.
    if (!index || (!index.complete && !include.filter?.length)) return { concepts: [], openSystems: new Set([system]) };
    let selected = index.concepts;
    for (const filter of include.filter ?? []) selected = applyFilter(index, selected, filter.property, filter.op, filter.value);
    return { concepts: selected, openSystems: new Set() };
  }

  private async includeSet(include: ValueSetComposeInclude, seen: Set<string>): Promise<Expansion> {
    const parts: Expansion[] = [];
    if (include.system) parts.push(await this.systemPart(include));
    for (const canonical of include.valueSet ?? []) {
      const [url] = splitCanonical(canonical);
      if (seen.has(url)) throw new Error(`ValueSet ${url} includes itself`);
      const vs = await this.valueSet(canonical);
      parts.push(vs ? await this.expandCompose(vs, new Set([...seen, url])) : { concepts: [], openSystems: new Set() });
    }
    if (parts.length === 0) return { concepts: [], openSystems: new Set() };
    // Within one include, the system part and the value sets are intersected (valueset.html#compose).
    const [first, ...others] = parts;
    const inAll = (c: FlatConcept): boolean =>
      others.every((o) => o.openSystems.has(c.system) || o.concepts.some((x) => x.system === c.system && x.code === c.code));
    return {
      concepts: first.concepts.filter(inAll),
      openSystems: new Set([...first.openSystems].filter((s) => others.every((o) => o.openSystems.has(s)))),
    };
  }

  /** ValueSet membership, and the display check $validate-code makes (valueset-operation-validate-code.html). */
  async validateCode(valueSet: ValueSet | undefined, coding: Coding, options: { label?: string; checkDisplay?: boolean } = {}): Promise<CodeCheck> {
    const label = options.label ?? valueSet?.url ?? 'the ValueSet';
    if (!valueSet) return { result: undefined, message: `ValueSet ${label} is not known to this server` };
    if (!coding.code) return { result: false, message: 'No code was given' };
    const expansion = await this.expand(valueSet);
    const shown = coding.system ? `${coding.system}|${coding.code}` : coding.code;
    const match = expansion.concepts.find((c) => c.code === coding.code && (!coding.system || c.system === coding.system));
    // Binding validation asks membership only; $validate-code also checks the display.
    const displayed = options.checkDisplay === false ? { ...coding, display: undefined } : coding;
    if (!match) {
      if (coding.system && expansion.openSystems.has(coding.system)) return checkDisplay({ result: true }, displayed, await this.lookup(coding.system, coding.code));
      // A bare code (a `code` element) may belong to a system the server cannot enumerate.
      if (!coding.system && expansion.openSystems.size > 0) return { result: true };
      return { result: false, message: `${shown} is not in ValueSet ${label}` };
    }
    return checkDisplay({ result: true, display: match.display }, displayed, match);
  }

  async validateCodeInSystem(system: string, coding: Coding, version?: string): Promise<CodeCheck> {
    const cs = await this.codeSystem(system, version);
    if (!cs) return { result: undefined, message: `CodeSystem ${system} is not known to this server` };
    const concept = indexCodeSystem(cs).byCode.get(coding.code ?? '');
    if (!concept) {
      if (!indexCodeSystem(cs).complete) return { result: undefined, message: `${coding.code} is not among the codes of ${system} this server holds` };
      return { result: false, message: `${coding.code} is not a code of ${system}` };
    }
    return checkDisplay({ result: true, display: concept.display }, coding, concept);
  }

  async lookup(system: string, code: string, version?: string): Promise<FlatConcept | undefined> {
    const cs = await this.codeSystem(system, version);
    return cs ? indexCodeSystem(cs).byCode.get(code) : undefined;
  }

  /** codesystem-operation-subsumes.html, over the hierarchy of the CodeSystem. */
  async subsumes(system: string, codeA: string, codeB: string, version?: string): Promise<SubsumptionOutcome | undefined> {
    const cs = await this.codeSystem(system, version);
    if (!cs) return undefined;
    const index = indexCodeSystem(cs);
    if (!index.byCode.has(codeA) || !index.byCode.has(codeB)) return undefined;
    if (codeA === codeB) return 'equivalent';
    if (isDescendant(index, codeB, codeA)) return 'subsumes';
    if (isDescendant(index, codeA, codeB)) return 'subsumed-by';
    return 'not-subsumed';
  }

  /** conceptmap-operation-translate.html: the targets a code maps to. */
  translate(map: ConceptMap, system: string, code: string, targetSystem?: string): { equivalence: string; concept: Coding }[] {
    const matches: { equivalence: string; concept: Coding }[] = [];
    for (const group of map.group ?? []) {
      if (group.source && group.source !== system) continue;
      if (targetSystem && group.target && group.target !== targetSystem) continue;
      for (const element of group.element ?? []) {
        if (element.code !== code) continue;
        for (const target of element.target ?? []) {
          if (target.equivalence === 'unmatched' || !target.code) continue;
          matches.push({ equivalence: target.equivalence ?? 'equivalent', concept: { system: group.target, code: target.code, display: target.display } });
        }
      }
    }
    return matches;
  }
}

function applyFilter(index: ConceptIndex, concepts: FlatConcept[], property: string | undefined, op: string | undefined, value: string | undefined): FlatConcept[] {
  if (!value) return [];
  switch (op) {
    case 'is-a':
      return concepts.filter((c) => c.code === value || isDescendant(index, c.code, value));
    case 'descendent-of':
      return concepts.filter((c) => isDescendant(index, c.code, value));
    case 'is-not-a':
      return concepts.filter((c) => c.code !== value && !isDescendant(index, c.code, value));
    case '=':
      if (property === 'code' || property === 'concept') return concepts.filter((c) => c.code === value);
      if (property === 'display') return concepts.filter((c) => c.display === value);
      return [];
    case 'in':
      return concepts.filter((c) => value.split(',').includes(c.code));
    default:
      return [];
  }
}

/** A display given with the code must be one the code system knows (its display or a designation). */
function checkDisplay(check: CodeCheck, coding: Coding, concept: FlatConcept | undefined): CodeCheck {
  if (!coding.display || !concept?.display) return { ...check, display: check.display ?? concept?.display };
  const known = [concept.display, ...(concept.designation ?? []).map((d) => d.value)].filter(Boolean) as string[];
  if (known.includes(coding.display)) return { ...check, display: concept.display };
  return {
    result: false,
    display: concept.display,
    message: `The display "${coding.display}" is not a display of ${concept.system}|${concept.code}; it should be "${concept.display}"`,
  };
}

/** The codes a token search modifier stands for, from this service (see store/search/compile.ts). */
export function tokenTerminology(service: () => TerminologyService | undefined) {
  return {
    async valueSetCodes(url: string): Promise<string[] | undefined> {
      const terminology = service();
      const vs = await terminology?.valueSet(url);
      if (!terminology || !vs) return undefined;
      const expansion = await terminology.expand(vs);
      return expansion.openSystems.size > 0 ? undefined : expansion.concepts.map((c) => `${c.system}|${c.code}`);
    },
    async relatedCodes(system: string, code: string, direction: 'above' | 'below'): Promise<string[] | undefined> {
      const cs = await service()?.codeSystem(system);
      if (!cs) return undefined;
      const index = indexCodeSystem(cs);
      if (!index.byCode.has(code)) return undefined;
      return index.concepts
        .filter((c) => c.code === code || (direction === 'below' ? isDescendant(index, c.code, code) : isDescendant(index, code, c.code)))
        .map((c) => c.code);
    },
  };
}
