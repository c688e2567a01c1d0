// Named operations ($validate, $expand, ...), one file each, each declared
// once here: its name, levels, types, handler and the access it needs. The
// router dispatches to the handler, authorize.ts applies the access rule, the
// CapabilityStatement lists it and /fhir/OperationDefinition serves its
// OperationDefinition (definitions.ts), all from this one declaration, so an
// operation is announced exactly when it can be called.
import type { FhirContext, FhirHandler } from '../context';

export interface OperationDeclaration {
  /** Without the $. */
  name: string;
  /** Canonical URL of its OperationDefinition. */
  definition: string;
  /** What it does, for its OperationDefinition. */
  description: string;
  /** Resource types it applies to at type/instance level ('*' for all); empty for system level only. */
  resourceTypes: string[] | '*';
  system: boolean;
  type: boolean;
  instance: boolean;
  /** Whether calling it changes stored data (OperationDefinition.affectsState). */
  affectsState: boolean;
  /** The access a caller needs: throws a 403 OperationOutcome (access.ts) when they may not call it. */
  authorize: (ctx: FhirContext, resourceType: string | undefined) => void;
  handler: FhirHandler;
  /** Its input parameters, for the API description (openapi.ts); where absent, any name=value is described. */
  parameters?: OperationParameter[];
}

export interface OperationParameter {
  name: string;
  required?: boolean;
  description: string;
}

/** By name; one name may have a declaration per resource type ($validate-code on CodeSystem and ValueSet). */
const operations = new Map<string, OperationDeclaration[]>();

export function registerOperation(entry: OperationDeclaration): void {
  const entries = (operations.get(entry.name) ?? []).filter((e) => e.definition !== entry.definition);
  operations.set(entry.name, [...entries, entry]);
}

export function appliesToType(entry: OperationDeclaration, resourceType: string): boolean {
  return entry.resourceTypes === '*' || entry.resourceTypes.includes(resourceType);
}

/** The operation called at a level: the system (no type), a type, or an instance of it. */
export function findOperation(name: string, level: 'system' | 'type' | 'instance', resourceType?: string): OperationDeclaration | undefined {
  return (operations.get(name) ?? []).find((e) => e[level] && (level === 'system' || appliesToType(e, resourceType as string)));
}

export function listOperations(): OperationDeclaration[] {
  return [...operations.values()].flat();
}

/** The level an operation is called at, from the position of its $name in the path. */
export function operationLevel(position: number): 'system' | 'type' | 'instance' | undefined {
  return position === 0 ? 'system' : position === 1 ? 'type' : position === 2 ? 'instance' : undefined;
}
