// $validate-code on CodeSystem and ValueSet (codesystem-operation-validate-code.html,
// valueset-operation-validate-code.html): is the code (code+system, Coding or
// CodeableConcept) valid, and is its display right? The write pipeline's
// binding check calls the same TerminologyService.validateCode.
import type { Coding, ParametersParameter } from '@medplum/fhirtypes';
import type { CodeCheck } from '../../conformance/terminology/service';
import type { FhirHandler } from '../context';
import { allOk } from '../../base/outcomes';
import { OperationInput, parameters } from './parameters';
import { inputCodings, targetResource } from './terminology-input';

function answer(checks: CodeCheck[], codings: Coding[]): ParametersParameter[] {
  // For a CodeableConcept, one valid coding is enough.
  const good = checks.find((c) => c.result === true);
  const chosen = good ?? checks.find((c) => c.result === false) ?? checks[0];
  const out: ParametersParameter[] = [{ name: 'result', valueBoolean: chosen?.result === true }];
  const message = good ? undefined : (chosen?.message ?? 'No coding to check');
  if (message) out.push({ name: 'message', valueString: message });
  if (chosen?.display) out.push({ name: 'display', valueString: chosen.display });
  if (codings.length === 1 && codings[0].code) out.push({ name: 'code', valueCode: codings[0].code });
  if (codings.length === 1 && codings[0].system) out.push({ name: 'system', valueUri: codings[0].system });
  return out;
}

export const valueSetValidateCode: FhirHandler = async (request, ctx) => {
  const input = OperationInput.from(request);
  const valueSet = await targetResource('ValueSet', request, input, ctx, { urlParam: 'url', inlineParam: 'valueSet', required: true });
  const { codings } = inputCodings(input);
  const checks = await Promise.all(codings.map((c) => ctx.terminology.validateCode(valueSet, c, { checkDisplay: true })));
  return [allOk(), parameters(answer(checks, codings))];
};

export const codeSystemValidateCode: FhirHandler = async (request, ctx) => {
  const input = OperationInput.from(request);
  const codeSystem = await targetResource('CodeSystem', request, input, ctx, { urlParam: 'url', required: true });
  const { codings } = inputCodings(input, 'url');
  const system = codeSystem?.url as string;
  const checks = await Promise.all(
    codings.map((c) =>
      c.system && c.system !== system
        ? Promise.resolve({ result: false, message: `${c.system} is not the system of CodeSystem ${system}` })
        : ctx.terminology.validateCodeInSystem(system, { ...c, system })
    )
  );
  return [allOk(), parameters(answer(checks, codings))];
};
