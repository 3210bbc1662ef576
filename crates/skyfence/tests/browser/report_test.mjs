// Renders an evidence bundle's report.html in a real headless browser (Debian's chromium
// through playwright-core), offline, and checks that it is self-contained: no request
// leaves the file, no script runs, no console error; the map and altitude profile are
// drawn. Run by crates/skyfence/tests/report_browser.rs; usage:
//
//   node report_test.mjs REPORT.html SCREENSHOT.png [CHROMIUM]
//
// Prints one JSON line with what it saw and exits 1 on the first failed check.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, screenshot, executable = '/usr/bin/chromium'] = process.argv.slice(2);
if (!file || !screenshot) {
  console.error('usage: node report_test.mjs REPORT.html SCREENSHOT.png [CHROMIUM]');
  process.exit(2);
}
const url = pathToFileURL(resolve(file)).href;
const report = { url, consoleErrors: [], pageErrors: [], requests: [] };
const profile = mkdtempSync(join(tmpdir(), 'skyfence-report-'));
let context;

function check(ok, what) {
  if (!ok) throw new Error('check failed: ' + what);
}

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: executable,
    headless: true,
    offline: true,
    javaScriptEnabled: false,
    viewport: { width: 1000, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) report.requests.push(r.url()); });
  await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  report.title = await page.title();
  report.mapSvg = await page.locator('svg.map').count();
  report.profileSvg = await page.locator('svg.profile').count();
  report.mapPaths = await page.locator('svg.map path').count();
  report.trackPoints = await page.locator('svg.map circle').count();
  report.profilePaths = await page.locator('svg.profile path').count();
  report.timelineRows = await page.locator('table.timeline tr').count();
  report.scripts = await page.locator('script').count();
  const box = await page.locator('svg.map').boundingBox();
  report.mapBox = box && { width: Math.round(box.width), height: Math.round(box.height) };
  report.text = (await page.locator('body').innerText()).slice(0, 20000);
  await page.screenshot({ path: screenshot, fullPage: true });
  check(report.mapSvg === 1, 'one map');
  check(report.profileSvg === 1, 'one altitude profile');
  check(report.mapPaths >= 3, 'zone fill, border and track paths');
  check(report.timelineRows >= 4, 'a timeline');
  check(report.scripts === 0, 'no script');
  check(report.requests.length === 0, 'no request beyond the file');
  check(report.consoleErrors.length === 0 && report.pageErrors.length === 0, 'no errors');
  check(box && box.width > 400 && box.height > 250, 'the map is drawn at a readable size');
  report.ok = true;
} catch (e) {
  report.ok = false;
  report.error = String(e && e.message || e);
} finally {
  if (context) await context.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
