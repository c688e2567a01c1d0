// ConceptMap/$translate (conceptmap-operation-translate.html): the target
// codes a code maps to, e.g. a local need to its SNOMED CT concept.
import type { ParametersParameter } from '@medplum/fhirtypes';
import type { FhirHandler } from '../context';
import { allOk, badRequest } from '../../base/outcomes';
import { OperationInput, parameters } from './parameters';
import { inputCodings, targetResource } from './terminology-input';

export const translateOperation: FhirHandler = async (request, ctx) => {
  const input = OperationInput.from(request);
  const map = await targetResource('ConceptMap', request, input, ctx, { urlParam: 'url', inlineParam: 'conceptMap', required: true });
  const { codings } = inputCodings(input);
  const targetSystem = input.string('targetsystem');
  const matches = codings.flatMap((c) => {
    if (!c.system || !c.code) throw badRequest('$translate needs the system of the code', ['system']);
    return ctx.terminology.translate(map as NonNullable<typeof map>, c.system, c.code, targetSystem);
  });
  const out: ParametersParameter[] = [{ name: 'result', valueBoolean: matches.length > 0 }];
  if (matches.length === 0) out.push({ name: 'message', valueString: 'No mapping found for the code in this ConceptMap' });
  for (const m of matches) {
    out.push({
      name: 'match',
      part: [
        { name: 'equivalence', valueCode: m.equivalence },
        { name: 'concept', valueCoding: m.concept },
      ],
    });
  }
  return [allOk(), parameters(out)];
};
