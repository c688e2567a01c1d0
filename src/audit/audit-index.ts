// The index fields of an AuditEvent this server wrote, taken from the event
// itself instead of by evaluating each audit search parameter's FHIRPath
// expression. Every request writes one, and the nine expressions cost about
// 120 µs of the 500 µs a read of one resource takes on the serving thread.
// The values are exactly those the R4 expressions select from the events
// auditEventOf makes (a test holds this index equal to the evaluated one for
// every kind of event); they then go through the indexer's own steps, so the
// fields are stored and searched as any other resource's.
import type { AuditEvent, Reference } from '@medplum/fhirtypes';
import type { TypedValue } from '@medplum/core';
import { computeIndex, getIndexedParameters, indexValues, type IndexResult } from '../store/indexer';
import type { IndexFields } from '../store/port';

const typed = <T>(type: string, values: Array<T | undefined>): TypedValue[] => values.filter((v) => v !== undefined).map((value) => ({ type, value }));

/** `where(resolve() is Patient)`: a relative literal reference to a Patient. */
const isPatientReference = (ref: Reference): boolean => typeof ref.reference === 'string' && /^Patient\/[^/]+$/.test(ref.reference);

/** What each audit search parameter's expression selects (store/indexer.ts, AUDIT_EVENT_PARAMETERS). */
function selected(event: AuditEvent): Record<string, TypedValue[]> {
  const agents: Reference[] = (event.agent ?? []).flatMap((a) => (a.who ? [a.who] : []));
  const entities: Reference[] = (event.entity ?? []).flatMap((e) => (e.what ? [e.what] : []));
  return {
    _lastUpdated: typed('instant', [event.meta?.lastUpdated]),
    action: typed('code', [event.action]),
    agent: typed('Reference', agents),
    date: typed('instant', [event.recorded]),
    entity: typed('Reference', entities),
    outcome: typed('code', [event.outcome]),
    patient: typed('Reference', [...agents, ...entities].filter(isPatientReference)),
    subtype: typed('Coding', event.subtype ?? []),
    type: typed('Coding', [event.type]),
  };
}

export function auditIndexOf(event: AuditEvent, baseUrl: string): IndexResult {
  const idx: IndexFields = {};
  const sort: Record<string, string | number> = {};
  const values = selected(event);
  const params = [...getIndexedParameters('AuditEvent').values()];
  // A parameter not covered here (were the audit search parameters ever widened) is evaluated as for any resource.
  if (params.some((param) => !values[param.code])) return computeIndex(event, baseUrl);
  for (const param of params) indexValues(param, values[param.code], idx, sort, baseUrl);
  return { idx, sort };
}
