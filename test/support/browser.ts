// A real browser for the page tests: Debian's Chromium (apt-get install
// chromium; .ci/chromium.sh installs it in CI), driven by playwright-core.
// No browser is ever downloaded. Without Chromium the tests fail, saying why.
import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Where screenshots are kept (git-ignored), for people to look at after a run. */
export const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

export async function launchChromium(): Promise<Browser> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is not installed at ${CHROMIUM}: the browser tests need it. Install it with "bash .ci/chromium.sh" (apt-get install chromium), or set CHROMIUM_PATH.`
    );
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Content-Security-Policy violations and script errors the page reports, to assert there are none. */
export function pageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content Security Policy|Refused to/i.test(msg.text())) problems.push(msg.text());
  });
  page.on('pageerror', (err) => problems.push(`script error: ${err.message}`));
  return problems;
}

/** Runs axe-core in the page (evaluated through the debugging protocol, so the page's CSP need not allow it). */
export async function axeViolations(page: Page): Promise<{ id: string; impact?: string; help: string; nodes: number }[]> {
  const source = fs.readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result = await page.evaluate<{ violations: { id: string; impact?: string; help: string; nodes: unknown[] }[] }>(
    `axe.run(document, { resultTypes: ['violations'] })`
  );
  return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
}
