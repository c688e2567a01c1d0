// Notification Bundles as the R4 Subscriptions Backport defines them
// (notifications.html): a `history` Bundle whose first entry is a Parameters
// resource in the shape of R4B's SubscriptionStatus (the backport's
// R4 representation), then, for full-resource payloads, the resources.
import type { Bundle, BundleEntry, Parameters, ParametersParameter, Resource, Subscription } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { BACKPORT } from './criteria';
import type { SubscriptionEvent } from './records';

export type NotificationType = 'handshake' | 'heartbeat' | 'event-notification' | 'query-status' | 'query-event';
export type PayloadContent = 'empty' | 'id-only' | 'full-resource';

export const PAYLOAD_CONTENT_URL = `${BACKPORT}/StructureDefinition/backport-payload-content`;

/** What a notification carries: the channel's payload, or the backport's payload-content extension. */
export function payloadContentOf(subscription: Subscription): PayloadContent {
  const ext =
    subscription.channel?.extension?.find((e) => e.url === PAYLOAD_CONTENT_URL) ??
    (subscription.channel as { _payload?: { extension?: { url: string; valueCode?: string }[] } })?._payload?.extension?.find(
      (e) => e.url === PAYLOAD_CONTENT_URL
    );
  if (ext?.valueCode === 'empty' || ext?.valueCode === 'id-only' || ext?.valueCode === 'full-resource') return ext.valueCode;
  // An R4 payload with a MIME type sends the resource; none sends only its id.
  return subscription.channel?.payload ? 'full-resource' : 'id-only';
}

export interface NotificationEvent {
  event: SubscriptionEvent;
  /** The version's resource, for a full-resource payload. */
  resource?: Resource;
}

export interface StatusSummary {
  subscription: Subscription;
  eventsSinceStart: number;
  topic?: string;
  error?: string;
}

/** The SubscriptionStatus-equivalent Parameters. */
export function statusParameters(summary: StatusSummary, type: NotificationType, events: NotificationEvent[], content: PayloadContent): Parameters {
  const { subscription } = summary;
  const parameter: ParametersParameter[] = [
    { name: 'subscription', valueReference: { reference: `Subscription/${subscription.id}` } },
    ...(summary.topic ? [{ name: 'topic', valueCanonical: summary.topic }] : []),
    { name: 'status', valueCode: subscription.status ?? 'requested' },
    { name: 'type', valueCode: type },
    // The backport carries the counter as a string (it is an int64 in R5).
    { name: 'events-since-subscription-start', valueString: String(summary.eventsSinceStart) },
    ...events.map(({ event }) => ({
      name: 'notification-event',
      part: [
        { name: 'event-number', valueString: String(event.number) },
        { name: 'timestamp', valueInstant: event.timestamp },
        ...(content === 'empty' ? [] : [{ name: 'focus', valueReference: { reference: `${event.focus}/_history/${event.focusVersion}` } }]),
      ],
    })),
    ...(summary.error ? [{ name: 'error', valueCodeableConcept: { text: summary.error } }] : []),
  ];
  return { resourceType: 'Parameters', id: randomUUID(), meta: { profile: [`${BACKPORT}/StructureDefinition/backport-subscription-status-r4`] }, parameter };
}

export function notificationBundle(
  baseUrl: string,
  summary: StatusSummary,
  type: NotificationType,
  events: NotificationEvent[],
  content: PayloadContent
): Bundle {
  const status = statusParameters(summary, type, events, content);
  const entries: BundleEntry[] = [
    {
      fullUrl: `urn:uuid:${status.id}`,
      resource: status,
      request: { method: 'GET', url: `Subscription/${summary.subscription.id}/$status` },
      response: { status: '200' },
    },
  ];
  if (content === 'full-resource') {
    for (const { event, resource } of events) {
      if (!resource) continue;
      entries.push({
        fullUrl: `${baseUrl}/${event.focus}`,
        resource,
        request: { method: event.focusVersion === '1' ? 'POST' : 'PUT', url: event.focusVersion === '1' ? event.focus.split('/')[0] : event.focus },
        response: { status: event.focusVersion === '1' ? '201' : '200' },
      });
    }
  }
  return {
    resourceType: 'Bundle',
    id: randomUUID(),
    meta: { profile: [`${BACKPORT}/StructureDefinition/backport-subscription-notification-r4`] },
    type: 'history',
    timestamp: new Date().toISOString(),
    entry: entries,
  };
}
