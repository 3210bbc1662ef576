// Drives the live map in a real headless browser (Debian's chromium through
// playwright-core) and checks what the live map must do: the page loads without console
// errors, targets appear and move, clicking an incident draws its track. Run by
// crates/skyfence/tests/map_browser.rs, which starts the service; usage:
//
//   node map_test.mjs URL SCREENSHOT.png [CHROMIUM]
//
// Prints one JSON line with what it saw and exits 1 on the first failed check.
import { chromium } from 'playwright-core';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const [url, screenshot, executable = '/usr/bin/chromium'] = process.argv.slice(2);
// Optional second screenshot of the live picture before an incident is selected.
const live = process.env.SKYFENCE_MAP_LIVE_PNG;
// Token mode: the service has `[server] api_token`; the page must ask for it, then
// connect with it (the service has no traffic, so only zones and the feed are checked).
const token = process.env.SKYFENCE_MAP_TOKEN;
// Acknowledge mode: acknowledge the selected incident through the form, as
// this operator, then add a note; the caller checks the API for both.
const ackOperator = process.env.SKYFENCE_MAP_ACK_OPERATOR;
// Dead-letter mode: a sink gives up on its alerts; the map lists them.
const deadLetters = process.env.SKYFENCE_MAP_DEAD_LETTERS;
// Sensor mode: this radar (`NAME@LON,LAT`) is turning when the page opens and stops
// while it watches; its site must be marked up, then down, with a sensor_down line.
const sensorWatch = process.env.SKYFENCE_MAP_SENSOR;
if (!url || !screenshot) {
  console.error('usage: node map_test.mjs URL SCREENSHOT.png [CHROMIUM]');
  process.exit(2);
}

const report = { url, consoleErrors: [], pageErrors: [], failedRequests: [] };
const profile = mkdtempSync(join(tmpdir(), 'skyfence-chromium-'));
let context;

function check(ok, what) {
  if (!ok) throw new Error('check failed: ' + what);
}

// Token mode: asked for the token, kept it, and connected with it.
async function tokenChecks(page) {
  await page.locator('#auth-token').waitFor({ state: 'visible', timeout: 30000 });
  report.asked = true;
  await page.fill('#auth-token', token);
  await page.click('#auth-form button[type=submit]');
  await page.waitForFunction(() => window.skyfence && window.skyfence.ready && window.skyfence.zones > 0, null, { timeout: 30000 });
  await page.waitForFunction(() => document.getElementById('link').textContent === 'live', null, { timeout: 30000 });
  report.zones = await page.evaluate(() => window.skyfence.zones);
  report.link = await page.evaluate(() => document.getElementById('link').textContent);
  report.tokenKept = await page.evaluate((t) => sessionStorage.getItem('skyfence.api_token') === t, token);
  await page.waitForTimeout(1000);
  report.mapErrors = await page.evaluate(() => window.skyfence.errors);
  await page.screenshot({ path: screenshot });
  check(report.tokenKept, 'token kept in sessionStorage');
}

// Sensor mode: the radar's site drawn up, then down once it fell silent.
async function sensorChecks(page) {
  const [name, where] = sensorWatch.split('@');
  const [lon, lat] = where.split(',').map(Number);
  await page.waitForFunction(() => window.skyfence && window.skyfence.ready, null, { timeout: 30000 });
  await page.evaluate(([x, y]) => window.skyfenceMap.jumpTo({ center: [x, y], zoom: 7 }), [lon, lat]);
  const drawn = async () => page.evaluate(() => window.skyfenceMap.queryRenderedFeatures({ layers: ['sensors'] })
    .map((f) => f.properties.name + ':' + f.properties.state));
  await page.waitForFunction((n) => window.skyfence.sensors[n] === 'up', name, { timeout: 30000, polling: 250 });
  await page.waitForFunction((n) => window.skyfenceMap.queryRenderedFeatures({ layers: ['sensors'] })
    .some((f) => f.properties.name === n && f.properties.state === 'up'), name, { timeout: 15000, polling: 250 });
  report.sensorDrawnUp = await drawn();
  await page.waitForFunction((n) => window.skyfence.sensors[n] === 'down', name, { timeout: 90000, polling: 250 });
  await page.waitForFunction((n) => window.skyfenceMap.queryRenderedFeatures({ layers: ['sensors'] })
    .some((f) => f.properties.name === n && f.properties.state === 'down'), name, { timeout: 15000, polling: 250 });
  report.sensorDrawnDown = await drawn();
  await page.locator('#feed li .kind.sensor_down').first().waitFor({ state: 'attached', timeout: 15000 });
  report.sensorFeed = await page.locator('#feed li').allTextContents();
  report.sensorEvents = await page.evaluate(() => window.skyfence.sensorEvents);
  report.mapErrors = await page.evaluate(() => window.skyfence.errors);
  await page.screenshot({ path: screenshot });
}

// Dead-letter mode: the "Undelivered alerts" panel appears and lists the sink's alerts.
async function deadLetterChecks(page) {
  await page.waitForFunction(() => window.skyfence && window.skyfence.ready, null, { timeout: 30000 });
  await page.locator('#alerts-panel').waitFor({ state: 'visible', timeout: 90000 });
  await page.waitForFunction(() => window.skyfence.deadLetters > 0, null, { timeout: 30000 });
  report.deadLetters = await page.evaluate(() => window.skyfence.deadLetters);
  report.deadLetterTexts = await page.locator('#dead-letters li').allTextContents();
  report.mapErrors = await page.evaluate(() => window.skyfence.errors);
  await page.screenshot({ path: screenshot });
  check(report.failedRequests.length === 0, 'no failed requests: ' + report.failedRequests.join(' | '));
}

// Suspected spoofers drawn apart, with their verdict and residual in the popup and in
// the incident's panel; the multilaterated aircraft (`SKYFENCE_MAP_LOCATED`) on the map.
async function spoofChecks(page) {
  const located = process.env.SKYFENCE_MAP_LOCATED;
  await page.waitForFunction(() => window.skyfence.spoofed.length > 0, null, { timeout: 90000, polling: 250 });
  report.spoofed = await page.evaluate(() => window.skyfence.spoofed);
  if (located) {
    await page.waitForFunction((k) => !!window.skyfence.targets[k], 'icao:' + located,
      { timeout: 90000, polling: 250 });
    report.locatedDrawn = true;
  }
  // Centre on the spoofer (again at each poll: it moves, and is gone a moment when the
  // demo's loop comes round) and find its ring among the rendered features.
  const key = report.spoofed[0];
  await page.waitForFunction((k) => {
    const c = window.skyfence.targets[k];
    if (!c) return false;
    window.skyfenceMap.jumpTo({ center: c, zoom: 8 });
    return window.skyfenceMap.queryRenderedFeatures({ layers: ['spoof-ring'] }).some((f) => f.properties.key === k);
  }, key, { timeout: 60000, polling: 500 });
  report.spoofRings = await page.evaluate(() =>
    window.skyfenceMap.queryRenderedFeatures({ layers: ['spoof-ring'] }).map((f) => f.properties.key));
  // Its popup: click where it is drawn now (a few tries: it moves between polls).
  const popup = page.locator('.maplibregl-popup .pop.spoof');
  for (let i = 0; i < 10 && !(await popup.count()); i++) {
    const xy = await page.evaluate((k) => {
      const c = window.skyfence.targets[k];
      if (!c) return null;
      const p = window.skyfenceMap.project(c);
      const r = window.skyfenceMap.getCanvas().getBoundingClientRect();
      return [r.left + p.x, r.top + p.y];
    }, key);
    if (xy) await page.mouse.click(xy[0], xy[1]);
    await page.waitForTimeout(1000);
  }
  await popup.first().waitFor({ state: 'visible', timeout: 5000 });
  report.spoofPopup = await popup.first().innerText();
  // Its incident: badged in the list; selected, the panel states verdict and residual.
  const inc = page.locator('#incidents li.inc[data-verdict="spoof_suspected"]').first();
  await inc.waitFor({ state: 'attached', timeout: 90000 });
  report.spoofBadge = await inc.locator('.badge.spoof').count();
  await inc.click();
  await page.waitForFunction(() => window.skyfence.verification.includes('spoof suspected'), null,
    { timeout: 15000, polling: 250 });
  report.spoofPanel = await page.locator('#replay-verification').innerText();
  report.spoofPanelVisible = await page.locator('#replay-verification').isVisible();
  check(report.spoofPopup.includes('spoof suspected · residual'), 'the popup states verdict and residual');
  check(report.spoofPanelVisible && report.spoofPanel.includes('residual'), 'the panel states verdict and residual');
}

// The demo: targets appear and move, an incident's track is drawn and replayed.
async function liveChecks(page) {
  await page.waitForFunction(() => window.skyfence && window.skyfence.ready, null, { timeout: 30000 });

  // Targets appear...
  await page.waitForFunction(() => Object.keys(window.skyfence.targets).length > 0, null, { timeout: 60000 });
  const first = await page.evaluate(() => JSON.parse(JSON.stringify(window.skyfence.targets)));
  report.targetsFirst = Object.keys(first).length;
  // ...and move: some target seen in both samples changes position.
  await page.waitForFunction((before) => {
    const now = window.skyfence.targets;
    return Object.keys(before).some((k) => now[k] && (now[k][0] !== before[k][0] || now[k][1] !== before[k][1]));
  }, first, { timeout: 30000, polling: 250 });
  const second = await page.evaluate(() => JSON.parse(JSON.stringify(window.skyfence.targets)));
  report.targetsMoved = Object.keys(first).filter((k) => second[k] &&
    (second[k][0] !== first[k][0] || second[k][1] !== first[k][1])).length;
  // The targets layer actually renders them.
  report.renderedTargets = await page.evaluate(() =>
    window.skyfenceMap.queryRenderedFeatures({ layers: ['targets'] }).length);
  report.zones = await page.evaluate(() =>
    window.skyfenceMap.querySourceFeatures('zones').length);

  // An incident appears in the list; clicking it draws its track. The one with the most
  // reports makes the most telling screenshot.
  await page.locator('#incidents li.inc').first().waitFor({ state: 'visible', timeout: 90000 });
  report.incidents = await page.locator('#incidents li.inc').count();
  if (live) await page.screenshot({ path: live });
  const pick = await page.evaluate(() => {
    const items = [...document.querySelectorAll('#incidents li.inc')];
    items.sort((a, b) => Number(b.dataset.reports) - Number(a.dataset.reports));
    return items[0].dataset.id;
  });
  await page.locator(`#incidents li.inc[data-id="${pick}"]`).click();
  await page.waitForFunction(() => window.skyfence.trackFeatures > 0, null, { timeout: 15000 });
  report.trackFeatures = await page.evaluate(() => window.skyfence.trackFeatures);
  report.replayVisible = await page.locator('#replay').isVisible();
  // Replay: play moves the cursor along the stored positions.
  const positions = await page.evaluate(() => Number(document.getElementById('replay-slider').max) + 1);
  report.replayPositions = positions;
  if (positions > 1) {
    await page.locator('#replay-play').click();
    await page.waitForFunction(() => Number(document.getElementById('replay-slider').value) > 0, null, { timeout: 20000 });
    report.replayAdvanced = true;
  }
  if (ackOperator) {
    report.ackedIncident = pick;
    await page.fill('#ack-operator', ackOperator);
    await page.fill('#ack-note', 'seen on the map');
    report.ackButtonBefore = await page.locator('#ack-submit').textContent();
    await page.click('#ack-submit');
    await page.waitForFunction(() => window.skyfence.acks === 1, null, { timeout: 15000 });
    await page.fill('#ack-note', 'pilot contacted');
    await page.click('#ack-submit');
    await page.waitForFunction(() => window.skyfence.acks === 2, null, { timeout: 15000 });
    report.ackButtonAfter = await page.locator('#ack-submit').textContent();
    report.ackEntries = await page.locator('#ack-list li').allTextContents();
    // The list marks the incident as acknowledged once it refreshes.
    await page.locator(`#incidents li.inc[data-id="${pick}"][data-acked="1"] .badge.acked`)
      .waitFor({ state: 'visible', timeout: 15000 });
    report.ackMarker = true;
  }
  // Sensors beyond Mode S (the demo declares radar sites): a radar-only track is drawn
  // with its own symbol and its incident badged; a Remote ID drone's incident shows its
  // operator, joined to the drone's entry.
  report.sensors = await page.evaluate(async () => (await (await fetch('/api/sensors')).json()).length);
  if (report.sensors > 0) {
    await page.waitForFunction(() => Object.keys(window.skyfence.targets).some((k) => k.startsWith('track:')),
      null, { timeout: 60000, polling: 250 });
    // Centred on it (the selected incident may have taken the view elsewhere: only the
    // tiles in view hold features), until its symbol is in.
    await page.waitForFunction(() => {
      const k = Object.keys(window.skyfence.targets).find((x) => x.startsWith('track:'));
      if (!k) return false;
      window.skyfenceMap.jumpTo({ center: window.skyfence.targets[k], zoom: 7 });
      return window.skyfenceMap.querySourceFeatures('targets').some((f) => f.properties.cls === 'radar');
    }, null, { timeout: 60000, polling: 500 }).catch(() => {});
    report.radarSymbols = await page.evaluate(() =>
      window.skyfenceMap.querySourceFeatures('targets').filter((f) => f.properties.cls === 'radar').length);
    await page.locator('#incidents li.inc .badge.radar').first().waitFor({ state: 'attached', timeout: 90000 });
    const op = page.locator('#incidents li.inc:has(.badge.operator)').first();
    await op.waitFor({ state: 'attached', timeout: 90000 });
    await op.click();
    await page.waitForFunction(() => Array.isArray(window.skyfence.operator), null, { timeout: 15000 });
    report.operator = await page.evaluate(() => window.skyfence.operator);
    // The map loads source data asynchronously: poll until the line is in.
    await page.waitForFunction(() => window.skyfenceMap.querySourceFeatures('track')
      .some((f) => f.properties.role === 'operator'), null, { timeout: 15000, polling: 250 }).catch(() => {});
    report.operatorLines = await page.evaluate(() =>
      window.skyfenceMap.querySourceFeatures('track').filter((f) => f.properties.role === 'operator').length);
    check(report.radarSymbols > 0, 'a radar-only target drawn as such');
    check(report.operatorLines > 0, "the operator joined to the drone's entry");
  }
  // A multilaterating network (the demo's Mode S receivers with clocks): a suspected
  // spoofer is ringed on the map, its popup and its incident's panel state the verdict
  // and the residual; the aircraft that broadcasts no position is on the map too,
  // placed by multilateration.
  report.receivers = await page.evaluate(async () =>
    (await (await fetch('/api/sensors')).json()).filter((s) => s.type === 'modes').length);
  if (report.receivers > 0) await spoofChecks(page);
  await page.waitForTimeout(1200); // let the fly-to animation settle for the screenshot
  report.events = await page.evaluate(() => window.skyfence.events);
  report.alertsPanelHidden = await page.locator('#alerts-panel').isHidden();
  report.mapErrors = await page.evaluate(() => window.skyfence.errors);
  await page.screenshot({ path: screenshot });
  report.screenshot = screenshot;

  check(report.failedRequests.length === 0, 'no failed requests: ' + report.failedRequests.join(' | '));
  check(report.targetsMoved > 0, 'targets move');
  check(report.renderedTargets > 0, 'target symbols rendered');
  check(report.replayVisible, 'replay panel shown');
}

try {
  context = await chromium.launchPersistentContext(profile, {
    executablePath: executable,
    headless: true,
    viewport: { width: 1366, height: 768 },
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      // WebGL on the CPU: MapLibre needs WebGL and CI has no GPU.
      '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    ],
  });
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => {
    // In token mode the first /api requests are refused with 401 by design.
    if (m.type() === 'error' && !(token && m.text().includes('401'))) report.consoleErrors.push(m.text());
  });
  page.on('pageerror', (e) => report.pageErrors.push(String(e)));
  page.on('requestfailed', (r) => {
    // The event stream is cut when the page closes; that is not a failure.
    if (!r.url().endsWith('/api/events')) report.failedRequests.push(r.url() + ' ' + (r.failure() || {}).errorText);
  });

  await page.goto(url, { waitUntil: 'load' });
  if (token) await tokenChecks(page);
  else if (deadLetters) await deadLetterChecks(page);
  else if (sensorWatch) await sensorChecks(page);
  else await liveChecks(page);
  check(report.pageErrors.length === 0, 'no uncaught page errors: ' + report.pageErrors.join(' | '));
  check(report.consoleErrors.length === 0, 'no console errors: ' + report.consoleErrors.join(' | '));
  check(report.mapErrors.length === 0, 'no map errors: ' + report.mapErrors.join(' | '));
  report.ok = true;
} catch (e) {
  report.ok = false;
  report.error = String(e && e.message || e);
} finally {
  if (context) await context.close().catch(() => {});
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(report));
process.exit(report.ok ? 0 : 1);
