// Terminology bindings (terminologies.html#strength): a code outside a
// required binding's ValueSet is an error, outside an extensible one a warning.
// Membership comes from the Terminology, the same code $validate-code uses.
import { evalFhirPathTyped, parseFhirPath, toTypedValue, type FhirPathAtom } from '@medplum/core';
import type { Coding, ElementDefinition, OperationOutcomeIssue, Resource, StructureDefinition } from '@medplum/fhirtypes';
import type { TerminologyService } from './terminology/service';
import { walkResource } from './checks/walk';
import { expressionRoots, mayHaveValues, type ElementPath } from '../base/expression-roots';
import { getDatatypeDefinition } from '../base/definitions';

export interface Binding {
  /** FHIRPath to the bound element, e.g. Task.status. */
  path: string;
  strength: 'required' | 'extensible';
  valueSet: string;
}

/** Elements bindings are looked up on: slices and choice elements aside. */
const checkable = (element: ElementDefinition): element is ElementDefinition & { path: string } =>
  !!element.path && !element.id?.includes(':') && !element.path.includes('[x]');

/** The complex datatype of an element of one type, when its elements can hold required bindings. */
function datatypeOf(element: ElementDefinition): string | undefined {
  const code = element.type?.length === 1 ? element.type[0].code : undefined;
  return code && !NOT_LOOKED_INTO.has(code) && getDatatypeDefinition(code) ? code : undefined;
}

/** References lead to other resources, and extensions are checked by their own definitions (checkExtensionBindings). */
const NOT_LOOKED_INTO = new Set(['Reference', 'Extension', 'Meta', 'Element', 'BackboneElement', 'Resource']);

/** Required bindings within a datatype, by path relative to it (".use" of Address.use), datatypes within it included. */
const datatypeBindingsCache = new Map<string, Array<{ rest: string; valueSet: string }>>();

function datatypeBindings(type: string, within: Set<string> = new Set()): Array<{ rest: string; valueSet: string }> {
  const cached = datatypeBindingsCache.get(type);
  if (cached) return cached;
  const out: Array<{ rest: string; valueSet: string }> = [];
  for (const element of getDatatypeDefinition(type)?.snapshot?.element ?? []) {
    if (!checkable(element) || element.path === type) continue;
    const rest = element.path.slice(type.length);
    if (element.binding?.strength === 'required' && element.binding.valueSet) out.push({ rest, valueSet: element.binding.valueSet });
    const inner = datatypeOf(element);
    // A datatype never holds itself, but the guard keeps a definition that did from looping.
    if (inner && !within.has(inner))
      out.push(...datatypeBindings(inner, new Set([...within, type])).map((b) => ({ rest: rest + b.rest, valueSet: b.valueSet })));
  }
  datatypeBindingsCache.set(type, out);
  return out;
}

/**
 * The checkable bindings of a profile's snapshot, and the required bindings
 * inside the datatypes of its elements: a snapshot lists Patient.address
 * but not Patient.address.use, whose binding (address-use, required) is the
 * Address datatype's. A profile that constrains such an element itself
 * lists it, and its own binding is the one checked.
 */
export function bindingsOf(profile: StructureDefinition): Binding[] {
  const out: Binding[] = [];
  const elements = (profile.snapshot?.element ?? ([] as ElementDefinition[])).filter(checkable);
  const listed = new Set(elements.map((e) => e.path));
  for (const element of elements) {
    const { binding } = element;
    if (binding?.valueSet && (binding.strength === 'required' || binding.strength === 'extensible')) {
      out.push({ path: element.path, strength: binding.strength, valueSet: binding.valueSet });
    }
    const type = datatypeOf(element);
    if (!type) continue;
    for (const inner of datatypeBindings(type)) {
      const path = element.path + inner.rest;
      if (!listed.has(path)) out.push({ path, strength: 'required', valueSet: inner.valueSet });
    }
  }
  return out;
}

function codingsOf(type: string, value: unknown): Coding[] | undefined {
  if (type === 'CodeableConcept') return (value as { coding?: Coding[] }).coding ?? [];
  if (type === 'Coding') return [value as Coding];
  if (typeof value === 'string') return [{ code: value }];
  return undefined;
}

function issue(binding: Binding, location: string, text: string): OperationOutcomeIssue {
  return {
    severity: binding.strength === 'required' ? 'error' : 'warning',
    code: 'code-invalid',
    expression: [location],
    diagnostics: text,
  };
}

async function checkValue(
  binding: Binding,
  type: string,
  value: unknown,
  location: string,
  terminology: TerminologyService
): Promise<OperationOutcomeIssue | undefined> {
  const codings = codingsOf(type, value);
  if (!codings) return undefined;
  const valueSet = await terminology.valueSet(binding.valueSet);
  const results = await Promise.all(codings.map((c) => terminology.validateCode(valueSet, c, { checkDisplay: false })));
  if (results.some((r) => r.result === true || r.result === undefined)) return undefined;
  const shown = codings.map((c) => (c.system ? `${c.system}|${c.code}` : c.code)).join(', ') || '(no coding)';
  const what = binding.strength === 'required' ? 'must come from' : 'should come from';
  return issue(binding, location, `${shown} is not in the ${binding.strength} ValueSet ${binding.valueSet}; the value ${what} it`);
}

interface CompiledPath {
  atom: FhirPathAtom;
  roots: ElementPath[] | undefined;
}

/** Bound element paths, parsed once: a profile's bindings are checked on every write. */
const compiledPaths = new Map<string, CompiledPath>();

function compiled(path: string, resourceType: string): CompiledPath {
  const key = `${resourceType} ${path}`;
  let found = compiledPaths.get(key);
  if (!found) {
    const atom = parseFhirPath(path);
    found = { atom, roots: expressionRoots(atom, resourceType) };
    compiledPaths.set(key, found);
  }
  return found;
}

export async function checkBindings(resource: Resource, bindings: Binding[], terminology: TerminologyService): Promise<OperationOutcomeIssue[]> {
  const issues: OperationOutcomeIssue[] = [];
  const input = [toTypedValue(resource)];
  for (const binding of bindings) {
    const path = compiled(binding.path, resource.resourceType);
    // Most bound elements are absent from a given resource: nothing to check, and no evaluation needed.
    if (!mayHaveValues(resource, path.roots)) continue;
    for (const typed of evalFhirPathTyped(path.atom, input)) {
      const location = (typed as { path?: string }).path ?? binding.path;
      const found = await checkValue(binding, typed.type, typed.value, location, terminology);
      if (found) issues.push(found);
    }
  }
  return issues;
}

/** Bindings on extension values: every extension with this url, wherever it appears. */
export async function checkExtensionBindings(
  resource: Resource,
  extensions: Map<string, Binding>,
  terminology: TerminologyService
): Promise<OperationOutcomeIssue[]> {
  const found: { binding: Binding; type: string; value: unknown; location: string }[] = [];
  walkResource(resource, (node, path, key) => {
    if (key !== 'extension' || typeof node.url !== 'string') return;
    const binding = extensions.get(node.url);
    if (!binding) return;
    for (const [field, type] of [
      ['valueCodeableConcept', 'CodeableConcept'],
      ['valueCoding', 'Coding'],
      ['valueCode', 'code'],
    ] as const) {
      if (node[field] !== undefined) found.push({ binding, type, value: node[field], location: `${path}.${field}` });
    }
  });
  const issues: OperationOutcomeIssue[] = [];
  for (const f of found) {
    const issue = await checkValue(f.binding, f.type, f.value, f.location, terminology);
    if (issue) issues.push(issue);
  }
  return issues;
}
