// Normalisation shared by the indexer (write time) and the search compiler
// (query time), so both sides of every comparison are prepared the same way.

/** Lower case with accents folded: FHIR string search is case- and accent-insensitive. */
export function normalizeString(value: string): string {
  return value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase();
}

export const MIN_INSTANT = '0001-01-01T00:00:00.000Z';
export const MAX_INSTANT = '9999-12-31T23:59:59.999Z';

export interface InstantRange {
  lo: string;
  hi: string;
}

const DATE_PATTERN = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

// 400 Gregorian years are exactly 146,097 days; shifting by them keeps
// Date.UTC away from its two-digit-year special case.
const FOUR_CENTURIES_MS = 146097 * 86400000;

function utc(y: number, mo: number, d: number, h = 0, mi = 0, s = 0, ms = 0): number {
  return Date.UTC(y + 400, mo, d, h, mi, s, ms) - FOUR_CENTURIES_MS;
}

function iso(ms: number): string {
  const text = new Date(ms).toISOString();
  if (text.startsWith('-') || text.startsWith('+')) return ms < 0 ? MIN_INSTANT : MAX_INSTANT;
  return text;
}

/**
 * The instants a FHIR date, dateTime or instant covers, by its precision
 * (search.html#date: "2013-01" means the whole of January 2013). Values
 * without a time zone are taken as UTC. Undefined when the text is not a date.
 */
export function dateRange(value: string): InstantRange | undefined {
  const m = DATE_PATTERN.exec(value);
  if (!m) return undefined;
  const [, ys, mos, ds, hs, mis, ss, frac, tz] = m;
  const y = Number(ys);
  const mo = mos ? Number(mos) : 1;
  const d = ds ? Number(ds) : 1;
  const h = hs ? Number(hs) : 0;
  const mi = mis ? Number(mis) : 0;
  const s = ss ? Number(ss) : 0;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 24 || mi > 59 || s > 60) return undefined;
  let offsetMs = 0;
  if (tz && tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    offsetMs = sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(4, 6))) * 60000;
  }
  const ms = frac ? Number(frac.slice(0, 3).padEnd(3, '0')) : 0;
  const start = utc(y, mo - 1, d, h, mi, s, ms) - offsetMs;
  // A day that does not exist in its month (2021-02-30) is not a date.
  if (ds && new Date(utc(y, mo - 1, d)).getUTCDate() !== d) return undefined;
  let end: number;
  if (!mos) end = utc(y + 1, 0, 1) - offsetMs;
  else if (!ds) end = utc(y, mo, 1) - offsetMs;
  else if (!hs) end = utc(y, mo - 1, d + 1) - offsetMs;
  else if (!ss) end = start + 60000;
  else if (!frac) end = start + 1000;
  else end = start + 1;
  return { lo: iso(start), hi: iso(end - 1) };
}
