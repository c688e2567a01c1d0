// batch (http.html#transaction): each entry is processed on its own through
// the same router as a plain request; one entry's failure does not stop others.
import type { Bundle } from '@medplum/fhirtypes';
import type { FhirContext } from '../context';
import { allOk } from '../../base/outcomes';
import type { FhirResult } from '../request';
import { entryToRequest, errorToEntry, resultToEntry } from './entry-request';

export async function processBatch(bundle: Bundle, ctx: FhirContext): Promise<FhirResult> {
  const response: Bundle = { resourceType: 'Bundle', type: 'batch-response', entry: [] };
  for (const [index, entry] of (bundle.entry ?? []).entries()) {
    try {
      const request = entryToRequest(entry, index, ctx.baseUrl);
      response.entry?.push(resultToEntry(await ctx.dispatch(request, ctx)));
    } catch (err) {
      response.entry?.push(errorToEntry(err));
    }
  }
  return [allOk(), response];
}
