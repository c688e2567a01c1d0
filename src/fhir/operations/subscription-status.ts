// Subscription/[id]/$status and Subscription/[id]/$events of the R4
// Subscriptions Backport (OperationDefinition-backport-subscription-status,
// -events): the SubscriptionStatus-equivalent Parameters, and the events
// recorded so far, so a client back after downtime can catch up.
import type { Bundle, Subscription } from '@medplum/fhirtypes';
import { randomUUID } from 'node:crypto';
import { BACKPORT } from '../../subscriptions/criteria';
import { statusParameters } from '../../subscriptions/notification';
import type { FhirContext, FhirHandler } from '../context';
import { allOk } from '../../base/outcomes';
import { serviceOf } from '../interactions/subscription';
import { OperationInput } from './parameters';
import { registerOperation } from './registry';

/** Most events one $events call returns. */
const EVENTS_PAGE = 100;

const status: FhirHandler = async (request, ctx) => {
  const subscription = (await ctx.repo.read('Subscription', request.segments[1])).resource as Subscription;
  const { state, criteria } = await serviceOf(ctx).describe(subscription);
  const parameters = statusParameters(
    { subscription, eventsSinceStart: state?.eventCount ?? 0, topic: criteria.topic, error: subscription.error },
    'query-status',
    [],
    'id-only'
  );
  const bundle: Bundle = {
    resourceType: 'Bundle',
    id: randomUUID(),
    type: 'searchset',
    total: 1,
    entry: [{ fullUrl: `urn:uuid:${parameters.id}`, resource: parameters, search: { mode: 'match' } }],
  };
  return [allOk(), bundle];
};

const events: FhirHandler = async (request, ctx) => {
  const subscription = (await ctx.repo.read('Subscription', request.segments[1])).resource as Subscription;
  const service = serviceOf(ctx);
  const { state, criteria } = await service.describe(subscription);
  const count = state?.eventCount ?? 0;
  const input = OperationInput.from(request);
  const first = input.integer('eventsSinceNumber', 1, Number.MAX_SAFE_INTEGER) ?? 1;
  const until = Math.min(input.integer('eventsUntilNumber', 1, Number.MAX_SAFE_INTEGER) ?? count, count, first + EVENTS_PAGE - 1);
  const recorded = state ? await service.records.events(subscription.id as string, first, until) : [];
  const payload = state ? await service.delivery.withResources(state.owner, recorded, subscription) : [];
  return [allOk(), service.delivery.bundle(subscription, criteria, count, 'query-event', payload)];
};

export function registerSubscriptionOperations(): void {
  for (const [name, handler, description] of [
    ['status', status, "The subscription's status: the SubscriptionStatus-equivalent Parameters of the R4 Subscriptions Backport."],
    ['events', events, 'Events recorded for the subscription (eventsSinceNumber, eventsUntilNumber; at most 100 a call), to catch up after downtime.'],
  ] as const) {
    registerOperation({
      name,
      definition: `${BACKPORT}/OperationDefinition/backport-subscription-${name}`,
      resourceTypes: ['Subscription'],
      system: false,
      type: false,
      instance: true,
      description,
      affectsState: false,
      // Reading a subscription's status or events is reading the subscription (its owner only: access.ts).
      authorize: (ctx: FhirContext) => ctx.access.require('Subscription', 'r'),
      handler,
    });
  }
}
