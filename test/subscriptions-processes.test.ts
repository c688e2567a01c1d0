// Subscriptions across server processes (the built server, as child
// processes): a restart mid-way (kill -9) loses no event, and two processes
// on one MongoDB send each event once. State is in the store, so whichever
// process holds the feed after a restart or takeover resumes from it.
import type { Bundle, ServiceRequest } from '@medplum/fhirtypes';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { eventually, settle, startReceiver, type Receiver } from './support/receiver';
import { tempDir, uniqueDatabaseUri } from './support/stores';
import fs from 'node:fs';

const FHIR_JSON = 'application/fhir+json';
const ENV = {
  SUBSCRIPTION_ALLOWED_ENDPOINTS: 'http://127.0.0.1',
  SUBSCRIPTION_POLL_MS: '100',
  SUBSCRIPTION_SETTLE_MS: '500',
  SUBSCRIPTION_RETRY_MS: '200',
  SUBSCRIPTION_LEASE_SECONDS: '4',
};

async function post(url: string, body: { resourceType: string }): Promise<{ id: string }> {
  const res = await fetch(`${url}/fhir/${body.resourceType}`, { method: 'POST', headers: { 'Content-Type': FHIR_JSON }, body: JSON.stringify(body) });
  const json = (await res.json()) as { id: string };
  if (res.status !== 201) throw new Error(`${body.resourceType} refused: ${JSON.stringify(json)}`);
  return json;
}

/** A ServiceRequest that is not a social prescribing referral: one write, no follow-up Task, so it needs no transactions. */
const onward = (patient: string, performer: string): ServiceRequest => ({
  resourceType: 'ServiceRequest',
  status: 'active',
  intent: 'order',
  code: { text: 'Gardening club' },
  subject: { reference: `Patient/${patient}` },
  performer: [{ reference: `Organization/${performer}` }],
});

async function start(env: Record<string, string>): Promise<ServerProcess> {
  const port = String(await freePort());
  const server = spawnServer({ ...ENV, PORT: port, BASE_URL: `http://127.0.0.1:${port}/fhir`, ...env });
  await waitUntilReady(server.url, 60000);
  return server;
}

async function stop(server: ServerProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (server.child.exitCode !== null) return;
  server.child.kill(signal);
  await server.exited;
}

/** The subscription and the data it watches, made through one server. */
async function setUp(url: string, receiver: Receiver): Promise<{ subscription: string; patient: string; provider: string }> {
  const provider = (await post(url, { resourceType: 'Organization', name: 'Gardening club' } as { resourceType: string })).id;
  const patient = (
    await post(url, {
      resourceType: 'Patient',
      name: [{ family: 'Green' }],
      identifier: [{ system: 'https://fhir.nhs.uk/Id/nhs-number', value: '9434765919' }],
    } as { resourceType: string })
  ).id;
  const subscription = (
    await post(url, {
      resourceType: 'Subscription',
      status: 'requested',
      reason: 'Onward referrals to the club',
      criteria: `ServiceRequest?performer=Organization/${provider}`,
      channel: { type: 'rest-hook', endpoint: receiver.url },
    } as { resourceType: string })
  ).id;
  await eventually(
    async () => ((await (await fetch(`${url}/fhir/Subscription/${subscription}`)).json()) as { status: string }).status === 'active',
    15000,
    'the subscription to be active'
  );
  return { subscription, patient, provider };
}

/** Event numbers and foci received, without the _history part; each notification's events in order. */
const received = (receiver: Receiver) => receiver.events().map((e) => ({ number: e.number, focus: e.focus.split('/_history')[0] }));

describe('subscriptions across processes', () => {
  const servers: ServerProcess[] = [];
  const receivers: Receiver[] = [];
  afterEach(async () => {
    await Promise.all(servers.splice(0).map((s) => stop(s, 'SIGKILL')));
    await Promise.all(receivers.splice(0).map((r) => r.close()));
  });

  test('a server killed mid-way and restarted loses no event (embedded store)', async () => {
    const receiver = await startReceiver();
    receivers.push(receiver);
    const dataDir = tempDir();
    try {
      const first = await start({ DATA_DIR: dataDir });
      servers.push(first);
      const { patient, provider } = await setUp(first.url, receiver);
      const made: string[] = [];
      for (let i = 0; i < 3; i++) made.push((await post(first.url, onward(patient, provider))).id);
      await eventually(() => receiver.events().length >= 3, 15000, 'the first three events');
      // Three more, and the process dies before it can have matched them all.
      for (let i = 0; i < 3; i++) made.push((await post(first.url, onward(patient, provider))).id);
      await stop(first, 'SIGKILL');
      const second = await start({ DATA_DIR: dataDir });
      servers.push(second);
      for (let i = 0; i < 2; i++) made.push((await post(second.url, onward(patient, provider))).id);
      await eventually(() => new Set(received(receiver).map((e) => e.number)).size >= 8, 30000, 'all eight events');
      await settle(1500);
      // A batch sent just before the kill may come again (at least once); numbers say which, and none is missing.
      const byNumber = new Map(received(receiver).map((e) => [e.number, e.focus]));
      expect([...byNumber.keys()].sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect([...byNumber.entries()].sort((a, b) => a[0] - b[0]).map(([, focus]) => focus)).toEqual(made.map((id) => `ServiceRequest/${id}`));
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }, 120000);

  (process.env.MONGODB_URI ? test : test.skip)(
    'two server processes on one MongoDB send each event once',
    async () => {
      const receiver = await startReceiver();
      receivers.push(receiver);
      const env = { MONGODB_URI: uniqueDatabaseUri(process.env.MONGODB_URI as string), DATA_DIR: tempDir() };
      const [one, two] = await Promise.all([start(env), start(env)]);
      servers.push(one, two);
      const { patient, provider } = await setUp(one.url, receiver);
      const made: string[] = [];
      for (let i = 0; i < 12; i++) made.push((await post(i % 2 === 0 ? one.url : two.url, onward(patient, provider))).id);
      await eventually(() => receiver.events().length >= 12, 30000, 'twelve events').catch((err: Error) => {
        throw new Error(`${err.message}\nreceived: ${JSON.stringify(received(receiver))}\nlogs: ${one.stdout()}${one.stderr()}${two.stdout()}${two.stderr()}`);
      });
      // Longer than a lease: a takeover would show as a repeat here.
      await settle(3000);
      const events = received(receiver);
      expect(events.map((e) => e.number)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(events.map((e) => e.focus).sort()).toEqual(made.map((id) => `ServiceRequest/${id}`).sort());
      const handshakes = receiver.bundles.filter((b: Bundle) => JSON.stringify(b).includes('"handshake"'));
      expect(handshakes).toHaveLength(1);
    },
    120000
  );
});
