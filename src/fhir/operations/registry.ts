// Named operations ($validate, $expand, ...), one file each, registered here.
// The router dispatches to them and the CapabilityStatement lists them, so
// an operation is announced exactly when it can be called.
import type { FhirHandler } from '../context';

export interface OperationDefinitionEntry {
  /** Without the $. */
  name: string;
  /** Canonical URL of its OperationDefinition. */
  definition: string;
  /** Resource types it applies to at type/instance level ('*' for all); empty for system level only. */
  resourceTypes: string[] | '*';
  system: boolean;
  type: boolean;
  instance: boolean;
  handler: FhirHandler;
}

const operations = new Map<string, OperationDefinitionEntry>();

export function registerOperation(entry: OperationDefinitionEntry): void {
  operations.set(entry.name, entry);
}

export function findOperation(name: string): OperationDefinitionEntry | undefined {
  return operations.get(name);
}

export function listOperations(): OperationDefinitionEntry[] {
  return [...operations.values()];
}

export function appliesToType(entry: OperationDefinitionEntry, resourceType: string): boolean {
  return entry.resourceTypes === '*' || entry.resourceTypes.includes(resourceType);
}
