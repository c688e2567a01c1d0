// The referral journey through HTTP: intake by message, by self-referral and
// by transaction; the Task state machine; plan, onward referral and outcomes;
// completion; and the reads integrators make. Runs where multi-document
// writes are atomic (the embedded store, MongoDB replica sets); on a MongoDB
// without transactions a referral is refused whole, which is tested too.
import type { Bundle, MessageHeader, Task } from '@medplum/fhirtypes';
import { FHIR_JSON, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { fixture, task } from './support/resources';

const B = 'https://social-prescribing.example.org/fhir';
const SNOMED = 'http://snomed.info/sct';
const NHS = 'https://fhir.nhs.uk/Id/nhs-number';
const OUTPUT = `${B}/CodeSystem/sp-task-output-type`;
const BUSINESS = `${B}/CodeSystem/sp-business-status`;

const responseHeader = (bundle: Bundle) => bundle.entry?.[0]?.resource as MessageHeader;
const clone = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('referral journey', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
  });
  afterAll(async () => {
    await server.stop();
  });

  const api = () => server.api;
  const send = (message: Bundle, headers: Record<string, string> = {}) => {
    const req = api().post('/fhir/$process-message').set('Content-Type', FHIR_JSON);
    for (const [k, v] of Object.entries(headers)) req.set(k, v);
    return req.send(message);
  };
  const get = async (path: string) => (await api().get(`/fhir/${path}`)).body;
  const post = async (body: { resourceType: string }) => {
    const res = await api().post(`/fhir/${body.resourceType}`).set('Content-Type', FHIR_JSON).send(body);
    if (res.status !== 201) throw new Error(`${body.resourceType} refused: ${res.text}`);
    return res.body;
  };
  const updateTask = async (task: Task, changes: Partial<Task>, status = 200) => {
    const res = await api()
      .put(`/fhir/Task/${task.id}`)
      .set('Content-Type', FHIR_JSON)
      .set('If-Match', `W/"${task.meta?.versionId}"`)
      .send({ ...task, ...changes });
    expect([res.status, res.status === status ? 'as expected' : res.body]).toEqual([status, 'as expected']);
    return res.body as Task;
  };
  const taskFor = async (referralId: string): Promise<Task[]> =>
    ((await get(`Task?focus=ServiceRequest/${referralId}`)).entry ?? []).map((e: { resource: Task }) => e.resource);
  const referralsWith = async (identifier: string) => (await get(`ServiceRequest?identifier=${identifier}`)).entry ?? [];

  describe('intake', () => {
    test('a GP referral message is stored with its Task, answered with an ok response message, and X-Correlation-Id is echoed', async () => {
      const message = fixture<Bundle>('messages/gp-referral.json');
      const res = await send(message, { 'X-Correlation-Id': 'corr-123', 'X-Request-Id': 'req-gp-1' });
      expect(res.status).toBe(200);
      expect(res.headers['x-correlation-id']).toBe('corr-123');
      expect(res.body.type).toBe('message');
      const header = responseHeader(res.body);
      expect(header.response).toMatchObject({ identifier: message.id, code: 'ok' });
      const referrals = await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-2026-0417');
      expect(referrals).toHaveLength(1);
      const referral = referrals[0].resource;
      expect(header.focus?.[0].reference).toBe(`ServiceRequest/${referral.id}`);
      const tasks = await taskFor(referral.id);
      expect(tasks).toHaveLength(1);
      expect(tasks[0]).toMatchObject({ status: 'requested', intent: 'order', for: referral.subject, requester: referral.requester });
      expect(referral.subject.reference).toMatch(/^Patient\//);
      expect(referral.supportingInfo[0].reference).toMatch(/^Consent\//);
    });

    test('a repeated message (same Bundle.id, or same X-Request-Id) writes nothing and gets the original response', async () => {
      const original = await send(fixture<Bundle>('messages/gp-referral.json'));
      const again = await send(fixture<Bundle>('messages/gp-referral-duplicate.json'));
      expect(again.status).toBe(200);
      expect(again.body).toEqual(original.body);
      const byRequestId = fixture<Bundle>('messages/gp-referral.json');
      byRequestId.id = 'a-new-bundle-id-same-request';
      const viaHeader = await send(byRequestId, { 'X-Request-Id': 'req-gp-1' });
      expect(viaHeader.body).toEqual(original.body);
      expect(await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-2026-0417')).toHaveLength(1);
      expect((await get(`Patient?identifier=${NHS}|9476719931`)).total).toBe(1);
      expect((await get('Organization?identifier=https://fhir.nhs.uk/Id/ods-organization-code|Y23456')).total).toBe(1);
    });

    test('five deliveries of one new message at once store one referral', async () => {
      const message = fixture<Bundle>('messages/gp-referral.json');
      message.id = 'concurrent-delivery-1';
      const sr = message.entry?.[1].resource as { identifier: { value: string }[] };
      sr.identifier[0].value = 'RMP-CONCURRENT';
      const results = await Promise.all(Array.from({ length: 5 }, () => send(clone(message))));
      expect(results.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
      expect(new Set(results.map((r) => JSON.stringify(r.body))).size).toBe(1);
      const referrals = await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-CONCURRENT');
      expect(referrals).toHaveLength(1);
      expect(await taskFor(referrals[0].resource.id)).toHaveLength(1);
    });

    test('a message with an invalid NHS number gets a fatal-error response and writes nothing', async () => {
      const message = fixture<Bundle>('messages/invalid-nhs-number.json');
      const res = await send(message);
      expect(res.status).toBe(422);
      const header = responseHeader(res.body);
      expect(header.response).toMatchObject({ identifier: message.id, code: 'fatal-error' });
      const outcome = res.body.entry.find((e: { resource: { resourceType: string } }) => e.resource.resourceType === 'OperationOutcome').resource;
      expect(outcome.issue[0].diagnostics).toMatch(/NHS number/);
      expect(await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-2026-0999')).toHaveLength(0);
      expect((await get(`Patient?identifier=${NHS}|9990000000`)).total).toBe(0);
    });

    test('a self-referral: the Patient is the requester and the source is self-referral', async () => {
      const res = await send(fixture<Bundle>('messages/self-referral.json'));
      expect(res.status).toBe(200);
      const [entry] = await referralsWith(`${B}/Id/self-referral|SELF-2026-0091`);
      expect(entry.resource.requester.reference).toBe(entry.resource.subject.reference);
      expect(await taskFor(entry.resource.id)).toHaveLength(1);
      // Claiming to be the patient's own request without saying self-referral is refused.
      const wrong = fixture<Bundle>('messages/self-referral.json');
      wrong.id = 'self-referral-wrong-source';
      const sr = wrong.entry?.[1].resource as { identifier: { value: string }[]; extension: { valueCodeableConcept: { coding: { code: string }[] } }[] };
      sr.identifier[0].value = 'SELF-WRONG';
      sr.extension[0].valueCodeableConcept.coding[0].code = '108161000000109';
      expect((await send(wrong)).status).toBe(422);
    });

    test('a transaction referral that carries its own Task does not get a second one; patient matched by NHS number', async () => {
      const res = await api().post('/fhir').set('Content-Type', FHIR_JSON).send(fixture('bundles/referral-transaction.json'));
      expect(res.status).toBe(200);
      const referralId = res.body.entry[2].resource.id;
      expect(await taskFor(referralId)).toHaveLength(1);
    });

    /** The fixture's referral transaction without its Task, the referral identified by value. */
    const referralWithoutTask = async (value: string) => {
      const bundle = fixture<Bundle>('bundles/referral-transaction.json');
      bundle.entry = bundle.entry?.slice(0, 3);
      (bundle.entry?.[2].resource as { identifier: { value: string }[] }).identifier[0].value = value;
      const res = await api().post('/fhir').set('Content-Type', FHIR_JSON).send(bundle);
      expect(res.status).toBe(200);
      return res;
    };

    test('a transaction referral without a Task gets one in the same commit', async () => {
      const res = await referralWithoutTask('REF-NO-TASK');
      const tasks = await taskFor(res.body.entry[2].resource.id);
      expect(tasks).toHaveLength(1);
      expect(tasks[0].status).toBe('requested');
    });

    test('a referral created by POST gets one Task; stored again under its id after a deletion, it keeps that Task', async () => {
      const made = await referralWithoutTask('REF-FOR-POST');
      const {
        id: _transactionId,
        meta: _meta,
        ...body
      } = made.body.entry[2].resource as { id: string; meta: unknown; resourceType: string; identifier: { value: string }[] };
      body.identifier[0].value = 'REF-BY-POST';
      const created = await post(body);
      const [own] = await taskFor(created.id);
      expect((await taskFor(created.id)).map((t) => t.id)).toEqual([own.id]);
      const removed = await api().delete(`/fhir/ServiceRequest/${created.id}`);
      // The body is shown when the deletion is refused.
      expect(removed.status === 200 || removed.status === 204 ? 'ok' : removed.body).toBe('ok');
      const again = await api()
        .put(`/fhir/ServiceRequest/${created.id}`)
        .set('Content-Type', FHIR_JSON)
        .send({ ...body, id: created.id });
      expect([again.status, again.status === 201 ? 'ok' : again.body]).toEqual([201, 'ok']);
      expect((await taskFor(created.id)).map((t) => t.id)).toEqual([own.id]);
    });

    test('a cancellation message revokes the referral and cancels its Task', async () => {
      const message = fixture<Bundle>('messages/gp-referral.json');
      message.id = 'to-be-cancelled';
      (message.entry?.[1].resource as { identifier: { value: string }[] }).identifier[0].value = 'RMP-CANCEL';
      expect((await send(message)).status).toBe(200);
      const cancel = fixture<Bundle>('messages/cancellation.json');
      (cancel.entry?.[1].resource as { identifier: { value: string }[] }).identifier[0].value = 'RMP-CANCEL';
      const res = await send(cancel);
      expect(res.status).toBe(200);
      expect(responseHeader(res.body).response?.code).toBe('ok');
      const [referral] = await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-CANCEL');
      expect(referral.resource.status).toBe('revoked');
      const [task] = await taskFor(referral.resource.id);
      expect(task.status).toBe('cancelled');
      expect(task.statusReason?.text).toMatch(/withdrawn/);
      expect(task.executionPeriod?.end).toBeDefined();
    });
  });

  test('the whole journey: referral, claim, contact, plan, onward referral, outcomes, completion, and the reads', async () => {
    // 1. A GP referral message is received: a Task is requested.
    const message = fixture<Bundle>('messages/gp-referral.json');
    message.id = 'journey-1';
    (message.entry?.[1].resource as { identifier: { value: string }[] }).identifier[0].value = 'RMP-JOURNEY';
    (message.entry?.[2].resource as { identifier: { value: string }[] }).identifier[0].value = '9434765919';
    expect((await send(message)).status).toBe(200);
    const [{ resource: referral }] = await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-JOURNEY');
    let [task] = await taskFor(referral.id);
    expect(task.status).toBe('requested');

    // Unclaimed tasks are found by receiving systems.
    const unclaimed = await get('Task?owner:missing=true&status=requested&_count=100');
    expect(unclaimed.entry.map((e: { resource: Task }) => e.resource.id)).toContain(task.id);

    // 2. The link worker claims it and accepts it.
    const vcse = await post({
      resourceType: 'Organization',
      name: 'Leeds Community Links',
      identifier: [{ system: 'urn:oruk:organization', value: 'org-77' }],
    } as never);
    const practitioner = await post({ resourceType: 'Practitioner', name: [{ family: 'Patel', given: ['Anita'] }] } as never);
    const linkWorker = await post({
      resourceType: 'PractitionerRole',
      practitioner: { reference: `Practitioner/${practitioner.id}` },
      organization: { reference: `Organization/${vcse.id}` },
      code: [{ coding: [{ system: `${B}/CodeSystem/sp-local-concepts`, code: 'link-worker' }] }],
    } as never);
    const since = new Date(Date.now() - 1).toISOString();
    task = await updateTask(task, { owner: { reference: `PractitionerRole/${linkWorker.id}` } });
    task = await updateTask(task, { status: 'accepted' });

    // The polling query sees the change, with the referral included.
    const poll = await get(`Task?owner=PractitionerRole/${linkWorker.id}&_lastUpdated=gt${since}&_include=Task:focus`);
    expect(poll.entry.map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`)).toEqual(
      expect.arrayContaining([`Task/${task.id}`, `ServiceRequest/${referral.id}`])
    );

    // 3. In progress, through the business statuses.
    task = await updateTask(task, { status: 'in-progress', businessStatus: { coding: [{ system: BUSINESS, code: 'first-contact-made' }] } });
    expect(task.executionPeriod?.start).toBeDefined();
    task = await updateTask(task, { businessStatus: { coding: [{ system: BUSINESS, code: 'what-matters-conversation-held' }] } });
    task = await updateTask(task, { businessStatus: { coding: [{ system: BUSINESS, code: 'plan-agreed' }] } });

    // 4. A plan with two goals and an onward referral to a community service.
    const subject = referral.subject;
    const goal = (text: string) => post({ resourceType: 'Goal', lifecycleStatus: 'active', description: { text }, subject } as never);
    const [goal1, goal2] = [await goal('Meet people who like gardening'), await goal('Get out of the house twice a week')];
    const location = await post({ resourceType: 'Location', name: 'Meanwood Community Garden', position: { latitude: 53.83, longitude: -1.57 } } as never);
    const service = await post({
      resourceType: 'HealthcareService',
      identifier: [{ system: 'urn:oruk:service', value: 'svc-garden-1' }],
      providedBy: { reference: `Organization/${vcse.id}` },
      location: [{ reference: `Location/${location.id}` }],
      name: 'Community gardening group',
      type: [{ coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: 'green-spaces' }] }],
    } as never);
    const onward = await post({
      resourceType: 'ServiceRequest',
      status: 'active',
      intent: 'order',
      basedOn: [{ reference: `ServiceRequest/${referral.id}` }],
      code: { coding: [{ system: `${B}/CodeSystem/sp-activity-type`, code: 'green-spaces' }] },
      subject,
      requester: { reference: `PractitionerRole/${linkWorker.id}` },
      performer: [{ reference: `HealthcareService/${service.id}` }],
    } as never);
    let [subTask] = await taskFor(onward.id);
    expect(subTask.partOf?.[0].reference).toBe(`Task/${task.id}`);
    expect(subTask.owner?.reference).toBe(`HealthcareService/${service.id}`);
    const plan = await post({
      resourceType: 'CarePlan',
      extension: [
        { url: 'http://hl7.org/fhir/5.0/StructureDefinition/extension-CarePlan.basedOn', valueReference: { reference: `ServiceRequest/${referral.id}` } },
      ],
      status: 'active',
      intent: 'plan',
      subject,
      author: { reference: `PractitionerRole/${linkWorker.id}` },
      goal: [{ reference: `Goal/${goal1.id}` }, { reference: `Goal/${goal2.id}` }],
      activity: [{ reference: { reference: `ServiceRequest/${onward.id}` } }],
    } as never);
    subTask = await updateTask(subTask, { status: 'accepted' });
    await updateTask(subTask, {
      status: 'completed',
      output: [{ type: { coding: [{ system: OUTPUT, code: 'resulting-activity' }] }, valueString: 'Attends the gardening group on Tuesdays' }],
    });
    expect((await get(`ServiceRequest/${onward.id}`)).status).toBe('active'); // an onward referral is not the SP referral

    // 5. ONS4 before and after.
    const ons4 = (value: number, when: string) =>
      post({
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: `${B}/CodeSystem/sp-ons4`, code: 'life-satisfaction' }] },
        subject,
        effectiveDateTime: when,
        valueInteger: value,
      } as never);
    const before = await ons4(3, '2026-11-06T10:00:00Z');
    const after = await ons4(7, '2027-01-20T10:00:00Z');

    // Completing without an output is refused.
    await updateTask(task, { status: 'completed', businessStatus: undefined }, 422);
    // 6. The Task completes with its outputs; the referral is completed.
    task = await updateTask(task, {
      status: 'completed',
      output: [
        { type: { coding: [{ system: OUTPUT, code: 'personalised-plan' }] }, valueReference: { reference: `CarePlan/${plan.id}` } },
        { type: { coding: [{ system: OUTPUT, code: 'outcome' }] }, valueReference: { reference: `Observation/${before.id}` } },
        { type: { coding: [{ system: OUTPUT, code: 'outcome' }] }, valueReference: { reference: `Observation/${after.id}` } },
      ],
    });
    expect(task.executionPeriod?.end).toBeDefined();
    expect((await get(`ServiceRequest/${referral.id}`)).status).toBe('completed');

    // A cancellation after completion is rejected, with an explanation.
    const cancel = fixture<Bundle>('messages/cancellation.json');
    cancel.id = 'journey-cancel-late';
    (cancel.entry?.[1].resource as { identifier: { value: string }[] }).identifier[0].value = 'RMP-JOURNEY';
    const late = await send(cancel);
    expect(late.status).toBe(409);
    expect(responseHeader(late.body).response?.code).toBe('fatal-error');
    expect(JSON.stringify(late.body)).toMatch(/completed/);

    // 7. The reads integrators make.
    const byNhs = await get(`ServiceRequest?subject:Patient.identifier=${NHS}|9434765919&code=${SNOMED}|871731000000106`);
    expect(byNhs.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(referral.id);
    const plans = await get(`CarePlan?subject:Patient.identifier=${NHS}|9434765919&_revinclude=Task:focus`);
    expect(plans.entry.map((e: { resource: { id: string } }) => e.resource.id)).toContain(plan.id);
    const withTaskAndPlan = await get(`ServiceRequest?_id=${referral.id}&_revinclude=Task:focus&_revinclude=CarePlan:referral`);
    const included = withTaskAndPlan.entry.map((e: { resource: { resourceType: string; id: string } }) => `${e.resource.resourceType}/${e.resource.id}`);
    expect(included).toEqual(expect.arrayContaining([`ServiceRequest/${referral.id}`, `Task/${task.id}`, `CarePlan/${plan.id}`]));
    expect((await get(`Task/${task.id}/_history`)).entry.length).toBeGreaterThanOrEqual(7);
  });

  describe('the Task state machine', () => {
    const ALLOWED: Record<string, string[]> = {
      draft: ['requested'],
      requested: ['accepted', 'rejected', 'cancelled'],
      accepted: ['in-progress', 'on-hold', 'cancelled', 'completed', 'failed'],
      'in-progress': ['on-hold', 'completed', 'failed', 'cancelled'],
      'on-hold': ['in-progress', 'cancelled', 'completed', 'failed'],
      rejected: [],
      cancelled: [],
      completed: [],
      failed: [],
      'entered-in-error': [],
    };
    const STATUSES = Object.keys(ALLOWED);
    let referralRef: string;
    let patientRef: string;

    beforeAll(async () => {
      const message = fixture<Bundle>('messages/gp-referral.json');
      message.id = 'state-machine-base';
      (message.entry?.[1].resource as { identifier: { value: string }[] }).identifier[0].value = 'RMP-STATES';
      await send(message);
      const [{ resource }] = await referralsWith('https://gp-system.example.nhs.uk/Id/referral|RMP-STATES');
      referralRef = `ServiceRequest/${resource.id}`;
      patientRef = resource.subject.reference;
    });

    const reasonFor = (status: string): Partial<Task> => {
      const out: Partial<Task> = {};
      if (['rejected', 'cancelled', 'failed', 'on-hold'].includes(status)) out.statusReason = { text: 'reason' };
      if (status === 'completed') out.output = [{ type: { coding: [{ system: OUTPUT, code: 'resulting-activity' }] }, valueString: 'done' }];
      return out;
    };
    const taskIn = async (status: string): Promise<Task> => post(task(referralRef, patientRef, patientRef, { status, ...reasonFor(status) } as Partial<Task>));

    const illegal = STATUSES.flatMap((from) =>
      STATUSES.filter((to) => to !== from && to !== 'entered-in-error' && !ALLOWED[from].includes(to)).map((to) => ({ from, to }))
    );

    test.each(illegal)('rejects a Task moving from $from to $to with 409 naming both states', async ({ from, to }) => {
      const task = await taskIn(from);
      const res = await api()
        .put(`/fhir/Task/${task.id}`)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', `W/"${task.meta?.versionId}"`)
        .send({ ...task, status: to, ...reasonFor(to) });
      expect(res.status).toBe(409);
      expect(res.body.issue[0].diagnostics).toContain(`from ${from} to ${to}`);
      expect((await get(`Task/${task.id}`)).status).toBe(from);
    });

    test('every state can move to entered-in-error', async () => {
      for (const from of STATUSES.filter((s) => s !== 'entered-in-error')) {
        const task = await taskIn(from);
        await updateTask(task, { status: 'entered-in-error' });
      }
    });

    test('Task updates need If-Match (428), and a stale one is 412', async () => {
      const task = await taskIn('requested');
      const none = await api()
        .put(`/fhir/Task/${task.id}`)
        .set('Content-Type', FHIR_JSON)
        .send({ ...task, status: 'accepted' });
      expect(none.status).toBe(428);
      const patchNone = await api()
        .patch(`/fhir/Task/${task.id}`)
        .set('Content-Type', 'application/json-patch+json')
        .send([{ op: 'replace', path: '/status', value: 'accepted' }]);
      expect(patchNone.status).toBe(428);
      await updateTask(task, { status: 'accepted' });
      const stale = await api()
        .put(`/fhir/Task/${task.id}`)
        .set('Content-Type', FHIR_JSON)
        .set('If-Match', 'W/"1"')
        .send({ ...task, status: 'in-progress' });
      expect(stale.status).toBe(412);
    });

    test('business status only while accepted or in-progress', async () => {
      const task = await taskIn('requested');
      await updateTask(task, { businessStatus: { coding: [{ system: BUSINESS, code: 'contact-attempted' }] } }, 422);
    });

    test('a rejected Task leaves the referral active for re-routing', async () => {
      const task = await taskIn('requested');
      await updateTask(task, { status: 'rejected', statusReason: { coding: [{ system: `${B}/CodeSystem/sp-reject-reason`, code: 'out-of-area' }] } });
      expect((await get(referralRef)).status).toBe('active');
    });
  });
});

const mongoTarget = storeTargets.find((t) => t.name === 'mongodb');
(mongoTarget && !mongoTarget.transactions ? describe : describe.skip)('referral intake without transactions [mongodb]', () => {
  test('a referral is refused whole with a clear OperationOutcome when the deployment cannot store it atomically', async () => {
    const server = await startServer(mongoTarget as NonNullable<typeof mongoTarget>);
    try {
      const res = await server.api.post('/fhir/$process-message').set('Content-Type', FHIR_JSON).send(fixture('messages/gp-referral.json'));
      expect(res.status).toBe(501);
      expect(JSON.stringify(res.body)).toMatch(/replica set/);
      expect((await server.api.get('/fhir/ServiceRequest?_summary=count')).body.total).toBe(0);
      expect((await server.api.get('/fhir/Patient?_summary=count')).body.total).toBe(0);
    } finally {
      await server.stop();
    }
  });
});
