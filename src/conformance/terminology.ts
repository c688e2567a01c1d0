// The server's terminology: CodeSystems and ValueSets it ships (terminology/)
// or that are stored at runtime, and ValueSet membership, which binding
// validation uses. Expansion follows ValueSet.compose (valueset.html#compose):
// includes (whole system, concept lists, is-a / descendent-of / = filters,
// other value sets) minus excludes.
import type { CodeSystem, CodeSystemConcept, ValueSet, ValueSetComposeInclude } from '@medplum/fhirtypes';

export interface Concept {
  system: string;
  code: string;
  display?: string;
}

/** An expansion, plus the systems included whole that the server cannot enumerate (e.g. SNOMED CT). */
interface Expansion {
  concepts: Map<string, Concept>;
  openSystems: Set<string>;
}

export interface MembershipResult {
  /** undefined when the ValueSet is not known to the server. */
  result: boolean | undefined;
  message?: string;
}

const key = (system: string, code: string): string => `${system}|${code}`;

function flatten(system: string, concepts: CodeSystemConcept[] | undefined, out: Concept[], ancestors: string[] = [], parents = new Map<string, string[]>()): void {
  for (const c of concepts ?? []) {
    if (!c.code) continue;
    out.push({ system, code: c.code, display: c.display });
    parents.set(c.code, ancestors);
    flatten(system, c.concept, out, [...ancestors, c.code], parents);
  }
}

export class Terminology {
  private readonly codeSystems = new Map<string, CodeSystem>();
  private readonly valueSets = new Map<string, ValueSet>();
  private readonly expansions = new Map<string, Expansion>();

  addCodeSystem(cs: CodeSystem): void {
    if (!cs.url) return;
    this.codeSystems.set(cs.url, cs);
    this.expansions.clear();
  }

  addValueSet(vs: ValueSet): void {
    if (!vs.url) return;
    this.valueSets.set(vs.url, vs);
    this.expansions.clear();
  }

  getValueSet(url: string): ValueSet | undefined {
    return this.valueSets.get(url.split('|')[0]);
  }

  /** Every concept of a CodeSystem, with the ancestors of each (for is-a filters). */
  private conceptsOf(system: string): { concepts: Concept[]; ancestors: Map<string, string[]> } | undefined {
    const cs = this.codeSystems.get(system);
    if (!cs) return undefined;
    const concepts: Concept[] = [];
    const ancestors = new Map<string, string[]>();
    flatten(system, cs.concept, concepts, [], ancestors);
    return { concepts, ancestors };
  }

  private includeSet(include: ValueSetComposeInclude, seen: Set<string>): Expansion {
    const result: Expansion = { concepts: new Map(), openSystems: new Set() };
    let fromSystem: Expansion | undefined;
    if (include.system) {
      const system = include.system;
      fromSystem = { concepts: new Map(), openSystems: new Set() };
      const known = this.conceptsOf(system);
      if (include.concept?.length) {
        for (const c of include.concept) {
          const display = c.display ?? known?.concepts.find((k) => k.code === c.code)?.display;
          fromSystem.concepts.set(key(system, c.code as string), { system, code: c.code as string, display });
        }
      } else if (!known) {
        fromSystem.openSystems.add(system);
      } else {
        let selected = known.concepts;
        for (const filter of include.filter ?? []) {
          const value = filter.value as string;
          if (filter.op === 'is-a') selected = selected.filter((c) => c.code === value || known.ancestors.get(c.code)?.includes(value));
          else if (filter.op === 'descendent-of') selected = selected.filter((c) => known.ancestors.get(c.code)?.includes(value));
          else if (filter.op === '=' && filter.property === 'code') selected = selected.filter((c) => c.code === value);
          else selected = [];
        }
        for (const c of selected) fromSystem.concepts.set(key(c.system, c.code), c);
      }
    }
    // Value sets named in one include are intersected with each other and with the system part.
    const parts = [...(fromSystem ? [fromSystem] : []), ...(include.valueSet ?? []).map((url) => this.expand(url, seen))];
    if (parts.length === 0) return result;
    const [first, ...others] = parts;
    for (const [k, c] of first.concepts) {
      if (others.every((o) => o.concepts.has(k) || o.openSystems.has(c.system))) result.concepts.set(k, c);
    }
    for (const system of first.openSystems) if (others.every((o) => o.openSystems.has(system))) result.openSystems.add(system);
    return result;
  }

  private expand(url: string, seen = new Set<string>()): Expansion {
    const canonical = url.split('|')[0];
    const cached = this.expansions.get(canonical);
    if (cached) return cached;
    const vs = this.valueSets.get(canonical);
    const expansion: Expansion = { concepts: new Map(), openSystems: new Set() };
    if (!vs || seen.has(canonical)) return expansion;
    seen.add(canonical);
    for (const include of vs.compose?.include ?? []) {
      const part = this.includeSet(include, seen);
      part.concepts.forEach((c, k) => expansion.concepts.set(k, c));
      part.openSystems.forEach((s) => expansion.openSystems.add(s));
    }
    for (const exclude of vs.compose?.exclude ?? []) {
      this.includeSet(exclude, seen).concepts.forEach((_c, k) => expansion.concepts.delete(k));
    }
    this.expansions.set(canonical, expansion);
    return expansion;
  }

  /** Whether system|code is in the ValueSet. Without a system, any system's code counts (for `code` elements). */
  contains(valueSetUrl: string, coding: { system?: string; code?: string }): MembershipResult {
    if (!this.getValueSet(valueSetUrl)) return { result: undefined, message: `ValueSet ${valueSetUrl} is not known to this server` };
    if (!coding.code) return { result: false, message: 'No code given' };
    const expansion = this.expand(valueSetUrl);
    if (coding.system) {
      if (expansion.concepts.has(key(coding.system, coding.code)) || expansion.openSystems.has(coding.system)) return { result: true };
      return { result: false, message: `${coding.system}|${coding.code} is not in ValueSet ${valueSetUrl}` };
    }
    for (const c of expansion.concepts.values()) if (c.code === coding.code) return { result: true };
    return { result: false, message: `Code "${coding.code}" is not in ValueSet ${valueSetUrl}` };
  }
}
