// Store outages under load.
// - MongoDB (when MONGODB_URI is set; FerretDB started by this suite on a port
//   and directory of its own): the database is stopped under load; requests get
//   503 with Retry-After and an OperationOutcome, quickly; /readyz fails. It is
//   started again on the same port and directory: the server recovers by itself
//   within 5 s, without a restart, and nothing acknowledged before is lost.
//   Then the database stops answering without closing anything (silent-proxy.ts):
//   requests still get 503 within the socket timeout, none waits for ever.
// - Embedded store: the disk fills up under load. This is a real failure of
//   the operating system, not an injected one: the server process's file-size
//   limit (RLIMIT_FSIZE, set on the running process with prlimit) is lowered to
//   just above the size of the database's largest file (the SQLite database or
//   its write-ahead log), so the kernel cuts the next write short and then
//   refuses writes with EFBIG, as a full disk does with ENOSPC. Writes must fail
//   cleanly (503 or 507, OperationOutcome), the database must stay whole, and once
//   the limit is raised again (space freed) writes work again without a restart.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, type ServerProcess } from '../support/process';
import { silentProxy, type SilentProxy } from './silent-proxy';
import { tempDir } from '../support/stores';
import {
  call,
  embeddedDeployment,
  ferretdb,
  jsonInit,
  kill,
  markedPatient,
  mongoDeployment,
  report,
  sleep,
  startProcess,
  type Deployment,
  type Reply,
} from './harness';

const AUDIT_REFUSAL = /could not be recorded in the audit trail/;

interface Ack {
  id: string;
  versionId: string;
  marker: string;
}

/** Creates a marked Patient; an acknowledged one is recorded. */
async function create(url: string, marker: string, acks: Ack[], timeoutMs = 15000): Promise<Reply> {
  const res = await call(`${url}/fhir/Patient`, { ...jsonInit('POST', markedPatient(marker)), timeoutMs });
  if (res.status === 201) acks.push({ id: res.body.id, versionId: res.body.meta.versionId, marker });
  return res;
}

async function expectAllReadable(url: string, acks: Ack[]): Promise<number> {
  let lost = 0;
  for (const ack of acks) {
    const res = await call(`${url}/fhir/Patient/${ack.id}/_history/${ack.versionId}`);
    if (res.status !== 200 || res.body.name[0].family !== ack.marker) lost++;
  }
  return lost;
}

/** A failure answered during an outage: 503 (with Retry-After) or 507, an OperationOutcome, quickly. */
function expectCleanFailure(res: Reply, withinMs: number): void {
  expect([503, 507]).toContain(res.status);
  expect(res.body?.resourceType).toBe('OperationOutcome');
  if (res.status === 503) expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  expect(res.ms).toBeLessThan(withinMs);
}

describe('embedded store: the disk fills up under load', () => {
  let deployment: Deployment;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    deployment = embeddedDeployment();
  });
  afterAll(async () => {
    if (server) await kill(server);
    await deployment.cleanup();
  });

  const setFileSizeLimit = (pid: number, bytes: number | 'unlimited'): void => {
    execFileSync('prlimit', ['--pid', String(pid), `--fsize=${bytes}:unlimited`]);
  };

  test('writes fail cleanly with 503/507, nothing acknowledged is lost, the database stays whole, and writes resume when space is back', async () => {
    server = await startProcess(deployment);
    const url = server.url;
    const acks: Ack[] = [];
    for (let i = 0; i < 20; i++) expect((await create(url, `before-${i}`, acks)).status).toBe(201);

    const files = ['fhir.sqlite', 'fhir.sqlite-wal'].map((name) => path.join(deployment.dataDir, name)).filter((file) => fs.existsSync(file));
    // Room for a few more commits, then the "disk" is full.
    setFileSizeLimit(server.child.pid as number, Math.max(...files.map((file) => fs.statSync(file).size)) + 30_000);
    const failures: Reply[] = [];
    const failedMarkers: string[] = [];
    const auditRefused: string[] = [];
    let n = 0;
    const writer = async (): Promise<void> => {
      while (failures.length < 40) {
        const marker = `during-${++n}`;
        const res = await create(url, marker, acks);
        if (res.status !== 201) {
          failures.push(res);
          // A create whose resource reached the log but whose AuditEvent did not is stored yet answered
          // 503 (the audit refusal, fhir-routes.ts): counted apart; any other refusal must have stored nothing.
          if (AUDIT_REFUSAL.test(res.body?.issue?.[0]?.diagnostics ?? '')) auditRefused.push(marker);
          else failedMarkers.push(marker);
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, writer));
    for (const res of failures) expectCleanFailure(res, 2000);
    const acknowledgedBeforeFull = acks.length;

    // Reads are still answered at once, never hang: served (200), or refused with 503 because
    // the read's own AuditEvent cannot be written (a request that cannot be audited is refused).
    const read = await call(`${url}/fhir/Patient/${acks[0].id}`);
    expect([200, 503]).toContain(read.status);
    expect(read.ms).toBeLessThan(2000);
    if (read.status === 503) expect(read.body.resourceType).toBe('OperationOutcome');
    expect((await call(`${url}/healthz`)).status).toBe(200);

    // Space is back: writes resume, without a restart.
    setFileSizeLimit(server.child.pid as number, 'unlimited');
    const freed = Date.now();
    let resumed = false;
    while (!resumed && Date.now() - freed < 5000) resumed = (await create(url, `after-${Date.now()}`, acks)).status === 201;
    const recoveryMs = Date.now() - freed;
    expect(resumed).toBe(true);

    // After a kill and a restart, the log replays whole: every acknowledged write is there, no refused one is.
    await kill(server);
    server = await startProcess(deployment);
    const lost = await expectAllReadable(server.url, acks);
    let refusedButStored = 0;
    for (const marker of failedMarkers) {
      const res = await call(`${server.url}/fhir/Patient?identifier=urn:sp-reliability:marker|${marker}&_summary=count`);
      refusedButStored += res.body.total;
    }
    let auditRefusedButStored = 0;
    for (const marker of auditRefused) {
      const res = await call(`${server.url}/fhir/Patient?identifier=urn:sp-reliability:marker|${marker}&_summary=count`);
      auditRefusedButStored += res.body.total;
    }
    report(`[embedded disk full] refused by the audit refusal: ${auditRefused.length}, of which stored: ${auditRefusedButStored}; `);
    report(
      `[embedded disk full] acknowledged before the disk filled: ${acknowledgedBeforeFull}, refused while full: ${failures.length} ` +
        `(statuses ${[...new Set(failures.map((f) => f.status))].join(',')}, slowest ${Math.max(...failures.map((f) => f.ms))} ms), ` +
        `lost after restart: ${lost}, refused but stored: ${refusedButStored}, writes resumed ${recoveryMs} ms after space came back`
    );
    expect(lost).toBe(0);
    expect(refusedButStored).toBe(0);
  }, 120_000);
});

// Runs whenever MONGODB_URI is set (CI), on a FerretDB of its own; RELIABILITY_MONGO_OUTAGE=0 skips it.
const runMongoOutage = Boolean(process.env.MONGODB_URI) && process.env.RELIABILITY_MONGO_OUTAGE !== '0';
const mongoDescribe = runMongoOutage ? describe : describe.skip;
if (!runMongoOutage) {
  report('MongoDB outage test skipped: it needs MONGODB_URI (and FerretDB built with .ci/ferretdb.sh build)');
}

interface Load {
  during: Reply[];
  setDown(down: boolean): void;
  stop(): Promise<void>;
}

/** Four writers creating Patients until stopped; the replies to those sent while `down` is set are kept. */
function writeUnderLoad(url: string, acks: Ack[]): Load {
  let stopped = false;
  let down = false;
  let n = 0;
  const during: Reply[] = [];
  const writer = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      const sentWhileDown = down;
      try {
        const res = await create(url, `load-${++n}`, acks, 20000);
        if ((sentWhileDown || down) && res.status !== 201) during.push(res);
      } catch (err) {
        // No answer in time, or none at all: kept with what happened, which fails the test and is reported.
        during.push({ status: 0, headers: new Headers(), body: `${String(err)}: ${String((err as Error).cause ?? '')}`, ms: Date.now() - started });
      }
    }
  };
  const writers = Array.from({ length: 4 }, writer);
  return {
    during,
    setDown: (value) => {
      down = value;
    },
    stop: async () => {
      stopped = true;
      await Promise.all(writers);
    },
  };
}

/** Waits until `count` creates are acknowledged; fails, with what the writes got, if they are not within a minute. */
async function acknowledged(acks: Ack[], count: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (acks.length < count) {
    if (Date.now() > deadline) throw new Error(`only ${acks.length} of ${count} creates acknowledged within 60 s, before any fault`);
    await sleep(50);
  }
}

/** Milliseconds until a create succeeds and /readyz is 200 again, or -1 after 15 s. */
async function recovery(url: string, acks: Ack[]): Promise<number> {
  const back = Date.now();
  while (Date.now() - back < 15000) {
    const res = await create(url, `recovery-${Date.now()}`, acks, 15000).catch(() => undefined);
    if (res?.status === 201 && (await call(`${url}/readyz`)).status === 200) return Date.now() - back;
    await sleep(100);
  }
  return -1;
}

function describeFailures(during: Reply[]): string {
  const slowest = Math.max(...during.map((r) => r.ms));
  const unanswered = during.filter((r) => r.status === 0).map((r) => `no answer after ${r.ms} ms (${r.body})`);
  return `${during.length} (statuses ${[...new Set(during.map((r) => r.status))].join(',')}, slowest ${slowest} ms)${unanswered.length ? `; ${unanswered.join('; ')}` : ''}`;
}

mongoDescribe('MongoDB: the database stops under load and comes back', () => {
  const ferretDir = tempDir('sp-outage-ferret-');
  let port: number;
  let deployment: Deployment | undefined;
  let server: ServerProcess | undefined;
  let proxy: SilentProxy | undefined;
  let running: Load | undefined;
  beforeAll(async () => {
    port = await freePort();
    await ferretdb('start', String(port), ferretDir);
  }, 120_000);
  afterEach(async () => {
    // Stopped here too, so a test that failed part-way leaves no writers behind.
    await running?.stop();
    running = undefined;
    if (server) await kill(server);
    server = undefined;
    // Running again for the cleanup, whatever the test left it in.
    await ferretdb('start', String(port), ferretDir).catch(() => undefined);
    proxy?.resume();
    await deployment?.cleanup();
    await proxy?.close();
    proxy = undefined;
  }, 60_000);
  /** A server on a database of its own at `uri`, with writers running once 50 of their creates are acknowledged. */
  async function underLoad(uri: string): Promise<{ url: string; acks: Ack[]; load: Load }> {
    deployment = mongoDeployment(uri);
    server = await startProcess(deployment);
    const acks: Ack[] = [];
    running = writeUnderLoad(server.url, acks);
    await acknowledged(acks, 50);
    return { url: server.url, acks, load: running };
  }
  /** A server on a database of its own behind a silent proxy (options: the connection string's query), once a first create is stored. */
  async function behindProxy(options: string): Promise<string> {
    proxy = await silentProxy(port);
    deployment = mongoDeployment(`mongodb://127.0.0.1:${proxy.port}/?${options}`);
    server = await startProcess(deployment);
    expect((await create(server.url, 'before', [])).status).toBe(201);
    return server.url;
  }
  afterAll(async () => {
    await ferretdb('stop', ferretDir).catch(() => undefined);
    fs.rmSync(ferretDir, { recursive: true, force: true });
  }, 60_000);

  // Timeouts that make the longest a driver call may take (deadline.ts) 2 + 1 + 1 + 2 = 6 s: a request the driver leaves
  // waiting when the database closes its connection under it is answered within the 8 s this test allows.
  const QUICK_TIMEOUTS = 'socketTimeoutMS=2000&connectTimeoutMS=1000&waitQueueTimeoutMS=1000';

  test('503 with Retry-After quickly while it is down, /readyz fails, recovery within 5 s of its return, nothing lost', async () => {
    // A request whose operation the stopping database never answers fails within the 6 s call deadline, not never.
    const { url, acks, load } = await underLoad(`mongodb://127.0.0.1:${port}/?${QUICK_TIMEOUTS}`);

    load.setDown(true);
    await ferretdb('stop', ferretDir);
    const acknowledgedBefore = acks.length;
    await sleep(3000);
    const ready = await call(`${url}/readyz`, { timeoutMs: 15000 });
    const read = await call(`${url}/fhir/Patient/${acks[0].id}`, { timeoutMs: 15000 });

    await ferretdb('start', String(port), ferretDir);
    load.setDown(false);
    const recoveredMs = await recovery(url, acks);
    await load.stop();

    const lost = await expectAllReadable(url, acks);
    report(
      `[mongodb outage] acknowledged before the outage: ${acknowledgedBefore}, answered while down: ${describeFailures(load.during)}, ` +
        `/readyz while down: ${ready.status} in ${ready.ms} ms, recovered ${recoveredMs} ms after the database came back, ` +
        `acknowledged writes checked: ${acks.length}, lost: ${lost}`
    );
    expect(load.during.length).toBeGreaterThan(0);
    for (const res of load.during) expectCleanFailure(res, 8000);
    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(8000);
    expectCleanFailure(read, 8000);
    expect(recoveredMs).toBeGreaterThanOrEqual(0);
    expect(recoveredMs).toBeLessThan(5000);
    expect(lost).toBe(0);
  }, 180_000);

  // A database that holds its connections open but stops answering (a partition without resets, a hung
  // server) gives the driver no error to act on: without a socket timeout every request that reached it
  // waited for ever. The server's default socket timeout (10 s) applies here, as in a deployment.
  test('the database stops answering: every request is answered 503 within the socket timeout, none hangs; recovery when it answers again, nothing lost', async () => {
    proxy = await silentProxy(port);
    const { url, acks, load } = await underLoad(`mongodb://127.0.0.1:${proxy.port}/`);

    load.setDown(true);
    proxy.silence();
    const acknowledgedBefore = acks.length;
    await sleep(12000);
    const read = await call(`${url}/fhir/Patient/${acks[0].id}`, { timeoutMs: 20000 });

    proxy.resume();
    load.setDown(false);
    const recoveredMs = await recovery(url, acks);
    await load.stop();

    const lost = await expectAllReadable(url, acks);
    report(
      `[mongodb silent] acknowledged before: ${acknowledgedBefore}, answered while silent: ${describeFailures(load.during)}, ` +
        `read while silent: ${read.status} in ${read.ms} ms, recovered ${recoveredMs} ms after it answered again, ` +
        `acknowledged writes checked: ${acks.length}, lost: ${lost}`
    );
    expect(load.during.length).toBeGreaterThan(0);
    // 10 s of socket timeout, then 2 s of server selection for a retried write, and a margin for a busy machine.
    for (const res of load.during) expectCleanFailure(res, 16000);
    expectCleanFailure(read, 16000);
    expect(recoveredMs).toBeGreaterThanOrEqual(0);
    expect(recoveredMs).toBeLessThan(15000);
    expect(lost).toBe(0);
  }, 180_000);

  // Every connection of the pool held by an operation the silent database never answers: a request that
  // waits for one is refused 503 once the connection wait (waitQueueTimeoutMS) is over, not answered 500.
  test('the pool has no free connection in time: 503 with Retry-After, not 500', async () => {
    const url = await behindProxy('maxPoolSize=1&waitQueueTimeoutMS=1000&socketTimeoutMS=8000');
    proxy?.silence();
    const holder = create(url, 'pool-holder', [], 20000);
    await sleep(200);
    const waiter = await create(url, 'pool-waiter', [], 20000);
    report(`[mongodb pool] a request waiting for the pool's one connection: ${waiter.status} in ${waiter.ms} ms (${waiter.body?.issue?.[0]?.diagnostics})`);
    expectCleanFailure(waiter, 4000);
    proxy?.resume();
    expectCleanFailure(await holder, 16000);
  }, 120_000);

  // No socket timeout and a monitor that looks only once a minute: nothing in the driver ends the wait for a
  // reply the silent database never sends. The call deadline (2 s + 1 s + 1 s + 0 here) does.
  test('a call no driver timeout ends is answered 503 at the call deadline', async () => {
    const url = await behindProxy('socketTimeoutMS=0&connectTimeoutMS=1000&waitQueueTimeoutMS=1000&heartbeatFrequencyMS=60000');
    proxy?.silence();
    const res = await create(url, 'deadline-during', [], 20000);
    report(`[mongodb deadline] a create while the database is silent: ${res.status} in ${res.ms} ms`);
    expectCleanFailure(res, 8000);
    expect(res.ms).toBeGreaterThanOrEqual(3500);
  }, 120_000);
});
