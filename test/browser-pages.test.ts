// The API explorer and the commissioner dashboard in a real browser (Debian's
// Chromium through playwright-core), against the real app over the seed data
// (npm run seed's dataset) on the embedded store: the pages sit above the
// store, and the seed's referrals need transactions. Screenshots go to
// test-artifacts/.
import type { MeasureReport, MeasureReportGroup } from '@medplum/fhirtypes';
import type { Browser, Page } from 'playwright-core';
import { defaultScopes } from '../src/auth/roles';
import { seed } from '../src/cli/seed';
import { axeViolations, launchChromium, pageProblems, screenshot } from './support/browser';
import { startServer, tokenFor, type TestServer } from './support/server';
import { storeTargets } from './support/stores';

const PERIOD = { start: '2026-01-01', end: '2026-12-31' };

/** What a table cell shows for a report value: the number, or "suppressed" where the report withholds it. */
const shown = (value: number | undefined | null): string => (typeof value === 'number' ? String(value) : 'suppressed');

const groupOf = (r: MeasureReport, code: string): MeasureReportGroup => r.group?.find((g) => g.code?.text === code) as MeasureReportGroup;
const groupCount = (r: MeasureReport, code: string) => groupOf(r, code).population?.[0]?.count;
const strata = (r: MeasureReport, group: string, code: string) =>
  (groupOf(r, group).stratifier?.find((s) => s.code?.[0]?.text === code)?.stratum ?? []).map((s) => ({
    key: s.value?.text ?? '',
    count: s.population?.[0]?.count,
  }));
const quartile = (g: MeasureReportGroup, name: string) =>
  g.extension?.find((e) => e.extension?.some((x) => x.url === 'quartile' && x.valueCode === name))?.extension?.find((x) => x.url === 'value')?.valueQuantity
    ?.value;
const decimal = (g: MeasureReportGroup, suffix: string) => g.extension?.find((e) => e.url.endsWith(suffix))?.valueDecimal;

/** The dashboard's tables: table id → row key → the row's value cells. */
async function tablesOf(page: Page): Promise<Record<string, Record<string, string[]>>> {
  // Runs in the page (a string, as this project compiles without the DOM's types).
  return page.evaluate(`(() => {
    const out = {};
    document.querySelectorAll('table').forEach((t) => {
      const rows = {};
      t.querySelectorAll('tbody tr[data-key]').forEach((tr) => {
        rows[tr.getAttribute('data-key')] = Array.from(tr.querySelectorAll('td')).map((td) => td.textContent.trim());
      });
      out[t.id] = rows;
    });
    return out;
  })()`);
}

describe('browser pages: API explorer and commissioner dashboard [embedded]', () => {
  let server: TestServer;
  let browser: Browser;
  let commissioner: string;

  beforeAll(async () => {
    server = await startServer(storeTargets[0]);
    const seeded = await seed(server.app.fhir);
    expect(seeded.referralsSkipped).toBeUndefined();
    commissioner = await tokenFor({ sub: 'commissioner-user', sp_role: 'commissioner', scope: defaultScopes('commissioner') });
    browser = await launchChromium();
  }, 180000);
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
  });

  async function openDashboard(token: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = pageProblems(page);
    await page.goto(`${server.url}/dashboard`);
    await page.fill('#token', token);
    await page.fill('#period-start', PERIOD.start);
    await page.fill('#period-end', PERIOD.end);
    await page.click('#show');
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 30000 });
    return { page, problems };
  }

  test('the explorer loads the description and performs a search with a pasted token', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const problems = pageProblems(page);
    // A deep link opens the Patient search operation once the description has loaded.
    await page.goto(`${server.url}/fhir/docs/#/Patient/search-type-Patient`);
    await page.waitForSelector('#swagger-ui[data-ready="true"]', { timeout: 60000 });
    await page.click('button.authorize');
    await page.fill('#auth-bearer-value', await tokenFor());
    await page.click('.auth-btn-wrapper button.authorize');
    await page.click('.auth-btn-wrapper button.btn-done');
    await page.click('#operations-Patient-search-type-Patient .try-out__btn');
    await page.click('#operations-Patient-search-type-Patient .execute');
    const status = await page.waitForSelector('#operations-Patient-search-type-Patient .live-responses-table tbody td.response-col_status', { timeout: 30000 });
    expect((await status.textContent())?.trim()).toMatch(/^200/);
    const body = await page.textContent('#operations-Patient-search-type-Patient .live-responses-table tbody td.response-col_description');
    expect(body).toContain('"searchset"');
    expect(body).toContain('seed-patient-1');
    await screenshot(page, 'explorer-patient-search');
    expect(problems).toEqual([]);
    await page.close();
  }, 120000);

  test('the dashboard draws every chart from the seed data, and its tables equal the activity report', async () => {
    const { page, problems } = await openDashboard(commissioner);
    expect(await page.getAttribute('body', 'data-state')).toBe('ready');
    // Every chart was drawn by Chart.js on its canvas.
    const drawn = await page.evaluate<{ id: string; chart: boolean; width: number }[]>(
      `Array.from(document.querySelectorAll('canvas')).map((c) => ({ id: c.id, chart: !!window.Chart.getChart(c), width: c.width }))`
    );
    expect(drawn.map((d) => d.id)).toEqual(['chart-source', 'chart-need', 'chart-funnel', 'chart-days', 'chart-outcomes', 'chart-services', 'chart-trend']);
    expect(drawn.every((d) => d.chart && d.width > 0)).toBe(true);

    const report = (
      await server.anonymous.get(`/fhir/$activity-report?periodStart=${PERIOD.start}&periodEnd=${PERIOD.end}`).set('Authorization', `Bearer ${commissioner}`)
    ).body as MeasureReport;
    expect(report.resourceType).toBe('MeasureReport');
    const tables = await tablesOf(page);
    const counts = (group: string, code: string) => Object.fromEntries(strata(report, group, code).map((s) => [s.key, [shown(s.count)]]));
    expect(tables['t-source']).toEqual(counts('referrals', 'source-of-referral'));
    expect(tables['t-need']).toEqual(counts('referrals', 'need'));
    expect(tables['t-funnel']).toEqual({
      Referred: [shown(groupCount(report, 'referrals'))],
      'First contact': [shown(groupCount(report, 'days-to-first-contact'))],
      'Plan agreed': [shown(groupCount(report, 'days-to-plan-agreed'))],
      Completed: [shown(groupCount(report, 'days-to-completion'))],
    });
    const days = (code: string) => {
      const g = groupOf(report, code);
      return [shown(g.population?.[0]?.count), shown(g.measureScore?.value), shown(quartile(g, 'q1')), shown(quartile(g, 'q3'))];
    };
    expect(tables['t-days']).toEqual({
      'First contact': days('days-to-first-contact'),
      'Plan agreed': days('days-to-plan-agreed'),
      Completed: days('days-to-completion'),
    });
    const ons4 = (item: string) => {
      const g = groupOf(report, `ons4-${item}`);
      return [shown(g.population?.[0]?.count), shown(decimal(g, 'ons4-mean-before')), shown(decimal(g, 'ons4-mean-after')), shown(g.measureScore?.value)];
    };
    expect(tables['t-outcomes']).toEqual(
      Object.fromEntries(['life-satisfaction', 'worthwhile', 'happy-yesterday', 'anxious-yesterday'].map((i) => [i, ons4(i)]))
    );
    const providers = strata(report, 'onward-activity', 'provider');
    expect(Object.keys(tables['t-services']).sort()).toEqual(
      providers
        .slice(0, 10)
        .map((p) => p.key)
        .sort()
    );
    for (const p of providers) expect(tables['t-services'][p.key]).toEqual([shown(p.count)]);
    // Every month of the period; months without referrals are 0.
    const months = Object.fromEntries(strata(report, 'referrals', 'month').map((s) => [s.key, [shown(s.count)]]));
    expect(Object.keys(tables['t-trend'])).toHaveLength(12);
    for (const [month, cells] of Object.entries(tables['t-trend'])) expect(cells).toEqual(months[month] ?? ['0']);
    // The seed's eleven referrals, all in October 2026.
    expect(tables['t-funnel'].Referred).toEqual(['11']);
    expect(await page.textContent('#summary')).toContain('11 referrals');
    await page.click('#figures details >> nth=0');
    await screenshot(page, 'dashboard-seed');
    expect(problems).toEqual([]);
    await page.close();
  }, 120000);

  test('a chosen organisation, as referrer or as service, gives the report filtered to it', async () => {
    const { page } = await openDashboard(commissioner);
    const funnelOf = async (query: string) => {
      const r = (
        await server.anonymous
          .get(`/fhir/$activity-report?periodStart=${PERIOD.start}&periodEnd=${PERIOD.end}&${query}`)
          .set('Authorization', `Bearer ${commissioner}`)
      ).body as MeasureReport;
      return {
        Referred: [shown(groupCount(r, 'referrals'))],
        'First contact': [shown(groupCount(r, 'days-to-first-contact'))],
        'Plan agreed': [shown(groupCount(r, 'days-to-plan-agreed'))],
        Completed: [shown(groupCount(r, 'days-to-completion'))],
      };
    };
    // The organisation list was filled from the directory with the token.
    const optionValue = async (text: string) =>
      page.evaluate<string>(`Array.from(document.querySelectorAll('#organisation option')).find((o) => o.textContent.includes(${JSON.stringify(text)})).value`);
    await page.selectOption('#organisation', await optionValue('Millbrook Social Prescribing Service'));
    await page.check('#as-owner');
    await page.click('#show');
    await page.waitForSelector('body[data-state="ready"]');
    expect((await tablesOf(page))['t-funnel']).toEqual(await funnelOf('owner=Organization/seed-sp-service'));
    // Every seed referral but the one no service has claimed yet.
    expect((await tablesOf(page))['t-funnel'].Referred).toEqual(['10']);
    await page.selectOption('#organisation', await optionValue('Y90001'));
    await page.check('#as-referrer');
    await page.click('#show');
    await page.waitForSelector('body[data-state="ready"]');
    expect((await tablesOf(page))['t-funnel']).toEqual(await funnelOf('referrer=Y90001'));
    await page.close();
  }, 60000);

  test('the CSV download is the activity report’s CSV', async () => {
    const { page } = await openDashboard(commissioner);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download')]);
    const chunks: Buffer[] = [];
    for await (const chunk of (await download.createReadStream()) as AsyncIterable<Buffer>) chunks.push(chunk);
    const csv = Buffer.concat(chunks).toString('utf8');
    const expected = await server.anonymous
      .get(`/fhir/$activity-report?periodStart=${PERIOD.start}&periodEnd=${PERIOD.end}`)
      .set('Authorization', `Bearer ${commissioner}`)
      .set('Accept', 'text/csv');
    expect(download.suggestedFilename()).toBe('activity-report.csv');
    expect(csv).toBe(expected.text);
    await page.close();
  }, 60000);

  test('an expired token shows a clear message, not a blank page', async () => {
    const expired = await tokenFor({ sp_role: 'commissioner', scope: defaultScopes('commissioner'), expiresIn: -120 });
    const { page, problems } = await openDashboard(expired);
    expect(await page.getAttribute('body', 'data-state')).toBe('error');
    expect(await page.isVisible('#message')).toBe(true);
    const text = await page.textContent('#message');
    expect(text).toMatch(/Your token was not accepted/);
    expect(text).toMatch(/expired/i);
    expect(await page.isHidden('#figures')).toBe(true);
    await screenshot(page, 'dashboard-expired-token');
    expect(problems).toEqual([]);
    await page.close();
  }, 60000);

  test('a token without access to the report is told so', async () => {
    const linkWorker = await tokenFor({ sp_role: 'link-worker', scope: defaultScopes('link-worker'), ods_code: 'Y90001' });
    const { page } = await openDashboard(linkWorker);
    expect(await page.textContent('#message')).toMatch(/may not see the activity report/);
    await page.close();
  }, 60000);

  test('the dashboard passes the axe-core accessibility check, with its figures and with an error shown', async () => {
    const { page } = await openDashboard(commissioner);
    // Open every table too, so that they are checked as well.
    await page.evaluate(`document.querySelectorAll('details').forEach((d) => d.setAttribute('open', ''))`);
    expect(await axeViolations(page)).toEqual([]);
    await page.close();
    const refused = await openDashboard('not-a-token');
    expect(await refused.page.getAttribute('body', 'data-state')).toBe('error');
    expect(await axeViolations(refused.page)).toEqual([]);
    await refused.page.close();
  }, 60000);

  test('the dashboard can be used with the keyboard alone', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/dashboard/`);
    const reached: string[] = [];
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate<string>(`document.activeElement.id || document.activeElement.className || ''`));
    }
    expect(reached).toEqual(expect.arrayContaining(['token', 'period-start', 'period-end', 'organisation', 'as-referrer', 'show']));
    await page.focus('#token');
    await page.keyboard.type(commissioner);
    await page.fill('#period-start', PERIOD.start);
    await page.focus('#show');
    await page.keyboard.press('Enter');
    await page.waitForSelector('body[data-state="ready"]', { timeout: 30000 });
    // The figures take the focus, so a screen reader goes on to them.
    expect(await page.evaluate<string>('document.activeElement.id')).toBe('figures');
    await page.close();
  }, 60000);
});
