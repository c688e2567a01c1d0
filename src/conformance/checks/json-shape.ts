// The shape of FHIR JSON (json.html): an element that repeats is an array and
// one that does not is not; a complex type is an object; a primitive is a JSON
// string, number or boolean as its type says; no nulls. The profile validator
// does not check this (it accepts `gender: []`, `name: {}`, `identifier: [42]`),
// so it is checked first, on every write, from the same type definitions.
import { tryGetDataType, type InternalSchemaElement, type InternalTypeSchema } from '@medplum/core';
import type { OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

const NUMBER_TYPES = new Set([
  'integer',
  'decimal',
  'positiveInt',
  'unsignedInt',
  'integer64',
  'http://hl7.org/fhirpath/System.Integer',
  'http://hl7.org/fhirpath/System.Decimal',
]);
const BOOLEAN_TYPES = new Set(['boolean', 'http://hl7.org/fhirpath/System.Boolean']);
const isPrimitive = (code: string): boolean => /^[a-z]/.test(code) || code.startsWith('http://hl7.org/fhirpath/System.');
const jsonTypeOf = (code: string): string => (NUMBER_TYPES.has(code) ? 'number' : BOOLEAN_TYPES.has(code) ? 'boolean' : 'string');
const capitalised = (code: string): string => code.charAt(0).toUpperCase() + code.slice(1);

/** The element a JSON key names, and its type: valueQuantity names value[x] as a Quantity. */
function elementFor(schema: InternalTypeSchema, key: string): { element: InternalSchemaElement; type: string } | undefined {
  // Own keys only: a body key such as "toString" must not find Object.prototype's.
  const direct = Object.hasOwn(schema.elements, key) ? schema.elements[key] : undefined;
  if (direct) return { element: direct, type: direct.type[0]?.code ?? '' };
  for (const [name, element] of Object.entries(schema.elements)) {
    if (!name.endsWith('[x]') || !key.startsWith(name.slice(0, -3))) continue;
    const suffix = key.slice(name.length - 3);
    const type = element.type.find((t) => capitalised(t.code) === suffix);
    if (type) return { element, type: type.code };
  }
  return undefined;
}

function problem(issues: OperationOutcomeIssue[], path: string, text: string): void {
  issues.push({ severity: 'error', code: 'structure', expression: [path], diagnostics: `${path} ${text}` });
}

function checkValue(value: unknown, type: string, path: string, issues: OperationOutcomeIssue[]): void {
  if (value === null) return problem(issues, path, 'is null; leave it out instead');
  if (type === 'Resource' || type === 'DomainResource') {
    const inner = value as Resource;
    if (typeof value !== 'object' || Array.isArray(value) || typeof inner.resourceType !== 'string')
      return problem(issues, path, 'must be a resource (an object with a resourceType)');
    return checkObject(inner as unknown as Record<string, unknown>, inner.resourceType, path, issues);
  }
  if (isPrimitive(type)) {
    if (typeof value !== jsonTypeOf(type))
      problem(
        issues,
        path,
        `must be a JSON ${jsonTypeOf(type)} (${type.replace('http://hl7.org/fhirpath/System.', '')}), not ${Array.isArray(value) ? 'an array' : typeof value}`
      );
    else if (typeof value === 'string' && value.trim() === '')
      problem(issues, path, 'is empty; a FHIR string has at least one non-whitespace character, or is left out');
    return;
  }
  if (typeof value !== 'object' || Array.isArray(value))
    return problem(issues, path, `must be a JSON object (${type}), not ${Array.isArray(value) ? 'an array' : typeof value}`);
  checkObject(value as Record<string, unknown>, type, path, issues);
}

function checkObject(value: Record<string, unknown>, typeName: string, path: string, issues: OperationOutcomeIssue[]): void {
  const schema = tryGetDataType(typeName);
  if (!schema) return;
  for (const [key, child] of Object.entries(value)) {
    // resourceType, and _element siblings carrying a primitive's id and extensions, are not elements.
    // A key set to undefined (the server's own resources) is no element at all.
    if (key === 'resourceType' || key.startsWith('_') || child === undefined) continue;
    const found = elementFor(schema, key);
    if (!found) {
      // An unknown element is the validator's to name, except one called like an Object method
      // ("toString", "valueOf"), which the validator's own lookup mistakes for a known element.
      if (key in Object.prototype) problem(issues, `${path}.${key}`, `is not an element of ${typeName}`);
      continue;
    }
    const repeats = found.element.isArray === true || found.element.max === null || found.element.max > 1;
    const where = `${path}.${key}`;
    if (repeats !== Array.isArray(child)) {
      problem(issues, where, repeats ? 'repeats, so it must be an array' : 'does not repeat, so it must not be an array');
      continue;
    }
    if (repeats) (child as unknown[]).forEach((item, i) => checkValue(item, found.type, `${where}[${i}]`, issues));
    else checkValue(child, found.type, where, issues);
  }
}

export function checkJsonShape(resource: Resource): OperationOutcomeIssue[] {
  const issues: OperationOutcomeIssue[] = [];
  checkObject(resource as unknown as Record<string, unknown>, resource.resourceType, resource.resourceType, issues);
  return issues;
}
