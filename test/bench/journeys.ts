// A year of social prescribing journeys for the reports' benchmarks
// (dashboard-render.ts, activity-report.ts): a PCN, 8 practices with a GP
// each, 3 link-worker services and 20 community services, and N referrals,
// each walked a random way along the referral's path with dated Task
// versions, an onward referral and ONS4 outcomes. Seeded, so every run holds
// the same data.
import type { Resource } from '@medplum/fhirtypes';
import type { DatedVersion } from '../support/history';
import { random } from './population';

const B = 'https://social-prescribing.example.org/fhir';
const SNOMED = 'http://snomed.info/sct';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const SOURCES = ['108161000000109', '310434002', '183826007'];
const NEEDS = ['loneliness', 'money-worries', 'housing', 'low-mood', 'physical-activity', 'carer-support'];
const ONS4_ITEMS = ['life-satisfaction', 'worthwhile', 'happy-yesterday', 'anxious-yesterday'];
export const PERIOD = { start: '2025-12-01', end: '2026-11-30' };

const at = (start: number, days: number) => new Date(start + days * 86_400_000).toISOString();

/** The directory and N journeys, each walked a random way along the referral's path. */
export function population(referrals: number): DatedVersion[] {
  const rnd = random(21);
  const when = '2025-11-01T00:00:00Z';
  const out: DatedVersion[] = [
    { at: when, resource: { resourceType: 'Organization', id: 'pcn', name: 'Bench PCN', identifier: [{ system: ODS, value: 'U00001' }] } as Resource },
  ];
  for (let p = 0; p < 8; p++) {
    out.push({
      at: when,
      resource: {
        resourceType: 'Organization',
        id: `practice-${p}`,
        name: `Practice ${p}`,
        identifier: [{ system: ODS, value: `Y0000${p}` }],
        partOf: { reference: 'Organization/pcn' },
      } as Resource,
    });
    out.push({
      at: when,
      resource: { resourceType: 'PractitionerRole', id: `gp-${p}`, organization: { reference: `Organization/practice-${p}` } } as Resource,
    });
  }
  for (let s = 0; s < 3; s++) out.push({ at: when, resource: { resourceType: 'Organization', id: `sp-service-${s}`, name: `Link workers ${s}` } as Resource });
  for (let c = 0; c < 20; c++) {
    out.push({ at: when, resource: { resourceType: 'Organization', id: `provider-${c}`, name: `Community provider ${c}` } as Resource });
    out.push({
      at: when,
      resource: {
        resourceType: 'HealthcareService',
        id: `service-${c}`,
        providedBy: { reference: `Organization/provider-${c}` },
        type: [{ coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: ['green-spaces', 'arts-and-culture', 'physical-activity', 'advice'][c % 4] }] }],
      } as Resource,
    });
  }
  const start = Date.parse(`${PERIOD.start}T00:00:00Z`);
  for (let i = 0; i < referrals; i++) {
    const id = `r${i}`;
    const authored = start + Math.floor(rnd() * 360) * 86_400_000 + 9 * 3_600_000;
    const patient = `Patient/p${i}`;
    out.push({
      at: at(authored, 0),
      resource: {
        resourceType: 'Patient',
        id: `p${i}`,
        gender: rnd() < 0.6 ? 'female' : 'male',
        birthDate: `${1940 + Math.floor(rnd() * 65)}-06-15`,
      } as Resource,
    });
    const needs = NEEDS.filter(() => rnd() < 0.3);
    out.push({
      at: at(authored, 0),
      resource: {
        resourceType: 'ServiceRequest',
        id,
        extension: [
          {
            url: 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest',
            valueCodeableConcept: { coding: [{ system: SNOMED, code: SOURCES[Math.floor(rnd() * rnd() * 3)] }] },
          },
        ],
        status: 'active',
        intent: 'order',
        code: { coding: [{ system: SNOMED, code: '871731000000106' }] },
        subject: { reference: patient },
        requester: { reference: `PractitionerRole/gp-${i % 8}` },
        authoredOn: at(authored, 0),
        reasonCode: (needs.length > 0 ? needs : ['loneliness']).map((n) => ({ coding: [{ system: `${B}/CodeSystem/sp-needs-local`, code: n }] })),
      } as Resource,
    });
    // How far this journey went: 0 requested, 1 accepted, 2 first contact, 3 plan agreed, 4 completed.
    const reach = Math.floor(rnd() * 5);
    const outcomes: Resource[] = [];
    if (reach >= 3) {
      for (const item of ONS4_ITEMS) {
        const before = 2 + Math.floor(rnd() * 5);
        [0, 1].forEach((k) =>
          outcomes.push({
            resourceType: 'Observation',
            id: `ons4-${i}-${item}-${k}`,
            status: 'final',
            code: { coding: [{ system: `${B}/CodeSystem/sp-ons4`, code: item }] },
            subject: { reference: patient },
            effectiveDateTime: at(authored, k === 0 ? 10 : 60),
            valueInteger: Math.min(10, before + k * Math.floor(rnd() * 4)),
          } as Resource)
        );
      }
      outcomes.forEach((o) => out.push({ at: at(authored, 10), resource: o }));
    }
    const steps: [number, string, string?][] = [[0, 'requested']];
    let day = 0;
    if (reach >= 1) steps.push([(day += 1 + Math.floor(rnd() * 4)), 'accepted']);
    if (reach >= 2) steps.push([(day += 1 + Math.floor(rnd() * 10)), 'in-progress', 'first-contact-made']);
    if (reach >= 3) steps.push([(day += 3 + Math.floor(rnd() * 20)), 'in-progress', 'plan-agreed']);
    if (reach >= 4) steps.push([(day += 20 + Math.floor(rnd() * 60)), 'completed']);
    for (const [d, status, business] of steps) {
      out.push({
        at: at(authored, d),
        resource: {
          resourceType: 'Task',
          id: `task-${i}`,
          status,
          intent: 'order',
          focus: { reference: `ServiceRequest/${id}` },
          for: { reference: patient },
          authoredOn: at(authored, 0),
          owner: { reference: `Organization/sp-service-${i % 3}` },
          ...(business ? { businessStatus: { coding: [{ system: `${B}/CodeSystem/sp-business-status`, code: business }] } } : {}),
          output: outcomes.map((o) => ({ type: { text: 'outcome' }, valueReference: { reference: `Observation/${o.id}` } })),
        } as Resource,
      });
    }
    if (reach >= 3) {
      const service = Math.floor(rnd() * rnd() * 20);
      out.push({
        at: at(authored, day),
        resource: {
          resourceType: 'ServiceRequest',
          id: `${id}-onward`,
          status: 'active',
          intent: 'order',
          basedOn: [{ reference: `ServiceRequest/${id}` }],
          subject: { reference: patient },
          performer: [{ reference: `HealthcareService/service-${service}` }],
        } as Resource,
      });
    }
  }
  return out;
}
