// A request body nested deeper than any FHIR resource needs is refused before
// anything walks it: recursive code (the validator, the indexer) would
// otherwise run out of stack on a hostile body.
export const MAX_JSON_DEPTH = 100;

/** The nesting depth of a parsed JSON value, measured without recursion. */
export function jsonDepth(value: unknown, limit = MAX_JSON_DEPTH): number {
  let deepest = 0;
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop() as [unknown, number];
    if (node === null || typeof node !== 'object') continue;
    deepest = Math.max(deepest, depth);
    if (deepest > limit) return deepest;
    for (const child of Array.isArray(node) ? node : Object.values(node as Record<string, unknown>)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return deepest;
}
