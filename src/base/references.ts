// References as the server compares and resolves them.
import { ID } from './ids';

const LITERAL_REFERENCE = new RegExp(`^([A-Z][A-Za-z]+)/(${ID})(/_history/${ID})?$`);

/**
 * "Type/id" for a literal reference, relative or absolute on this server's
 * base, with any version dropped; other references (external, urn:, contained)
 * are returned as they are.
 */
export function normalizeReference(reference: string, baseUrl: string): string {
  let ref = reference;
  if (ref.startsWith(baseUrl + '/')) ref = ref.slice(baseUrl.length + 1);
  const m = LITERAL_REFERENCE.exec(ref);
  return m ? `${m[1]}/${m[2]}` : ref;
}

/** Whether Type/id names a stored, not deleted, resource (or one a transaction is about to write). */
export type ReferenceResolver = (resourceType: string, id: string) => Promise<boolean>;

/**
 * The one form of resolve() a project SearchParameter may use: a reference
 * path, the type it resolves to, and the path read from that resource
 * (`subject.resolve().ofType(Patient).identifier`).
 */
export const RESOLVE_FORM = /^(.+?)\.resolve\(\)\.ofType\(([A-Z][A-Za-z]+)\)\.(.+)$/;
