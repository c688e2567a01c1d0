// CodeSystem/$subsumes (codesystem-operation-subsumes.html): how two codes of
// one system relate in its hierarchy.
import type { FhirHandler } from '../context';
import { allOk, badRequest, notFound } from '../../base/outcomes';
import { OperationInput, parameters } from './parameters';
import { targetResource } from './terminology-input';

export const subsumesOperation: FhirHandler = async (request, ctx) => {
  const input = OperationInput.from(request);
  const codingA = input.coding('codingA');
  const codingB = input.coding('codingB');
  const codeA = input.string('codeA') ?? codingA?.code;
  const codeB = input.string('codeB') ?? codingB?.code;
  if (!codeA || !codeB) throw badRequest('$subsumes needs codeA and codeB (or codingA and codingB)', ['codeA']);
  let system = input.string('system') ?? codingA?.system ?? codingB?.system;
  if (!system) system = (await targetResource('CodeSystem', request, input, ctx, { urlParam: 'system', required: true }))?.url;
  if ((codingA?.system && codingA.system !== system) || (codingB?.system && codingB.system !== system)) {
    throw badRequest('$subsumes compares two codes of the same system');
  }
  const outcome = await ctx.terminology.subsumes(system as string, codeA, codeB, input.string('version'));
  if (!outcome) throw notFound(`CodeSystem ${system} is not known to this server, or does not have both ${codeA} and ${codeB}`);
  return [allOk(), parameters([{ name: 'outcome', valueCode: outcome }])];
};
