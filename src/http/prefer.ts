// The Prefer header (http.html#prefer): return=minimal|representation|OperationOutcome
// handling=strict|lenient, and respond-async (async.html).
import type { ReturnPreference } from './respond';

export interface Preferences {
  return?: ReturnPreference;
  lenient: boolean;
  respondAsync: boolean;
}

export function parsePrefer(header: string | undefined): Preferences {
  const prefs: Preferences = { lenient: false, respondAsync: false };
  for (const part of (header ?? '').split(/[,;]/)) {
    const [key, value] = part
      .trim()
      .split('=')
      .map((s) => s?.trim());
    if (key === 'return' && (value === 'minimal' || value === 'representation' || value === 'OperationOutcome')) {
      prefs.return = value;
    }
    if (key === 'handling') prefs.lenient = value === 'lenient';
    if (key === 'respond-async') prefs.respondAsync = true;
  }
  return prefs;
}
