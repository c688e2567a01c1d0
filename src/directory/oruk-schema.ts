// JSON Schema (draft-07, checked by ajv) for the Open Referral UK directory
// payloads the importer reads: HSDS 3.0 service records as ORUK publishes
// them, and the paginated /services response that wraps them. Written from
// the field lists in the HSDS 3.0 schema reference (docs.openreferral.org,
// "Schema Reference": service, organization, location, address,
// service_at_location, schedule, cost_option, phone, contact, attribute,
// taxonomy_term) and the API reference's Page object. Fields the importer
// does not map are still described so that a wrong type in them is reported,
// and additionalProperties stays open because HSDS lets publishers add fields.
//
// Identifiers are checked as non-empty strings, not as UUIDs: HSDS asks for
// UUIDs but published ORUK directories carry other ids too, and the import
// only needs them to be stable.

const id = { type: 'string', minLength: 1 } as const;
const text = { type: ['string', 'null'] } as const;
const optionalId = { type: ['string', 'null'] } as const;
/** ISO 8601 time of day, as HSDS writes opens_at / closes_at ("09:30", "09:30:00", optional offset). */
const time = { type: ['string', 'null'], pattern: '^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?(Z|[+-][0-9]{2}:?[0-9]{2})?$' } as const;
const date = { type: ['string', 'null'], pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}' } as const;
const url = { type: ['string', 'null'], pattern: '^(https?|wss?|ftp)://' } as const;
const email = { type: ['string', 'null'], pattern: '^[^@\\s]+@[^@\\s]+$' } as const;

const phone = {
  type: 'object',
  required: ['id', 'number'],
  properties: {
    id,
    location_id: optionalId,
    service_id: optionalId,
    organization_id: optionalId,
    contact_id: optionalId,
    service_at_location_id: optionalId,
    number: { type: 'string', minLength: 1 },
    extension: { type: ['number', 'null'] },
    type: text,
    description: text,
  },
} as const;

const contact = {
  type: 'object',
  required: ['id'],
  properties: { id, name: text, title: text, department: text, email, phones: { type: 'array', items: phone } },
} as const;

const taxonomyTerm = {
  type: 'object',
  required: ['id', 'name'],
  properties: {
    id,
    code: text,
    name: { type: 'string', minLength: 1 },
    description: text,
    parent_id: optionalId,
    taxonomy: text,
    taxonomy_id: optionalId,
    language: text,
    term_uri: url,
    taxonomy_detail: {
      type: ['object', 'null'],
      properties: { id, name: text, description: text, uri: url, version: text },
    },
  },
} as const;

/** HSDS 3 links taxonomy terms to a service through attributes. */
const attribute = {
  type: 'object',
  required: ['id'],
  properties: {
    id,
    link_id: optionalId,
    link_type: text,
    link_entity: text,
    taxonomy_term_id: optionalId,
    value: text,
    label: text,
    taxonomy_term: { ...taxonomyTerm, type: ['object', 'null'] },
  },
} as const;

const schedule = {
  type: 'object',
  required: ['id'],
  properties: {
    id,
    service_id: optionalId,
    location_id: optionalId,
    service_at_location_id: optionalId,
    valid_from: date,
    valid_to: date,
    dtstart: date,
    timezone: { type: ['number', 'null'] },
    until: date,
    count: { type: ['integer', 'null'], minimum: 0 },
    wkst: { enum: ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU', null] },
    freq: { enum: ['WEEKLY', 'MONTHLY', null] },
    interval: { type: ['integer', 'null'], minimum: 1 },
    /** Comma-separated RRULE days, optionally with an ordinal: "MO,WE" or "1MO,-1FR". */
    byday: { type: ['string', 'null'], pattern: '^((-?[1-5])?(MO|TU|WE|TH|FR|SA|SU))(,(-?[1-5])?(MO|TU|WE|TH|FR|SA|SU))*$' },
    byweekno: text,
    bymonthday: text,
    byyearday: text,
    description: text,
    opens_at: time,
    closes_at: time,
    schedule_link: url,
    attending_type: text,
    notes: text,
  },
} as const;

const costOption = {
  type: 'object',
  required: ['id'],
  properties: {
    id,
    service_id: optionalId,
    valid_from: date,
    valid_to: date,
    option: text,
    currency: { type: ['string', 'null'], pattern: '^[A-Z]{3}$' },
    amount: { type: ['number', 'null'], minimum: 0 },
    amount_description: text,
  },
} as const;

const address = {
  type: 'object',
  properties: {
    id,
    location_id: optionalId,
    attention: text,
    address_1: text,
    address_2: text,
    city: text,
    region: text,
    state_province: text,
    postal_code: text,
    country: text,
    address_type: text,
  },
} as const;

const location = {
  type: 'object',
  required: ['id'],
  properties: {
    id,
    location_type: { enum: ['physical', 'postal', 'virtual', null] },
    url,
    organization_id: optionalId,
    name: text,
    alternate_name: text,
    description: text,
    transportation: text,
    latitude: { type: ['number', 'null'], minimum: -90, maximum: 90 },
    longitude: { type: ['number', 'null'], minimum: -180, maximum: 180 },
    external_identifier: text,
    external_identifier_type: text,
    addresses: { type: 'array', items: address },
    /** ORUK 1 / HSDS 2 name for the same list, still found in published directories. */
    physical_addresses: { type: 'array', items: address },
    phones: { type: 'array', items: phone },
  },
} as const;

const serviceAtLocation = {
  type: 'object',
  required: ['id'],
  properties: {
    id,
    service_id: optionalId,
    location_id: optionalId,
    description: text,
    location: { ...location, type: ['object', 'null'] },
    schedules: { type: 'array', items: schedule },
    phones: { type: 'array', items: phone },
  },
} as const;

const organization = {
  type: 'object',
  required: ['id', 'name'],
  properties: {
    id,
    name: { type: 'string', minLength: 1 },
    alternate_name: text,
    description: text,
    email,
    website: url,
    url,
    logo: text,
    uri: url,
    legal_status: text,
    year_incorporated: { type: ['number', 'null'] },
    tax_status: text,
    tax_id: text,
    parent_organization_id: optionalId,
    phones: { type: 'array', items: phone },
    contacts: { type: 'array', items: contact },
  },
} as const;

/** A full HSDS 3 service record (GET /services/{id}), or a /services list item. */
export const serviceSchema = {
  $id: 'https://social-prescribing.example.org/schema/oruk/service',
  type: 'object',
  required: ['id', 'name', 'status'],
  properties: {
    id,
    organization_id: optionalId,
    program_id: optionalId,
    name: { type: 'string', minLength: 1 },
    alternate_name: text,
    description: text,
    url,
    email,
    status: { enum: ['active', 'inactive', 'defunct', 'temporarily closed'] },
    interpretation_services: text,
    application_process: text,
    fees_description: text,
    wait_time: text,
    fees: text,
    accreditations: text,
    eligibility_description: text,
    minimum_age: { type: ['number', 'null'], minimum: 0, maximum: 150 },
    maximum_age: { type: ['number', 'null'], minimum: 0, maximum: 150 },
    assured_date: date,
    assurer_email: email,
    alert: text,
    last_modified: text,
    organization: { ...organization, type: ['object', 'null'] },
    service_at_locations: { type: 'array', items: serviceAtLocation },
    schedules: { type: 'array', items: schedule },
    cost_options: { type: 'array', items: costOption },
    attributes: { type: 'array', items: attribute },
    /** ORUK's flattened list of a service's taxonomy terms (what the /services list carries). */
    taxonomy_terms: { type: 'array', items: taxonomyTerm },
    phones: { type: 'array', items: phone },
    contacts: { type: 'array', items: contact },
  },
} as const;

/** The paginated /services response: the items are checked one by one against serviceSchema. */
export const pageSchema = {
  $id: 'https://social-prescribing.example.org/schema/oruk/page',
  type: 'object',
  required: ['contents'],
  properties: {
    total_items: { type: 'integer', minimum: 0 },
    total_pages: { type: 'integer', minimum: 0 },
    page_number: { type: 'integer', minimum: 0 },
    size: { type: 'integer', minimum: 0 },
    first_page: { type: 'boolean' },
    last_page: { type: 'boolean' },
    empty: { type: 'boolean' },
    contents: { type: 'array', items: { type: 'object' } },
  },
} as const;
