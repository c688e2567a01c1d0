// Builders for Open Referral UK (HSDS 3) service records, so a test states
// only the fields it is about.
import type { OrukService } from '../../src/directory/oruk';

let n = 0;

/** A complete, valid ORUK service with its organization and one location. */
export function orukService(overrides: Partial<OrukService> & Record<string, unknown> = {}): OrukService {
  const i = ++n;
  const id = `svc-${i}-${Math.random().toString(36).slice(2, 8)}`;
  return {
    id,
    name: `Service ${i}`,
    status: 'active',
    description: 'A weekly community group.',
    organization: { id: `org-${id}`, name: `Provider of ${id}` },
    service_at_locations: [
      {
        id: `sal-${id}`,
        location: {
          id: `loc-${id}`,
          name: `Hall ${i}`,
          latitude: 52.9,
          longitude: -1.2,
          addresses: [{ address_1: '1 High Street', city: 'Testtown', postal_code: 'TT1 1AA', country: 'GB' }],
        },
      },
    ],
    ...overrides,
  } as OrukService;
}

/** A /services page as an ORUK API answers it. */
export function orukPage(contents: unknown[], page = 1, totalPages = 1): Record<string, unknown> {
  return {
    total_items: contents.length,
    total_pages: totalPages,
    page_number: page,
    size: contents.length,
    first_page: page === 1,
    last_page: page === totalPages,
    empty: contents.length === 0,
    contents,
  };
}

/** Starts an asynchronous $import-directory of this many new services; returns the job's status path. */
export async function kickOffImport(baseUrl: string, services: number): Promise<string> {
  const kickOff = await fetch(`${baseUrl}/fhir/$import-directory?deactivate=false`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async' },
    body: JSON.stringify(orukPage(Array.from({ length: services }, () => orukService()))),
  });
  if (kickOff.status !== 202) throw new Error(`$import-directory kick-off answered ${kickOff.status}`);
  const location = new URL(kickOff.headers.get('content-location') as string);
  return `${location.pathname}${location.search}`;
}
