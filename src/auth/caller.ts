// Who is calling, as the verified bearer token says: what the FHIR layer
// authorises against and the audit trail records.
import type { Role } from './roles';
import type { ResourceScope } from './scopes';

export interface Caller {
  /** The token's sub. */
  subject: string;
  issuer: string;
  /** The OAuth client (client_id or azp claim), when the token names one. */
  clientId?: string;
  scopes: ResourceScope[];
  /** The social prescribing role (sp_role claim): caps the scopes and selects whose data is seen. */
  role?: Role;
  /** ODS code of the caller's organisation (ods_code claim). */
  organization?: string;
  /** The patient in context (patient claim), for patient/ scopes. */
  patient?: string;
  /** AUTH=off on a loopback address: every request is served without restriction. */
  unrestricted?: boolean;
}

/** The caller when authentication is switched off (AUTH=off, loopback only). */
export const ANONYMOUS_LOCAL: Caller = { subject: 'anonymous', issuer: 'none', scopes: [], unrestricted: true };
