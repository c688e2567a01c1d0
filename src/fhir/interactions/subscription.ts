// Creating and updating a Subscription (subscription.html). Besides the usual
// write, the server checks what the subscription asks for and keeps who
// made it:
//   - criteria over Task or ServiceRequest, or the referral Task topic with
//     its filters (subscriptions/criteria.ts);
//   - the caller may read and search what it watches;
//   - a rest-hook endpoint not on a private or loopback address unless
//     SUBSCRIPTION_ALLOWED_ENDPOINTS allows it;
//   - the caller becomes the owner (a tag, by which access.ts shows each
//     client only its own subscriptions; the full identity in the
//     subscription's state record, so delivery reads as them);
//   - status is the server's: requested until the handshake (rest-hook),
//     active at once for a websocket, off when the client says off.
import type { Coding, Subscription } from '@medplum/fhirtypes';
import { criteriaOf } from '../../subscriptions/criteria';
import { endpointRefusal } from '../../subscriptions/endpoint';
import { OWNER_TAG_SYSTEM, ownerCode } from '../../subscriptions/records';
import type { SubscriptionService } from '../../subscriptions/service';
import type { FhirContext, FhirHandler } from '../context';
import { allOk, badRequest, created, notSupported, withIssues } from '../../base/outcomes';
import { checkId, parseIfMatch, requireIfMatch, resourceBody } from './resource-body';

const CHANNEL_TYPES = ['rest-hook', 'websocket'];
const PAYLOADS = ['', 'application/fhir+json', 'application/json'];

export function serviceOf(ctx: FhirContext): SubscriptionService {
  if (!ctx.subscriptions) throw notSupported('Subscriptions are not enabled on this server');
  return ctx.subscriptions;
}

/** The subscription as the server stores it, after checking it; a 400 or 403 naming what is wrong. */
async function prepare(body: Subscription, ctx: FhirContext, service: SubscriptionService): Promise<Subscription> {
  const criteria = criteriaOf(body);
  ctx.access.require(criteria.resourceType, 'r');
  ctx.access.require(criteria.resourceType, 's');
  const channel = body.channel;
  if (!channel || !CHANNEL_TYPES.includes(channel.type as string)) {
    throw badRequest(`Subscription.channel.type must be one of ${CHANNEL_TYPES.join(', ')}`, ['Subscription.channel.type']);
  }
  if (channel.payload !== undefined && !PAYLOADS.includes(channel.payload)) {
    throw badRequest('Subscription.channel.payload must be empty (id-only notifications) or application/fhir+json (the resource)', [
      'Subscription.channel.payload',
    ]);
  }
  if (channel.type === 'rest-hook') {
    const refusal = await endpointRefusal(channel.endpoint, service.options.allowedEndpoints);
    if (refusal) throw badRequest(refusal, ['Subscription.channel.endpoint']);
  }
  const caller = ctx.access.caller;
  const tags: Coding[] = (body.meta?.tag ?? []).filter((t) => t.system !== OWNER_TAG_SYSTEM);
  tags.push({ system: OWNER_TAG_SYSTEM, code: ownerCode(caller), display: 'Subscription owner (digest of the token issuer and subject)' });
  const { error: _error, ...rest } = body;
  void _error;
  const status: Subscription['status'] = body.status === 'off' ? 'off' : channel.type === 'websocket' ? 'active' : 'requested';
  return { ...rest, status, meta: { ...body.meta, tag: tags } };
}

export const createSubscription: FhirHandler = async (request, ctx) => {
  const service = serviceOf(ctx);
  if (request.ifNoneExist !== undefined) throw notSupported('Conditional create of a Subscription is not supported');
  const subscription = await prepare(resourceBody(request, 'Subscription') as Subscription, ctx, service);
  const { version, issues } = await ctx.repo.create(subscription, request.assignedId);
  await service.register(version.id, ctx.access.caller, version.lastUpdated);
  return [withIssues(created(), issues), version.resource];
};

export const updateSubscription: FhirHandler = async (request, ctx) => {
  const service = serviceOf(ctx);
  const [, id] = request.segments;
  checkId(id);
  const body = resourceBody(request, 'Subscription') as Subscription;
  if (body.id !== id) throw badRequest(`The body's id (${body.id ?? 'missing'}) must equal the id in the URL (${id})`, ['id']);
  const existing = await ctx.repo.readLatest('Subscription', id);
  if (existing && !existing.deleted) requireIfMatch('Subscription', request.ifMatch);
  const subscription = await prepare(body, ctx, service);
  const { version, created: isNew, issues } = await ctx.repo.update(subscription, { ifMatch: parseIfMatch(request.ifMatch) });
  await service.reregister(version.id, ctx.access.caller, version.lastUpdated);
  return [withIssues(isNew ? created() : allOk(), issues), version.resource];
};

export const refuseSubscriptionPatch: FhirHandler = async () => {
  throw notSupported('A Subscription is changed with PUT (the server checks the whole subscription again), not PATCH');
};
