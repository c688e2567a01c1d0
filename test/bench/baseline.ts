// The physical limit underneath: the same kind of documents written and read
// straight through the storage adapter, with no HTTP, validation or indexing,
// at the same concurrency as the server scenarios.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { EmbeddedStore } from '../../src/store/embedded/store';
import { MongoStore } from '../../src/store/mongo/store';
import type { StoragePort, StoredVersion } from '../../src/store/port';

export interface BaselineResult {
  name: string;
  throughput: number;
  p50: number;
  p99: number;
}

function version(resourceType: string): StoredVersion {
  const id = randomUUID();
  const lastUpdated = new Date().toISOString();
  const resource = { resourceType, id, meta: { versionId: '1', lastUpdated }, status: 'active', intent: 'order', subject: { reference: 'Patient/x' } } as never;
  return { resourceType, id, versionId: '1', lastUpdated, deleted: false, resource, idx: {}, sort: {} };
}

async function measure(name: string, connections: number, seconds: number, op: () => Promise<void>): Promise<BaselineResult> {
  const latencies: number[] = [];
  const end = Date.now() + seconds * 1000;
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (Date.now() < end) {
        const t = performance.now();
        await op();
        latencies.push(performance.now() - t);
      }
    })
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) => Number(latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))].toFixed(2));
  return { name, throughput: Math.round(latencies.length / seconds), p50: at(50), p99: at(99) };
}

export async function baseline(mongoUri: string | undefined, options: { connections: number; duration: number }): Promise<BaselineResult[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-baseline-'));
  let store: StoragePort;
  if (mongoUri) {
    const url = new URL(mongoUri);
    url.pathname = `/sp_baseline_${Date.now()}`;
    store = new MongoStore(url.toString());
  } else store = new EmbeddedStore(dir);
  await store.start(['ServiceRequest', 'Patient', 'Task', 'Consent']);
  const ids: string[] = [];
  try {
    const results = [
      await measure('write one version', options.connections, options.duration, async () => {
        const v = version('ServiceRequest');
        await store.commit([{ version: v, expectedVersionId: undefined }]);
        ids.push(v.id);
      }),
    ];
    results.push(
      await measure(
        'read current version',
        options.connections,
        options.duration,
        async () => void (await store.readCurrent('ServiceRequest', ids[Math.floor(Math.random() * ids.length)]))
      )
    );
    if (store.supportsTransactions) {
      results.push(
        await measure('commit 4 versions', options.connections, options.duration, async () => {
          await store.commit(['Patient', 'Consent', 'ServiceRequest', 'Task'].map((t) => ({ version: version(t), expectedVersionId: undefined })));
        })
      );
      const last = results[results.length - 1];
      last.throughput *= 4; // resources per second, as the transaction scenario reports
    }
    return results;
  } finally {
    if (store instanceof MongoStore) await store.dropDatabase().catch(() => undefined);
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
