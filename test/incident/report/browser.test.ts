/**
 * The HTML report in a real browser (issue 21): Debian's Chromium driven by playwright-core. The page loads under
 * its Content-Security-Policy with no request leaving it, its stylesheet passes the CSP, an injected script or
 * remote resource is refused (a violation event, nothing reaches a loopback server), the timeline has one mark per
 * ledger entry and alert of the fixture, a screenshot is taken, and no planted canary is anywhere in the page.
 * Skips only when no Chromium binary is installed (`.ci/run` installs Debian's).
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { collectReportData, renderHtml } from '../../../src/incident/report/index.ts';
import { buildFixture, EXT, storeCounts, tempDir, type ReportFixture } from './fixture.ts';

const CANDIDATES = [
  '/usr/bin/chromium-headless-shell',
  '/usr/lib/chromium/chromium-headless-shell',
  '/usr/bin/chromium',
  '/usr/lib/chromium/chromium',
];
const executablePath = CANDIDATES.find((p) => existsSync(p));
const skip = executablePath === undefined ? `no Chromium binary at ${CANDIDATES.join(', ')} (apt-get install chromium)` : false;

/** Waits for a condition set by events (not a timing assertion: a condition never met fails the test by its timeout). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('the HTML incident report in headless Chromium', { skip, timeout: 180_000 }, () => {
  let fixture: ReportFixture;
  let html: string;
  let file: string;
  let context: BrowserContext;
  let page: Page;
  let server: Server;
  let serverHits = 0;
  /** Requests that reached the network layer (routed): none may. */
  const requests: string[] = [];
  /** Requests the page announced, and how each ended. */
  const seen = new Map<string, string>();

  before(async () => {
    fixture = await buildFixture();
    html = renderHtml(collectReportData(fixture.home, fixture.input));
    const dir = tempDir();
    file = join(dir, 'report.html');
    writeFileSync(file, html);
    server = createServer((_req, res) => {
      serverHits++;
      res.end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    context = await chromium.launchPersistentContext(join(dir, 'profile'), {
      executablePath: executablePath as string,
      headless: true,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
      timeout: 120_000,
    });
    // Every request the page makes is counted and refused; the report's own file is the only one allowed.
    const own = pathToFileURL(file).href;
    await context.route('**/*', async (route) => {
      if (route.request().url() === own) return route.continue();
      requests.push(route.request().url());
      return route.abort();
    });
    page = await context.newPage();
    // A request the page's CSP refuses is still announced, then fails as blocked: every other one is a leak.
    page.on('request', (r) => {
      if (r.url() !== own) seen.set(r.url(), 'pending');
    });
    page.on('requestfailed', (r) => {
      if (r.url() !== own) seen.set(r.url(), r.failure()?.errorText ?? 'failed');
    });
    page.on('requestfinished', (r) => {
      if (r.url() !== own) seen.set(r.url(), 'finished');
    });
    // Page-side code is given as text: the project compiles without the DOM library.
    await page.addInitScript(
      "window.violations = []; document.addEventListener('securitypolicyviolation', (e) => window.violations.push(`${e.effectiveDirective} ${e.blockedURI}`));",
    );
    await page.goto(own, { waitUntil: 'load', timeout: 60_000 });
  });

  after(async () => {
    await context?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('loads under its CSP with no request and no violation; its stylesheet applies', async () => {
    const csp = await page.locator('meta[http-equiv="Content-Security-Policy"]').getAttribute('content');
    assert.match(csp ?? '', /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; img-src data:/);
    assert.deepEqual(await page.evaluate<string[]>('window.violations'), []);
    assert.deepEqual(requests, []);
    assert.deepEqual([...seen], []);
    // The style hash matched: the stylesheet is in force (a blocked sheet leaves the browser defaults).
    assert.equal(await page.evaluate("getComputedStyle(document.querySelector('table')).borderCollapse"), 'collapse');
    assert.equal(await page.evaluate("getComputedStyle(document.querySelector('svg.chart')).display"), 'block');
  });

  it('refuses an injected inline script and remote resources: violation events, nothing reaches a loopback server', async () => {
    const port = (server.address() as AddressInfo).port;
    const origin = `http://127.0.0.1:${port}`;
    await page.evaluate(`(() => {
      const s = document.createElement('script');
      s.textContent = 'window.injectedRan = true';
      document.body.append(s);
      const img = document.createElement('img');
      img.src = '${origin}/img.png';
      document.body.append(img);
      const link = document.createElement('link');
      link.rel = 'stylesheet';
      link.href = '${origin}/style.css';
      document.head.append(link);
      const remote = document.createElement('script');
      remote.src = '${origin}/script.js';
      document.body.append(remote);
    })()`);
    await page.waitForFunction('window.violations.length >= 4', undefined, { timeout: 30_000 });
    const violations = await page.evaluate<string[]>('window.violations');
    assert.ok(
      violations.some((v) => v.startsWith('script-src-elem inline')),
      `expected a script-src-elem violation for the inline script, found ${JSON.stringify(violations)}`,
    );
    assert.ok(
      violations.some((v) => v.startsWith('img-src http://127.0.0.1')),
      `expected an img-src violation, found ${JSON.stringify(violations)}`,
    );
    assert.equal(await page.evaluate('window.injectedRan'), undefined);
    // Events arrive in their own order: wait until the three announced requests have ended one way or another.
    await until(() => seen.size >= 3 && [...seen.values()].every((how) => how !== 'pending'));
    assert.equal(serverHits, 0);
    assert.deepEqual(requests, []);
    assert.deepEqual(
      [...seen.entries()].filter(([, how]) => how !== 'csp'),
      [],
      'every announced request was blocked by the CSP',
    );
    assert.equal(seen.size, 3, `expected the three injected remote resources announced, found ${JSON.stringify([...seen])}`);
  });

  it('draws one timeline mark per ledger entry and alert of the fixture, and one per trust transition', async () => {
    const expected = storeCounts(fixture.home, EXT);
    assert.ok(expected.entries > 20 && expected.alerts > 1 && expected.trust === 1, `fixture too small: ${JSON.stringify(expected)}`);
    const timeline = page.locator('svg.chart').first();
    assert.equal(await timeline.locator('[data-kind="decision"]').count(), expected.entries);
    assert.equal(await timeline.locator('[data-kind="alert"]').count(), expected.alerts);
    assert.equal(await timeline.locator('[data-kind="trust"]').count(), expected.trust);
    const box = await timeline.locator('[data-kind="decision"]').first().boundingBox();
    assert.ok(box !== null && box.width > 0, 'a decision mark is drawn with a size');
  });

  it('takes a screenshot', async () => {
    const png = join(tempDir(), 'report.png');
    await page.screenshot({ path: png, fullPage: true });
    const bytes = readFileSync(png);
    assert.ok(statSync(png).size > 1000, `expected a PNG of some size, found ${statSync(png).size} bytes`);
    assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  });

  it('holds no planted secret or raw parameter, in the file or in the page', async () => {
    const rendered = await page.content();
    const text = await page.locator('body').innerText();
    for (const c of fixture.canaries) {
      assert.ok(!html.includes(c), `the HTML file contains the canary ${c}`);
      assert.ok(!rendered.includes(c) && !text.includes(c), `the rendered page contains the canary ${c}`);
    }
  });
});
