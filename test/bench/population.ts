// A seeded, deterministic social prescribing population for benchmarks and
// scale checks: practices in PCNs (ODS-like codes), social prescribing
// services with link workers, community services with locations, and per
// patient (valid NHS numbers in the 999 test range) a referral transaction:
// Patient, Consent, the referral, its Task at one of every state, and for
// Tasks past acceptance a personalised plan with goals, an onward referral
// and ONS4 observations. The same seed gives the same data.
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';

const B = 'https://social-prescribing.example.org/fhir';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const ODS = 'https://fhir.nhs.uk/Id/ods-organization-code';
const SNOMED = 'http://snomed.info/sct';
const SOURCE = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest';
const CAREPLAN_BASED_ON = 'http://hl7.org/fhir/5.0/StructureDefinition/extension-CarePlan.basedOn';

/** mulberry32: small, fast and good enough to spread test data. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The i-th valid NHS number in the 999 test range (Modulus 11 check digit):
 * a stride of 3 leaves room to skip a number whose check digit would be 10,
 * so the first 333,000 are distinct.
 */
export function nhsNumber(i: number): string {
  for (let n = 999000000 + ((i * 3) % 999000); ; n++) {
    const digits = String(n).split('').map(Number);
    const sum = digits.reduce((acc, d, k) => acc + d * (10 - k), 0);
    const check = 11 - (sum % 11);
    if (check === 10) continue;
    return String(n) + String(check === 11 ? 0 : check);
  }
}

export const TASK_STATES = ['requested', 'accepted', 'in-progress', 'on-hold', 'rejected', 'cancelled', 'completed'] as const;
const STATE_WEIGHTS = [0.15, 0.1, 0.3, 0.05, 0.05, 0.05, 0.3];
const ACTIVITY_TYPES = ['arts-and-culture', 'physical-activity', 'befriending', 'debt-and-money-advice', 'housing-advice', 'carers-support', 'green-spaces'];
const NEEDS = ['loneliness', 'social-isolation', 'money-worries', 'housing-issues', 'low-mood', 'caring-responsibilities', 'physical-inactivity'];
export const FAMILY = [
  'Okafor',
  'Smith',
  'Patel',
  'Jones',
  'Nowak',
  'Williams',
  'Khan',
  'Brown',
  'Taylor',
  'Murphy',
  'Evans',
  'Ahmed',
  'Walsh',
  'Chen',
  'Davies',
];
export const GIVEN = ['Adaeze', 'Jo', 'Sam', 'Priya', 'Alex', 'Mohammed', 'Olivia', 'Tom', 'Grace', 'Aisha', 'Liam', 'Ewa', 'Ruth', 'Dev', 'Mary'];
const ONS4 = ['life-satisfaction', 'worthwhile', 'happy-yesterday', 'anxious-yesterday'];

/** Organisations, people and services every referral points at: loaded first, by batch. */
export interface Directory {
  resources: Resource[];
  practices: string[];
  spServices: string[];
  linkWorkers: string[];
  services: string[];
  /** Centre of the town the services are in. */
  centre: { lat: number; lng: number };
}

export function directory(patients: number, seed = 1): Directory {
  const rnd = random(seed);
  const resources: Resource[] = [];
  const add = <T extends Resource>(r: T): T => (resources.push(r), r);
  const pcns = Math.max(1, Math.round(patients / 2500));
  const practices: string[] = [];
  for (let p = 0; p < pcns; p++) {
    const pcn = add({
      resourceType: 'Organization',
      id: `pcn-${p}`,
      identifier: [{ system: ODS, value: `U${String(10000 + p)}` }],
      name: `Primary Care Network ${p + 1}`,
    });
    for (let g = 0; g < 5; g++) {
      const code = `A8${String(p * 5 + g).padStart(4, '0')}`;
      add({
        resourceType: 'Organization',
        id: `practice-${code}`,
        identifier: [{ system: ODS, value: code }],
        name: `Practice ${code}`,
        partOf: { reference: `Organization/${pcn.id}` },
      });
      practices.push(`Organization/practice-${code}`);
    }
  }
  const spServices: string[] = [];
  const linkWorkers: string[] = [];
  for (let s = 0; s < Math.max(2, Math.round(patients / 2000)); s++) {
    const org = add({
      resourceType: 'Organization',
      id: `sp-${s}`,
      identifier: [{ system: ODS, value: `S${String(10000 + s)}` }],
      name: `Social Prescribing Service ${s + 1}`,
    });
    spServices.push(`Organization/${org.id}`);
    for (let w = 0; w < 3; w++) {
      const person = add({
        resourceType: 'Practitioner',
        id: `lw-${s}-${w}`,
        name: [{ family: FAMILY[(s + w) % FAMILY.length], given: [GIVEN[(s * 3 + w) % GIVEN.length]] }],
      });
      add({
        resourceType: 'PractitionerRole',
        id: `lw-role-${s}-${w}`,
        practitioner: { reference: `Practitioner/${person.id}` },
        organization: { reference: `Organization/${org.id}` },
        code: [{ coding: [{ system: `${B}/CodeSystem/sp-local-concepts`, code: 'link-worker' }] }],
      });
      linkWorkers.push(`PractitionerRole/lw-role-${s}-${w}`);
    }
  }
  const centre = { lat: 53.8, lng: -1.55 };
  const services: string[] = [];
  const serviceCount = Math.max(20, Math.round(patients / 50));
  for (let v = 0; v < serviceCount; v++) {
    const provider = `provider-${Math.floor(v / 5)}`;
    if (v % 5 === 0)
      add({
        resourceType: 'Organization',
        id: provider,
        identifier: [{ system: 'https://directory.example.org/organization', value: provider }],
        name: `Community Provider ${Math.floor(v / 5) + 1}`,
      });
    const location = add({
      resourceType: 'Location',
      id: `loc-${v}`,
      name: `Venue ${v + 1}`,
      position: { latitude: centre.lat + (rnd() - 0.5) * 0.4, longitude: centre.lng + (rnd() - 0.5) * 0.6 },
      address: { city: 'Leeds', postalCode: `LS${1 + (v % 28)} ${1 + (v % 9)}AB` },
    });
    const activity = ACTIVITY_TYPES[v % ACTIVITY_TYPES.length];
    add({
      resourceType: 'HealthcareService',
      id: `svc-${v}`,
      identifier: [{ system: 'https://directory.example.org/service', value: `svc-${v}` }],
      active: true,
      name: `${activity} group ${v + 1}`,
      providedBy: { reference: `Organization/${provider}` },
      location: [{ reference: `Location/${location.id}` }],
      type: [{ coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: activity }] }],
      characteristic: [{ coding: [{ system: `${B}/CodeSystem/sp-needs-local`, code: NEEDS[v % NEEDS.length] }] }],
    });
    services.push(`HealthcareService/svc-${v}`);
  }
  return { resources, practices, spServices, linkWorkers, services, centre };
}

const pick = <T>(rnd: () => number, list: readonly T[]): T => list[Math.floor(rnd() * list.length)];

function stateOf(rnd: () => number): (typeof TASK_STATES)[number] {
  let x = rnd();
  for (let i = 0; i < TASK_STATES.length; i++) {
    x -= STATE_WEIGHTS[i];
    if (x < 0) return TASK_STATES[i];
  }
  return 'completed';
}

/** The referral transaction of patient i: everything about them, in one all-or-nothing Bundle. */
export function patientBundle(i: number, dir: Directory, seed = 1): Bundle {
  const rnd = random(seed * 1_000_003 + i);
  const u = (n: number) => `urn:uuid:00000000-0000-4000-8000-${String(i).padStart(8, '0')}${String(n).padStart(4, '0')}`;
  const entries: BundleEntry[] = [];
  const post = (n: number, resource: Resource) => entries.push({ fullUrl: u(n), resource, request: { method: 'POST', url: resource.resourceType } });
  const authored = new Date(Date.UTC(2026, 0, 1) + Math.floor(rnd() * 300) * 86_400_000).toISOString();
  const practice = pick(rnd, dir.practices);
  const selfReferral = rnd() < 0.1;
  const state = stateOf(rnd);
  const service = dir.spServices[i % dir.spServices.length];
  const linkWorker = dir.linkWorkers[(i % dir.spServices.length) * 3 + (i % 3)];
  post(1, {
    resourceType: 'Patient',
    identifier: [{ system: NHS, value: nhsNumber(i) }],
    name: [{ family: pick(rnd, FAMILY), given: [pick(rnd, GIVEN)] }],
    gender: rnd() < 0.52 ? 'female' : 'male',
    birthDate: `${1930 + Math.floor(rnd() * 80)}-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}`,
    address: [{ postalCode: `LS${1 + (i % 28)} ${1 + (i % 9)}XY` }],
    generalPractitioner: [{ reference: practice }],
  } as Resource);
  post(2, {
    resourceType: 'Consent',
    status: 'active',
    scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
    category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
    patient: { reference: u(1) },
    dateTime: authored,
    policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
  } as Resource);
  post(3, {
    resourceType: 'ServiceRequest',
    extension: [{ url: SOURCE, valueCodeableConcept: { coding: [{ system: SNOMED, code: selfReferral ? '310434002' : '108161000000109' }] } }],
    identifier: [{ system: 'https://fhir.example-gp.nhs.uk/referral-id', value: `REF-${seed}-${i}` }],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: SNOMED, code: '871731000000106' }] },
    subject: { reference: u(1) },
    requester: { reference: selfReferral ? u(1) : practice },
    performer: [{ reference: service }],
    authoredOn: authored,
    reasonCode: [{ coding: [{ system: `${B}/CodeSystem/sp-needs-local`, code: pick(rnd, NEEDS) }] }],
    supportingInfo: [{ reference: u(2) }],
  } as Resource);
  const planned = state === 'in-progress' || state === 'completed' || state === 'on-hold';
  const outputs: unknown[] = [];
  if (planned) {
    post(4, { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Meet people nearby' }, subject: { reference: u(1) } } as Resource);
    post(5, { resourceType: 'Goal', lifecycleStatus: 'active', description: { text: 'Get out twice a week' }, subject: { reference: u(1) } } as Resource);
    const target = pick(rnd, dir.services);
    post(6, {
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      basedOn: [{ reference: u(3) }],
      code: { coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: ACTIVITY_TYPES[Number(target.split('-')[1]) % ACTIVITY_TYPES.length] }] },
      subject: { reference: u(1) },
      requester: { reference: linkWorker },
      performer: [{ reference: target }],
    } as Resource);
    post(7, {
      resourceType: 'CarePlan',
      extension: [{ url: CAREPLAN_BASED_ON, valueReference: { reference: u(3) } }],
      status: 'active',
      intent: 'plan',
      subject: { reference: u(1) },
      author: { reference: linkWorker },
      goal: [{ reference: u(4) }, { reference: u(5) }],
      activity: [{ reference: { reference: u(6) } }],
    } as Resource);
    outputs.push({ type: { coding: [{ system: `${B}/CodeSystem/sp-task-output-type`, code: 'personalised-plan' }] }, valueReference: { reference: u(7) } });
    ONS4.forEach((code, k) => {
      post(8 + k, {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: `${B}/CodeSystem/sp-ons4`, code }] },
        subject: { reference: u(1) },
        effectiveDateTime: authored,
        valueInteger: Math.floor(rnd() * 6),
      } as Resource);
      if (state === 'completed') {
        post(12 + k, {
          resourceType: 'Observation',
          status: 'final',
          code: { coding: [{ system: `${B}/CodeSystem/sp-ons4`, code }] },
          subject: { reference: u(1) },
          effectiveDateTime: new Date(Date.parse(authored) + 60 * 86_400_000).toISOString(),
          valueInteger: 3 + Math.floor(rnd() * 7),
        } as Resource);
        outputs.push({ type: { coding: [{ system: `${B}/CodeSystem/sp-task-output-type`, code: 'outcome' }] }, valueReference: { reference: u(12 + k) } });
      }
    });
  }
  const reason = { text: state === 'rejected' ? 'Out of area' : state === 'cancelled' ? 'Withdrawn by the referrer' : 'Person in hospital' };
  post(20, {
    resourceType: 'Task',
    status: state,
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: u(3) },
    for: { reference: u(1) },
    authoredOn: authored,
    lastModified: authored,
    requester: { reference: selfReferral ? u(1) : practice },
    owner: { reference: state === 'requested' ? service : linkWorker },
    ...(state === 'in-progress' ? { businessStatus: { coding: [{ system: `${B}/CodeSystem/sp-business-status`, code: 'first-contact-made' }] } } : {}),
    ...(['rejected', 'cancelled', 'on-hold'].includes(state) ? { statusReason: reason } : {}),
    ...(state === 'completed' ? { output: outputs } : {}),
  } as Resource);
  return { resourceType: 'Bundle', type: 'transaction', entry: entries };
}
