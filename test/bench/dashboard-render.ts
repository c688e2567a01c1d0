// How long the commissioner dashboard takes to show a year of activity:
// N referral journeys (default 10,000; --referrals N) with dated Task
// histories, onward referrals and ONS4 outcomes, written straight to an
// embedded store, then the dashboard opened in Debian's Chromium, the report
// asked for, and the time from "Show the report" to every chart drawn taken
// (--runs, default 3). The $activity-report request alone is timed too, so
// the server's share and the page's share can be told apart.
//   npm run bench:dashboard -- --referrals 10000
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { createApp } from '../../src/app';
import { defaultScopes } from '../../src/auth/roles';
import { loadConfig } from '../../src/config';
import { EmbeddedStore } from '../../src/store/embedded/store';
import { launchChromium } from '../support/browser';
import { loadHistory } from '../support/history';
import { BASE_URL, KEY_DIR, tokenFor } from '../support/server';
import { tempDir } from '../support/stores';
import { median, numberOption } from './args';
import { PERIOD, population } from './journeys';

async function main(): Promise<void> {
  const referrals = numberOption('referrals', 10_000);
  const runs = numberOption('runs', 3);
  const dir = tempDir('sp-bench-dashboard-');
  const store = new EmbeddedStore(dir);
  const app = await createApp(loadConfig({ LOG_LEVEL: 'silent', BASE_URL, DATA_DIR: KEY_DIR, RATE_LIMIT: '0' }), store);
  const loadStarted = Date.now();
  const versions = population(referrals);
  await loadHistory(store, versions);
  process.stdout.write(`loaded ${referrals} referrals (${versions.length} versions) in ${((Date.now() - loadStarted) / 1000).toFixed(1)} s\n`);
  const http = await new Promise<Server>((resolve) => {
    const s = app.express.listen(0, '127.0.0.1', () => resolve(s));
  });
  const url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  const token = await tokenFor({ sub: 'bench-commissioner', sp_role: 'commissioner', scope: defaultScopes('commissioner'), expiresIn: 3600 });
  const browser = await launchChromium();
  const report: number[] = [];
  const page: number[] = [];
  const draw: number[] = [];
  try {
    for (let run = 0; run < runs; run++) {
      const t0 = Date.now();
      const res = await fetch(`${url}/fhir/$activity-report?periodStart=${PERIOD.start}&periodEnd=${PERIOD.end}`, {
        headers: { Authorization: `Bearer ${token}`, Accept: 'application/fhir+json' },
      });
      const body = (await res.json()) as { group?: { code?: { text?: string }; population?: { count?: number }[] }[] };
      report.push(Date.now() - t0);
      if (run === 0) process.stdout.write(`report: ${body.group?.[0]?.population?.[0]?.count} referrals in the period\n`);
      const tab = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await tab.goto(`${url}/dashboard/`);
      await tab.fill('#token', token);
      await tab.fill('#period-start', PERIOD.start);
      await tab.fill('#period-end', PERIOD.end);
      await tab.click('#show');
      await tab.waitForSelector('body[data-state="ready"]', { timeout: 600_000 });
      page.push(Number(await tab.getAttribute('body', 'data-render-ms')));
      draw.push(Number(await tab.getAttribute('body', 'data-draw-ms')));
      await tab.close();
    }
  } finally {
    await browser.close();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    await app.close();
  }
  process.stdout.write(
    `dashboard, ${referrals} referrals, ${runs} runs on ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? 'unknown'}), load average ${os.loadavg()[0].toFixed(1)}:\n` +
      `  $activity-report alone: median ${median(report)} ms (${report.join(', ')})\n` +
      `  "Show the report" to every chart drawn (report + page): median ${median(page)} ms (${page.join(', ')})\n` +
      `  drawing the charts and tables alone: median ${median(draw)} ms (${draw.join(', ')})\n`
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
