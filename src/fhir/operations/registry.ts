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
  /** Its input parameters, for the API description (openapi.ts); where absent, any name=value is described. */
  parameters?: OperationParameter[];
}

export interface OperationParameter {
  name: string;
  required?: boolean;
  description: string;
}

/** By name; one name may have a definition per resource type ($validate-code on CodeSystem and ValueSet). */
const operations = new Map<string, OperationDefinitionEntry[]>();

export function registerOperation(entry: OperationDefinitionEntry): void {
  const entries = (operations.get(entry.name) ?? []).filter((e) => e.definition !== entry.definition);
  operations.set(entry.name, [...entries, entry]);
}

export function appliesToType(entry: OperationDefinitionEntry, resourceType: string): boolean {
  return entry.resourceTypes === '*' || entry.resourceTypes.includes(resourceType);
}

/** The operation called at a level: the system (no type), a type, or an instance of it. */
export function findOperation(name: string, level: 'system' | 'type' | 'instance', resourceType?: string): OperationDefinitionEntry | undefined {
  return (operations.get(name) ?? []).find((e) => e[level] && (level === 'system' || appliesToType(e, resourceType as string)));
}

export function listOperations(): OperationDefinitionEntry[] {
  return [...operations.values()].flat();
}
