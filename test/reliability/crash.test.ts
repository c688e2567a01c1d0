// Crash durability: a driver streams creates, updates and transaction Bundles
// at a server process and records every acknowledged write (id, versionId and
// the marker it carried). It SIGKILLs the server at random moments, at least
// twenty times, restarting it each time. Afterwards every acknowledged version
// is readable (read and vread, with its content), and no transaction Bundle is
// partly visible: all of its entries exist or none do.
// On MongoDB without transactions (FerretDB) transaction Bundles are refused
// with 501; those are counted separately, and must have left nothing behind.
import { randomUUID } from 'node:crypto';
import type { ServerProcess } from '../support/process';
import { call, countMarked, deployments, jsonInit, kill, markedOrganization, markedPatient, report, startProcess, sleep, type Deployment } from './harness';

const KILLS = Number(process.env.RELIABILITY_KILLS ?? 20);
const WRITERS = 6;

interface Ack {
  type: string;
  id: string;
  versionId: string;
  marker: string;
}

interface Transaction {
  marker: string;
  acknowledged: boolean;
}

class Driver {
  readonly acks: Ack[] = [];
  readonly transactions: Transaction[] = [];
  /** Latest known version per Patient this driver owns (id → versionId). */
  private readonly owned = new Map<string, string>();
  refused501 = 0;
  failedRequests = 0;
  private seq = 0;

  constructor(
    private readonly run: string,
    private readonly sendTransactions: boolean
  ) {}

  private marker(kind: string): string {
    return `${this.run}-${kind}${++this.seq}`;
  }

  /** Writes until the server is gone (a request fails at the network level). */
  async write(url: string, writer: number): Promise<void> {
    for (;;) {
      const roll = Math.random();
      try {
        if (roll < 0.4 || this.owned.size === 0) await this.create(url);
        else if (roll < 0.75 || !this.sendTransactions) await this.update(url, writer);
        else await this.transaction(url);
      } catch {
        this.failedRequests++;
        return;
      }
    }
  }

  private async create(url: string): Promise<void> {
    const marker = this.marker('c');
    const res = await call(`${url}/fhir/Patient`, jsonInit('POST', markedPatient(marker)));
    if (res.status !== 201) throw new Error(`create answered ${res.status}`);
    this.acks.push({ type: 'Patient', id: res.body.id, versionId: res.body.meta.versionId, marker });
    this.owned.set(res.body.id, res.body.meta.versionId);
  }

  private async update(url: string, writer: number): Promise<void> {
    const ids = [...this.owned.keys()];
    const id = ids[((Math.random() * ids.length + writer) % ids.length) | 0];
    const base = this.owned.get(id) as string;
    this.owned.delete(id); // no other writer takes it while this update is in flight
    const marker = this.marker('u');
    const res = await call(`${url}/fhir/Patient/${id}`, jsonInit('PUT', markedPatient(marker, id), { 'if-match': `W/"${base}"` }));
    if (res.status === 200) {
      this.acks.push({ type: 'Patient', id, versionId: res.body.meta.versionId, marker });
      this.owned.set(id, res.body.meta.versionId);
    } else if (res.status === 412) {
      // An update that was made durable but not acknowledged before a kill moved the version on: start from the current one.
      const current = await call(`${url}/fhir/Patient/${id}`);
      if (current.status !== 200) throw new Error(`read after 412 answered ${current.status}`);
      this.owned.set(id, current.body.meta.versionId);
    } else {
      throw new Error(`update answered ${res.status}`);
    }
  }

  private async transaction(url: string): Promise<void> {
    const marker = this.marker('t');
    const tx: Transaction = { marker, acknowledged: false };
    this.transactions.push(tx);
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { fullUrl: `urn:uuid:${randomUUID()}`, resource: markedPatient(marker), request: { method: 'POST', url: 'Patient' } },
        { fullUrl: `urn:uuid:${randomUUID()}`, resource: markedPatient(marker), request: { method: 'POST', url: 'Patient' } },
        { fullUrl: `urn:uuid:${randomUUID()}`, resource: markedOrganization(marker), request: { method: 'POST', url: 'Organization' } },
        { resource: markedPatient(marker, `tx-${marker}`), request: { method: 'PUT', url: `Patient/tx-${marker}` } },
      ],
    };
    const res = await call(`${url}/fhir`, jsonInit('POST', bundle));
    if (res.status === 501) {
      this.refused501++;
      return;
    }
    if (res.status !== 200) throw new Error(`transaction answered ${res.status}`);
    tx.acknowledged = true;
    for (const entry of res.body.entry as { response: { location: string } }[]) {
      const [type, id, , versionId] = entry.response.location.split('/');
      this.acks.push({ type, id, versionId, marker });
    }
  }
}

describe.each(deployments())('crash durability under SIGKILL [%s]', (_name, make) => {
  let deployment: Deployment;
  let server: ServerProcess | undefined;
  beforeAll(() => {
    deployment = make();
  });
  afterAll(async () => {
    if (server) await kill(server);
    await deployment.cleanup();
  });

  test(`${KILLS} kills at random moments lose no acknowledged write and leave no transaction half-applied`, async () => {
    const started = Date.now();
    server = await startProcess(deployment);
    const supportsTransactions = deployment.name === 'embedded' || (await probeTransactions(server.url));
    const driver = new Driver(randomUUID().slice(0, 8), true);
    let kills = 0;
    for (; kills < KILLS; kills++) {
      const url = server.url;
      const writers = Array.from({ length: WRITERS }, (_, w) => driver.write(url, w));
      // A random moment: anywhere from just after start to well into the stream.
      // (FerretDB answers writes far more slowly than the embedded store: give it a longer window.)
      await sleep(deployment.name === 'embedded' ? 150 + Math.random() * 1200 : 500 + Math.random() * 3000);
      server.child.kill('SIGKILL');
      await server.exited;
      await Promise.all(writers);
      server = await startProcess(deployment);
    }

    // Every acknowledged version: read (current is at least that version) and vread (that content).
    const latest = new Map<string, number>();
    for (const ack of driver.acks) {
      const key = `${ack.type}/${ack.id}`;
      latest.set(key, Math.max(latest.get(key) ?? 0, Number(ack.versionId)));
    }
    let lost = 0;
    for (const ack of driver.acks) {
      const res = await call(`${server.url}/fhir/${ack.type}/${ack.id}/_history/${ack.versionId}`);
      const content = ack.type === 'Organization' ? res.body?.name : res.body?.name?.[0]?.family;
      if (res.status !== 200 || content !== ack.marker) lost++;
    }
    let unreadable = 0;
    for (const [key, versionId] of latest) {
      const res = await call(`${server.url}/fhir/${key}`);
      if (res.status !== 200 || Number(res.body.meta.versionId) < versionId) unreadable++;
    }
    // Every transaction sent, acknowledged or not: all four entries or none (three Patients, one Organization).
    let partial = 0;
    let applied = 0;
    for (const tx of driver.transactions) {
      const patients = await countMarked(server.url, 'Patient', tx.marker);
      const organizations = await countMarked(server.url, 'Organization', tx.marker);
      const all = patients === 3 && organizations === 1;
      const none = patients === 0 && organizations === 0;
      if (all) applied++;
      if ((!all && !none) || (tx.acknowledged && !all) || (!supportsTransactions && !none)) partial++;
    }
    const acknowledgedTx = driver.transactions.filter((t) => t.acknowledged).length;
    report(
      `[${deployment.name}] kills survived: ${kills}; acknowledged writes checked: ${driver.acks.length} (read of ${latest.size} resources, vread of every version); ` +
        `lost writes: ${lost}; unreadable current versions: ${unreadable}; transactions sent: ${driver.transactions.length}, acknowledged: ${acknowledgedTx}, ` +
        `visible whole: ${applied}, partial: ${partial}; refused with 501 (no transactions on this deployment): ${driver.refused501}; ` +
        `in ${Math.round((Date.now() - started) / 1000)} s`
    );
    expect(kills).toBeGreaterThanOrEqual(20);
    expect(driver.acks.length).toBeGreaterThan(KILLS * (deployment.name === 'embedded' ? 10 : 3));
    expect(lost).toBe(0);
    expect(unreadable).toBe(0);
    expect(partial).toBe(0);
    if (supportsTransactions) expect(acknowledgedTx).toBeGreaterThan(0);
    else expect(driver.refused501).toBeGreaterThan(0);
  }, 600_000);
});

/** Whether the deployment takes transaction Bundles (FerretDB does not: 501). */
async function probeTransactions(url: string): Promise<boolean> {
  const marker = `probe-${randomUUID()}`;
  const res = await call(
    `${url}/fhir`,
    jsonInit('POST', {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        { resource: markedOrganization(marker), request: { method: 'POST', url: 'Organization' } },
        { resource: markedOrganization(marker), request: { method: 'POST', url: 'Organization' } },
      ],
    })
  );
  if (res.status !== 200 && res.status !== 501) throw new Error(`transaction probe answered ${res.status}: ${JSON.stringify(res.body)}`);
  return res.status === 200;
}
