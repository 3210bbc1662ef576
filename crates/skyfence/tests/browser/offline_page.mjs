// Shared by report_test.mjs and dossier_test.mjs: opens one local HTML file in a real
// headless browser (Debian's chromium through playwright-core), offline and with
// JavaScript off, lets the caller inspect the page, and checks what every self-contained
// document must hold: no request leaves the file, no script, no console or page error,
// a map drawn at a readable size. Prints one JSON line with what it saw and exits 1 on
// the first failed check.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

export function check(ok, what) {
  if (!ok) throw new Error('check failed: ' + what);
}

// `usage` names the calling script; `inspect(page, report)` records what the caller
// counts and checks it; `map` is the map's selector; `minMap` its smallest readable size.
export async function checkOfflinePage({ usage, viewport, fullPage, map, minMap, inspect }) {
  const [file, screenshot, executable = '/usr/bin/chromium'] = process.argv.slice(2);
  if (!file || !screenshot) {
    console.error(`usage: node ${usage} SCREENSHOT.png [CHROMIUM]`);
    process.exit(2);
  }
  const url = pathToFileURL(resolve(file)).href;
  const report = { url, consoleErrors: [], pageErrors: [], requests: [] };
  const profile = mkdtempSync(join(tmpdir(), 'skyfence-page-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: executable,
      headless: true,
      offline: true,
      javaScriptEnabled: false,
      viewport,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on('console', (m) => { if (m.type() === 'error') report.consoleErrors.push(m.text()); });
    page.on('pageerror', (e) => report.pageErrors.push(String(e)));
    page.on('request', (r) => { if (r.url() !== url) report.requests.push(r.url()); });
    await page.goto(url, { waitUntil: 'load', timeout: 30000 });
    report.title = await page.title();
    report.scripts = await page.locator('script').count();
    const box = await page.locator(map).first().boundingBox();
    report.mapBox = box && { width: Math.round(box.width), height: Math.round(box.height) };
    report.text = (await page.locator('body').innerText()).slice(0, 20000);
    await page.screenshot({ path: screenshot, fullPage });
    await inspect(page, report);
    check(report.scripts === 0, 'no script');
    check(report.requests.length === 0, 'no request beyond the file');
    check(report.consoleErrors.length === 0 && report.pageErrors.length === 0, 'no errors');
    check(box && box.width > minMap.width && box.height > minMap.height,
      'the map is drawn at a readable size');
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
}
