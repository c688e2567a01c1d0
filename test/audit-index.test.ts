// The audit trail indexes its AuditEvents from the events themselves
// (src/audit/audit-index.ts) rather than by evaluating the search
// parameters' FHIRPath. Those fields must be exactly what the evaluation
// gives, for every kind of event the server writes, or an audit search would
// find other events than the expressions say. (Searching the trail over HTTP
// is in audit-log.test.ts.)
import { auditIndexOf } from '../src/audit/audit-index';
import { auditEventOf, type AuditRecord } from '../src/audit/audit-trail';
import type { Caller } from '../src/auth/caller';
import { loadBaseDefinitions } from '../src/base/definitions';
import { computeIndex } from '../src/store/indexer';

const BASE = 'http://fhir.test/fhir';

const linkWorker: Caller = {
  subject: 'lw-1',
  issuer: 'https://login.example.org',
  clientId: 'case-system',
  scopes: [],
  role: 'link-worker',
  organization: 'S10001',
};
const system: Caller = { subject: 'gp-system', issuer: 'local', scopes: [] };

const records: Array<[string, AuditRecord]> = [
  ['a read of a patient', { caller: linkWorker, method: 'GET', segments: ['Patient', 'p-1'], query: '', status: 200, sourceAddress: '10.0.0.7' }],
  ['a read of a Task', { caller: system, method: 'GET', segments: ['Task', 't-1'], query: '', status: 200 }],
  ['a search with a query', { caller: linkWorker, method: 'GET', segments: ['Task'], query: 'owner=HealthcareService/s-1&status=requested', status: 200 }],
  ['a create of a patient', { caller: system, method: 'POST', segments: ['Patient'], query: '', status: 201, createdReference: 'Patient/new-1' }],
  ['a create refused', { caller: system, method: 'POST', segments: ['ServiceRequest'], query: '', status: 422, failure: 'Profile validation failed' }],
  ['a version read', { caller: system, method: 'GET', segments: ['Patient', 'p-1', '_history', '2'], query: '', status: 200 }],
  ['a transaction', { caller: system, method: 'POST', segments: [], query: '', status: 200 }],
  ['an operation on an instance', { caller: linkWorker, method: 'GET', segments: ['Patient', 'p-1', '$everything'], query: '_count=10', status: 200 }],
  ['a system operation', { caller: system, method: 'GET', segments: ['$export'], query: '', status: 202 }],
  ['an unauthenticated request', { method: 'GET', segments: ['Patient', 'p-2'], query: '', status: 401, failure: 'No bearer token' }],
  ['a delete not found', { caller: system, method: 'DELETE', segments: ['Task', 'missing'], query: '', status: 404 }],
  ['a capability statement', { method: 'GET', segments: ['metadata'], query: '', status: 200 }],
];

describe('audit trail: index fields from the event itself', () => {
  beforeAll(() => {
    loadBaseDefinitions();
  });

  test.each(records)('%s: the same index fields and sort keys as evaluating the search parameters', (_name, record) => {
    const now = '2026-11-29T10:00:00.000Z';
    const event = { ...auditEventOf(record, now, 'test-server'), id: 'ae-1', meta: { versionId: '1', lastUpdated: now } };
    const evaluated = computeIndex(event, BASE);
    expect(auditIndexOf(event, BASE)).toEqual(evaluated);
    // Not empty by accident: every event has a date, a type, a subtype, an action and an outcome.
    expect(Object.keys(evaluated.idx)).toEqual(expect.arrayContaining(['date', 'type', 'subtype', 'action', 'outcome', '_lastUpdated']));
    // Agents are named by identifier: the token's subject and issuer, and the caller's organisation.
    if (record.caller) expect(evaluated.idx['agent:identifier']).toContain(`${record.caller.issuer}|${record.caller.subject}`);
  });

  test('a patient named as the entity is indexed as the event’s patient', () => {
    const event = auditEventOf(records[0][1], '2026-11-29T10:00:00.000Z', 'test-server');
    expect(auditIndexOf(event, BASE).idx.patient).toEqual(['Patient/p-1']);
    const task = auditEventOf(records[1][1], '2026-11-29T10:00:00.000Z', 'test-server');
    expect(auditIndexOf(task, BASE).idx.patient).toBeUndefined();
  });
});
