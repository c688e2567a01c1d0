// Shared reading of terminology operation inputs: which CodeSystem, ValueSet
// or ConceptMap (by url, by instance id, or given inline), and which code
// (code+system, a Coding, or a CodeableConcept).
import type { CodeableConcept, CodeSystem, Coding, ConceptMap, ValueSet } from '@medplum/fhirtypes';
import type { FhirContext } from '../context';
import { checkId } from '../interactions/resource-body';
import { badRequest, notFound } from '../../base/outcomes';
import type { FhirRequest } from '../request';
import type { OperationInput } from './parameters';

type Kind = 'CodeSystem' | 'ValueSet' | 'ConceptMap';
type Of<K extends Kind> = K extends 'CodeSystem' ? CodeSystem : K extends 'ValueSet' ? ValueSet : ConceptMap;

/** The instance (/ValueSet/[id]/$op), the inline resource parameter, or the one with the url parameter. */
export async function targetResource<K extends Kind>(
  kind: K,
  request: FhirRequest,
  input: OperationInput,
  ctx: FhirContext,
  options: { urlParam: string; inlineParam?: string; required: boolean }
): Promise<Of<K> | undefined> {
  if (request.segments.length === 3) {
    checkId(request.segments[1]);
    return (await ctx.repo.read(kind, request.segments[1])).resource as Of<K>;
  }
  const inline = options.inlineParam ? input.resource<Of<K>>(options.inlineParam) : undefined;
  if (inline) {
    if (inline.resourceType !== kind) throw badRequest(`Parameter ${options.inlineParam} must be a ${kind}`);
    return inline;
  }
  const url = input.string(options.urlParam);
  if (!url) {
    if (options.required)
      throw badRequest(`Say which ${kind}: give the ${options.urlParam} parameter or call the operation on an instance`, [options.urlParam]);
    return undefined;
  }
  const version = input.string(kind === 'CodeSystem' ? 'version' : kind === 'ValueSet' ? 'valueSetVersion' : 'conceptMapVersion');
  const found =
    kind === 'CodeSystem'
      ? await ctx.terminology.codeSystem(url, version)
      : kind === 'ValueSet'
        ? await ctx.terminology.valueSet(url, version)
        : await ctx.terminology.conceptMap(url);
  if (!found) throw notFound(`${kind} ${url}${version ? `|${version}` : ''} is not known to this server`);
  return found as Of<K>;
}

/** The codings to check: from code (+system, +display), coding, or codeableConcept. */
export function inputCodings(input: OperationInput, systemParam = 'system'): { codings: Coding[]; concept?: CodeableConcept } {
  const code = input.string('code');
  if (code !== undefined) return { codings: [{ system: input.string(systemParam), code, display: input.string('display') }] };
  const coding = input.coding('coding');
  if (coding) return { codings: [coding] };
  const concept = input.codeableConcept('codeableConcept');
  if (concept) return { codings: concept.coding ?? [], concept };
  throw badRequest('Give a code (with system), a coding or a codeableConcept', ['code']);
}
