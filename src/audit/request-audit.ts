// The AuditEvent of the request being served, for the Repository to commit in
// the same unit as the request's first write (DESIGN.md: audit in the write
// path). A write and its AuditEvent then stand or fall together, so a write
// is never stored while its client is told it failed for want of an audit.
// Stores without multi-document transactions cannot do this; there the HTTP
// layer writes the AuditEvent after the write, as for reads.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { VersionWrite } from '../store/port';
import type { AuditRecord, AuditTrail } from './audit-trail';

export interface PendingAudit {
  trail: AuditTrail;
  /** Who, what and from where; the outcome is success if the write commits. */
  record: Omit<AuditRecord, 'status'>;
  /** Set once the AuditEvent has been committed with a write. */
  written: boolean;
}

const current = new AsyncLocalStorage<PendingAudit>();

export function withPendingAudit<T>(pending: PendingAudit, fn: () => Promise<T>): Promise<T> {
  return current.run(pending, fn);
}

/**
 * The AuditEvent to commit with these writes, if the request has one still
 * to write: the first commit of a request carries it.
 */
export function auditWriteFor(writes: VersionWrite[]): { write: VersionWrite; done: () => void } | undefined {
  const pending = current.getStore();
  if (!pending || pending.written || writes.length === 0) return undefined;
  const first = writes[0].version;
  const isCreate = pending.record.method === 'POST' && pending.record.segments.length === 1 && writes[0].expectedVersionId === undefined;
  const created = isCreate ? `${first.resourceType}/${first.id}` : undefined;
  const version = pending.trail.versionOf({ ...pending.record, status: created ? 201 : 200, createdReference: created });
  return { write: { version, expectedVersionId: undefined }, done: () => (pending.written = true) };
}
