// Reference rewriting inside a transaction (http.html#trules): references to
// an entry's fullUrl (urn:uuid, or a URL) become the id the server assigned,
// and conditional references (Patient?identifier=...) become the one
// resource they match.

/** Calls visit for every Reference.reference string in a resource, replacing it with the result. */
export function rewriteReferences(value: unknown, visit: (reference: string) => string): void {
  if (Array.isArray(value)) {
    value.forEach((item) => rewriteReferences(item, visit));
    return;
  }
  if (value === null || typeof value !== 'object') return;
  const record = value as Record<string, unknown>;
  for (const [key, child] of Object.entries(record)) {
    if (key === 'reference' && typeof child === 'string') record[key] = visit(child);
    else rewriteReferences(child, visit);
  }
}

const CONDITIONAL = /^([A-Z][A-Za-z]+)\?(.+)$/;

export function parseConditionalReference(reference: string): { resourceType: string; query: string } | undefined {
  const m = CONDITIONAL.exec(reference);
  return m ? { resourceType: m[1], query: m[2] } : undefined;
}
