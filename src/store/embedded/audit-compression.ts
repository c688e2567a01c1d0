// An AuditEvent's JSON as the audit log stores it: deflated (node:zlib)
// with a preset dictionary of what every event the server records repeats
// (its codings, agents and source). About 1,240 bytes of JSON become about
// 120, so an audit_event row is well under half a page: stored as text, a
// row was just over half of SQLite's 4 KiB page, each page held one, and
// the trail took twice the disk its rows needed.
//
// The first byte says which dictionary the rest was deflated with. A
// dictionary is never changed once released: events written with it are
// read with it for as long as they are kept (years, for NHS audit). A
// better one is added under the next number. Rows written as text, before
// compression, are read as they are.
import zlib from 'node:zlib';

const DICTIONARY_1 =
  '{"resourceType":"AuditEvent","type":{"system":"http://terminology.hl7.org/CodeSystem/audit-event-type","code":"rest","display":"RESTful Operation"},' +
  '"subtype":[{"system":"http://hl7.org/fhir/restful-interaction","code":"search-type"}],"action":"E","recorded":"2026-01-01T00:00:00.000Z","outcome":"0",' +
  '"agent":[{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110153","display":"Source Role ID"}]},' +
  '"who":{"identifier":{"system":"urn:social-prescribing-fhir:local","value":""}},"requestor":true,"network":{"address":"127.0.0.1","type":"2"}},' +
  '{"type":{"coding":[{"system":"http://dicom.nema.org/resources/ontology/DCM","code":"110152","display":"Destination Role ID"}]},' +
  '"who":{"display":"social-prescribing-fhir-server"},"requestor":false}],' +
  '"source":{"observer":{"display":"social-prescribing-fhir-server"},"type":[{"system":"http://terminology.hl7.org/CodeSystem/security-source-type","code":"4","display":"Application Server"}]},' +
  '"entity":[{"what":{"reference":"Patient/"},"type":{"system":"http://terminology.hl7.org/CodeSystem/audit-entity-type","code":"2","display":"System Object"},"description":"GET /Patient?"}],' +
  '"id":"","meta":{"versionId":"1","lastUpdated":"2026-01-01T00:00:00.000Z"}}';

/** Dictionaries by the number stored in an event's first byte. */
const DICTIONARIES = new Map<number, Buffer>([[1, Buffer.from(DICTIONARY_1, 'utf8')]]);
const CURRENT = 1;

/** The stored form of an AuditEvent's JSON. */
export function packAuditEvent(json: string): Uint8Array {
  const deflated = zlib.deflateRawSync(json, { dictionary: DICTIONARIES.get(CURRENT) });
  const packed = Buffer.allocUnsafe(deflated.length + 1);
  packed[0] = CURRENT;
  deflated.copy(packed, 1);
  return packed;
}

/** An AuditEvent's JSON from its stored form. */
export function unpackAuditEvent(stored: string | Uint8Array): string {
  if (typeof stored === 'string') return stored;
  const dictionary = DICTIONARIES.get(stored[0]);
  if (!dictionary)
    throw new Error(`An AuditEvent was stored with dictionary ${stored[0]}, which this release does not know: it was written by a later release`);
  return zlib.inflateRawSync(stored.subarray(1), { dictionary }).toString('utf8');
}
