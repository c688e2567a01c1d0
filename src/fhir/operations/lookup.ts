// CodeSystem/$lookup (codesystem-operation-lookup.html): what the server knows
// of a code: its display, definition, designations and place in the hierarchy.
import type { ParametersParameter } from '@medplum/fhirtypes';
import { indexCodeSystem } from '../../conformance/terminology/codesystem';
import type { FhirHandler } from '../context';
import { allOk, badRequest, notFound } from '../../base/outcomes';
import { OperationInput, parameters } from './parameters';
import { targetResource } from './terminology-input';

export const lookupOperation: FhirHandler = async (request, ctx) => {
  const input = OperationInput.from(request);
  const coding = input.coding('coding');
  const code = input.string('code') ?? coding?.code;
  const system = input.string('system') ?? coding?.system;
  if (!code) throw badRequest('$lookup needs a code (with system) or a coding', ['code']);
  if (!system && request.segments.length !== 3) throw badRequest('$lookup needs the system of the code', ['system']);
  const cs = system
    ? await ctx.terminology.codeSystem(system, input.string('version'))
    : await targetResource('CodeSystem', request, input, ctx, { urlParam: 'system', required: true });
  if (!cs) throw notFound(`CodeSystem ${system} is not known to this server`);
  const index = indexCodeSystem(cs);
  const concept = index.byCode.get(code);
  if (!concept) throw notFound(`${code} is not a code of ${cs.url} known to this server`);
  const out: ParametersParameter[] = [{ name: 'name', valueString: cs.name ?? cs.url }];
  if (cs.version) out.push({ name: 'version', valueString: cs.version });
  if (concept.display) out.push({ name: 'display', valueString: concept.display });
  if (concept.definition) out.push({ name: 'definition', valueString: concept.definition });
  for (const d of concept.designation ?? []) {
    out.push({
      name: 'designation',
      part: [
        ...(d.language ? [{ name: 'language', valueCode: d.language }] : []),
        ...(d.use ? [{ name: 'use', valueCoding: d.use }] : []),
        { name: 'value', valueString: d.value },
      ],
    });
  }
  for (const parent of concept.parents)
    out.push({
      name: 'property',
      part: [
        { name: 'code', valueCode: 'parent' },
        { name: 'value', valueCode: parent },
      ],
    });
  for (const child of index.concepts.filter((c) => c.parents.includes(code))) {
    out.push({
      name: 'property',
      part: [
        { name: 'code', valueCode: 'child' },
        { name: 'value', valueCode: child.code },
      ],
    });
  }
  out.push({
    name: 'property',
    part: [
      { name: 'code', valueCode: 'inactive' },
      { name: 'value', valueBoolean: concept.inactive },
    ],
  });
  return [allOk(), parameters(out)];
};
