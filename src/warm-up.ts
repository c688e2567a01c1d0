// What the first writes after a start would otherwise pay for, done before the
// server listens, so that a restart under load does not answer its first
// requests late. Each is computed once and kept for the life of the process.
//
// Measured on the 10,000-patient bench data (2-core VM, Intel Xeon), the first
// validated referral create after a start took 382-466 ms, a first 4-entry
// transaction 183 ms and a first $validate 148 ms, against 5-7 ms each once
// warm. Sixteen clients sending creates right after a start then met a p95 of
// 457 ms and a p99 of 598 ms for the first 3 s. In that first create's CPU
// profile, 40% went to the indexed search parameters of every resource type
// (which of them are records about a patient: auth/access-rules.ts), and 19%
// to loading FHIR's own CodeSystems and ValueSets, which binding checks read.
import type { Resource } from '@medplum/fhirtypes';
import { patientRecordTypes } from './auth/access-rules';
import { SERVER_PROFILES, SNOMED, SOCIAL_PRESCRIBING_REFERRAL } from './domain/server-profiles';
import type { ValidationPipeline } from './conformance/pipeline';

/**
 * Computes what access planning reads on every write, and validates a bare
 * resource of each type the server holds to its own profile (the issues are
 * expected, and dropped): that loads the profiles' FHIRPath, their bindings'
 * ValueSets and FHIR's own terminology on this thread, which also validates
 * until the validation threads are ready.
 */
export async function warmUp(pipeline: ValidationPipeline): Promise<void> {
  patientRecordTypes();
  for (const resourceType of Object.keys(SERVER_PROFILES)) {
    const resource = { resourceType, status: 'active', code: { coding: [{ system: SNOMED, code: SOCIAL_PRESCRIBING_REFERRAL }] } } as Resource;
    await pipeline.validate(resource, {});
  }
}
