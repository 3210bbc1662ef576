// Renders a dossier's index.html in a real headless browser, offline and with JavaScript
// off (offline_page.mjs), and checks it is self-contained and that the map, the counts
// and the incident table are there. Run by crates/skyfence/tests/dossier_render.rs; usage:
//
//   node dossier_test.mjs INDEX.html SCREENSHOT.png [CHROMIUM]
import { check, checkOfflinePage } from './offline_page.mjs';

await checkOfflinePage({
  usage: 'dossier_test.mjs INDEX.html',
  viewport: { width: 1100, height: 900 },
  fullPage: false,
  map: 'svg',
  minMap: { width: 400, height: 150 },
  inspect: async (page, report) => {
    report.svg = await page.locator('svg').count();
    report.polylines = await page.locator('svg polyline').count();
    report.entries = await page.locator('svg circle').count();
    report.bundleLinks = await page.locator('a[href^="incidents/"]').count();
    check(report.svg === 1, 'one map');
  },
});
