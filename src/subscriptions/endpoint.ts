// Where a rest-hook subscription may send notifications. The server makes the
// request, so an endpoint on a private or loopback address would let a client
// reach the server's own network (server-side request forgery): refused unless
// SUBSCRIPTION_ALLOWED_ENDPOINTS lists a prefix of it. Checked when the
// subscription is written and again before every delivery, since a name's
// addresses can change.
import { lookup } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

const PRIVATE = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['224.0.0.0', 3],
] as const) {
  PRIVATE.addSubnet(net, bits, 'ipv4');
}
PRIVATE.addAddress('::', 'ipv6');
PRIVATE.addAddress('::1', 'ipv6');
PRIVATE.addSubnet('fc00::', 7, 'ipv6');
PRIVATE.addSubnet('fe80::', 10, 'ipv6');
PRIVATE.addSubnet('ff00::', 8, 'ipv6');

function isPrivate(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return PRIVATE.check(mapped[1], 'ipv4');
  return PRIVATE.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4');
}

/** Why the endpoint is refused, or undefined when it may be used. */
export async function endpointRefusal(endpoint: string | undefined, allowedPrefixes: string[]): Promise<string | undefined> {
  if (!endpoint) return 'Subscription.channel.endpoint is required for a rest-hook channel';
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `Subscription.channel.endpoint ${JSON.stringify(endpoint)} is not a URL`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'Subscription.channel.endpoint must be an http or https URL';
  if (url.username || url.password) return 'Subscription.channel.endpoint must not carry credentials; use channel.header';
  if (allowedPrefixes.some((prefix) => endpoint.startsWith(prefix))) return undefined;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : (await lookup(host, { all: true })).map((a) => a.address);
  } catch {
    return `The host of Subscription.channel.endpoint (${host}) could not be resolved`;
  }
  if (addresses.some(isPrivate)) {
    return `Subscription.channel.endpoint ${url.origin} is on a private or loopback address; the server's SUBSCRIPTION_ALLOWED_ENDPOINTS must list it`;
  }
  return undefined;
}
