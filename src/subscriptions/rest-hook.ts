// Sends one notification to a rest-hook endpoint (subscription.html#2.46.7.1):
// POST of the Bundle with the channel's headers. Redirects are not followed,
// so a permitted endpoint cannot send the server on to a refused one.
import type { Bundle } from '@medplum/fhirtypes';

export const REST_HOOK_TIMEOUT_MS = 10000;

/** The headers of channel.header ("Name: value" each). */
export function channelHeaders(header: string[] | undefined): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of header ?? []) {
    const at = line.indexOf(':');
    if (at > 0) headers[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return headers;
}

/** Posts the Bundle; resolves with the status of a 2xx answer, throws with the reason otherwise. */
export async function postNotification(endpoint: string, header: string[] | undefined, bundle: Bundle, timeoutMs = REST_HOOK_TIMEOUT_MS): Promise<number> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { ...channelHeaders(header), 'Content-Type': 'application/fhir+json' },
    body: JSON.stringify(bundle),
    redirect: 'manual',
    signal: AbortSignal.timeout(timeoutMs),
  }).catch((err: unknown) => {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new Error(`${endpoint} could not be reached: ${cause?.code ?? cause?.message ?? (err as Error).message}`);
  });
  await res.arrayBuffer().catch(() => undefined);
  if (res.status < 200 || res.status >= 300) throw new Error(`${endpoint} answered HTTP ${res.status}`);
  return res.status;
}
