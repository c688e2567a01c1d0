// Subscription/[id]/$get-ws-binding-token (R4B; subscriptions backport
// channels.html#websockets): a short-lived token with which a websocket
// connection binds to the subscription, and the URL to connect to.
import type { Subscription } from '@medplum/fhirtypes';
import type { FhirHandler } from '../context';
import { serviceOf } from '../interactions/subscription';
import { allOk, badRequest } from '../../base/outcomes';
import { BACKPORT } from '../../subscriptions/criteria';
import { parameters } from './parameters';
import { registerOperation } from './registry';

/** Where websocket clients connect, below the server's root. */
export const WEBSOCKET_PATH = '/ws/subscriptions';

const bindingToken: FhirHandler = async (request, ctx) => {
  const subscription = (await ctx.repo.read('Subscription', request.segments[1])).resource as Subscription;
  if (subscription.channel?.type !== 'websocket')
    throw badRequest(`Subscription/${subscription.id} has a ${subscription.channel?.type} channel, not websocket`);
  const { token, expires } = await serviceOf(ctx).issueBindingToken(subscription);
  const url = new URL(ctx.baseUrl);
  const websocketUrl = `${url.protocol === 'https:' ? 'wss:' : 'ws:'}//${url.host}${WEBSOCKET_PATH}`;
  return [
    allOk(),
    parameters([
      { name: 'token', valueString: token },
      { name: 'expiration', valueDateTime: expires },
      { name: 'subscription', valueString: `Subscription/${subscription.id}` },
      { name: 'websocket-url', valueUrl: websocketUrl },
    ]),
  ];
};

export function registerBindingTokenOperation(): void {
  registerOperation({
    name: 'get-ws-binding-token',
    definition: `${BACKPORT}/OperationDefinition/backport-subscription-get-ws-binding-token`,
    resourceTypes: ['Subscription'],
    system: false,
    type: false,
    instance: true,
    description: 'A short-lived token with which a websocket connection binds to this websocket subscription, and the URL to connect to.',
    affectsState: true,
    authorize: (ctx) => ctx.access.require('Subscription', 'r'),
    handler: bindingToken,
  });
}
