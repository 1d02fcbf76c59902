// Browser test of the live map, in real Chromium driven by playwright-core,
// against a running citytwin (cmd/citytwin/ui_test.go starts the stack and
// runs this script; it can also be run by hand against `make run`).
//
//   CITYTWIN_URL        the dashboard, e.g. http://127.0.0.1:8080/ (required)
//   CITYTWIN_MQTT_URL   the broker citytwin reads, tcp://host:port (required)
//   CITYTWIN_TENANT     tenant of the test's sensors and of the page (default demo)
//   CITYTWIN_ARTIFACTS  directory for screenshots and result.json (default ./artifacts)
//   CITYTWIN_TOKEN      citytwin's -api-token, when it runs with one (the page gets ?token=)
//   CHROMIUM            the browser (default /usr/bin/chromium, Debian's package)
//
// It checks, and screenshots each step:
//   1. the map loads with no failed request, no request outside citytwin and no console error;
//   2. a reading published over MQTT recolours its sensor on the map (the latency is reported);
//   3. clicking the sensor opens its panel, whose chart has points;
//   4. an alert raised by a published value appears in the alerts panel, and clicking it zooms there;
//   5. replay shows the sensor's earlier value and the alerts open then, and "Back to live" the current ones;
//   6. when the WebSocket drops, the status bar shows reconnecting then live, and readings arrive again;
//   7. on a phone viewport, tapping a sensor opens its bottom sheet.
// Output: one line per check ("ok - …" or "not ok - …"), then "N passed, N failed".

import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { chromium } from 'playwright-core';

const base = new URL(required('CITYTWIN_URL'));
const mqttURL = required('CITYTWIN_MQTT_URL').replace(/^tcp:/, 'mqtt:');
const tenant = process.env.CITYTWIN_TENANT || 'demo';
// citytwin's -api-token, if it runs with one: the page gets it as ?token=.
const token = process.env.CITYTWIN_TOKEN || '';
const authHeaders = token ? { Authorization: `Bearer ${token}` } : {};
const artifacts = path.resolve(process.env.CITYTWIN_ARTIFACTS || 'artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
fs.mkdirSync(artifacts, { recursive: true });

// Colours of scales.ts: the noise bands 45–55, 55–65 and ≥ 75, and < 45.
const NOISE_45_55 = '#e8d33a';
const NOISE_55_65 = '#f39c22';
const NOISE_75 = '#7a0177';
const NOISE_BELOW_45 = '#2e9e44';

const NOISE_ID = 'urn:ngsi-ld:NoiseLevelObserved:ui-test-n1';
const AIR_ID = 'urn:ngsi-ld:AirQualityObserved:ui-test-a1';
// A station far away whose alert opened 45 min ago (replay lists it).
const PAST_AIR_ID = 'urn:ngsi-ld:AirQualityObserved:ui-test-a0';

const results = [];
const problems = { console: [], failed: [], http: [], external: [], pageErrors: [] };
const timings = {};

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return v;
}

function log(msg) {
  console.log(`# ${msg}`);
}

async function check(name, fn) {
  const start = Date.now();
  try {
    await fn();
    results.push({ name, ok: true, ms: Date.now() - start });
    console.log(`ok - ${name} (${Date.now() - start} ms)`);
  } catch (e) {
    results.push({ name, ok: false, ms: Date.now() - start, error: String(e?.stack ?? e) });
    console.log(`not ok - ${name}: ${String(e?.message ?? e)}`);
  }
}

function watch(page, label) {
  page.on('console', (m) => {
    if (m.type() === 'error') problems.console.push(`${label}: ${m.text()}`);
    else if (m.type() === 'warning') log(`${label} console warning: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.pageErrors.push(`${label}: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.host !== base.host) problems.external.push(`${label}: ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    // The page aborts a chart or replay request that a newer one supersedes
    // (panel.ts, main.ts): by design, not a failure.
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && /\/(ngsi-ld\/v1\/temporal\/|api\/v1\/replay\?|api\/v1\/alerts\?at=)/.test(r.url())) return;
    problems.failed.push(`${label}: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.http.push(`${label}: ${r.status()} ${r.request().method()} ${r.url()}`);
  });
}

async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}

// ---- data -----------------------------------------------------------------

const client = await mqtt.connectAsync(mqttURL, { clientId: `citytwin-ui-test-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0 });

async function publish(topic, entity) {
  await client.publishAsync(topic, JSON.stringify(entity), { qos: 1 });
}

function noise(laeq, at, loc) {
  return {
    id: NOISE_ID,
    type: 'NoiseLevelObserved',
    LAeq: { type: 'Property', value: laeq, unitCode: '2N', observedAt: at.toISOString() },
    location: { type: 'GeoProperty', value: { type: 'Point', coordinates: loc } },
  };
}

function air(no2, at, loc, id = AIR_ID) {
  return {
    id,
    type: 'AirQualityObserved',
    no2: { type: 'Property', value: no2, unitCode: 'GQ', observedAt: at.toISOString() },
    location: { type: 'GeoProperty', value: { type: 'Point', coordinates: loc } },
  };
}

// The sensors stand beside a primary road near the middle of the city.
const roads = await (await fetch(new URL('api/v1/layers/road', base), { headers: authHeaders })).json();
const districts = await (await fetch(new URL('api/v1/layers/district', base), { headers: authHeaders })).json();
const cityBox = bbox(districts.features.length ? districts.features : roads.features);
const centre = [(cityBox[0] + cityBox[2]) / 2, (cityBox[1] + cityBox[3]) / 2];
let best;
for (const f of roads.features) {
  if (f.properties.road_class !== 'primary' || f.geometry.type !== 'LineString') continue;
  const [a, b] = f.geometry.coordinates;
  const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
  const d = (mid[0] - centre[0]) ** 2 + (mid[1] - centre[1]) ** 2;
  if (!best || d < best.d) best = { d, mid };
}
const noiseLoc = best ? best.mid : centre;
const airLoc = [noiseLoc[0] + 0.0004, noiseLoc[1] + 0.0003];
log(`test sensors at ${noiseLoc} (noise) and ${airLoc} (air), tenant ${tenant}`);

// An hour ago the street was quiet: 40 dB(A) every minute from −60 to −21 min.
const now0 = Date.now();
const past = [];
for (let m = 60; m >= 21; m--) past.push(noise(40, new Date(now0 - m * 60_000), noiseLoc));
await publish(`ngsi/${tenant}/noise/ui-test-n1`, past);
// 45 min ago a station at the far end of the city measured 400 µg/m³ NO2:
// an alert opened then (EU 1-h limit 200).
let far = roads.features[0];
let farD = -1;
for (const f of roads.features) {
  const [a] = f.geometry.type === 'LineString' ? f.geometry.coordinates : [centre];
  const d = (a[0] - centre[0]) ** 2 + (a[1] - centre[1]) ** 2;
  if (d > farD) [far, farD] = [f, d];
}
const pastAirLoc = far.geometry.coordinates[0];
await publish(`ngsi/${tenant}/air/ui-test-a0`, air(400, new Date(now0 - 45 * 60_000), pastAirLoc, PAST_AIR_ID));

function bbox(features) {
  const b = [Infinity, Infinity, -Infinity, -Infinity];
  const walk = (c) => {
    if (typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0]);
      b[1] = Math.min(b[1], c[1]);
      b[2] = Math.max(b[2], c[0]);
      b[3] = Math.max(b[3], c[1]);
    } else c.forEach(walk);
  };
  for (const f of features) walk(f.geometry.coordinates);
  return b;
}

// ---- the browser -----------------------------------------------------------

const browser = await chromium.launch({
  executablePath,
  // WebGL through SwiftShader: there is no GPU in CI.
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});

const pageURL = new URL(`?tenant=${encodeURIComponent(tenant)}${token ? `&token=${encodeURIComponent(token)}` : ''}`, base).toString();

/**
 * Waits until the map draws sensor id with color: a rendered feature of the
 * sensor layer whose colour is color (map.ts: its feature state, else its property).
 */
async function waitColor(page, id, color, timeout = 10_000) {
  await page.waitForFunction(
    ([id, color]) => {
      const m = window.citytwin?.map?.map;
      if (!m) return false;
      const fs = m.queryRenderedFeatures({ layers: ['sensor-circles'], filter: ['==', ['get', 'id'], id] });
      return fs.length > 0 && (fs[0].state?.color ?? fs[0].properties.color) === color;
    },
    [id, color],
    { timeout, polling: 'raf' },
  );
}

/** Centres the map on a point and returns its position on the page. */
async function focus(page, lonlat, zoom = 16) {
  await page.evaluate(([lonlat, zoom]) => window.citytwin.map.map.jumpTo({ center: lonlat, zoom }), [lonlat, zoom]);
  // The subscription follows the view 250 ms after it settles.
  await page.waitForTimeout(600);
  return page.evaluate((lonlat) => {
    const m = window.citytwin.map.map;
    const p = m.project(lonlat);
    const r = m.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, lonlat);
}

const desktop = await browser.newPage({ viewport: { width: 1280, height: 800 } });
watch(desktop, 'desktop');

await check('the map loads and goes live', async () => {
  await desktop.goto(pageURL);
  await desktop.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await desktop.waitForSelector('#st-conn[data-state=live]', { timeout: 15_000 });
  await desktop.waitForFunction(() => window.citytwin.map.map.queryRenderedFeatures({ layers: ['sensor-circles'] }).length > 0, null, {
    timeout: 15_000,
  });
  await desktop.waitForTimeout(1000);
  await shot(desktop, '1-live');
});

await check('a reading published over MQTT recolours its sensor', async () => {
  await publish(`ngsi/${tenant}/noise/ui-test-n1`, noise(50, new Date(), noiseLoc));
  await waitColor(desktop, NOISE_ID, NOISE_45_55, 15_000);
  const start = Date.now();
  await publish(`ngsi/${tenant}/noise/ui-test-n1`, noise(80, new Date(), noiseLoc));
  const acked = Date.now();
  await waitColor(desktop, NOISE_ID, NOISE_75, 10_000);
  const seen = Date.now();
  timings.publishToMapMs = seen - start;
  timings.ackToMapMs = seen - acked;
  log(`publish → colour on the map: ${seen - start} ms (${seen - acked} ms after the broker's PUBACK)`);
  if (seen - start > 1000) log(`WARN slower than 1 s: ${seen - start} ms`);
});

await check('clicking the sensor opens its panel with a chart that has points', async () => {
  const p = await focus(desktop, noiseLoc);
  await desktop.mouse.click(p.x, p.y);
  await desktop.waitForSelector(`#panel:not([hidden])[data-id="${NOISE_ID}"]`, { timeout: 5_000 });
  const headline = await desktop.locator('#panel .headline').innerText();
  if (!headline.includes('80.0 dB(A)')) throw new Error(`panel headline ${JSON.stringify(headline)}, want 80.0 dB(A)`);
  await desktop.waitForFunction(() => Number(document.querySelector('#chart')?.dataset.points) > 0, null, { timeout: 15_000 });
  const points = await desktop.locator('#chart').getAttribute('data-points');
  log(`chart points: ${points}`);
  await shot(desktop, '2-sensor-panel');
});

await check('an alert raised by a published value appears, and clicking it zooms there', async () => {
  const start = Date.now();
  await publish(`ngsi/${tenant}/air/ui-test-a1`, air(400, new Date(), airLoc));
  const item = desktop.locator(`#alerts-list button.alert[data-sensors~="${AIR_ID}"]`);
  await item.waitFor({ state: 'visible', timeout: 10_000 });
  timings.publishToAlertMs = Date.now() - start;
  log(`publish → alert listed: ${timings.publishToAlertMs} ms`);
  const rule = await item.getAttribute('data-rule');
  if (rule !== 'no2-eu-1h') throw new Error(`alert rule ${rule}, want no2-eu-1h`);
  await focus(desktop, [cityBox[0], cityBox[1]], 12);
  const before = await desktop.evaluate(() => window.citytwin.map.map.getCenter().toArray());
  await item.click();
  const feature = await item.getAttribute('data-feature');
  const [kind, id] = [feature.slice(0, feature.indexOf('/')), feature.slice(feature.indexOf('/') + 1)];
  await desktop.waitForSelector(`#panel:not([hidden])[data-kind="${kind}"]`, { timeout: 5_000 });
  await desktop.waitForFunction(() => !window.citytwin.map.map.isMoving(), null, { timeout: 5_000 });
  const after = await desktop.evaluate(() => window.citytwin.map.map.getCenter().toArray());
  const moved = Math.hypot(after[0] - before[0], after[1] - before[1]);
  const dist = Math.hypot(after[0] - airLoc[0], after[1] - airLoc[1]);
  log(`alert ${kind}/${id}: centre moved ${moved.toFixed(4)}°, now ${dist.toFixed(4)}° from the sensor`);
  if (moved < 1e-4) throw new Error('the map did not move to the alert');
  if (dist > Math.max(0.02, (cityBox[2] - cityBox[0]) / 4)) throw new Error(`the map centre ${after} is far from the alert's sensor ${airLoc}`);
  await desktop.waitForTimeout(500);
  await shot(desktop, '3-alert');
});

await check('replay shows the earlier value and the alerts open then, and back to live the current ones', async () => {
  const p = await focus(desktop, noiseLoc);
  await desktop.mouse.click(p.x, p.y);
  await desktop.waitForSelector(`#panel:not([hidden])[data-id="${NOISE_ID}"]`, { timeout: 5_000 });
  await desktop.locator('#replay-slider').fill('-30');
  await desktop.waitForFunction(() => /^\d{4}-/.test(document.body.dataset.replay ?? ''), null, { timeout: 15_000 });
  // The alerts panel lists what was open 30 min ago: the far station's
  // alert (opened at −45 min), not the one raised just now. It is drawn
  // at the next draw after the replay's data arrived.
  await desktop.waitForFunction(() => document.querySelector('#alerts-list')?.dataset.at === document.body.dataset.replay, null, { timeout: 5_000 });
  await desktop.locator(`#alerts-list button.alert[data-sensors~="${PAST_AIR_ID}"]`).waitFor({ state: 'attached', timeout: 5_000 });
  if ((await desktop.locator(`#alerts-list button.alert[data-sensors~="${AIR_ID}"]`).count()) !== 0)
    throw new Error('replay at −30 min lists the alert raised just now');
  await waitColor(desktop, NOISE_ID, NOISE_BELOW_45, 5_000);
  const headline = await desktop.locator('#panel .headline').innerText();
  if (!headline.includes('40.0 dB(A)')) throw new Error(`replayed panel headline ${JSON.stringify(headline)}, want 40.0 dB(A)`);
  const status = await desktop.locator('#st-conn').innerText();
  if (!status.startsWith('replay')) throw new Error(`status ${JSON.stringify(status)} during replay`);
  await desktop.waitForFunction(() => Number(document.querySelector('#chart')?.dataset.points) > 0, null, { timeout: 15_000 });
  await shot(desktop, '4-replay');
  await desktop.locator('#btn-live').click();
  await desktop.waitForSelector('#alerts-list[data-at=live]', { state: 'attached', timeout: 5_000 });
  await waitColor(desktop, NOISE_ID, NOISE_75, 5_000);
  await desktop.locator(`#alerts-list button.alert[data-sensors~="${AIR_ID}"]`).waitFor({ state: 'attached', timeout: 5_000 });
  await desktop.waitForSelector('#st-conn[data-state=live]', { timeout: 5_000 });
});

await check('after the WebSocket drops, the page reconnects and readings arrive again', async () => {
  // Every state the status bar shows from now on.
  await desktop.evaluate(() => {
    const conn = document.querySelector('#st-conn');
    window.connStates = [];
    new MutationObserver(() => window.connStates.push(conn.dataset.state)).observe(conn, { attributes: true, attributeFilter: ['data-state'] });
    // As the network would: the socket closes under the page (stream.ts reconnects by itself).
    window.citytwin.dropStream();
  });
  await desktop.waitForFunction(() => window.connStates.includes('reconnecting') && document.querySelector('#st-conn').dataset.state === 'live', null, {
    timeout: 15_000,
  });
  const states = await desktop.evaluate(() => window.connStates);
  log(`status after the drop: ${states.join(' → ')}`);
  const start = Date.now();
  await publish(`ngsi/${tenant}/noise/ui-test-n1`, noise(60, new Date(), noiseLoc));
  await waitColor(desktop, NOISE_ID, NOISE_55_65, 10_000);
  log(`publish → colour after reconnecting: ${Date.now() - start} ms`);
  await publish(`ngsi/${tenant}/noise/ui-test-n1`, noise(80, new Date(), noiseLoc));
  await waitColor(desktop, NOISE_ID, NOISE_75, 10_000);
  await shot(desktop, '5-reconnected');
});

const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
watch(phone, 'phone');

await check('on a phone, tapping a sensor opens its bottom sheet', async () => {
  await phone.goto(pageURL);
  await phone.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await phone.waitForSelector('#st-conn[data-state=live]', { timeout: 15_000 });
  await phone.waitForFunction(() => window.citytwin.map.map.queryRenderedFeatures({ layers: ['sensor-circles'] }).length > 0, null, {
    timeout: 15_000,
  });
  await phone.waitForTimeout(1000);
  await shot(phone, '6-phone');
  const p = await focus(phone, noiseLoc);
  await waitColor(phone, NOISE_ID, NOISE_75, 10_000);
  await phone.touchscreen.tap(p.x, p.y);
  await phone.waitForSelector(`#panel:not([hidden])[data-id="${NOISE_ID}"]`, { timeout: 5_000 });
  const box = await phone.locator('#panel').boundingBox();
  if (!box || box.y < 844 * 0.3 || box.width < 380) throw new Error(`panel at ${JSON.stringify(box)}: want a bottom sheet`);
  await phone.waitForFunction(() => Number(document.querySelector('#chart')?.dataset.points) > 0, null, { timeout: 15_000 });
  await shot(phone, '7-phone-panel');
  await phone.locator('#btn-alerts').tap();
  await phone.waitForSelector('#alerts-sheet:not([hidden])', { timeout: 5_000 });
  if (await phone.locator('#panel').isVisible()) throw new Error('on a phone the alerts sheet must replace the panel');
  await shot(phone, '8-phone-alerts');
});

await check('no failed request, no request outside citytwin, no console error', async () => {
  const all = [...problems.failed, ...problems.http, ...problems.external, ...problems.console, ...problems.pageErrors];
  if (all.length) throw new Error(all.join('\n'));
});

await browser.close();
await client.endAsync();

const failed = results.filter((r) => !r.ok);
fs.writeFileSync(path.join(artifacts, 'result.json'), JSON.stringify({ results, timings, problems }, null, 2));
for (const r of failed) console.log(`--- ${r.name}\n${r.error}`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
