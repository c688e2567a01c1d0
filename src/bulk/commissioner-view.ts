// Data minimisation for commissioners (DOMAIN.md section 8): what leaves the
// server for a commissioner carries no direct patient identifier. Applied to
// every resource a commissioner export writes:
// - a Patient keeps only gender, an age band, its practice and managing
//   organisation, under a pseudonymous id (no NHS number, name, address,
//   telecom, birth date, contact);
// - every reference to a Patient, anywhere in a resource, becomes
//   Patient/<pseudonym>, without its display or identifier;
// - NHS numbers are removed wherever an identifier carries one;
// - narrative (text), free-text notes and contained resources are dropped, as
//   they may name the person.
// The types a commissioner may receive are listed in COMMISSIONER_TYPES.
import type { Patient, Resource } from '@medplum/fhirtypes';
import { PROJECT_BASE } from '../base/project';
import { ageBand } from '../reports/age-band';

import { NHS_NUMBER_SYSTEM } from '../conformance/checks/nhs-number';
import { ID } from '../base/ids';
export const AGE_BAND_URL = `${PROJECT_BASE}/StructureDefinition/age-band`;

/** What a commissioner export may hold: the referral journey and the directory, no person records other than pseudonymous patients. */
export const COMMISSIONER_TYPES = [
  'Patient',
  'ServiceRequest',
  'Task',
  'CarePlan',
  'Goal',
  'Condition',
  'Observation',
  'QuestionnaireResponse',
  'Organization',
  'HealthcareService',
  'Location',
  'PractitionerRole',
];

const PATIENT_REFERENCE = new RegExp(`(?:^|/)Patient/(${ID})(?:/_history/[^/]+)?$`);
const DROPPED_KEYS = new Set(['text', 'note', 'contained']);

type Json = unknown;

/** Pseudonyms remembered per export: a patient's resources often come together, and an HMAC per reference adds up. */
const MEMO_LIMIT = 100_000;

export class CommissionerView {
  private readonly memo = new Map<string, string>();

  constructor(
    private readonly hash: (patientId: string) => string,
    /** The instant ages are taken at (the export's transaction time). */
    private readonly at: string
  ) {}

  private pseudonym(patientId: string): string {
    let value = this.memo.get(patientId);
    if (value === undefined) {
      value = this.hash(patientId);
      if (this.memo.size >= MEMO_LIMIT) this.memo.clear();
      this.memo.set(patientId, value);
    }
    return value;
  }

  apply(resource: Resource): Resource {
    if (resource.resourceType === 'Patient') return this.patient(resource);
    return this.walk(resource, true) as Resource;
  }

  private patient(p: Patient): Patient {
    return {
      resourceType: 'Patient',
      id: this.pseudonym(p.id as string),
      meta: { versionId: p.meta?.versionId, lastUpdated: p.meta?.lastUpdated },
      extension: [{ url: AGE_BAND_URL, valueString: ageBand(p.birthDate, this.at) }],
      ...(p.active !== undefined ? { active: p.active } : {}),
      ...(p.gender ? { gender: p.gender } : {}),
      ...(p.generalPractitioner ? { generalPractitioner: p.generalPractitioner.map((r) => this.walk(r, false) as never) } : {}),
      ...(p.managingOrganization ? { managingOrganization: this.walk(p.managingOrganization, false) as never } : {}),
    };
  }

  private walk(value: Json, top: boolean): Json {
    if (Array.isArray(value)) return value.map((v) => this.walk(v, false));
    if (value === null || typeof value !== 'object') return value;
    const obj = value as Record<string, Json>;
    if (typeof obj.reference === 'string') {
      const patient = PATIENT_REFERENCE.exec(obj.reference);
      // A reference to a patient keeps nothing but the pseudonym: its display and identifier could name them.
      if (patient) return { reference: `Patient/${this.pseudonym(patient[1])}` };
    }
    const out: Record<string, Json> = {};
    for (const [key, v] of Object.entries(obj)) {
      if (top && DROPPED_KEYS.has(key)) continue;
      if (key === 'identifier' && Array.isArray(v)) {
        const kept = v.filter((id) => (id as { system?: string })?.system !== NHS_NUMBER_SYSTEM);
        if (kept.length > 0) out[key] = this.walk(kept, false);
        continue;
      }
      if (key === 'identifier' && (v as { system?: string })?.system === NHS_NUMBER_SYSTEM) continue;
      out[key] = this.walk(v, false);
    }
    return out;
  }
}
