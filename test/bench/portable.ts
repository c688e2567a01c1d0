// The portable part of the bench: a small population and scenarios made of
// plain FHIR R4 only (standard resources, references, searches and
// transaction Bundles; no profile, operation or id scheme of this server), so
// the same load can run against any FHIR R4 server (HAPI FHIR, Medplum,
// Azure, this one) and the figures sit side by side. The referral is a plain
// ServiceRequest that also carries what this server's referral profile asks
// for (a UK Core extension and SNOMED codes): any R4 server stores it as is.
// Every run tags its data (identifier values), so runs against a shared
// server do not collide.
/* eslint-disable @typescript-eslint/no-explicit-any -- the bench reads FHIR JSON of every shape */
import type { Bundle, BundleEntry, Resource } from '@medplum/fhirtypes';
import { FAMILY, GIVEN, random } from './population';
import { fhir } from './server';

const TAG_SYSTEM = 'https://social-prescribing.example.org/fhir/bench-run';
const PATIENT_ID_SYSTEM = 'https://social-prescribing.example.org/fhir/bench-patient';
const REFERRAL_ID_SYSTEM = 'https://social-prescribing.example.org/fhir/bench-referral';
const SOURCE = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest';
const SNOMED = 'http://snomed.info/sct';
const PATIENTS_PER_BUNDLE = 25;

/** References (as "Type/id", ids assigned by the server) to what the referrals point at. */
export interface PortableDirectory {
  practice: string;
  service: string;
  linkWorkers: string[];
}

export interface PortablePopulation {
  run: string;
  dir: PortableDirectory;
  patients: { id: string; identifier: string }[];
}

type Request = { method: string; path: string; headers?: Record<string, string>; body?: string };

/** "Type/id" from a transaction response entry's location ("Type/id/_history/1", absolute or not). */
function locationOf(entry: any): string {
  const location = String(entry?.response?.location ?? '');
  const match = /([A-Za-z]+)\/([^/]+)(?:\/_history\/[^/]+)?$/.exec(location.replace(/^https?:\/\/[^/]+/, ''));
  if (!match) throw new Error(`a transaction entry came back without a location: ${JSON.stringify(entry?.response)}`);
  return `${match[1]}/${match[2]}`;
}

async function transaction(base: string, token: string | undefined, entry: BundleEntry[]): Promise<any[]> {
  const res = await fhir(base, token, 'POST', '', { resourceType: 'Bundle', type: 'transaction', entry });
  if (res.status !== 200) throw new Error(`transaction answered ${res.status}: ${JSON.stringify(res.body).slice(0, 800)}`);
  return res.body.entry as any[];
}

const post = (n: string, resource: Resource): BundleEntry => ({ fullUrl: `urn:uuid:${n}`, resource, request: { method: 'POST', url: resource.resourceType } });
const uuid = (run: string, i: number, k: number): string =>
  `00000000-0000-4000-8000-${(parseInt(run, 36) % 0xfffff).toString(16).padStart(5, '0')}${String(i).padStart(6, '0')}${k}`;

/** The practice, the social prescribing service and three link workers, in one transaction. */
async function seedDirectory(base: string, token: string | undefined, run: string): Promise<PortableDirectory> {
  const tag = [{ system: TAG_SYSTEM, value: run }];
  const entries = [
    post(uuid(run, 0, 1), { resourceType: 'Organization', identifier: [{ system: TAG_SYSTEM, value: `${run}-practice` }], name: 'Bench Practice' }),
    post(uuid(run, 0, 2), { resourceType: 'Organization', identifier: [{ system: TAG_SYSTEM, value: `${run}-service` }], name: 'Bench SP Service' }),
  ];
  for (let w = 0; w < 3; w++) {
    entries.push(post(uuid(run, 0, 3 + w), { resourceType: 'Practitioner', identifier: tag, name: [{ family: FAMILY[w], given: [GIVEN[w]] }] }));
    entries.push(
      post(uuid(run, 0, 6 + w), {
        resourceType: 'PractitionerRole',
        identifier: tag,
        practitioner: { reference: `urn:uuid:${uuid(run, 0, 3 + w)}` },
        organization: { reference: `urn:uuid:${uuid(run, 0, 2)}` },
      })
    );
  }
  const out = await transaction(base, token, entries);
  return { practice: locationOf(out[0]), service: locationOf(out[1]), linkWorkers: [locationOf(out[3]), locationOf(out[5]), locationOf(out[7])] };
}

/** A plain referral: the ServiceRequest every NHS system sends, with its source-of-referral extension. */
function referral(run: string, n: string, subject: string, dir: PortableDirectory): Resource {
  return {
    resourceType: 'ServiceRequest',
    extension: [{ url: SOURCE, valueCodeableConcept: { coding: [{ system: SNOMED, code: '108161000000109' }] } }],
    identifier: [{ system: REFERRAL_ID_SYSTEM, value: `${run}-${n}` }],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: SNOMED, code: '871731000000106' }] },
    subject: { reference: subject },
    requester: { reference: dir.practice },
    performer: [{ reference: dir.service }],
    authoredOn: new Date().toISOString(),
  } as Resource;
}

function patient(run: string, i: number): Resource {
  const rnd = random(i + 1);
  return {
    resourceType: 'Patient',
    identifier: [{ system: PATIENT_ID_SYSTEM, value: `${run}-${i}` }],
    name: [{ family: FAMILY[Math.floor(rnd() * FAMILY.length)], given: [GIVEN[Math.floor(rnd() * GIVEN.length)]] }],
    gender: rnd() < 0.52 ? 'female' : 'male',
    birthDate: `${1930 + Math.floor(rnd() * 80)}-0${1 + Math.floor(rnd() * 9)}-1${Math.floor(rnd() * 9)}`,
  } as Resource;
}

/** Patient, Consent, referral and its Task (accepted by a link worker): the 4-entry referral transaction. */
function referralEntries(run: string, i: number, dir: PortableDirectory): BundleEntry[] {
  const u = (k: number) => `urn:uuid:${uuid(run, i, k)}`;
  return [
    post(uuid(run, i, 1), patient(run, i)),
    post(uuid(run, i, 2), {
      resourceType: 'Consent',
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [{ coding: [{ system: 'http://loinc.org', code: '59284-0' }] }],
      patient: { reference: u(1) },
      dateTime: new Date().toISOString(),
      policyRule: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'OPTIN' }] },
    } as Resource),
    post(uuid(run, i, 3), { ...referral(run, String(i), u(1), dir), supportingInfo: [{ reference: u(2) }] } as Resource),
    post(uuid(run, i, 4), {
      resourceType: 'Task',
      status: 'accepted',
      intent: 'order',
      code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
      focus: { reference: u(3) },
      for: { reference: u(1) },
      authoredOn: new Date().toISOString(),
      requester: { reference: dir.practice },
      owner: { reference: dir.linkWorkers[i % dir.linkWorkers.length] },
    } as Resource),
  ];
}

/** Seeds the directory and n patients with their referrals, 25 patients (100 entries) to a transaction. */
export async function seedPortable(base: string, token: string | undefined, patients: number, run: string): Promise<PortablePopulation> {
  const dir = await seedDirectory(base, token, run);
  const seeded: PortablePopulation['patients'] = [];
  for (let start = 0; start < patients; start += PATIENTS_PER_BUNDLE) {
    const end = Math.min(patients, start + PATIENTS_PER_BUNDLE);
    const entries: BundleEntry[] = [];
    for (let i = start; i < end; i++) entries.push(...referralEntries(run, i + 1, dir));
    const out = await transaction(base, token, entries);
    for (let i = start; i < end; i++) seeded.push({ id: locationOf(out[(i - start) * 4]).split('/')[1], identifier: `${run}-${i + 1}` });
  }
  return { run, dir, patients: seeded };
}

/** The portable scenarios; `basePath` is the FHIR base's path ("/fhir", "/baseR4", or ""). */
export function portableScenarios(population: PortablePopulation, basePath: string) {
  const { run, dir, patients } = population;
  let n = 0;
  const pick = <T>(list: readonly T[]): T => list[Math.floor(Math.random() * list.length)];
  const body = (resource: unknown) => JSON.stringify(resource);
  return {
    readById: (): Request => ({ method: 'GET', path: `${basePath}/Patient/${pick(patients).id}` }),
    createPatient: (): Request => ({ method: 'POST', path: `${basePath}/Patient`, body: body(patient(`${run}c`, n++)) }),
    createReferral: (): Request => ({
      method: 'POST',
      path: `${basePath}/ServiceRequest`,
      body: body(referral(run, `c${n++}`, `Patient/${pick(patients).id}`, dir)),
    }),
    patientByIdentifier: (): Request => ({
      method: 'GET',
      path: `${basePath}/Patient?identifier=${encodeURIComponent(`${PATIENT_ID_SYSTEM}|${pick(patients).identifier}`)}`,
    }),
    patientName: (): Request => ({ method: 'GET', path: `${basePath}/Patient?name=${pick(FAMILY).slice(0, 3).toLowerCase()}&_count=20` }),
    polling: (): Request => ({ method: 'GET', path: `${basePath}/Task?owner=${pick(dir.linkWorkers)}&status=accepted&_count=20` }),
    transaction: (): Request => {
      const bundle: Bundle = { resourceType: 'Bundle', type: 'transaction', entry: referralEntries(`${run}t`, n++, dir) };
      return { method: 'POST', path: basePath || '/', body: body(bundle) };
    },
  };
}
