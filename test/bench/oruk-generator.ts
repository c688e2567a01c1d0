// Generates an ORUK directory of n services for benchmarks: every service a
// full record (organization, a location with coordinates, schedules, cost
// options, taxonomy terms), ~10 services per organization and ~3 per location,
// as in a real directory. Deterministic for a given n.
import type { OrukService } from '../../src/directory/oruk';

const TAXONOMY = 'https://social-prescribing.example.org/fhir/CodeSystem/sp-directory-taxonomy';
const TERMS = [
  ['music-singing', 'Music and singing'],
  ['walking-groups', 'Walking groups'],
  ['befriending-services', 'Befriending services'],
  ['debt-advice', 'Debt advice'],
  ['housing-advice', 'Housing advice'],
  ['carers-support-groups', "Carers' support groups"],
  ['gardening-growing', 'Gardening and growing'],
  ['exercise-classes', 'Exercise classes'],
];
const DAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA', 'SU'];

const hex = (i: number, width = 12) => i.toString(16).padStart(width, '0');
const uuid = (kind: number, i: number) => `${hex(kind, 8)}-0000-4000-8000-${hex(i)}`;

export function generateServices(n: number): OrukService[] {
  return Array.from({ length: n }, (_, i): OrukService => {
    const org = Math.floor(i / 10);
    const loc = Math.floor(i / 3);
    const [code, name] = TERMS[i % TERMS.length];
    return {
      id: uuid(1, i),
      name: `Community service ${i}`,
      description: `A weekly community group (number ${i}).`,
      email: `service${i}@example.org`,
      status: 'active',
      eligibility_description: 'Adults living in the area',
      minimum_age: 18,
      organization_id: uuid(2, org),
      organization: { id: uuid(2, org), name: `Provider ${org}`, email: `org${org}@example.org`, website: `https://provider${org}.example.org` },
      service_at_locations: [
        {
          id: uuid(3, i),
          location: {
            id: uuid(4, loc),
            name: `Venue ${loc}`,
            latitude: 52 + ((loc * 7919) % 10000) / 5000,
            longitude: -2 + ((loc * 104729) % 10000) / 5000,
            addresses: [{ address_1: `${loc} High Street`, city: 'Benchtown', postal_code: 'BT1 1AA', country: 'GB' }],
          },
        },
      ],
      schedules: [{ id: uuid(5, i), freq: 'WEEKLY', byday: DAYS[i % 7], opens_at: '10:00', closes_at: '12:00' }],
      cost_options: [{ id: uuid(6, i), option: 'Per session', amount: 2.5, currency: 'GBP' }],
      attributes: [{ id: uuid(7, i), taxonomy_term: { id: uuid(8, i % TERMS.length), code, name, taxonomy: TAXONOMY } }],
    };
  });
}
