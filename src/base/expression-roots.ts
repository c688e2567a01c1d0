// Which elements of a resource a FHIRPath expression starts from, so that
// an expression whose starting elements the resource does not have can be
// skipped: its values are then empty, and the FHIRPath engine costs about
// 3 µs an expression even to say so. The indexer skips search parameters so
// (a referral has values for 10 of its 27), and validation skips the bound
// elements a resource does not have.
//
// The analysis is conservative: it names the starting elements only for
// expressions that are navigation from the resource (`Type.a.b`, unions of
// those, `as`, indexers, and functions that give nothing for nothing, such as
// where() and ofType()). Anything else (exists(), iif(), literals, operators)
// may give a value from nothing, and is always evaluated.
import { AsAtom, DotAtom, FhirPathAtom, FunctionAtom, IndexerAtom, SymbolAtom, UnionAtom, type Atom } from '@medplum/core';

/** A path of element names from the resource, at most two deep: present when its last element has a value. */
export type ElementPath = readonly string[];

/** Functions that give an empty collection when their input is empty (FHIRPath, fhirpath.html#functions). */
const EMPTY_FOR_EMPTY = new Set(['where', 'select', 'ofType', 'as', 'first', 'last', 'tail', 'skip', 'take', 'distinct', 'resolve', 'extension']);

/** Type names under which an expression reads the resource itself. */
const RESOURCE_BASES = new Set(['Resource', 'DomainResource']);

const MAX_DEPTH = 2;

/**
 * The element paths the expression reads first, for a resource of this type;
 * undefined when the expression can have values whatever the resource holds
 * (or the analysis cannot tell).
 */
export function expressionRoots(atom: Atom, resourceType: string): ElementPath[] | undefined {
  if (atom instanceof FhirPathAtom) return expressionRoots(atom.child, resourceType);
  if (atom instanceof UnionAtom) {
    const left = expressionRoots(atom.left, resourceType);
    const right = expressionRoots(atom.right, resourceType);
    return left && right ? [...left, ...right] : undefined;
  }
  if (atom instanceof AsAtom) return expressionRoots(atom.left, resourceType);
  if (atom instanceof IndexerAtom) return expressionRoots(atom.left, resourceType);
  if (atom instanceof DotAtom) return pathRoots(atom, resourceType);
  return undefined;
}

/** A chain `a.b.c` as its head (`a`) and the steps after it, in order; a whole expression's root is looked through. */
export function dotChain(atom: Atom): { head: Atom; steps: Atom[] } {
  let head = atom instanceof FhirPathAtom ? atom.child : atom;
  const steps: Atom[] = [];
  while (head instanceof DotAtom) {
    steps.unshift(head.right);
    head = head.left;
  }
  return { head, steps };
}

/** `Type.a.b...` (with functions that keep emptiness along the way): the first steps below the type. */
function pathRoots(atom: DotAtom, resourceType: string): ElementPath[] | undefined {
  const { head, steps } = dotChain(atom);
  if (!(head instanceof SymbolAtom) || (head.name !== resourceType && !RESOURCE_BASES.has(head.name))) return undefined;
  const path: string[] = [];
  for (const step of steps) {
    if (step instanceof FunctionAtom) {
      if (!EMPTY_FOR_EMPTY.has(step.name)) return undefined;
      // Past a function, which elements are read no longer matters: what came before it decides emptiness.
      break;
    }
    if (!(step instanceof SymbolAtom)) return undefined;
    if (path.length < MAX_DEPTH) path.push(step.name);
  }
  return path.length > 0 ? [path] : undefined;
}

/**
 * Whether an element has a value in this JSON object: its own key, its
 * primitive extension (`_name`), or a choice of type (`name[x]` is written
 * `nameString`, `nameQuantity`...).
 */
function hasElement(json: Record<string, unknown>, name: string): boolean {
  for (const key in json) {
    if (json[key] === undefined || json[key] === null) continue;
    if (key === name || (key.length > name.length && key.startsWith(name) && isUpper(key.charCodeAt(name.length)))) return true;
    if (key.length === name.length + 1 && key.charCodeAt(0) === 95 && key.endsWith(name)) return true;
  }
  return false;
}

const isUpper = (c: number): boolean => c >= 65 && c <= 90;

const asObjects = (value: unknown): Array<Record<string, unknown>> =>
  (Array.isArray(value) ? value : [value]).filter((v): v is Record<string, unknown> => typeof v === 'object' && v !== null);

/** Whether a path may have a value in the resource; false only when it certainly has none. */
function mayHave(resource: Record<string, unknown>, path: ElementPath): boolean {
  const [first, second] = path;
  if (!hasElement(resource, first)) return false;
  if (second === undefined) return true;
  // A choice or a primitive extension at the first step: not worth following.
  if (!(first in resource)) return true;
  return asObjects(resource[first]).some((o) => hasElement(o, second));
}

/** Whether an expression with these roots may have values for the resource: true when the roots are unknown. */
export function mayHaveValues(resource: object, roots: ElementPath[] | undefined): boolean {
  return !roots || roots.some((path) => mayHave(resource as Record<string, unknown>, path));
}
