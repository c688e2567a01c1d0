// Code systems and URLs the activity report reads and writes.
import { PROJECT_BASE } from '../base/project';

export const SNOMED = 'http://snomed.info/sct';
export const SOCIAL_PRESCRIBING_REFERRAL = '871731000000106';
export { ODS_ORGANIZATION_SYSTEM as ODS_SYSTEM } from '../conformance/checks/nhs-number';
export const SOURCE_OF_REFERRAL_URL = 'https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-SourceOfServiceRequest';
export const BUSINESS_STATUS = `${PROJECT_BASE}/CodeSystem/sp-business-status`;
export const ACTIVITY_TYPE = `${PROJECT_BASE}/CodeSystem/sp-activity-type`;
export const ONS4 = `${PROJECT_BASE}/CodeSystem/sp-ons4`;
export const MEASURE_URL = `${PROJECT_BASE}/Measure/sp-activity-report`;
export const REPORT_CODES = `${PROJECT_BASE}/CodeSystem/sp-activity-report`;
export const QUARTILE_URL = `${PROJECT_BASE}/StructureDefinition/quartile`;
export const MEAN_BEFORE_URL = `${PROJECT_BASE}/StructureDefinition/ons4-mean-before`;
export const MEAN_AFTER_URL = `${PROJECT_BASE}/StructureDefinition/ons4-mean-after`;

/** Business statuses at or past first contact, and at or past an agreed plan (DOMAIN.md section 4). */
export const CONTACTED = new Set(['first-contact-made', 'what-matters-conversation-held', 'plan-agreed', 'connected-to-service', 'follow-up-due']);
export const PLAN_AGREED = new Set(['plan-agreed', 'connected-to-service', 'follow-up-due']);
