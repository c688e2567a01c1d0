// The Open Referral UK (HSDS 3.0) shapes the importer reads, as TypeScript
// types. Only what the mapping uses is typed; oruk-schema.ts describes more.

export interface OrukPhone {
  id: string;
  number: string;
  type?: string | null;
}

export interface OrukContact {
  id: string;
  email?: string | null;
  phones?: OrukPhone[];
}

export interface OrukTaxonomyTerm {
  id: string;
  code?: string | null;
  name: string;
  parent_id?: string | null;
  /** The vocabulary the term belongs to, by name or URI. */
  taxonomy?: string | null;
  term_uri?: string | null;
  taxonomy_detail?: { uri?: string | null; name?: string | null } | null;
}

export interface OrukAttribute {
  id: string;
  taxonomy_term?: OrukTaxonomyTerm | null;
}

export interface OrukSchedule {
  id: string;
  freq?: 'WEEKLY' | 'MONTHLY' | null;
  byday?: string | null;
  opens_at?: string | null;
  closes_at?: string | null;
  description?: string | null;
  notes?: string | null;
}

export interface OrukCostOption {
  id: string;
  option?: string | null;
  currency?: string | null;
  amount?: number | null;
  amount_description?: string | null;
}

export interface OrukAddress {
  address_1?: string | null;
  address_2?: string | null;
  city?: string | null;
  region?: string | null;
  state_province?: string | null;
  postal_code?: string | null;
  country?: string | null;
}

export interface OrukLocation {
  id: string;
  organization_id?: string | null;
  name?: string | null;
  alternate_name?: string | null;
  description?: string | null;
  latitude?: number | null;
  longitude?: number | null;
  addresses?: OrukAddress[];
  physical_addresses?: OrukAddress[];
}

export interface OrukServiceAtLocation {
  id: string;
  location_id?: string | null;
  location?: OrukLocation | null;
  schedules?: OrukSchedule[];
}

export interface OrukOrganization {
  id: string;
  name: string;
  alternate_name?: string | null;
  email?: string | null;
  website?: string | null;
  url?: string | null;
  phones?: OrukPhone[];
}

export type OrukStatus = 'active' | 'inactive' | 'defunct' | 'temporarily closed';

export interface OrukService {
  id: string;
  name: string;
  status: OrukStatus;
  organization_id?: string | null;
  alternate_name?: string | null;
  description?: string | null;
  url?: string | null;
  email?: string | null;
  eligibility_description?: string | null;
  minimum_age?: number | null;
  maximum_age?: number | null;
  organization?: OrukOrganization | null;
  service_at_locations?: OrukServiceAtLocation[];
  schedules?: OrukSchedule[];
  cost_options?: OrukCostOption[];
  attributes?: OrukAttribute[];
  taxonomy_terms?: OrukTaxonomyTerm[];
  phones?: OrukPhone[];
  contacts?: OrukContact[];
}
