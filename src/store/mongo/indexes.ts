// MongoDB indexes over the search index fields (see indexer.ts for the fields).
//
// Strategy per parameter type, so any parameter can be indexed the same way:
//   token, string, reference, uri  -> idx.<code>            (multikey: one entry per value)
//   string :exact / token :text     -> idx.<code>:exact, idx.<code>:text
//   date                            -> idx.<code>.lo and idx.<code>.hi
//   number, quantity                -> idx.<code> / idx.<code>.v
//   near (Location.position)        -> 2dsphere on geo.near (geo.ts); idx.near.lat + idx.near.lng where
//                                      the deployment has no geospatial indexes (FerretDB)
//   _sort on a parameter            -> sort.<code>; _sort on _lastUpdated -> lastUpdated (the version's own)
//   access grants (access-index.ts) -> idx._access, and idx.patient to reach a patient's records
// A collection holds at most 64 indexes and each one costs every write, so
// the server creates the ones the social prescribing queries need (below),
// at start; others follow the same pattern when a deployment needs them.
import type { IndexSpecification } from 'mongodb';

/**
 * Every current-version collection: polling by _lastUpdated, and the most
 * recently changed first (_sort=-_lastUpdated, ties by id), read in the
 * index's order instead of sorting the collection.
 */
export const COMMON_INDEXES: IndexSpecification[] = [{ 'idx._lastUpdated.hi': 1 }, { lastUpdated: -1, _id: 1 }];

export const TYPE_INDEXES: Record<string, IndexSpecification[]> = {
  // Task?owner=X&_lastUpdated=gt<T>&_include=Task:focus ; Task?owner:missing=true&status=requested ; _revinclude=Task:focus
  Task: [{ 'idx.owner': 1, 'idx._lastUpdated.hi': 1 }, { 'idx.status': 1, 'idx.owner': 1 }, { 'idx.focus': 1 }, { 'idx.part-of': 1 }],
  // ServiceRequest?subject:Patient.identifier=... (chain: Patient by identifier, then subject in [...]) ; by the referrer's identifier
  ServiceRequest: [{ 'idx.subject': 1, 'idx.code': 1 }, { 'idx.identifier': 1 }, { 'idx.based-on': 1 }],
  Patient: [{ 'idx.identifier': 1 }, { 'idx.name': 1 }, { 'idx.family': 1 }],
  // CarePlan?subject:Patient.identifier=...&_revinclude=Task:focus ; CarePlan by referral
  CarePlan: [{ 'idx.subject': 1 }, { 'idx.referral': 1 }],
  Organization: [{ 'idx.identifier': 1 }],
  HealthcareService: [{ 'idx.location': 1 }, { 'idx.service-category': 1 }, { 'idx.activity-type': 1 }, { 'idx.identifier': 1 }],
  Location: [{ 'idx.near.lat': 1, 'idx.near.lng': 1 }],
  Observation: [{ 'idx.subject': 1, 'idx.code': 1 }],
  CodeSystem: [{ 'idx.url': 1 }],
  // The audit trail: admins search by date, and read the newest first (_sort=-date). Retention removes by time
  // along the common { lastUpdated: -1, _id: 1 }: a { lastUpdated: 1 } of its own would only cost every request's write.
  AuditEvent: [{ 'idx.date.lo': 1 }, { 'sort.date': -1, _id: 1 }],
  ValueSet: [{ 'idx.url': 1 }],
  ConceptMap: [{ 'idx.url': 1 }],
  StructureDefinition: [{ 'idx.url': 1 }],
};

/**
 * Where organisations' access grants are searched (access-index.ts): a caller
 * kept to their own data searches these types by grant, and a grant given to a
 * patient reaches their records by idx.patient. Other types of the patient
 * compartment work the same way, unindexed.
 */
const ACCESS_INDEXED = [
  'Patient',
  'Task',
  'ServiceRequest',
  'CarePlan',
  'Goal',
  'Observation',
  'Consent',
  'QuestionnaireResponse',
  'Condition',
  'Appointment',
  'Encounter',
  'EpisodeOfCare',
];

export function indexesFor(resourceType: string): IndexSpecification[] {
  const access: IndexSpecification[] = !ACCESS_INDEXED.includes(resourceType)
    ? []
    : resourceType === 'Patient'
      ? [{ 'idx._access': 1 }]
      : [{ 'idx._access': 1 }, { 'idx.patient': 1 }];
  return [...COMMON_INDEXES, ...(TYPE_INDEXES[resourceType] ?? []), ...access];
}
