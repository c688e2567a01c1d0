// Validations per second for a typical SPReferral through the full pipeline
// (profile, invariants, bindings, NHS checks; references resolved by an
// in-memory lookup so the figure is the validator's, not the store's).
// Run: npm run build && node dist/test/bench/validate-referral.js
import os from 'node:os';
import { ValidationPipeline } from '../../src/conformance/pipeline';
import { ConformanceRegistry } from '../../src/conformance/registry';
import { DEFAULT_ENFORCED_TYPES } from '../../src/domain/server-profiles';
import { TerminologyService } from '../../src/conformance/terminology/service';
import { listSource } from '../../src/conformance/terminology/sources';

const referral = {
  resourceType: 'ServiceRequest',
  extension: [
    {
      url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest',
      valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '108161000000109' }] },
    },
  ],
  identifier: [{ system: 'https://fhir.example-gp.nhs.uk/referral-id', value: 'REF-1' }],
  status: 'active',
  intent: 'order',
  code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106', display: 'Referral to social prescribing service' }] },
  subject: { reference: 'Patient/p1', identifier: { system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' } },
  requester: { reference: 'Organization/gp' },
  performer: [{ reference: 'HealthcareService/sp' }],
  authoredOn: '2026-11-02T09:30:00Z',
  reasonCode: [{ coding: [{ system: 'http://snomed.info/sct', code: '422650009', display: 'Social isolation' }] }],
  note: [{ text: 'Lives alone since bereavement; keen on gardening.' }],
} as const;

async function main(): Promise<void> {
  const registry = ConformanceRegistry.load();
  const pipeline = new ValidationPipeline(registry, new TerminologyService(listSource(registry.shipped)), {
    baseUrl: 'http://localhost/fhir',
    enforcedTypes: new Set(DEFAULT_ENFORCED_TYPES),
  });
  const resolve = async (): Promise<boolean> => true;
  const run = async (n: number): Promise<number> => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      const issues = await pipeline.validate(referral as never, { resolveReference: resolve });
      if (issues.some((x) => x.severity === 'error')) throw new Error(JSON.stringify(issues));
    }
    return Number(process.hrtime.bigint() - start) / 1e9;
  };
  await run(500); // warm up
  const n = 5000;
  const seconds = await run(n);
  console.log(
    JSON.stringify({
      scenario: 'validate SPReferral (full pipeline, in process)',
      validations: n,
      perSecond: Math.round(n / seconds),
      meanMs: Number(((seconds / n) * 1000).toFixed(3)),
      machine: { cpus: os.cpus().length, cpu: os.cpus()[0]?.model, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version },
    })
  );
}

void main();
