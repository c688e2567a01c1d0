// ValueSet/$expand (valueset-operation-expand.html): the codes of a value set,
// with `filter` for type-ahead (case- and accent-insensitive, on display,
// designations and code; each word of the filter must start a word there),
// `count` and `offset` paging, `includeDesignations` and `activeOnly`.
import type { ValueSet, ValueSetExpansionContains, ValueSetExpansionParameter } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import type { FlatConcept } from '../../conformance/terminology/codesystem';
import { normalizeString } from '../../store/search/values';
import type { FhirHandler } from '../context';
import { allOk, OperationOutcomeError } from '../../base/outcomes';
import { OperationInput } from './parameters';
import { targetResource } from './terminology-input';

export const MAX_EXPANSION_PAGE = 1000;

/** Words per concept, computed once: concepts live as long as their CodeSystem is cached. */
const wordCache = new WeakMap<FlatConcept, string[]>();

/** The words a concept can be found by. */
function searchWords(concept: FlatConcept): string[] {
  let words = wordCache.get(concept);
  if (!words) {
    const texts = [concept.display, concept.code, ...(concept.designation ?? []).map((d) => d.value)];
    words = texts.flatMap((t) =>
      t
        ? normalizeString(t)
            .split(/[^\p{L}\p{N}]+/u)
            .filter(Boolean)
        : []
    );
    wordCache.set(concept, words);
  }
  return words;
}

export function filterConcepts(concepts: FlatConcept[], filter: string | undefined): FlatConcept[] {
  const terms = filter
    ? normalizeString(filter)
        .split(/[^\p{L}\p{N}]+/u)
        .filter(Boolean)
    : [];
  if (terms.length === 0) return concepts;
  return concepts.filter((c) => {
    const words = searchWords(c);
    return terms.every((t) => words.some((w) => w.startsWith(t)));
  });
}

export const expandOperation: FhirHandler = async (request, ctx) => {
  const input = OperationInput.from(request);
  const valueSet = (await targetResource('ValueSet', request, input, ctx, { urlParam: 'url', inlineParam: 'valueSet', required: true })) as ValueSet;
  const filter = input.string('filter');
  const count = input.integer('count', 0, MAX_EXPANSION_PAGE) ?? 100;
  const offset = input.integer('offset', 0, 10_000_000) ?? 0;
  const includeDesignations = input.boolean('includeDesignations') ?? false;
  const activeOnly = input.boolean('activeOnly') ?? false;

  const expansion = await ctx.terminology.expand(valueSet);
  if (expansion.openSystems.size > 0) {
    throw new OperationOutcomeError({
      resourceType: 'OperationOutcome',
      id: 'unprocessable-entity',
      issue: [
        {
          severity: 'error',
          code: 'too-costly',
          diagnostics: `ValueSet ${valueSet.url ?? ''} includes all of ${[...expansion.openSystems].join(', ')}, which this server cannot enumerate; use $validate-code instead`,
        },
      ],
    });
  }
  const selected = filterConcepts(activeOnly ? expansion.concepts.filter((c) => !c.inactive) : expansion.concepts, filter);
  const page = selected.slice(offset, offset + count);
  const used: ValueSetExpansionParameter[] = [
    ...(filter ? [{ name: 'filter', valueString: filter }] : []),
    { name: 'count', valueInteger: count },
    { name: 'offset', valueInteger: offset },
    ...(includeDesignations ? [{ name: 'includeDesignations', valueBoolean: true }] : []),
    ...(activeOnly ? [{ name: 'activeOnly', valueBoolean: true }] : []),
  ];
  const contains = page.map((c): ValueSetExpansionContains => ({
    system: c.system,
    ...(c.version ? { version: c.version } : {}),
    code: c.code,
    ...(c.display ? { display: c.display } : {}),
    ...(c.inactive ? { inactive: true } : {}),
    ...(includeDesignations && c.designation?.length ? { designation: c.designation } : {}),
  }));
  const { compose, text, ...rest } = valueSet;
  void compose;
  void text;
  const expanded: ValueSet = {
    ...rest,
    expansion: { identifier: `urn:uuid:${randomUUID()}`, timestamp: new Date().toISOString(), total: selected.length, offset, parameter: used, contains },
  };
  return [allOk(), expanded];
};
