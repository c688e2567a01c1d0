// Inside a Bundle, a reference may name another entry by its fullUrl
// (urn:uuid:..., bundle.html#references). The structure validator cannot read
// a type from such a reference and warns "Invalid reference: got urn:uuid:...,
// expected <profiles>". The entry it names has a type: that type is checked
// against the expected ones instead. A reference that names no entry is left
// to the reference check, which reports it as not found.
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes';

const UNTYPED = /^Invalid reference: got "?(urn:[^",]+)"?, expected (.*)$/;

/** The issue as it stands, undefined to drop it, or an error naming the entry's wrong type. */
export function bundleReferenceType(resource: Resource, issue: OperationOutcomeIssue): OperationOutcomeIssue | undefined {
  const match = UNTYPED.exec(issue.details?.text ?? '');
  if (!match) return issue;
  const [, reference, expectedList] = match;
  const entry = resource.resourceType === 'Bundle' ? (resource as Bundle).entry?.find((e) => e.fullUrl === reference) : undefined;
  const type = entry?.resource?.resourceType;
  if (!type) return undefined;
  const expected = [...expectedList.matchAll(/"([^"]+)"/g)].map((m) => m[1].split('|')[0].split('/').pop() as string);
  if (expected.length === 0 || expected.includes(type) || expected.includes('Resource')) return undefined;
  const where = issue.expression?.[0] ?? 'A reference';
  const text = `${where} points at the wrong type of resource: ${reference} is a ${type}, expected ${expected.join(', ')}`;
  return { ...issue, severity: 'error', code: 'value', diagnostics: text, details: { text } };
}
