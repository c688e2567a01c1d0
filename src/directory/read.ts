// Turns ORUK JSON documents into the list of services to import. A document
// is a paginated /services response, an array of service records, or one
// service record. Each service is validated on its own against the HSDS
// schema, so one malformed service is rejected with its reason and the rest
// carry on.
import Ajv, { type ErrorObject } from 'ajv';
import type { OrukService } from './oruk';
import { pageSchema, serviceSchema } from './oruk-schema';

export interface Rejection {
  /** The ORUK service id, when the record has a usable one. */
  serviceId?: string;
  /** Where the record came from: file (or request) and position. */
  source: string;
  reason: string;
}

export interface DirectoryContent {
  services: { service: OrukService; source: string }[];
  rejected: Rejection[];
  /** Page numbers seen and the page count announced, to tell a whole directory from part of one. */
  pagesSeen: Set<number>;
  totalPages?: number;
  /** Some input was not in pages (service records): it is taken to be the whole directory. */
  unpaged: boolean;
}

const ajv = new Ajv({ allErrors: true, strict: false });
const validateService = ajv.compile<OrukService>(serviceSchema);
const validatePage = ajv.compile(pageSchema);

export function emptyContent(): DirectoryContent {
  return { services: [], rejected: [], pagesSeen: new Set(), unpaged: false };
}

/** "organization.name must be string; schedules/0/opens_at must match pattern ..." */
export function describeErrors(errors: ErrorObject[] | null | undefined): string {
  const lines = (errors ?? []).map((e) => {
    const where = e.instancePath.replace(/^\//, '').replace(/\//g, '.') || '(record)';
    const allowed = e.keyword === 'enum' ? ` (${(e.params as { allowedValues: unknown[] }).allowedValues.map(String).join(', ')})` : '';
    return `${where} ${e.message}${allowed}`;
  });
  return [...new Set(lines)].join('; ');
}

/** Input that is not an ORUK directory at all: refused whole, so nothing is changed on its account. */
export class NotADirectoryError extends Error {}

/** An object with the two fields every ORUK service has: it is a service record, valid or not. */
const looksLikeService = (record: unknown): boolean =>
  !!record &&
  typeof record === 'object' &&
  !Array.isArray(record) &&
  typeof (record as { id?: unknown }).id === 'string' &&
  typeof (record as { name?: unknown }).name === 'string';

function addService(content: DirectoryContent, record: unknown, source: string): void {
  const serviceId = typeof (record as { id?: unknown })?.id === 'string' ? (record as { id: string }).id || undefined : undefined;
  if (!validateService(record)) {
    content.rejected.push({ serviceId, source, reason: `Not a valid ORUK service: ${describeErrors(validateService.errors)}` });
    return;
  }
  content.services.push({ service: record, source });
}

/**
 * Adds what one JSON document holds; `source` names it in rejection reasons.
 * A document that is none of the three forms (a /services page, an array of
 * service records, one service record) throws NotADirectoryError: a typo'd
 * body must not count as a directory with no services in it.
 */
export function readDocument(content: DirectoryContent, document: unknown, source: string): void {
  if (Array.isArray(document)) {
    if (!document.some(looksLikeService)) {
      throw new NotADirectoryError(`${source} is an array but holds no ORUK service records (objects with an id and a name)`);
    }
    content.unpaged = true;
    document.forEach((record, i) => addService(content, record, `${source}[${i}]`));
    return;
  }
  if (document && typeof document === 'object' && 'contents' in document) {
    if (!validatePage(document)) throw new NotADirectoryError(`${source} is not a valid ORUK /services page: ${describeErrors(validatePage.errors)}`);
    const page = document as { contents: unknown[]; page_number?: number; total_pages?: number; first_page?: boolean; last_page?: boolean };
    const number = page.page_number ?? (page.first_page ? 1 : undefined);
    if (number !== undefined) content.pagesSeen.add(number);
    if (page.total_pages !== undefined) content.totalPages = page.total_pages;
    else if (page.first_page && page.last_page) content.totalPages = 1;
    page.contents.forEach((record, i) => addService(content, record, `${source} contents[${i}]`));
    return;
  }
  if (!looksLikeService(document)) {
    throw new NotADirectoryError(
      `${source} is not ORUK JSON: expected a /services page (with contents), an array of service records, or one service record (with an id and a name)`
    );
  }
  content.unpaged = true;
  addService(content, document, source);
}

/**
 * Whether the input is the whole directory, so that services missing from it
 * were removed from it: every page of a paged listing, or service records.
 */
export function isWholeDirectory(content: DirectoryContent): boolean {
  if (content.pagesSeen.size === 0 && content.totalPages === undefined) return content.unpaged;
  if (content.totalPages === undefined) return false;
  // HSDS numbers pages from 1; a publisher numbering from 0 is accepted too.
  const first = content.pagesSeen.has(0) ? 0 : 1;
  for (let n = first; n < first + content.totalPages; n++) if (!content.pagesSeen.has(n)) return false;
  return true;
}

/** The same service twice (two pages, two files) is imported once: the last copy wins. */
export function uniqueServices(content: DirectoryContent): { service: OrukService; source: string }[] {
  const byId = new Map<string, { service: OrukService; source: string }>();
  for (const entry of content.services) {
    byId.delete(entry.service.id);
    byId.set(entry.service.id, entry);
  }
  return [...byId.values()];
}
