// Small builders for test resources, so each test states only what it is about.
import type { Patient, ServiceRequest, Task } from '@medplum/fhirtypes';
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

export function referral(subject: string, overrides: Partial<ServiceRequest> = {}): ServiceRequest {
  return {
    resourceType: 'ServiceRequest',
    status: 'active',
    intent: 'order',
    code: { coding: [{ system: 'http://snomed.info/sct', code: '871731000000106' }] },
    subject: { reference: subject },
    authoredOn: '2026-11-02T09:30:00Z',
    ...overrides,
  };
}

export function task(focus: string, forRef: string, overrides: Partial<Task> = {}): Task {
  return {
    resourceType: 'Task',
    status: 'requested',
    intent: 'order',
    code: { coding: [{ system: 'http://hl7.org/fhir/CodeSystem/task-code', code: 'fulfill' }] },
    focus: { reference: focus },
    for: { reference: forRef },
    authoredOn: '2026-11-02T09:30:00Z',
    ...overrides,
  };
}

export function fixture<T>(relative: string): T {
  return JSON.parse(fs.readFileSync(path.join(__dirname, '../../fixtures', relative), 'utf8')) as T;
}
