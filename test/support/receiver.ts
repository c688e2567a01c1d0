// A real HTTP receiver for rest-hook notifications, on 127.0.0.1: keeps every
// Bundle posted to it, and can go down (connections refused) and come back
// on the same port.
import type { Bundle, Parameters } from '@medplum/fhirtypes';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedEvent {
  number: number;
  focus: string;
  subscription: string;
}

export interface Receiver {
  url: string;
  bundles: Bundle[];
  headers: http.IncomingHttpHeaders[];
  /** Event notifications only (not handshakes), in arrival order. */
  events(): ReceivedEvent[];
  /** Answers event notifications with this status from now on (handshakes still get 200); 200 to accept again. */
  answerEventsWith(status: number): void;
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
}

/** The SubscriptionStatus Parameters of a notification. */
export const statusOf = (bundle: Bundle): Parameters => bundle.entry?.[0]?.resource as Parameters;

export function eventsOf(bundle: Bundle): ReceivedEvent[] {
  const status = statusOf(bundle);
  const subscription = status.parameter?.find((p) => p.name === 'subscription')?.valueReference?.reference ?? '';
  return (status.parameter ?? [])
    .filter((p) => p.name === 'notification-event')
    .map((p) => ({
      number: Number(p.part?.find((x) => x.name === 'event-number')?.valueString),
      focus: p.part?.find((x) => x.name === 'focus')?.valueReference?.reference ?? '',
      subscription,
    }));
}

export const typeOf = (bundle: Bundle): string | undefined => statusOf(bundle).parameter?.find((p) => p.name === 'type')?.valueCode;

export async function startReceiver(): Promise<Receiver> {
  const bundles: Bundle[] = [];
  const headers: http.IncomingHttpHeaders[] = [];
  let eventStatus = 200;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const bundle = JSON.parse(body) as Bundle;
      const status = typeOf(bundle) === 'event-notification' ? eventStatus : 200;
      // Only what was accepted counts as received.
      if (status === 200) {
        bundles.push(bundle);
        headers.push(req.headers);
      }
      res.writeHead(status).end();
    });
  });
  const listen = (port: number) => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as AddressInfo).port;
  const down = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    url: `http://127.0.0.1:${port}`,
    bundles,
    headers,
    answerEventsWith: (status) => (eventStatus = status),
    events: () => bundles.filter((b) => typeOf(b) === 'event-notification').flatMap(eventsOf),
    down,
    up: () => listen(port),
    close: async () => {
      if (server.listening) await down();
    },
  };
}

/** Waits until check passes (returns truthy), polling; fails after timeoutMs with what was last seen. */
export async function eventually<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 10000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined | false;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`Timed out waiting for ${what}; last: ${JSON.stringify(last)}`);
}

/** Lets a few more polling rounds pass, to show nothing more arrives. */
export const settle = (ms = 1000) => new Promise((r) => setTimeout(r, ms));
