// $validate (resource-operation-validate.html): validates a resource without
// storing it, through the same pipeline as a write, so it reports the same
// issues a failed create would. Always 200 with an OperationOutcome.
import type { OperationOutcome, Parameters, Resource } from '@medplum/fhirtypes';
import type { FhirContext, FhirHandler } from '../context';
import { checkId } from '../interactions/resource-body';
import { allOk, badRequest } from '../../base/outcomes';
import type { FhirRequest } from '../request';
import { registerOperation } from './registry';

const MODES = new Set(['create', 'update', 'delete']);

interface ValidateInput {
  resource?: Resource;
  mode: string;
  profile?: string;
}

function single(request: FhirRequest, name: string): string | undefined {
  return request.query[name]?.[0];
}

/** The body is the resource itself, or Parameters with resource, mode and profile. */
function readInput(request: FhirRequest): ValidateInput {
  const body = request.body as Resource | undefined;
  const input: ValidateInput = { mode: single(request, 'mode') ?? 'create', profile: single(request, 'profile') };
  if (body?.resourceType === 'Parameters') {
    for (const p of (body as Parameters).parameter ?? []) {
      if (p.name === 'resource') input.resource = p.resource;
      else if (p.name === 'mode') input.mode = p.valueCode ?? p.valueString ?? input.mode;
      else if (p.name === 'profile') input.profile = p.valueUri ?? p.valueCanonical ?? p.valueString;
    }
  } else if (body && typeof body === 'object' && Object.keys(body).length > 0) {
    input.resource = body;
  }
  if (!MODES.has(input.mode)) throw badRequest(`mode must be create, update or delete, not "${input.mode}"`, ['mode']);
  return input;
}

function report(issues: OperationOutcome['issue']): OperationOutcome {
  const list = issues ?? [];
  if (list.length > 0) return { resourceType: 'OperationOutcome', issue: list };
  return { resourceType: 'OperationOutcome', issue: [{ severity: 'information', code: 'informational', diagnostics: 'No issues found' }] };
}

async function instanceResource(ctx: FhirContext, resourceType: string, id: string): Promise<Resource> {
  checkId(id);
  return (await ctx.repo.read(resourceType, id)).resource as Resource;
}

const validateOperation: FhirHandler = async (request, ctx) => {
  const [resourceType, maybeId] = request.segments;
  const id = request.segments.length === 3 ? maybeId : undefined;
  const input = readInput(request);
  if (input.mode === 'delete') {
    if (!id) throw badRequest('mode=delete validates an existing resource: call $validate on the instance');
    await instanceResource(ctx, resourceType, id);
    return [allOk(), report([])];
  }
  const resource = input.resource ?? (id ? await instanceResource(ctx, resourceType, id) : undefined);
  if (!resource) throw badRequest('$validate needs a resource, in the body or as the "resource" parameter');
  if (resource.resourceType !== resourceType) {
    throw badRequest(`The resource is a ${resource.resourceType}, but $validate was called on ${resourceType}`);
  }
  if (input.mode === 'update' && !resource.id) throw badRequest('mode=update needs a resource with an id', ['id']);
  if (id && resource.id && resource.id !== id) throw badRequest(`The resource's id ${resource.id} is not ${id}`, ['id']);
  const issues = await ctx.validate(resource, input.profile ? [input.profile] : []);
  return [allOk(), report(issues)];
};

export function registerValidateOperation(): void {
  registerOperation({
    name: 'validate',
    definition: 'http://hl7.org/fhir/OperationDefinition/Resource-validate',
    resourceTypes: '*',
    system: false,
    type: true,
    instance: true,
    description: 'Validates a resource as a create, update or delete would, against its profiles, without storing it.',
    affectsState: false,
    authorize: (ctx, resourceType) => {
      if (resourceType) ctx.access.require(resourceType, 'r');
    },
    handler: validateOperation,
  });
}
