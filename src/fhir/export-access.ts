// Who may export what (security): an export needs search permission on every
// type it writes, and holds what a search by the same caller would find: all
// of it for a system client, their organisation's own data for a referrer,
// link worker or community provider (the grants their searches are kept to).
// The commissioner view (minimised and pseudonymous) is what commissioners
// get, and all they get.
import type { Access } from './access';
import { forbidden } from '../base/outcomes';
import type { Filter } from '../store/search/filter';
import type { ExportParameters } from '../bulk/job';

export async function authorizeExport(access: Access, parameters: ExportParameters): Promise<ExportParameters> {
  const { caller } = access;
  if (parameters.commissioner !== undefined) {
    // Minimised output: the commissioner role, or a client allowed to search Tasks across the system.
    if (caller.role !== 'commissioner' && !access.may('Task', 's'))
      throw forbidden('Access denied: a commissioner export needs the commissioner role or Task search');
    return parameters;
  }
  if (caller.role === 'commissioner') throw forbidden('Access denied: commissioners receive the minimised commissioner export only');
  const restrictions: Record<string, Filter> = {};
  for (const type of parameters.types) {
    access.require(type, 's');
    const restriction = await access.restriction(type);
    if (restriction) restrictions[type] = restriction;
  }
  return Object.keys(restrictions).length > 0 ? { ...parameters, restrictions } : parameters;
}

/** Activity reports carry counts, not patients: commissioners, and clients that may read MeasureReports. */
export function authorizeActivityReport(access: Access): void {
  if (access.caller.role === 'commissioner') return;
  access.require('MeasureReport', 'r');
}
