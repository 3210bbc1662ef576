// Renders an evidence bundle's report.html in a real headless browser, offline and with
// JavaScript off (offline_page.mjs), and checks that it is self-contained and that the
// map, the altitude profile and the timeline are drawn. Run by
// crates/skyfence/tests/report_browser.rs; usage:
//
//   node report_test.mjs REPORT.html SCREENSHOT.png [CHROMIUM]
import { check, checkOfflinePage } from './offline_page.mjs';

await checkOfflinePage({
  usage: 'report_test.mjs REPORT.html',
  viewport: { width: 1000, height: 900 },
  fullPage: true,
  map: 'svg.map',
  minMap: { width: 400, height: 250 },
  inspect: async (page, report) => {
    report.mapSvg = await page.locator('svg.map').count();
    report.profileSvg = await page.locator('svg.profile').count();
    report.mapPaths = await page.locator('svg.map path').count();
    report.trackPoints = await page.locator('svg.map circle').count();
    report.profilePaths = await page.locator('svg.profile path').count();
    report.timelineRows = await page.locator('table.timeline tr').count();
    check(report.mapSvg === 1, 'one map');
    check(report.profileSvg === 1, 'one altitude profile');
    check(report.mapPaths >= 3, 'zone fill, border and track paths');
    check(report.timelineRows >= 4, 'a timeline');
  },
});
