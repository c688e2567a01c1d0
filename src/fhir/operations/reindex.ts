// SearchParameter/[id]/$reindex: GET reads the progress of the parameter's
// reindex job; POST starts it again. Answers Parameters: status, processed, total.
import type { SearchParameter } from '@medplum/fhirtypes';
import type { FhirHandler } from '../context';
import { allOk, notFound } from '../../base/outcomes';
import { parameters } from './parameters';
import { registerOperation } from './registry';

const reindex: FhirHandler = async (request, ctx) => {
  const sp = (await ctx.repo.read('SearchParameter', request.segments[1])).resource as SearchParameter;
  // Once the restarted job is stored, its status below is the new run's.
  if (request.method === 'POST') await ctx.searchParameters.reindex(sp);
  const status = await ctx.searchParameters.status(sp);
  if (!status) throw notFound(`No reindex job for SearchParameter/${sp.id}: the server's own parameters need none`);
  return [
    allOk(),
    parameters([
      { name: 'status', valueCode: status.status },
      { name: 'processed', valueInteger: status.processed },
      { name: 'total', valueInteger: status.total },
      { name: 'searchable', valueBoolean: status.status === 'completed' },
    ]),
  ];
};

export function registerReindexOperation(): void {
  registerOperation({
    name: 'reindex',
    definition: 'https://social-prescribing.example.org/fhir/OperationDefinition/SearchParameter-reindex',
    resourceTypes: ['SearchParameter'],
    system: false,
    type: false,
    instance: true,
    description: 'Starts or reports the reindex of stored resources for a SearchParameter.',
    affectsState: true,
    authorize: (ctx) => ctx.access.require('SearchParameter', 'u'),
    handler: reindex,
  });
}
