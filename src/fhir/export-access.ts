// Who may export what (security): a full export needs search permission on
// every type it writes and sees everything of them, so roles kept to their own
// organisation's data cannot make one. The commissioner view (minimised and
// pseudonymous) is what commissioners get, and all they get.
import type { Access } from './access';
import { forbidden } from '../base/outcomes';
import type { ExportParameters } from '../bulk/job';

export function authorizeExport(access: Access, parameters: ExportParameters): ExportParameters {
  const { caller } = access;
  if (parameters.commissioner !== undefined) {
    // Minimised output: the commissioner role, or a client allowed to search Tasks across the system.
    if (caller.role !== 'commissioner' && !access.may('Task', 's'))
      throw forbidden('Access denied: a commissioner export needs the commissioner role or Task search');
    return parameters;
  }
  if (caller.role === 'commissioner') throw forbidden('Access denied: commissioners receive the minimised commissioner export only');
  const restricted = ['referrer', 'link-worker', 'community-provider'];
  if (caller.role && restricted.includes(caller.role))
    throw forbidden(`Access denied: a ${caller.role} sees their own organisation's records only, which a bulk export cannot keep to`);
  for (const type of parameters.types) access.require(type, 's');
  return parameters;
}

/** Activity reports carry counts, not patients: commissioners, and clients that may read MeasureReports. */
export function authorizeActivityReport(access: Access): void {
  if (access.caller.role === 'commissioner') return;
  access.require('MeasureReport', 'r');
}
