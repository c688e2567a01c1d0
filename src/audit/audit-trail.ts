// The audit trail: one AuditEvent per FHIR request, in the style of IHE Basic
// Audit Log Patterns (RESTful activity): who (the token's subject, client,
// role and organisation, and the network address), what (the interaction, the
// resource or the query), when, and the outcome. Denied and failed requests
// are recorded too. It is written before the response is sent, and a request
// whose audit cannot be written fails (fhir-routes.ts), so nothing is served
// unrecorded. The stores keep AuditEvents as an append-only log, not as
// versioned resources (no history copy; indexed only for audit search,
// from the event itself: audit-index.ts), searchable by admins; the API never lets anyone change
// or delete them (fhir/authorize.ts), and only the retention sweep removes
// them (retention.ts).
import type { AuditEvent, AuditEventAgent, AuditEventEntity } from '@medplum/fhirtypes';
import { newResourceId } from '../base/ids';
import type { Caller } from '../auth/caller';
import { ODS_ORGANIZATION_SYSTEM } from '../conformance/checks/nhs-number';
import type { StoragePort, StoredVersion } from '../store/port';
import { auditIndexOf } from './audit-index';

export interface AuditRecord {
  caller?: Caller;
  method: string;
  /** Path below the FHIR base, split (as in FhirRequest.segments). */
  segments: string[];
  /** The query string, without the leading ?. */
  query: string;
  status: number;
  /** The first diagnostics of a failure. */
  failure?: string;
  sourceAddress?: string;
  /** The resource the interaction made (a create answers with its new id). */
  createdReference?: string;
}

const DCM = 'http://dicom.nema.org/resources/ontology/DCM';

/** The RESTful interaction (http://hl7.org/fhir/restful-interaction) and its CRUDE action. */
export function interactionOf(method: string, segments: string[]): { code: string; action: AuditEvent['action'] } {
  const [type, id] = segments;
  const history = segments.includes('_history');
  if (segments.some((s) => s.startsWith('$'))) return { code: 'operation', action: 'E' };
  if (segments.length === 0) return method === 'POST' ? { code: 'transaction', action: 'E' } : { code: 'search-system', action: 'E' };
  if (type === 'metadata') return { code: 'capabilities', action: 'R' };
  if (type === '_history') return { code: 'history-system', action: 'R' };
  if (history)
    return segments.length >= 4
      ? { code: 'vread', action: 'R' }
      : id === '_history'
        ? { code: 'history-type', action: 'R' }
        : { code: 'history-instance', action: 'R' };
  switch (method) {
    case 'GET':
      return id ? { code: 'read', action: 'R' } : { code: 'search-type', action: 'E' };
    case 'POST':
      return id === '_search' ? { code: 'search-type', action: 'E' } : { code: 'create', action: 'C' };
    case 'PUT':
      return { code: 'update', action: 'U' };
    case 'PATCH':
      return { code: 'patch', action: 'U' };
    case 'DELETE':
      return { code: 'delete', action: 'D' };
    default:
      return { code: 'operation', action: 'E' };
  }
}

export function auditEventOf(record: AuditRecord, now: string, serverName: string): AuditEvent {
  const { caller } = record;
  const { code, action } = interactionOf(record.method, record.segments);
  const agents: AuditEventAgent[] = [
    {
      type: { coding: [{ system: DCM, code: '110153', display: 'Source Role ID' }] },
      who: caller ? { identifier: { system: caller.issuer, value: caller.subject }, display: caller.clientId } : { display: 'unauthenticated' },
      ...(caller?.role ? { role: [{ text: caller.role }] } : {}),
      requestor: true,
      ...(record.sourceAddress ? { network: { address: record.sourceAddress, type: '2' as const } } : {}),
    },
  ];
  if (caller?.organization)
    agents.push({ type: { text: 'organization' }, who: { identifier: { system: ODS_ORGANIZATION_SYSTEM, value: caller.organization } }, requestor: false });
  agents.push({ type: { coding: [{ system: DCM, code: '110152', display: 'Destination Role ID' }] }, who: { display: serverName }, requestor: false });

  const entities: AuditEventEntity[] = [];
  const [type, id] = record.segments;
  const target = record.createdReference ?? (type && id && !id.startsWith('_') && !id.startsWith('$') ? `${type}/${id}` : undefined);
  if (target)
    entities.push({
      what: { reference: target },
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
    });
  if (record.query) {
    entities.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      role: { system: 'http://terminology.hl7.org/CodeSystem/object-role', code: '24', display: 'Query' },
      description: `${record.method} /${record.segments.join('/')}`,
      query: Buffer.from(record.query, 'utf8').toString('base64'),
    });
  } else if (!target) {
    entities.push({
      type: { system: 'http://terminology.hl7.org/CodeSystem/audit-entity-type', code: '2', display: 'System Object' },
      description: `${record.method} /${record.segments.join('/')}`,
    });
  }
  return {
    resourceType: 'AuditEvent',
    type: { system: 'http://terminology.hl7.org/CodeSystem/audit-event-type', code: 'rest', display: 'RESTful Operation' },
    subtype: [{ system: 'http://hl7.org/fhir/restful-interaction', code }],
    action,
    recorded: now,
    outcome: record.status < 400 ? '0' : record.status < 500 ? '4' : '8',
    ...(record.status >= 400 ? { outcomeDesc: `HTTP ${record.status}${record.failure ? `: ${record.failure}` : ''}`.slice(0, 1000) } : {}),
    agent: agents,
    source: {
      observer: { display: serverName },
      type: [{ system: 'http://terminology.hl7.org/CodeSystem/security-source-type', code: '4', display: 'Application Server' }],
    },
    entity: entities,
  };
}

export class AuditTrail {
  constructor(
    private readonly store: StoragePort,
    private readonly baseUrl: string,
    private readonly serverName = 'social-prescribing-fhir-server'
  ) {}

  /** The stored version of one request's AuditEvent. */
  versionOf(record: AuditRecord): StoredVersion {
    const now = new Date().toISOString();
    const id = newResourceId();
    const resource = { ...auditEventOf(record, now, this.serverName), id, meta: { versionId: '1', lastUpdated: now } };
    return { resourceType: 'AuditEvent', id, versionId: '1', lastUpdated: now, deleted: false, resource, ...auditIndexOf(resource, this.baseUrl) };
  }

  /** Whether an AuditEvent can commit in one unit with a write (request-audit.ts). */
  get commitsWithWrites(): boolean {
    return this.store.supportsTransactions;
  }

  /** Stores the AuditEvent of one request; throws if it cannot be stored. */
  async record(record: AuditRecord): Promise<void> {
    // Straight to the store: the server's own record, not a client's write, so no validation or rules.
    await this.store.commit([{ version: this.versionOf(record), expectedVersionId: undefined }]);
  }
}
