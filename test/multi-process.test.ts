// Two server processes on one MongoDB database, as DESIGN.md's "Scaling out"
// runs them: conditional creates, updates and deletes of one criteria through
// both make one resource at a time; a poller misses nothing under concurrent
// writers; a SearchParameter created through one is used by the other, the
// resources either writes meanwhile are all found once its reindex completes,
// and a killed process's jobs (reindex, bulk export, directory import) are
// finished by the other.
import type { Bundle, Resource } from '@medplum/fhirtypes';
import { MongoClient, MongoServerError } from 'mongodb';
import { randomUUID } from 'node:crypto';
import { getResourceTypeNames, loadBaseDefinitions } from '../src/base/definitions';
import { ORUK_LOCATION_ID, ORUK_ORGANIZATION_ID, ORUK_SERVICE_ID } from '../src/directory/map';
import { MongoStore } from '../src/store/mongo/store';
import { bulkClient, pathOf } from './support/bulk';
import { loadHistory } from './support/history';
import { kickOffImport } from './support/oruk';
import { freePort, spawnServer, waitUntilReady, type ServerProcess } from './support/process';
import { storeTargets, uniqueDatabaseUri } from './support/stores';
import { favouriteActivityParameter, patientWithActivity } from './support/favourite-activity';
import { Poller, repeated } from './support/poller';
import { TEST_SETTLE_MS } from './support/server';

const FHIR_JSON = 'application/fhir+json';

const mongo = storeTargets.find((t) => t.name === 'mongodb');

(mongo ? describe : describe.skip)('two server processes on one MongoDB [mongodb]', () => {
  const started: ServerProcess[] = [];
  afterAll(async () => {
    for (const server of started) {
      server.child.kill('SIGKILL');
      await server.exited;
    }
  });

  async function start(uri: string, env: Record<string, string> = {}): Promise<ServerProcess> {
    const server = spawnServer({ MONGODB_URI: uri, PORT: String(await freePort()), SEARCH_PARAMETER_REFRESH_SECONDS: '1', ...env });
    started.push(server);
    await waitUntilReady(server.url, 60000);
    return server;
  }

  const fhir = async (server: ServerProcess, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}/fhir${path}`, {
      method,
      headers: { 'content-type': FHIR_JSON },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as Record<string, any> }; // eslint-disable-line @typescript-eslint/no-explicit-any
  };
  const patient = (activity: string) => patientWithActivity(activity, 'Shared');
  const writePatients = async (server: ServerProcess, n: number, activity: string) => {
    for (let i = 0; i < n; i++) expect((await fhir(server, 'POST', '/Patient', patient(activity))).status).toBe(201);
  };
  const reindexStatus = async (server: ServerProcess, id: string) =>
    (await fhir(server, 'GET', `/SearchParameter/${id}/$reindex`)).body?.parameter?.find((p: { name: string }) => p.name === 'status')?.valueCode as
      string | undefined;
  async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  const count = async (server: ServerProcess, code: string, value: string) => {
    const res = await fhir(server, 'GET', `/Patient?${code}=${value}&_summary=count`);
    return res.status === 200 ? (res.body.total as number) : -res.status;
  };

  test('40 concurrent conditional creates of one identifier, 20 to each process, make exactly one resource (5 trials)', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const [a, b] = [await start(uri), await start(uri)];
    for (let trial = 1; trial <= 5; trial++) {
      const value = `mp-${trial}-${randomUUID().slice(0, 8)}`;
      const body = { resourceType: 'Patient', identifier: [{ system: 'urn:multi-process', value }], name: [{ family: 'Twin' }] };
      const post = (server: ServerProcess) =>
        fetch(`${server.url}/fhir/Patient`, {
          method: 'POST',
          headers: { 'content-type': FHIR_JSON, 'if-none-exist': `identifier=urn:multi-process|${value}` },
          body: JSON.stringify(body),
        });
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => post(i % 2 === 0 ? a : b)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 201)).toHaveLength(1);
      expect(statuses.every((s) => s === 200 || s === 201)).toBe(true);
      const ids = new Set(await Promise.all(answers.map(async (r) => ((await r.json()) as { id: string }).id)));
      expect(ids.size).toBe(1);
      for (const server of [a, b]) expect((await fhir(server, 'GET', `/Patient?identifier=urn:multi-process|${value}&_summary=count`)).body.total).toBe(1);
    }
  }, 180000);

  const conditional = (server: ServerProcess, method: 'PUT' | 'DELETE', value: string, given?: string) =>
    fetch(`${server.url}/fhir/Patient?identifier=urn:multi-process|${value}`, {
      method,
      headers: { 'content-type': FHIR_JSON },
      body:
        method === 'PUT'
          ? JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:multi-process', value }], name: [{ family: 'Twin', given: [given] }] })
          : undefined,
    });
  const matching = async (server: ServerProcess, value: string) =>
    ((await fhir(server, 'GET', `/Patient?identifier=urn:multi-process|${value}&_count=10`)).body.entry ?? []).map(
      (e: { resource: { id: string } }) => e.resource.id
    ) as string[];

  test('40 concurrent conditional updates of one criteria matching nothing, 20 to each process, make exactly one resource (5 trials)', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const [a, b] = [await start(uri), await start(uri)];
    for (let trial = 1; trial <= 5; trial++) {
      const value = `cu-${trial}-${randomUUID().slice(0, 8)}`;
      const answers = await Promise.all(
        Array.from({ length: 40 }, async (_, i) => {
          const res = await conditional(i % 2 === 0 ? a : b, 'PUT', value, `${i}`);
          return { status: res.status, body: (await res.json()) as { id: string; issue?: Array<{ diagnostics?: string }> } };
        })
      );
      // One created it; every other one updated that resource, none was refused.
      expect(answers.filter((r) => r.status !== 200 && r.status !== 201).map((r) => `${r.status} ${r.body.issue?.[0]?.diagnostics}`)).toEqual([]);
      expect(answers.filter((r) => r.status === 201)).toHaveLength(1);
      const ids = new Set(answers.map((r) => r.body.id));
      expect(ids.size).toBe(1);
      for (const server of [a, b]) expect(await matching(server, value)).toEqual([...ids]);
      // Every answer is a version of its own: nothing was lost to a race.
      const history = (await fhir(a, 'GET', `/Patient/${[...ids][0]}/_history?_count=100`)).body;
      expect(history.entry).toHaveLength(40);
    }
  }, 240000);

  test('conditional deletes racing conditional updates and creates of one criteria, 20 to each process, never leave two matches or lose an answered write (5 trials)', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const [a, b] = [await start(uri), await start(uri)];
    for (let trial = 1; trial <= 5; trial++) {
      const value = `cd-${trial}-${randomUUID().slice(0, 8)}`;
      const create = (server: ServerProcess, i: number) =>
        fetch(`${server.url}/fhir/Patient`, {
          method: 'POST',
          headers: { 'content-type': FHIR_JSON, 'if-none-exist': `identifier=urn:multi-process|${value}` },
          body: JSON.stringify({ resourceType: 'Patient', identifier: [{ system: 'urn:multi-process', value }], name: [{ family: 'Twin', given: [`c${i}`] }] }),
        });
      const request = (i: number) => {
        const server = i % 2 === 0 ? a : b;
        const kind = Math.floor(i / 2) % 3;
        return kind === 0 ? conditional(server, 'PUT', value, `u${i}`) : kind === 1 ? conditional(server, 'DELETE', value) : create(server, i);
      };
      const answers = await Promise.all(Array.from({ length: 40 }, (_, i) => request(i)));
      expect(answers.map((r) => r.status).filter((s) => ![200, 201, 204].includes(s))).toEqual([]);
      // Never two resources matching at once: at most one is left, and a conditional update then finds it (or makes the one).
      expect((await matching(a, value)).length).toBeLessThanOrEqual(1);
      expect([200, 201]).toContain((await conditional(b, 'PUT', value, 'last')).status);
      expect(await matching(a, value)).toHaveLength(1);
      // Every write answered with a version is in that resource's history, as answered.
      for (const answer of answers) {
        const body = (await answer.json().catch(() => undefined)) as { resourceType?: string; id?: string; meta?: { versionId: string } } | undefined;
        if (body?.resourceType !== 'Patient') continue;
        expect((await fhir(b, 'GET', `/Patient/${body.id}/_history/${body.meta?.versionId}`)).status).not.toBe(404);
      }
    }
  }, 300000);

  test('a poller alternating between the processes misses nothing and sees nothing twice while both take concurrent writes', async () => {
    const settleMs = TEST_SETTLE_MS;
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const env = { WRITE_SETTLE_MS: String(settleMs) };
    const [a, b] = [await start(uri, env), await start(uri, env)];
    let polls = 0;
    const fetchBundle = async (path: string) => (await fhir(polls++ % 2 === 0 ? a : b, 'GET', path)).body as Bundle;
    const search = new Poller('Patient', fetchBundle);
    const history = new Poller('Patient', fetchBundle);
    history.newest = new Date().toISOString();
    const written: string[] = [];
    const writer = async (server: ServerProcess, w: number) => {
      for (let i = 0; i < 10; i++) {
        const created = await fhir(server, 'POST', '/Patient', { resourceType: 'Patient', name: [{ family: `Writer${w}`, given: [`${i}`] }] });
        expect(created.status).toBe(201);
        const updated = await fhir(server, 'PUT', `/Patient/${created.body.id}`, { ...created.body, active: true });
        expect(updated.status).toBe(200);
        written.push(`${created.body.id}/1`, `${created.body.id}/2`);
      }
    };
    let done = false;
    const writing = Promise.all([0, 1, 2, 3, 4, 5].map((w) => writer(w % 2 === 0 ? a : b, w))).finally(() => (done = true));
    while (!done) {
      await search.pollSearch();
      await history.pollHistory();
    }
    await writing;
    await new Promise((r) => setTimeout(r, settleMs + 200));
    await search.pollSearch();
    await history.pollHistory();
    expect(repeated(search.answered)).toEqual([]);
    expect(written.filter((k) => k.endsWith('/2') && !search.answered.includes(k))).toEqual([]);
    expect(repeated(history.answered)).toEqual([]);
    expect(written.filter((k) => !history.answered.includes(k))).toEqual([]);
  }, 180000);

  test('concurrent If-Match updates through both processes lose nothing: each success is one version', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const [a, b] = [await start(uri), await start(uri)];
    const created = (await fhir(a, 'POST', '/Patient', { resourceType: 'Patient', name: [{ family: 'Contended' }] })).body;
    let successes = 0;
    const client = async (server: ServerProcess, n: number) => {
      for (let i = 0; i < n; i++) {
        const current = (await fhir(server, 'GET', `/Patient/${created.id}`)).body;
        const res = await fetch(`${server.url}/fhir/Patient/${created.id}`, {
          method: 'PUT',
          headers: { 'content-type': FHIR_JSON, 'if-match': `W/"${current.meta.versionId}"` },
          body: JSON.stringify({ ...current, name: [{ family: 'Contended', given: [`${n}-${i}`] }] }),
        });
        expect([200, 409, 412]).toContain(res.status);
        if (res.status === 200) successes++;
      }
    };
    await Promise.all([client(a, 15), client(b, 15), client(a, 15), client(b, 15)]);
    const history = (await fhir(b, 'GET', `/Patient/${created.id}/_history?_count=1000`)).body;
    expect(history.entry.length).toBe(successes + 1);
    const versions = history.entry
      .map((e: { resource: { meta: { versionId: string } } }) => Number(e.resource.meta.versionId))
      .sort((x: number, y: number) => x - y);
    expect(versions).toEqual(Array.from({ length: successes + 1 }, (_, i) => i + 1));
  }, 180000);

  test('a SearchParameter created on one process is searchable on the other, finding what both wrote meanwhile', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const [a, b] = [await start(uri), await start(uri)];
    await writePatients(a, 10, 'gardening');
    const code = `shared-${randomUUID().slice(0, 8)}`;
    const created = await fhir(a, 'POST', '/SearchParameter', favouriteActivityParameter(code));
    expect(created.status).toBe(201);
    // Written at once, on both processes, while the other may not know the parameter yet.
    await Promise.all([writePatients(a, 10, 'gardening'), writePatients(b, 10, 'gardening')]);
    await until('the reindex to complete', async () => (await reindexStatus(a, created.body.id)) === 'completed');
    await until('the other process to find it searchable', async () => (await count(b, code, 'garden')) >= 0);
    // Written after it became searchable, on the process that did not create it.
    await writePatients(b, 5, 'gardening');
    expect(await count(a, code, 'garden')).toBe(35);
    expect(await count(b, code, 'garden')).toBe(35);
  }, 180000);

  test('a reindex job whose process is killed is finished by the other process', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const env = { REINDEX_BATCH: '10', REINDEX_LEASE_SECONDS: '3' };
    const [a, b] = [await start(uri, env), await start(uri, env)];
    await writePatients(b, 150, 'choir');
    const code = `takeover-${randomUUID().slice(0, 8)}`;
    const created = await fhir(a, 'POST', '/SearchParameter', favouriteActivityParameter(code));
    expect(created.status).toBe(201);
    const processed = async () =>
      (await fhir(b, 'GET', `/SearchParameter/${created.body.id}/$reindex`)).body?.parameter?.find((p: { name: string }) => p.name === 'processed')
        ?.valueInteger ?? 0;
    await until('the job to start on the first process', async () => (await processed()) > 0);
    a.child.kill('SIGKILL');
    await a.exited;
    expect(await reindexStatus(b, created.body.id)).not.toBe('completed');
    await until('the other process to finish the job', async () => (await reindexStatus(b, created.body.id)) === 'completed', 120000);
    await until('the parameter to be searchable there', async () => (await count(b, code, 'choir')) >= 0);
    expect(await count(b, code, 'choir')).toBe(150);
  }, 240000);

  test('an export job whose process is killed is finished by the other process, each resource in its files once', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const TASKS = 300;
    loadBaseDefinitions();
    const store = new MongoStore(uri);
    await store.start(getResourceTypeNames());
    await loadHistory(
      store,
      Array.from({ length: TASKS }, (_, i) => ({
        resource: { resourceType: 'Task', id: `task-${String(i).padStart(4, '0')}`, status: 'requested', intent: 'order' } as Resource,
        at: '2026-02-01T09:00:00Z',
      }))
    );
    await store.close();
    // Small pages and a short lease: the job takes many pages, and the other process need not wait long.
    const env = { EXPORT_PAGE_SIZE: '5', EXPORT_LEASE_SECONDS: '2', BASE_URL: 'http://fhir.test/fhir' };
    const [a, b] = [await start(uri, env), await start(uri, env)];
    const kickOff = await fetch(`${a.url}/fhir/$export?_type=Task`, { headers: { Prefer: 'respond-async' } });
    expect(kickOff.status).toBe(202);
    const statusPath = pathOf(kickOff.headers.get('content-location') as string);
    let progress = '';
    await until('the export to be part-way through on the first process', async () => {
      progress = (await fetch(`${b.url}${statusPath}`)).headers.get('x-progress') ?? '';
      return /^[1-9]\d* of/.test(progress);
    });
    a.child.kill('SIGKILL');
    await a.exited;
    expect(Number(progress.split(' of ')[0])).toBeLessThan(TASKS);
    const bulk = bulkClient(b.url);
    const manifest = await bulk.manifest(statusPath, undefined, 120000);
    expect(manifest.output).toEqual([expect.objectContaining({ type: 'Task', count: TASKS })]);
    const ids = ((await bulk.download(manifest)).get('Task')?.resources ?? []).map((r) => r.id as string);
    expect(ids).toHaveLength(TASKS);
    expect(new Set(ids).size).toBe(TASKS);
  }, 240000);

  // A kill between claiming the job record's next revision and saving it (job-records.ts) left the claim behind, and
  // every later save of the job, the other process's take-over included, was refused: the import never finished.
  // The test puts the kill there: the claim a process dying in its next lease renewal would leave.
  async function leaveOrphanedClaim(uri: string, kind: string): Promise<void> {
    const client = await MongoClient.connect(uri);
    try {
      const db = client.db();
      // The live process may claim the same revision first (it took the job over, or saved it): then the claim goes on
      // the next one. A claim that stays (the record never moves past it) is the killed process's own: the orphan wanted.
      for (let attempt = 0; attempt < 20; attempt++) {
        const job = await db.collection<{ _id: string; revision: number; data: string }>('jobs').findOne({ kind });
        if (!job) throw new Error(`no ${kind} job record`);
        const revision = job.revision + 1;
        const claimed = new Date(Date.now() - 60000);
        try {
          await db
            .collection<{ _id: string; job: string; revision: number; data: string; claimed: Date }>('job_revisions')
            .insertOne({ _id: `${job._id}/${revision}`, job: job._id, revision, data: job.data, claimed });
          return;
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === 11000)) throw err;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    } finally {
      await client.close();
    }
  }

  test('a directory import job whose process is killed, even mid-save, is finished by the other process, each service imported once', async () => {
    const uri = uniqueDatabaseUri(process.env.MONGODB_URI as string);
    const SERVICES = 120;
    const env = { DIRECTORY_IMPORT_BATCH: '5', DIRECTORY_IMPORT_LEASE_SECONDS: '2' };
    const [a, b] = [await start(uri, env), await start(uri, env)];
    const statusPath = await kickOffImport(a.url, SERVICES);
    let progress = '';
    await until('the import to be part-way through on the first process', async () => {
      progress = (await fetch(`${b.url}${statusPath}`)).headers.get('x-progress') ?? '';
      return /^[1-9]\d*\//.test(progress);
    });
    a.child.kill('SIGKILL');
    await a.exited;
    await leaveOrphanedClaim(uri, 'directory-import');
    expect(Number(progress.split('/')[0])).toBeLessThan(SERVICES);
    let done: Response | undefined;
    await until(
      'the other process to finish the import',
      async () => {
        done = await fetch(`${b.url}${statusPath}`);
        expect([200, 202]).toContain(done.status);
        return done.status === 200;
      },
      180000
    );
    const summary = (await (done as Response).json()) as { parameter: { name: string; valueInteger?: number }[] };
    const value = (name: string) => summary.parameter.find((p) => p.name === name)?.valueInteger;
    expect(value('total')).toBe(SERVICES);
    expect(value('rejected')).toBe(0);
    // The batch cut short is done again: what it had written counts as unchanged or updated, never twice.
    expect((value('created') ?? 0) + (value('updated') ?? 0) + (value('unchanged') ?? 0)).toBe(SERVICES);
    for (const [type, system] of [
      ['HealthcareService', ORUK_SERVICE_ID],
      ['Organization', ORUK_ORGANIZATION_ID],
      ['Location', ORUK_LOCATION_ID],
    ]) {
      expect((await fhir(b, 'GET', `/${type}?identifier=${encodeURIComponent(`${system}|`)}&_summary=count`)).body.total).toBe(SERVICES);
    }
  }, 300000);
});
