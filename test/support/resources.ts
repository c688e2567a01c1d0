// Small builders for test resources, so each test states only what it is about.
import type { Organization, Patient, ServiceRequest, Task } from '@medplum/fhirtypes';
import fs from 'node:fs';
import path from 'node:path';

export const NHS_NUMBER_SYSTEM = 'https://fhir.nhs.uk/Id/nhs-number';

export function patient(overrides: Partial<Patient> = {}): Patient {
  return {
    resourceType: 'Patient',
    identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9434765919' }],
    name: [{ family: 'Smith', given: ['Jo'] }],
    gender: 'female',
    birthDate: '1970-05-01',
    ...overrides,
  };
}

export const SOURCE_OF_REFERRAL_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest';
export const ODS_SYSTEM = 'https://fhir.nhs.uk/Id/ods-organization-code';

export function organization(ods: string, overrides: Partial<Organization> = {}): Organization {
  return { resourceType: 'Organization', identifier: [{ system: ODS_SYSTEM, value: ods }], name: `Organisation ${ods}`, ...overrides };
}

let referralNumber = 0;

/** An SPReferral: from a GP (requester), about a patient (subject). */
export function referral(subject: string, requester: string, overrides: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    extension: [{ url: SOURCE_OF_REFERRAL_URL, valueCodeableConcept: { coding: [{ system: 'http://snomed.info/sct', code: '108161000000109' }] } }],
    identifier: [{ system: 'https://fhir.example-gp.nhs.uk/referral-id', value: `REF-${Date.now()}-${++referralNumber}` }],
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106' }] },
    subject: { reference: subject },
    requester: { reference: requester },
    authoredOn: '2026-11-02T09:30:00Z',
    ...overrides,
  };
}

/** An SPReferralTask fulfilling a referral. */
export function task(focus: string, forRef: string, requester: string, overrides: Partial<Task> = {}): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: focus },
    for: { reference: forRef },
    authoredOn: '2026-11-02T09:30:00Z',
    lastModified: '2026-11-02T09:30:00Z',
    requester: { reference: requester },
    ...overrides,
  };
}

export function fixture<T>(relative: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures', relative), 'utf8')) as T;
}
