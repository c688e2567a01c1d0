// The OperationDefinition of every declared operation (registry.ts), stored
// at start so that the canonical each CapabilityStatement entry names can be
// read at /fhir/OperationDefinition/[id] and searched by url or code. Written
// from the declaration itself, so it never disagrees with what is served.
import type { OperationDefinition } from '@medplum/fhirtypes';
import { storeResources } from '../../conformance/seed';
import type { Repository } from '../../store/repository';
import { listOperations, type OperationDeclaration } from './registry';

/** The id: the last segment of the canonical URL (Resource-validate, patient-export, ...). */
export const operationDefinitionId = (declaration: OperationDeclaration): string => declaration.definition.split('/').pop() as string;

/** "validate-code" -> "ValidateCode": OperationDefinition.name is a computer-friendly name. */
const computerName = (id: string): string =>
  id
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');

export function operationDefinitionOf(declaration: OperationDeclaration): OperationDefinition {
  const id = operationDefinitionId(declaration);
  const types = declaration.resourceTypes === '*' ? ['Resource'] : declaration.resourceTypes;
  return {
    resourceType: 'OperationDefinition',
    id,
    url: declaration.definition,
    name: computerName(id),
    title: `$${declaration.name}`,
    status: 'active',
    kind: 'operation',
    description: declaration.description,
    affectsState: declaration.affectsState,
    code: declaration.name,
    ...(types.length > 0 ? { resource: types as OperationDefinition['resource'] } : {}),
    system: declaration.system,
    type: declaration.type,
    instance: declaration.instance,
  };
}

export function publishOperationDefinitions(repo: Repository): Promise<number> {
  return storeResources(repo, listOperations().map(operationDefinitionOf));
}
