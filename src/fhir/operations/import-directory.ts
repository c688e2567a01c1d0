// [base]/$import-directory: imports an Open Referral UK directory (the JSON
// body: a /services page, an array of service records, or one record) into
// HealthcareService, Organization and Location, as `npm run import:oruk` does.
// With Prefer: respond-async it follows the FHIR asynchronous request pattern
// (async.html, as Bulk Data $export does): 202 with Content-Location, which is
// polled (202 with X-Progress while running, then 200 with the summary).
// Without it the import runs within the request and answers the summary.
// `deactivate=false` keeps services missing from the input active.
import type { Parameters, ParametersParameter } from '@medplum/fhirtypes';
import { importDirectory, type ImportSummary } from '../../directory/import';
import { emptyContent, NotADirectoryError, readDocument } from '../../directory/read';
import type { FhirHandler } from '../context';
import { accepted, allOk, badRequest, notFound, OperationOutcomeError, outcome } from '../../base/outcomes';
import { registerOperation } from './registry';

const NAME = 'import-directory';

export function summaryParameters(summary: ImportSummary): Parameters {
  const int = (name: keyof ImportSummary): ParametersParameter => ({ name, valueInteger: summary[name] as number });
  return {
    resourceType: 'Parameters',
    parameter: [
      int('total'),
      int('created'),
      int('updated'),
      int('unchanged'),
      int('deactivated'),
      int('rejected'),
      { name: 'wholeDirectory', valueBoolean: summary.wholeDirectory },
      ...(summary.deactivationSkipped ? [{ name: 'deactivationSkipped', valueString: summary.deactivationSkipped }] : []),
      { name: 'dryRun', valueBoolean: summary.dryRun },
      { name: 'seconds', valueDecimal: summary.seconds },
      ...summary.rejections.map((r): ParametersParameter => ({
        name: 'rejection',
        part: [
          ...(r.serviceId ? [{ name: 'serviceId', valueString: r.serviceId }] : []),
          { name: 'source', valueString: r.source },
          { name: 'reason', valueString: r.reason },
        ],
      })),
    ],
  };
}

const pollStatus: FhirHandler = async (request, ctx) => {
  const jobId = request.query._jobId?.[0];
  if (!jobId) throw badRequest('GET $import-directory polls a job: give _jobId (from the Content-Location of the kick-off)', ['_jobId']);
  const state = await ctx.directoryImports.state(jobId);
  if (!state) throw notFound(`No directory import job ${jobId}`);
  if (state.status === 'failed') {
    throw new OperationOutcomeError(outcome('server-error', 'error', 'exception', state.error ?? 'The import failed'));
  }
  if (state.status === 'in-progress' || !state.summary) {
    const c = state.counts;
    const progress = `${c.processed}/${c.total} services (created ${c.created}, updated ${c.updated}, unchanged ${c.unchanged}, rejected ${c.rejected})`;
    return [accepted(`Directory import in progress: ${progress}`), undefined, { 'X-Progress': progress, 'Retry-After': '2' }];
  }
  return [allOk('Directory import completed'), summaryParameters(state.summary)];
};

function booleanParameter(values: string[] | undefined, name: string): boolean | undefined {
  const value = values?.[0];
  if (value === undefined) return undefined;
  if (value !== 'true' && value !== 'false') throw badRequest(`${name} is true or false`, [name]);
  return value === 'true';
}

const kickOff: FhirHandler = async (request, ctx) => {
  if (request.body === undefined || request.body === null || typeof request.body !== 'object') {
    throw badRequest('POST $import-directory takes ORUK JSON: a /services page, an array of services, or one service record');
  }
  const deactivate = booleanParameter(request.query.deactivate, 'deactivate');
  const dryRun = booleanParameter(request.query.dryRun, 'dryRun');
  const content = emptyContent();
  try {
    readDocument(content, request.body, 'request body');
  } catch (err) {
    // Refused whole: nothing is imported and nothing deactivated on account of a body that is not a directory.
    if (err instanceof NotADirectoryError) throw badRequest(err.message);
    throw err;
  }
  const options = { deactivateMissing: deactivate !== false, dryRun: dryRun === true, minAcceptedShare: ctx.directoryMinAcceptedShare };
  if (!request.respondAsync) return [allOk('Directory import completed'), summaryParameters(await importDirectory(ctx.repo, content, options))];
  const jobId = await ctx.directoryImports.kickOff(content, options);
  const status = `${ctx.baseUrl}/$${NAME}?_jobId=${encodeURIComponent(jobId)}`;
  return [accepted(`Directory import started; poll ${status}`), undefined, { 'Content-Location': status }];
};

const importDirectoryOperation: FhirHandler = (request, ctx) => (request.method === 'GET' ? pollStatus(request, ctx) : kickOff(request, ctx));

export function registerImportDirectoryOperation(): void {
  registerOperation({
    name: NAME,
    definition: 'https://social-prescribing.example.org/fhir/OperationDefinition/import-directory',
    resourceTypes: [],
    system: true,
    type: false,
    instance: false,
    description: 'Imports an Open Referral UK directory into HealthcareService, Organization and Location (or polls an import job).',
    affectsState: true,
    authorize: (ctx) => {
      ctx.access.require('HealthcareService', 'c');
      ctx.access.require('HealthcareService', 'u');
      ctx.access.require('Organization', 'u');
      ctx.access.require('Location', 'u');
    },
    handler: importDirectoryOperation,
  });
}
