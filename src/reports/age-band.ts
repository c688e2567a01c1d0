// Age bands for commissioners' demographic breakdowns: the bands NHS social
// prescribing returns commonly use, with an unknown band for a missing birth date.
export const AGE_BANDS = ['0-17', '18-24', '25-34', '35-44', '45-54', '55-64', '65-74', '75+'] as const;
export const UNKNOWN = 'unknown';

/** Whole years from birthDate (YYYY, YYYY-MM or YYYY-MM-DD) to the instant at. */
export function ageAt(birthDate: string | undefined, at: string): number | undefined {
  const m = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(birthDate ?? '');
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2] ?? 1), Number(m[3] ?? 1)];
  const when = new Date(at);
  let age = when.getUTCFullYear() - year;
  const beforeBirthday = when.getUTCMonth() + 1 < month || (when.getUTCMonth() + 1 === month && when.getUTCDate() < day);
  if (beforeBirthday) age--;
  return age >= 0 ? age : undefined;
}

export function ageBand(birthDate: string | undefined, at: string): string {
  const age = ageAt(birthDate, at);
  if (age === undefined) return UNKNOWN;
  if (age < 18) return '0-17';
  if (age < 25) return '18-24';
  if (age >= 75) return '75+';
  const lo = Math.floor((age - 5) / 10) * 10 + 5;
  return `${lo}-${lo + 9}`;
}
