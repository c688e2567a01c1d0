// Subscriptions through HTTP, with a real receiver on 127.0.0.1 and a real
// websocket client: a referral arriving by message, transaction or
// self-referral notifies its owner's subscription once; a status change
// notifies the requester; a receiver down and up again gets every event in
// order; an organisation never receives another's resources; the topic,
// $status, $events and the websocket channel. Referrals by message and
// transaction need multi-document commits, so most of this suite runs on the
// embedded store; delivery, retries and error run on every store, and
// subscriptions-processes.test.ts runs two processes on MongoDB.
import type { Bundle, Parameters, Subscription, Task } from '@medplum/fhirtypes';
import WebSocket from 'ws';
import { defaultScopes } from '../src/auth/roles';
import { loadConfig } from '../src/config';
import { FHIR_JSON, startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { fixture, organization, patient, referral } from './support/resources';
import { eventsOf, eventually, settle, startReceiver, statusOf, typeOf, type Receiver } from './support/receiver';
import { freePort } from './support/process';

const TOPIC = 'https://social-prescribing.example.org/fhir/SubscriptionTopic/referral-task-status';
const FILTER = 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-filter-criteria';
const ENV = { SUBSCRIPTION_ALLOWED_ENDPOINTS: 'http://127.0.0.1', SUBSCRIPTION_POLL_MS: '50', SUBSCRIPTION_SETTLE_MS: '300', SUBSCRIPTION_RETRY_MS: '100' };
let unique = 0;

describe('subscriptions', () => {
  let server: TestServer;
  const receivers: Receiver[] = [];
  const ids: Record<string, string> = {};
  const tokens: Record<string, string> = {};

  const as = (who: string) => ({
    post: (path: string, body: unknown) =>
      server.anonymous
        .post(`/fhir/${path}`)
        .set('Authorization', `Bearer ${tokens[who]}`)
        .set('Content-Type', FHIR_JSON)
        .send(body as object),
    get: (path: string) => server.anonymous.get(`/fhir/${path}`).set('Authorization', `Bearer ${tokens[who]}`),
    put: (path: string, body: unknown, version: string) =>
      server.anonymous
        .put(`/fhir/${path}`)
        .set('Authorization', `Bearer ${tokens[who]}`)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', `W/"${version}"`)
        .send(body as object),
  });
  const create = async <T extends { resourceType: string }>(body: T): Promise<T & { id: string; meta?: { versionId?: string } }> => {
    const res = await server.api.post(`/fhir/${body.resourceType}`).set('Content-Type', FHIR_JSON).send(body);
    if (res.status !== 201) throw new Error(`${body.resourceType} refused: ${res.text}`);
    return res.body as T & { id: string };
  };
  const newReceiver = async () => {
    const r = await startReceiver();
    receivers.push(r);
    return r;
  };
  const subscription = (criteria: string, endpoint: string, extra: Partial<Subscription> = {}): Subscription => ({
    resourceType: 'Subscription',
    status: 'requested',
    reason: 'Know at once about referrals',
    criteria,
    channel: { type: 'rest-hook', endpoint, payload: 'application/fhir+json' },
    ...extra,
  });
  /** Subscribes as `who` and waits for the handshake to make it active. */
  const subscribe = async (who: string, body: Subscription): Promise<Subscription> => {
    const res = await as(who).post('Subscription', body);
    expect([res.status, res.body.issue?.[0]?.diagnostics]).toEqual([201, undefined]);
    const id = res.body.id as string;
    return eventually(
      async () => {
        const current = (await as(who).get(`Subscription/${id}`)).body as Subscription;
        return current.status === 'active' ? current : undefined;
      },
      10000,
      `Subscription/${id} to become active`
    );
  };
  const referralTo = (service: string, requester: string, subject: string) => referral(subject, requester, { performer: [{ reference: service }] });

  beforeAll(async () => {
    server = await startServer(storeTargets[0], ENV);
    const orgA = await create(organization('SUBA1'));
    const orgB = await create(organization('SUBB1'));
    const gp = await create(organization('SUBGP'));
    const service = (org: string, name: string) =>
      create({
        resourceType: 'HealthcareService',
        identifier: [{ system: 'https://directory.example.org/id', value: `${name}-${Date.now()}` }],
        active: true,
        name,
        providedBy: { reference: `Organization/${org}` },
      });
    ids.orgA = orgA.id as string;
    ids.orgB = orgB.id as string;
    ids.gp = gp.id as string;
    ids.svcA = (await service(ids.orgA, 'Link workers A')).id as string;
    ids.svcB = (await service(ids.orgB, 'Link workers B')).id as string;
    ids.patient = (await create(patient())).id as string;
    tokens.admin = await tokenFor();
    tokens.lwA = await tokenFor({ sub: 'link-worker-a', sp_role: 'link-worker', ods_code: 'SUBA1', scope: defaultScopes('link-worker') });
    tokens.lwA2 = await tokenFor({ sub: 'link-worker-a-2', sp_role: 'link-worker', ods_code: 'SUBA1', scope: defaultScopes('link-worker') });
    tokens.lwB = await tokenFor({ sub: 'link-worker-b', sp_role: 'link-worker', ods_code: 'SUBB1', scope: defaultScopes('link-worker') });
    tokens.gp = await tokenFor({ sub: 'gp-referrer', sp_role: 'referrer', ods_code: 'SUBGP', scope: defaultScopes('referrer') });
    tokens.commissioner = await tokenFor({ sub: 'commissioner', sp_role: 'commissioner', scope: defaultScopes('commissioner') });
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await server.stop();
  });

  test('the CapabilityStatement announces the backport, the referral Task topic and the Subscription operations', async () => {
    const statement = (await server.anonymous.get('/fhir/metadata')).body;
    expect(statement.instantiates).toContain('http://hl7.org/fhir/uv/subscriptions-backport/CapabilityStatement/backport-subscription-server-r4');
    const entry = statement.rest[0].resource.find((r: { type: string }) => r.type === 'Subscription');
    expect(entry.extension).toEqual([
      { url: 'http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/capabilitystatement-subscriptiontopic-canonical', valueCanonical: TOPIC },
    ]);
    expect(entry.operation.map((o: { name: string }) => o.name).sort()).toEqual(expect.arrayContaining(['events', 'get-ws-binding-token', 'status']));
  });

  test('SUBSCRIPTION_ALLOWED_ENDPOINTS must be URL prefixes; a bad one stops the server at start, naming it', () => {
    expect(() => loadConfig({ SUBSCRIPTION_ALLOWED_ENDPOINTS: '127.0.0.1:8080' })).toThrow(/SUBSCRIPTION_ALLOWED_ENDPOINTS="127.0.0.1:8080"/);
    expect(loadConfig({ SUBSCRIPTION_ALLOWED_ENDPOINTS: 'http://127.0.0.1,https://10.0.0.5/hooks' }).subscriptions.allowedEndpoints).toEqual([
      'http://127.0.0.1',
      'https://10.0.0.5/hooks',
    ]);
  });

  describe('creating a subscription', () => {
    test('refuses criteria over another type, unknown parameters and result parameters with 400', async () => {
      for (const criteria of ['Patient?name=smith', 'Task?no-such-parameter=1', 'Task?owner=HealthcareService/x&_count=5', 'https://example.org/other-topic']) {
        const res = await as('lwA').post('Subscription', subscription(criteria, 'http://127.0.0.1:9/hook'));
        expect([criteria, res.status, res.body.resourceType]).toEqual([criteria, 400, 'OperationOutcome']);
      }
    });

    test('refuses an endpoint on a private address that SUBSCRIPTION_ALLOWED_ENDPOINTS does not list', async () => {
      for (const endpoint of ['http://10.1.2.3/hook', 'http://192.168.0.10/hook', 'http://[::1]:8080/hook', 'ftp://127.0.0.1/hook']) {
        const res = await as('lwA').post('Subscription', subscription(`Task?owner=HealthcareService/${ids.svcA}`, endpoint));
        expect([endpoint, res.status]).toEqual([endpoint, 400]);
        expect(res.body.issue[0].expression).toEqual(['Subscription.channel.endpoint']);
      }
    });

    test('needs the right to create subscriptions and to read what they watch', async () => {
      const res = await as('commissioner').post('Subscription', subscription('Task?status=completed', 'http://127.0.0.1:9/hook'));
      expect(res.status).toBe(403);
      const gpOnReferrals = await as('gp').post('Subscription', subscription('ServiceRequest?status=active', 'http://127.0.0.1:9/hook'));
      expect(gpOnReferrals.status).toBe(201);
    });

    test('a failed handshake sets status error with the reason', async () => {
      const closed = await freePort();
      const res = await as('lwA').post('Subscription', subscription(`Task?owner=HealthcareService/${ids.svcA}`, `http://127.0.0.1:${closed}/hook`));
      expect(res.body.status).toBe('requested');
      const failed = await eventually(async () => {
        const current = (await as('lwA').get(`Subscription/${res.body.id}`)).body as Subscription;
        return current.status === 'error' ? current : undefined;
      });
      expect(failed.error).toMatch(/Handshake failed: .*could not be reached/);
    });

    test("a subscription is its owner's alone: another client reads 404 and does not see it in searches", async () => {
      const receiver = await newReceiver();
      const mine = await subscribe(
        'lwA',
        subscription(`Task?owner=HealthcareService/${ids.svcA}&status=cancelled`, receiver.url, {
          channel: { type: 'rest-hook', endpoint: receiver.url, header: ['Authorization: Bearer receiver-secret'] },
        })
      );
      expect(receiver.bundles.map(typeOf)).toEqual(['handshake']);
      expect(receiver.headers[0].authorization).toBe('Bearer receiver-secret');
      expect((await as('lwA2').get(`Subscription/${mine.id}`)).status).toBe(404);
      const theirs = (await as('lwA2').get('Subscription')).body as Bundle;
      expect((theirs.entry ?? []).map((e) => e.resource?.id)).not.toContain(mine.id);
      expect(((await as('lwA').get('Subscription')).body as Bundle).entry?.map((e) => e.resource?.id)).toContain(mine.id);
    });
  });

  describe('notifications', () => {
    test("a referral by message, by transaction and by self-referral each notifies the owner's subscription once", async () => {
      const receiver = await newReceiver();
      const sub = await subscribe('lwA', subscription(`Task?owner=HealthcareService/${ids.svcA}`, receiver.url));
      const toA = { reference: `HealthcareService/${ids.svcA}` };

      const message = fixture<Bundle>('messages/gp-referral.json');
      message.id = `subscription-message-${++unique}`;
      (message.entry?.[1].resource as { performer?: unknown }).performer = [toA];
      expect((await server.api.post('/fhir/$process-message').set('Content-Type', FHIR_JSON).send(message)).status).toBe(200);

      const transaction = fixture<Bundle>('bundles/referral-transaction.json');
      (transaction.entry?.[3].resource as Task).owner = toA;
      expect((await server.api.post('/fhir').set('Content-Type', FHIR_JSON).send(transaction)).status).toBe(200);

      const selfReferral = fixture<Bundle>('messages/self-referral.json');
      selfReferral.id = `subscription-self-${++unique}`;
      (selfReferral.entry?.[1].resource as { performer?: unknown }).performer = [toA];
      expect((await server.api.post('/fhir/$process-message').set('Content-Type', FHIR_JSON).send(selfReferral)).status).toBe(200);

      await eventually(() => receiver.events().length >= 3, 10000, 'three events');
      await settle();
      const events = receiver.events();
      expect(events.map((e) => e.number)).toEqual([1, 2, 3]);
      expect(new Set(events.map((e) => e.focus.split('/_history')[0])).size).toBe(3);
      const tasks = receiver.bundles.flatMap((b) => (b.entry ?? []).slice(1).map((e) => e.resource as Task));
      expect(tasks.map((t) => [t.resourceType, t.owner?.reference, t.status])).toEqual(Array(3).fill(['Task', `HealthcareService/${ids.svcA}`, 'requested']));
      expect(events.every((e) => e.subscription === `Subscription/${sub.id}`)).toBe(true);
      // The SubscriptionStatus counts events since the subscription started.
      const last = receiver.bundles[receiver.bundles.length - 1];
      expect(statusOf(last).parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('3');

      // $status and $events answer the same, for the owner.
      const status = (await as('lwA').get(`Subscription/${sub.id}/$status`)).body as Bundle;
      expect((status.entry?.[0].resource as Parameters).parameter?.find((p) => p.name === 'events-since-subscription-start')?.valueString).toBe('3');
      const caughtUp = (await as('lwA').get(`Subscription/${sub.id}/$events?eventsSinceNumber=2`)).body as Bundle;
      expect(typeOf(caughtUp)).toBe('query-event');
      expect(eventsOf(caughtUp).map((e) => e.number)).toEqual([2, 3]);
      expect((await as('lwA2').get(`Subscription/${sub.id}/$events`)).status).toBe(404);

      // Each delivery is audited, for the owner.
      const audits = (await server.api.get(`/fhir/AuditEvent?entity=Subscription/${sub.id}&_count=50`)).body as Bundle;
      const notifications = (audits.entry ?? []).filter((e) => JSON.stringify(e.resource).includes('$notification'));
      expect(notifications.length).toBeGreaterThanOrEqual(2);
      expect(JSON.stringify(notifications[0].resource)).toContain('link-worker-a');
    });

    test("a status change notifies the requester's subscription", async () => {
      const receiver = await newReceiver();
      const sub = await subscribe(
        'gp',
        subscription(`Task?requester=Organization/${ids.gp}&status=accepted,rejected,completed,cancelled,failed`, receiver.url)
      );
      const sr = await create(referralTo(`HealthcareService/${ids.svcA}`, `Organization/${ids.gp}`, `Patient/${ids.patient}`));
      const [created] = ((await server.api.get(`/fhir/Task?focus=ServiceRequest/${sr.id}`)).body as Bundle).entry ?? [];
      const taskNow = created.resource as Task;
      await settle(500);
      expect(receiver.events()).toEqual([]); // requested is not among the statuses watched
      const accepted = await as('lwA').put(`Task/${taskNow.id}`, { ...taskNow, status: 'accepted' }, taskNow.meta?.versionId as string);
      expect(accepted.status).toBe(200);
      await eventually(() => receiver.events().length === 1);
      await settle(500);
      expect(receiver.events()).toEqual([
        { number: 1, focus: `Task/${taskNow.id}/_history/${accepted.body.meta.versionId}`, subscription: `Subscription/${sub.id}` },
      ]);
      expect((receiver.bundles[receiver.bundles.length - 1].entry?.[1].resource as Task).status).toBe('accepted');
    });

    test('a receiver that is down, then up, gets every event, in order', async () => {
      const receiver = await newReceiver();
      const sub = await subscribe(
        'lwA',
        subscription(`ServiceRequest?performer=HealthcareService/${ids.svcA}&status=active`, receiver.url, {
          channel: { type: 'rest-hook', endpoint: receiver.url },
        })
      );
      await receiver.down();
      const created: string[] = [];
      for (let i = 0; i < 5; i++)
        created.push((await create(referralTo(`HealthcareService/${ids.svcA}`, `Organization/${ids.gp}`, `Patient/${ids.patient}`))).id as string);
      await settle(800);
      const state = (await as('lwA').get(`Subscription/${sub.id}`)).body as Subscription;
      expect(state.status).toBe('active'); // still retrying
      await receiver.up();
      await eventually(() => receiver.events().length >= 5, 15000, 'five events after the receiver came back');
      await settle();
      const events = receiver.events();
      expect(events.map((e) => e.number)).toEqual([1, 2, 3, 4, 5]);
      expect(events.map((e) => e.focus.split('/_history')[0])).toEqual(created.map((id) => `ServiceRequest/${id}`));
      // id-only payload: references, no resources.
      expect(receiver.bundles.every((b) => (b.entry ?? []).length === 1)).toBe(true);
    });

    test("a subscriber of one organisation never receives another organisation's resources", async () => {
      const receiverA = await newReceiver();
      const receiverB = await newReceiver();
      // Broad criteria: the organisation restriction, applied at delivery, decides.
      await subscribe('lwA', subscription('Task?status=requested', receiverA.url));
      await subscribe('lwB', subscription(`Task?owner=HealthcareService/${ids.svcA}`, receiverB.url));
      const toA = await create(referralTo(`HealthcareService/${ids.svcA}`, `Organization/${ids.gp}`, `Patient/${ids.patient}`));
      const toB = await create(referralTo(`HealthcareService/${ids.svcB}`, `Organization/${ids.gp}`, `Patient/${ids.patient}`));
      const taskOf = async (sr: string) => (((await server.api.get(`/fhir/Task?focus=ServiceRequest/${sr}`)).body as Bundle).entry?.[0].resource as Task).id;
      const [taskA, taskB] = [await taskOf(toA.id as string), await taskOf(toB.id as string)];
      await eventually(() => receiverA.events().some((e) => e.focus.startsWith(`Task/${taskA}/`)), 10000, "A's Task at A");
      await settle();
      const seenByA = JSON.stringify(receiverA.bundles);
      expect(seenByA).not.toContain(taskB);
      expect(seenByA).not.toContain(ids.svcB);
      // B watched A's service: B may not read A's Tasks, so B gets nothing.
      expect(receiverB.events()).toEqual([]);
    });

    test('the referral Task topic notifies on creation and on a change of status, not on other changes', async () => {
      const receiver = await newReceiver();
      await subscribe(
        'lwA',
        subscription(TOPIC, receiver.url, {
          _criteria: { extension: [{ url: FILTER, valueString: `Task?owner=HealthcareService/${ids.svcA}` }] },
        } as Partial<Subscription>)
      );
      const sr = await create(referralTo(`HealthcareService/${ids.svcA}`, `Organization/${ids.gp}`, `Patient/${ids.patient}`));
      const first = ((await server.api.get(`/fhir/Task?focus=ServiceRequest/${sr.id}`)).body as Bundle).entry?.[0].resource as Task;
      await eventually(() => receiver.events().length === 1);
      const noted = await as('lwA').put(`Task/${first.id}`, { ...first, note: [{ text: 'Phoned, left a message' }] }, first.meta?.versionId as string);
      expect(noted.status).toBe(200);
      const accepted = await as('lwA').put(`Task/${first.id}`, { ...noted.body, status: 'accepted' }, noted.body.meta.versionId);
      expect(accepted.status).toBe(200);
      await eventually(() => receiver.events().length === 2);
      await settle();
      expect(receiver.events().map((e) => e.focus)).toEqual([`Task/${first.id}/_history/1`, `Task/${first.id}/_history/${accepted.body.meta.versionId}`]);
      expect(statusOf(receiver.bundles[1]).parameter?.find((p) => p.name === 'topic')?.valueCanonical).toBe(TOPIC);
    });

    test('the topic refuses filters it does not offer', async () => {
      const res = await as('lwA').post(
        'Subscription',
        subscription(TOPIC, 'http://127.0.0.1:9/hook', {
          _criteria: { extension: [{ url: FILTER, valueString: 'Task?focus=ServiceRequest/x' }] },
        } as Partial<Subscription>)
      );
      expect(res.status).toBe(400);
      expect(res.body.issue[0].diagnostics).toMatch(/owner, requester, status/);
    });
  });

  // Single writes only (no referral transactions), so this runs on every store.
  describe.each(storeTargets)('a subscription that keeps failing [$name]', (target) => {
    let strict: TestServer;
    beforeAll(async () => {
      strict = await startServer(target, { ...ENV, SUBSCRIPTION_MAX_ATTEMPTS: '3' });
    });
    afterAll(async () => {
      await strict.stop();
    });

    test('goes to error with the last error, and resumes from the first undelivered event when put back to requested', async () => {
      const receiver = await newReceiver();
      const org = (
        await strict.api
          .post('/fhir/Organization')
          .set('Content-Type', FHIR_JSON)
          .send(organization(`SUBC${target.name.length}`))
      ).body;
      const pat = (await strict.api.post('/fhir/Patient').set('Content-Type', FHIR_JSON).send(patient())).body;
      // Not a social prescribing referral: one write, no Task.
      const sr = (n: number) => ({
        resourceType: 'ServiceRequest',
        status: 'active',
        intent: 'order',
        code: { text: `Onward ${n}` },
        subject: { reference: `Patient/${pat.id}` },
        performer: [{ reference: `Organization/${org.id}` }],
      });
      const made = (
        await strict.api
          .post('/fhir/Subscription')
          .set('Content-Type', FHIR_JSON)
          .send(subscription(`ServiceRequest?performer=Organization/${org.id}`, receiver.url))
      ).body as Subscription;
      await eventually(async () => ((await strict.api.get(`/fhir/Subscription/${made.id}`)).body as Subscription).status === 'active');
      receiver.answerEventsWith(500);
      const first = (await strict.api.post('/fhir/ServiceRequest').set('Content-Type', FHIR_JSON).send(sr(1))).body;
      const failed = await eventually(
        async () => {
          const current = (await strict.api.get(`/fhir/Subscription/${made.id}`)).body as Subscription;
          return current.status === 'error' ? current : undefined;
        },
        15000,
        'the subscription to go to error'
      );
      expect(failed.error).toMatch(/Delivery failed 3 times; last error: .* answered HTTP 500/);
      const second = (await strict.api.post('/fhir/ServiceRequest').set('Content-Type', FHIR_JSON).send(sr(2))).body;
      await settle(500);
      expect(receiver.events()).toEqual([]);
      // Failed attempts are audited with the reason.
      const audits = JSON.stringify((await strict.api.get(`/fhir/AuditEvent?entity=Subscription/${made.id}&_count=50`)).body);
      expect(audits).toContain('answered HTTP 500');

      receiver.answerEventsWith(200);
      const back = await strict.api
        .put(`/fhir/Subscription/${made.id}`)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', `W/"${failed.meta?.versionId}"`)
        .send({ ...failed, status: 'requested' });
      expect([back.status, back.body.status, back.body.error]).toEqual([200, 'requested', undefined]);
      await eventually(() => receiver.events().length >= 2, 10000, 'both events after the subscription was put back');
      expect(receiver.events().map((e) => [e.number, e.focus.split('/_history')[0]])).toEqual([
        [1, `ServiceRequest/${first.id}`],
        [2, `ServiceRequest/${second.id}`],
      ]);
    });

    test('renewing the change feed lease and saving its cursor add no history', async () => {
      // A short lease is renewed every few hundred milliseconds while the earlier test's subscription exists.
      const lease = await startServer(target, { ...ENV, SUBSCRIPTION_LEASE_SECONDS: '1' });
      try {
        const receiver = await newReceiver();
        const made = await lease.api
          .post('/fhir/Subscription')
          .set('Content-Type', FHIR_JSON)
          .send(subscription('ServiceRequest?performer=Organization/feed-lease', receiver.url));
        expect(made.status).toBe(201);
        await eventually(async () => ((await lease.store.readJob('subscription-feed', 'feed'))?.revision ?? 0) >= 5, 15000, 'the lease to be renewed');
        // Kept as a record beside the resources: no Basic resource, no versions.
        expect((await lease.api.get('/fhir/Basic/subscription-feed/_history')).status).toBe(404);
        expect((await lease.api.get('/fhir/Basic?code=subscription-feed')).body.total ?? 0).toBe(0);
      } finally {
        await lease.stop();
      }
    });
  });

  describe('websocket channel', () => {
    test('a bound websocket client receives the handshake and then each event', async () => {
      const res = await as('lwA').post('Subscription', {
        resourceType: 'Subscription',
        status: 'requested',
        reason: 'Referrals for the link worker app',
        criteria: `Task?owner=HealthcareService/${ids.svcA}`,
        channel: { type: 'websocket', payload: 'application/fhir+json' },
      });
      expect([res.status, res.body.status]).toEqual([201, 'active']);
      const binding = (await as('lwA').get(`Subscription/${res.body.id}/$get-ws-binding-token`)).body as Parameters;
      const token = binding.parameter?.find((p) => p.name === 'token')?.valueString as string;
      expect(binding.parameter?.find((p) => p.name === 'websocket-url')?.valueUrl).toBe('ws://fhir.test/ws/subscriptions');
      expect((await as('lwA2').get(`Subscription/${res.body.id}/$get-ws-binding-token`)).status).toBe(404);

      const ws = new WebSocket(`${server.url.replace('http', 'ws')}/ws/subscriptions`);
      const messages: Bundle[] = [];
      ws.on('message', (data) => messages.push(JSON.parse(data.toString()) as Bundle));
      await new Promise((resolve) => ws.once('open', resolve));
      ws.send('bind-with-token not-a-token');
      await eventually(() => messages.length === 1);
      expect((messages[0] as unknown as { error: string }).error).toMatch(/unknown or has expired/);
      ws.send(`bind-with-token ${token}`);
      await eventually(() => messages.length === 2);
      expect(typeOf(messages[1])).toBe('handshake');
      const sr = await create(referralTo(`HealthcareService/${ids.svcA}`, `Organization/${ids.gp}`, `Patient/${ids.patient}`));
      await eventually(() => messages.length === 3, 10000, 'an event on the websocket');
      const [event] = eventsOf(messages[2]);
      expect(event.number).toBe(1);
      expect((messages[2].entry?.[1].resource as Task).focus?.reference).toBe(`ServiceRequest/${sr.id}`);
      ws.close();
    });
  });
});
