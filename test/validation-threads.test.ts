// Structure validation on worker threads (src/conformance/validation-threads.ts)
// finds what validation on the serving thread finds. The threads start a few
// seconds after the server; until one is ready the serving thread validates,
// and /readyz says how many are ready. The same writes are sent before and
// after, and must be answered alike.
import type { OperationOutcomeIssue } from '@medplum/fhirtypes';
import { createResource, startServer, type TestServer } from './support/server';
import { storeTargets } from './support/stores';
import { organization, patient, referral } from './support/resources';

const [embedded] = storeTargets;

type Issue = OperationOutcomeIssue;
/** What a refusal says, without what differs between two requests. */
const summary = (issues: Issue[]) => issues.map((i) => `${i.severity} ${i.code} ${(i.expression ?? []).join(',')} ${i.diagnostics ?? ''}`).sort();

describe('validation threads', () => {
  let server: TestServer;
  let gp: string;
  let subject: string;
  const post = (body: object) => createResource(server, body);
  /** A referral without its requester (SPReferral requires one), and one with a value of the wrong JSON type. */
  const invalid = () => {
    const { requester, ...withoutRequester } = referral(subject, gp);
    void requester;
    return [withoutRequester, { ...referral(subject, gp), authoredOn: 20260101 }];
  };

  /** Each invalid write is refused: what the refusals say. */
  const refusals = async () => {
    const said = [];
    for (const body of invalid()) {
      const res = await post(body);
      expect(res.status).toBe(422);
      said.push(summary(res.body.issue));
    }
    return said;
  };

  beforeAll(async () => {
    server = await startServer(embedded, { VALIDATION_THREADS: '1' });
    gp = `Organization/${(await post(organization('Y10001'))).body.id}`;
    subject = `Patient/${(await post(patient())).body.id}`;
  });
  afterAll(async () => {
    await server.stop();
  });

  test('writes are refused and accepted alike on the serving thread and on a validation thread', async () => {
    const ready = async () => (await server.anonymous.get('/readyz')).body.validationThreads;
    expect(await ready()).toEqual({ threads: 1, ready: 0 });

    const before = await refusals();
    expect((await post(referral(subject, gp))).status).toBe(201);

    const deadline = Date.now() + 60_000;
    while ((await ready()).ready < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 250));
    expect(await ready()).toEqual({ threads: 1, ready: 1 });

    const after = await refusals();
    expect(after).toEqual(before);
    expect(before.every((issues) => issues.some((i) => i.startsWith('error')))).toBe(true);
    expect((await post(referral(subject, gp))).status).toBe(201);
  }, 90_000);
});
