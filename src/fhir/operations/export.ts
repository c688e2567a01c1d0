// $export (HL7 FHIR Bulk Data Access v2) at system level, Patient and
// Group/[id]. The asynchronous request pattern is served by the HTTP layer
// (http/bulk-routes.ts); these entries announce the operations in the
// CapabilityStatement, and answer the one case that reaches the FHIR router:
// an $export inside a Bundle, which cannot be asynchronous.
import type { FhirHandler } from '../context';
import { badRequest } from '../../base/outcomes';
import { registerOperation } from './registry';

const DEFINITION = 'http://hl7.org/fhir/uv/bulkdata/OperationDefinition';

const insideBundle: FhirHandler = async () => {
  throw badRequest('$export is asynchronous: call it on its own with Prefer: respond-async, not inside a Bundle');
};

/** Access is checked by the bulk data routes (bulk/export-access.ts); inside a Bundle the handler refuses it whatever the caller. */
const checkedByBulkRoutes = (): void => undefined;

export function registerExportOperations(): void {
  const common = { affectsState: false, authorize: checkedByBulkRoutes, handler: insideBundle };
  registerOperation({
    name: 'export',
    definition: `${DEFINITION}/export`,
    resourceTypes: [],
    system: true,
    type: false,
    instance: false,
    description: 'Exports the data the caller may read as NDJSON files (Bulk Data Access).',
    ...common,
  });
  registerOperation({
    name: 'export',
    definition: `${DEFINITION}/patient-export`,
    resourceTypes: ['Patient'],
    system: false,
    type: true,
    instance: false,
    description: 'Exports the patients and their compartments (Bulk Data Access).',
    ...common,
  });
  registerOperation({
    name: 'export',
    definition: `${DEFINITION}/group-export`,
    resourceTypes: ['Group'],
    system: false,
    type: false,
    instance: true,
    description: 'Exports the members of a Group and their compartments (Bulk Data Access).',
    ...common,
  });
}
