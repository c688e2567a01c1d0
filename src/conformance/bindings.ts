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

/** A choice element (Observation.value[x]), whose JSON names it for each of its types (valueQuantity, valueRange, ...). */
const choiceBase = (element: ElementDefinition): string | undefined =>
  element.path && !element.id?.includes(':') && element.path.endsWith('[x]') && element.path.indexOf('[x]') === element.path.length - 3
    ? element.path.slice(0, -3)
    : undefined;

/** More types than this and a choice is open to (nearly) every datatype. */
const OPEN_CHOICE = 20;

/** References lead to other resources, and extensions are checked by their own definitions (checkExtensionBindings). */
const NOT_LOOKED_INTO = new Set(['Reference', 'Extension', 'Meta', 'Element', 'BackboneElement', 'Resource']);

const isLookedInto = (code: string | undefined): code is string => !!code && !NOT_LOOKED_INTO.has(code) && !!getDatatypeDefinition(code);

/**
 * The complex datatypes an element holds, each at the path its values have in
 * the JSON: Patient.address as Address; Observation.value[x] as
 * Observation.valueQuantity (Quantity), Observation.valueRange (Range), ...
 */
function datatypesAt(element: ElementDefinition): Array<{ path: string; type: string }> {
  const base = choiceBase(element);
  if (base !== undefined) {
    // An open choice (Task.input.value[x], any of some 50 types) would bring about 70 bindings to check on every write of
    // the resource, most through datatypes such values never hold here (Dosage, TriggerDefinition): 88 µs a Task write
    // against 13. Choices of a few types (Observation.value[x], ServiceRequest.occurrence[x]) are looked into.
    if ((element.type?.length ?? 0) > OPEN_CHOICE) return [];
    return (element.type ?? [])
      .map((t) => t.code)
      .filter(isLookedInto)
      .map((type) => ({ path: `${base}${type[0].toUpperCase()}${type.slice(1)}`, type }));
  }
  const code = element.type?.length === 1 ? element.type[0].code : undefined;
  return checkable(element) && isLookedInto(code) ? [{ path: element.path, type: code }] : [];
}

/** Required bindings within a datatype, by path relative to it (".use" of Address.use), datatypes within it included. */
const datatypeBindingsCache = new Map<string, Array<{ rest: string; valueSet: string }>>();

function datatypeBindings(type: string, within: Set<string> = new Set()): Array<{ rest: string; valueSet: string }> {
  const cached = datatypeBindingsCache.get(type);
  if (cached) return cached;
  const out: Array<{ rest: string; valueSet: string }> = [];
  for (const element of getDatatypeDefinition(type)?.snapshot?.element ?? []) {
    if (element.path === type) continue;
    if (checkable(element) && element.binding?.strength === 'required' && element.binding.valueSet) {
      out.push({ rest: element.path.slice(type.length), valueSet: element.binding.valueSet });
    }
    for (const held of datatypesAt(element)) {
      // A datatype never holds itself, but the guard keeps a definition that did from looping.
      if (within.has(held.type)) continue;
      const rest = held.path.slice(type.length);
      out.push(...datatypeBindings(held.type, new Set([...within, type])).map((b) => ({ rest: rest + b.rest, valueSet: b.valueSet })));
    }
  }
  datatypeBindingsCache.set(type, out);
  return out;
}

/**
 * The checkable bindings of a profile's snapshot, and the required bindings
 * inside the datatypes of its elements: a snapshot lists Patient.address but
 * not Patient.address.use, whose binding (address-use, required) is the
 * Address datatype's, nor Observation.valueQuantity.comparator. A profile
 * that constrains such an element itself lists it, and its own binding is
 * the one checked. Each is looked for only where the resource has its first
 * elements (mayHaveValues), so the many types of a value[x] cost a write
 * little.
 */
export function bindingsOf(profile: StructureDefinition): Binding[] {
  const out: Binding[] = [];
  const elements = profile.snapshot?.element ?? ([] as ElementDefinition[]);
  const listed = new Set(elements.filter(checkable).map((e) => e.path));
  for (const element of elements) {
    const { binding } = element;
    if (checkable(element) && binding?.valueSet && (binding.strength === 'required' || binding.strength === 'extensible')) {
      out.push({ path: element.path, strength: binding.strength, valueSet: binding.valueSet });
    }
    for (const held of datatypesAt(element)) {
      for (const inner of datatypeBindings(held.type)) {
        const path = held.path + inner.rest;
        if (!listed.has(path)) out.push({ path, strength: 'required', valueSet: inner.valueSet });
      }
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

/**
 * Bound element paths, parsed once per binding: a profile's bindings are
 * checked on every write, up to 150 of them, and are looked up by the binding
 * itself (a key string made per binding per write cost more than the check).
 */
const compiledBindings = new WeakMap<Binding, CompiledPath>();

function compiledOf(binding: Binding, resourceType: string): CompiledPath {
  let found = compiledBindings.get(binding);
  if (!found) {
    // A binding's path names its type (Task.output.valueQuantity.comparator), so it compiles the same for every resource it is checked on.
    const atom = parseFhirPath(binding.path);
    found = { atom, roots: expressionRoots(atom, resourceType) };
    compiledBindings.set(binding, found);
  }
  return found;
}

export async function checkBindings(resource: Resource, bindings: Binding[], terminology: TerminologyService): Promise<OperationOutcomeIssue[]> {
  const issues: OperationOutcomeIssue[] = [];
  const input = [toTypedValue(resource)];
  for (const binding of bindings) {
    const path = compiledOf(binding, resource.resourceType);
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
