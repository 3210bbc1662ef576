// Renders a dossier's index.html in a real headless browser (Debian's chromium through
// playwright-core), offline and with JavaScript off, and checks it is self-contained: no
// request leaves the file, no script, no console error; the map, the counts and the
// incident table are there. Run by crates/skyfence/tests/dossier_render.rs; usage:
//
//   node dossier_test.mjs INDEX.html SCREENSHOT.png [CHROMIUM]
//
// Prints one JSON line with what it saw and exits 1 on the first failed check.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, screenshot, executable = '/usr/bin/chromium'] = process.argv.slice(2);
if (!file || !screenshot) {
  console.error('usage: node dossier_test.mjs INDEX.html SCREENSHOT.png [CHROMIUM]');
  process.exit(2);
}
const url = pathToFileURL(resolve(file)).href;
const report = { url, consoleErrors: [], pageErrors: [], requests: [] };
const profile = mkdtempSync(join(tmpdir(), 'skyfence-dossier-'));
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
    viewport: { width: 1100, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = context.pages()[0] || (await context.newPage());
  page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));
  page.on('request', (r) => { if (r.url() !== url) report.requests.push(r.url()); });
  await page.goto(url, { waitUntil: 'load', timeout: 30000 });
  report.title = await page.title();
  report.svg = await page.locator('svg').count();
  report.polylines = await page.locator('svg polyline').count();
  report.entries = await page.locator('svg circle').count();
  report.bundleLinks = await page.locator('a[href^="incidents/"]').count();
  report.scripts = await page.locator('script').count();
  const box = await page.locator('svg').first().boundingBox();
  report.mapBox = box && { width: Math.round(box.width), height: Math.round(box.height) };
  report.text = (await page.locator('body').innerText()).slice(0, 20000);
  await page.screenshot({ path: screenshot, fullPage: false });
  check(report.svg === 1, 'one map');
  check(report.scripts === 0, 'no script');
  check(report.requests.length === 0, 'no request beyond the file');
  check(report.consoleErrors.length === 0 && report.pageErrors.length === 0, 'no errors');
  check(box && box.width > 400 && box.height > 150, 'the map is drawn at a readable size');
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
