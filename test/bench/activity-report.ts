// How long $activity-report takes over a year of journeys (journeys.ts), on
// the embedded store or, with MONGODB_URI set, on a fresh MongoDB database:
// N referrals (default 2,000; --referrals N) written straight to the store,
// then the report asked for over HTTP (--runs, default 3) and timed. With
// --keep, MONGODB_URI's own database is used and kept, and loaded only if it
// does not hold the journeys yet: loading one version per commit into a
// MongoDB without transactions is slow, and the report can then be timed
// again, on another build, over the same data.
//   npm run bench:report -- --referrals 10000
//   MONGODB_URI=mongodb://127.0.0.1:27017/sp_report npm run bench:report -- --keep
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fs from 'node:fs';
import { createApp } from '../../src/app';
import { defaultScopes } from '../../src/auth/roles';
import { loadConfig } from '../../src/config';
import { EmbeddedStore } from '../../src/store/embedded/store';
import { MongoStore } from '../../src/store/mongo/store';
import { loadHistory } from '../support/history';
import { BASE_URL, KEY_DIR, tokenFor } from '../support/server';
import { tempDir, uniqueDatabaseUri } from '../support/stores';
import { median, numberOption } from './args';
import { PERIOD, population } from './journeys';
import { describeMachine, machine } from './machine';

async function main(): Promise<void> {
  const referrals = numberOption('referrals', 2_000);
  const runs = numberOption('runs', 3);
  const uri = process.env.MONGODB_URI;
  const dir = uri ? undefined : tempDir('sp-bench-report-');
  const keep = process.argv.includes('--keep');
  const mongo = uri ? new MongoStore(keep ? uri : uniqueDatabaseUri(uri)) : undefined;
  const store = mongo ?? new EmbeddedStore(dir as string);
  const app = await createApp(loadConfig({ LOG_LEVEL: 'silent', BASE_URL, DATA_DIR: KEY_DIR, RATE_LIMIT: '0' }), store);
  const http = await new Promise<Server>((resolve) => {
    const s = app.express.listen(0, '127.0.0.1', () => resolve(s));
  });
  try {
    const versions = population(referrals);
    // The last version of the population is there only once all of it is.
    const last = versions[versions.length - 1].resource;
    if (keep && (await store.readCurrent(last.resourceType, last.id as string))) {
      process.stdout.write(`the ${referrals} referrals are already loaded\n`);
    } else {
      const loadStarted = Date.now();
      await loadHistory(store, versions);
      process.stdout.write(`loaded ${referrals} referrals (${versions.length} versions) in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s\n`);
    }
    const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
    const token = await tokenFor({ sub: 'bench-commissioner', sp_role: 'commissioner', scope: defaultScopes('commissioner'), expiresIn: 3600 });
    const times: number[] = [];
    for (let run = 0; run < runs; run++) {
      const started = Date.now();
      const res = await fetch(`${url}/fhir/$activity-report?periodStart=${PERIOD.start}&periodEnd=${PERIOD.end}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' },
      });
      const body = (await res.json()) as { group?: { population?: { count?: number }[] }[] };
      times.push(Date.now() - started);
      if (res.status !== 200) throw new Error(`$activity-report answered ${res.status}: ${JSON.stringify(body)}`);
      if (run === 0) process.stdout.write(`report: ${body.group?.[0]?.population?.[0]?.count} referrals in the period\n`);
    }
    process.stdout.write(
      `$activity-report on the ${mongo ? 'MongoDB' : 'embedded'} store, ${referrals} referrals, ${describeMachine(machine())}:\n` +
        `  median ${median(times)} ms (${times.join(', ')})\n`
    );
  } finally {
    await new Promise<void>((resolve) => http.close(() => resolve()));
    if (!keep) await mongo?.dropDatabase().catch(() => undefined);
    await app.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
