// Browser test of the dynamic noise map layer (src/noisemap.ts), in real
// Chromium driven by playwright-core, against a running citytwin
// (cmd/citytwin/noisemap_ui_test.go starts the stack and runs this script).
//
//   CITYTWIN_URL        the dashboard, e.g. http://127.0.0.1:8080/ (required)
//   CITYTWIN_MQTT_URL   the broker citytwin reads, tcp://host:port (required)
//   CITYTWIN_TENANT     a tenant nobody else publishes to (default noisemap): its
//                       first noise map is computed on the first request
//   CITYTWIN_ARTIFACTS  directory for screenshots and result.json (default ./artifacts)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//
// The data: four noise sensors on road midpoints of the city (one per
// quadrant around the centre, classes primary, secondary, residential,
// primary), each publishing its level L1 every minute from −40 min to now;
// later L1 + 10 dB, now. The live map is computed from the first levels,
// replay at −15 min reads them back from InfluxDB.
//
// It checks, with screenshots:
//   1. the layer toggle draws an image layer under roads and sensors, visible;
//   2. the level the page's hook (window.citytwin.noiseMap.levelAt) gives at each
//      sensor's point is the API's level of the cell containing it
//      (GET api/v1/noisemap?format=geojson: each cell's polygon and level);
//   3. that cell's pixel on the layer's canvas is the noise band's colour;
//   4. the legend shows the map's held-out error as the API gives it;
//   5. a click on a sensor under the layer still opens its panel;
//   6. after L1 + 10 dB is published, the page refreshes the live map when its
//      max-age has elapsed (up to a minute);
//   7. the replay slider at −15 min asks for ?at= and draws the earlier map; back
//      to live draws the current one again;
//   8. no failed request, no request outside citytwin, no console error.
// Output: one line per check ("ok - …" or "not ok - …"), then "N passed, N failed".

import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { chromium } from 'playwright-core';

const base = new URL(required('CITYTWIN_URL'));
const mqttURL = required('CITYTWIN_MQTT_URL').replace(/^tcp:/, 'mqtt:');
const tenant = process.env.CITYTWIN_TENANT || 'noisemap';
const artifacts = path.resolve(process.env.CITYTWIN_ARTIFACTS || 'artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
fs.mkdirSync(artifacts, { recursive: true });

// The noise bands of scales.ts (NOISE_BANDS): upper bound (exclusive) and colour.
const BANDS = [
  [45, [0x2e, 0x9e, 0x44]],
  [55, [0xe8, 0xd3, 0x3a]],
  [65, [0xf3, 0x9c, 0x22]],
  [75, [0xd7, 0x30, 0x1f]],
  [Infinity, [0x7a, 0x01, 0x77]],
];
const bandRGB = (laeq) => BANDS.find(([upTo]) => laeq < upTo)[1];

const L1 = [58, 60, 56, 62];
const RISE = 10;

const results = [];
const problems = { console: [], failed: [], http: [], external: [], pageErrors: [] };
const noiseRequests = [];

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
    if (u.pathname.endsWith('/api/v1/noisemap')) noiseRequests.push(u);
  });
  page.on('requestfailed', (r) => {
    // A newer replay time or a layer switched off aborts the request in flight.
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && /\/(ngsi-ld\/v1\/temporal\/|api\/v1\/replay\?|api\/v1\/noisemap\?)/.test(r.url())) return;
    problems.failed.push(`${label}: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.http.push(`${label}: ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`);
  });
}

async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}

async function getJSON(rel, headers = {}) {
  const res = await fetch(new URL(rel, base), { headers: { Accept: 'application/json', ...headers } });
  const body = await res.text();
  if (!res.ok) throw new Error(`GET ${rel}: ${res.status} ${body.slice(0, 300)}`);
  return JSON.parse(body);
}

// ---- the sensors ----------------------------------------------------------

const roads = await getJSON('api/v1/layers/road');
const districts = await getJSON('api/v1/layers/district');
const cityBox = bbox(districts.features.length ? districts.features : roads.features);
const [cx, cy] = [(cityBox[0] + cityBox[2]) / 2, (cityBox[1] + cityBox[3]) / 2];
const [qx, qy] = [(cityBox[2] - cityBox[0]) / 6, (cityBox[3] - cityBox[1]) / 6];
const targets = [
  ['primary', [cx - qx, cy + qy]],
  ['secondary', [cx + qx, cy + qy]],
  ['residential', [cx + qx, cy - qy]],
  ['primary', [cx - qx, cy - qy]],
];
const sensors = targets.map(([cls, t], k) => {
  let best;
  for (const f of roads.features) {
    if (f.properties.road_class !== cls || f.geometry.type !== 'LineString') continue;
    const [a, b] = f.geometry.coordinates;
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    const d = (mid[0] - t[0]) ** 2 + (mid[1] - t[1]) ** 2;
    if (!best || d < best.d) best = { d, mid, road: f.properties.id };
  }
  if (!best) throw new Error(`the city has no ${cls} road`);
  return { id: `urn:ngsi-ld:NoiseLevelObserved:nm-${k + 1}`, short: `nm-${k + 1}`, loc: best.mid, road: best.road, l1: L1[k] };
});
for (const s of sensors) log(`sensor ${s.id} at ${s.loc.map((v) => v.toFixed(6))} on road ${s.road}, L1 ${s.l1} dB(A)`);

const client = await mqtt.connectAsync(mqttURL, { clientId: `citytwin-noisemap-test-${process.pid}`, protocolVersion: 4, reconnectPeriod: 0 });

function reading(s, laeq, at) {
  return {
    id: s.id,
    type: 'NoiseLevelObserved',
    LAeq: { type: 'Property', value: laeq, unitCode: '2N', observedAt: at.toISOString() },
    location: { type: 'GeoProperty', value: { type: 'Point', coordinates: s.loc } },
  };
}

/** Publishes each sensor's readings and waits until the twin holds each sensor's newest level. */
async function publishAll(levelOf, minutesBack) {
  const now = Date.now() - 1000;
  for (const s of sensors) {
    const batch = [];
    for (let m = minutesBack; m >= 0; m--) batch.push(reading(s, levelOf(s), new Date(now - m * 60_000)));
    await client.publishAsync(`ngsi/${tenant}/noise/${s.short}`, JSON.stringify(batch), { qos: 1 });
  }
  const deadline = Date.now() + 20_000;
  for (;;) {
    const list = await getJSON('ngsi-ld/v1/entities?type=NoiseLevelObserved&options=keyValues&limit=100', { 'NGSILD-Tenant': tenant });
    const held = new Map(list.map((e) => [e.id, e.LAeq]));
    if (sensors.every((s) => held.get(s.id) === levelOf(s))) return;
    if (Date.now() > deadline) throw new Error(`after 20 s the twin holds ${JSON.stringify([...held])}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The API's map: grid JSON and the cells as GeoJSON polygons (the same cached map when live). */
async function apiMap(at) {
  const q = `tenant=${encodeURIComponent(tenant)}${at ? `&at=${encodeURIComponent(at)}` : ''}`;
  const grid = await getJSON(`api/v1/noisemap?${q}`);
  const cells = await getJSON(`api/v1/noisemap?${q}&format=geojson`);
  return { grid, cells };
}

/** The API cell containing p: its index and level (west and north edges closed, as the server's grid). */
function apiCell(cells, p) {
  for (const f of cells.features) {
    const ring = f.geometry.coordinates[0];
    const [w, s, e, n] = [ring[0][0], ring[0][1], ring[2][0], ring[2][1]];
    if (p[0] >= w && p[0] < e && p[1] > s && p[1] <= n) return { cell: f.properties.cell, level: f.properties.LAeq };
  }
  return undefined;
}

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

function heldOutText(h) {
  return h.n === 0 ? 'no sensor reporting: reference levels' : `held-out error: MAE ${h.maeDb.toFixed(1)} dB over ${h.n} sensor${h.n === 1 ? '' : 's'}`;
}

/** For each sensor: the page's level at its point, the API's cell there, and that cell's canvas pixel. */
async function compare(page, cells, nx) {
  const out = [];
  for (const s of sensors) {
    const api = apiCell(cells, s.loc);
    if (!api) throw new Error(`the API has no level at sensor ${s.short} ${s.loc}`);
    const [r, c] = [Math.floor(api.cell / nx), api.cell % nx];
    const got = await page.evaluate(
      ([lon, lat, c, r]) => {
        const nm = window.citytwin.noiseMap;
        return { level: nm.levelAt(lon, lat) ?? null, pixel: [...nm.canvas.getContext('2d').getImageData(c, r, 1, 1).data] };
      },
      [s.loc[0], s.loc[1], c, r],
    );
    out.push({ s, api, got });
    if (got.level !== api.level) throw new Error(`sensor ${s.short}: the page's level ${got.level}, the API's cell ${api.cell} has ${api.level}`);
    const want = [...bandRGB(api.level), 255];
    if (got.pixel.join() !== want.join()) throw new Error(`sensor ${s.short}: pixel (${c}, ${r}) is ${got.pixel}, want ${want} for ${api.level} dB(A)`);
  }
  log(`levels at the sensors: ${out.map((o) => `${o.s.short} ${o.api.level}`).join(', ')}`);
  return out;
}

// ---- the browser ------------------------------------------------------------

const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
watch(page, 'desktop');
const first = {};

await check('the sensors are in the twin and the live map has them', async () => {
  await publishAll((s) => s.l1, 40);
  // The first request of the tenant computes its live map: now that every sensor is held.
  const { grid, cells } = await apiMap();
  if (grid.sensors.reporting !== sensors.length) throw new Error(`the map has ${grid.sensors.reporting} reporting sensors, want ${sensors.length}: ${JSON.stringify(grid.sensors)}`);
  log(`live map of ${grid.time}: ${grid.nx}×${grid.ny} cells, held out ${JSON.stringify(grid.heldOut)}, groups ${JSON.stringify(grid.groups)}`);
  Object.assign(first, { grid, cells });
});

await check('the layer toggle draws the map as an image layer under roads and sensors', async () => {
  await page.goto(new URL(`?tenant=${encodeURIComponent(tenant)}`, base).toString());
  await page.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  if (await page.evaluate(() => !!window.citytwin.map.map.getLayer('noisemap-raster'))) throw new Error('the noise map is on before its toggle');
  if (await page.locator('#layer-noisemap').isChecked()) throw new Error('the toggle is checked by default');
  await page.locator('#layer-noisemap').check();
  await page.waitForSelector('#noisemap-legend[data-state=live]', { timeout: 15_000 });
  await page.waitForFunction(() => window.citytwin.map.map.isSourceLoaded('noisemap') && window.citytwin.map.map.loaded(), null, { timeout: 15_000 });
  const info = await page.evaluate(() => {
    const m = window.citytwin.map.map;
    const ids = m.getStyle().layers.map((l) => l.id);
    return {
      type: m.getSource('noisemap')?.type,
      visibility: m.getLayoutProperty('noisemap-raster', 'visibility'),
      opacity: m.getPaintProperty('noisemap-raster', 'raster-opacity'),
      at: ids.indexOf('noisemap-raster'),
      road: ids.indexOf('road-line'),
      sensors: ids.indexOf('sensor-circles'),
      canvas: [window.citytwin.noiseMap.canvas.width, window.citytwin.noiseMap.canvas.height],
    };
  });
  log(`layer: ${JSON.stringify(info)}`);
  if (info.type !== 'image') throw new Error(`source type ${info.type}, want image`);
  if (info.visibility !== 'visible') throw new Error(`visibility ${info.visibility}`);
  if (!(info.opacity > 0 && info.opacity < 1)) throw new Error(`raster-opacity ${info.opacity}`);
  if (!(info.at >= 0 && info.at < info.road && info.at < info.sensors)) throw new Error(`layer order: noise map ${info.at}, roads ${info.road}, sensors ${info.sensors}`);
  if (info.canvas.join() !== [first.grid.nx, first.grid.ny].join()) throw new Error(`canvas ${info.canvas}, grid ${first.grid.nx}×${first.grid.ny}`);
  const b = first.grid.bbox;
  await page.evaluate((b) => window.citytwin.map.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: 20 }), b);
  await page.waitForFunction(() => window.citytwin.map.map.loaded() && !window.citytwin.map.map.isMoving(), null, { timeout: 10_000 });
  await shot(page, '1-live-layer');
});

await check("at each sensor the page's level is the API's cell level, and its pixel the band's colour", async () => {
  first.levels = await compare(page, first.cells, first.grid.nx);
});

await check('the legend shows the held-out error of the map', async () => {
  const want = heldOutText(first.grid.heldOut);
  const got = (await page.locator('#noisemap-error').innerText()).trim();
  if (got !== want) throw new Error(`legend ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
  const time = await page.locator('#noisemap-legend').getAttribute('data-time');
  if (time !== first.grid.time) throw new Error(`legend's map time ${time}, API ${first.grid.time}`);
  log(`legend: ${(await page.locator('#noisemap-legend').innerText()).replace(/\n+/g, ' | ')}`);
});

await check('a click on a sensor under the layer opens its panel', async () => {
  const s = sensors[0];
  await page.evaluate((lonlat) => window.citytwin.map.map.jumpTo({ center: lonlat, zoom: 15 }), s.loc);
  await page.waitForFunction(() => window.citytwin.map.map.loaded() && !window.citytwin.map.map.isMoving(), null, { timeout: 10_000 });
  const p = await page.evaluate((lonlat) => {
    const m = window.citytwin.map.map;
    const q = m.project(lonlat);
    const r = m.getContainer().getBoundingClientRect();
    return { x: r.left + q.x, y: r.top + q.y };
  }, s.loc);
  await page.mouse.click(p.x, p.y);
  await page.waitForSelector(`#panel:not([hidden])[data-id="${s.id}"]`, { timeout: 5_000 });
  await page.locator('#panel .close').click();
});

const second = {};
await check('after the levels rise, the page refreshes the live map when its max-age has elapsed', async () => {
  const published = Date.now();
  await publishAll((s) => s.l1 + RISE, 0);
  const s = sensors[0];
  const before = first.levels[0].api.level;
  // The server recomputes the live map a minute after the first one.
  const deadline = Date.now() + 75_000;
  for (;;) {
    const m = await apiMap();
    const c = apiCell(m.cells, s.loc);
    if (c && c.level >= before + RISE / 2) {
      Object.assign(second, m);
      break;
    }
    if (Date.now() > deadline) throw new Error(`after 75 s the API's level at ${s.short} is ${c?.level}, was ${before}`);
    await new Promise((r) => setTimeout(r, 2000));
  }
  const want = apiCell(second.cells, s.loc).level;
  await page.waitForFunction(([lon, lat, want]) => window.citytwin.noiseMap.levelAt(lon, lat) === want, [s.loc[0], s.loc[1], want], { timeout: 75_000 });
  log(`live map refreshed ${((Date.now() - published) / 1000).toFixed(0)} s after the rise: ${s.short} ${before} → ${want} dB(A)`);
  second.levels = await compare(page, second.cells, second.grid.nx);
  const b = first.grid.bbox;
  await page.evaluate((b) => window.citytwin.map.map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { animate: false, padding: 20 }), b);
  await page.waitForFunction(() => window.citytwin.map.map.loaded() && !window.citytwin.map.map.isMoving(), null, { timeout: 10_000 });
  await shot(page, '2-live-after-rise');
});

await check('the replay slider asks for ?at= and draws the earlier map; back to live the current one', async () => {
  const asked = noiseRequests.length;
  await page.locator('#replay-slider').fill('-15');
  await page.waitForSelector('#noisemap-legend[data-state=replay]', { timeout: 20_000 });
  const at = await page.locator('#noisemap-legend').getAttribute('data-at');
  const replayAt = await page.evaluate(() => document.body.dataset.replay);
  log(`replayed noise map at ${at} (page replay ${replayAt})`);
  const req = noiseRequests.slice(asked).find((u) => u.searchParams.get('at') === at);
  if (!req) throw new Error(`no request with at=${at}: ${noiseRequests.slice(asked).map(String)}`);
  if (Math.abs(Date.parse(at) - (Date.now() - 15 * 60_000)) > 2 * 60_000) throw new Error(`at ${at} is not 15 min ago`);
  const past = await apiMap(at);
  const levels = await compare(page, past.cells, past.grid.nx);
  for (let k = 0; k < sensors.length; k++) {
    const [was, now, then] = [first.levels[k].api.level, second.levels[k].api.level, levels[k].api.level];
    if (then !== was) throw new Error(`sensor ${sensors[k].short}: replayed ${then}, the live map before the rise had ${was}`);
    if (now - then < RISE / 2) throw new Error(`sensor ${sensors[k].short}: replayed ${then} is not below the current ${now}`);
  }
  await page.waitForFunction(() => window.citytwin.map.map.loaded(), null, { timeout: 10_000 });
  await shot(page, '3-replay');
  await page.locator('#btn-live').click();
  await page.waitForSelector('#noisemap-legend[data-state=live]', { timeout: 15_000 });
  const s = sensors[0];
  const live = await page.evaluate(([lon, lat]) => window.citytwin.noiseMap.levelAt(lon, lat), s.loc);
  if (live !== second.levels[0].api.level) throw new Error(`back to live: ${live}, want ${second.levels[0].api.level}`);
});

await check('switching the layer off hides it and stops its legend', async () => {
  await page.locator('#layer-noisemap').uncheck();
  const vis = await page.evaluate(() => window.citytwin.map.map.getLayoutProperty('noisemap-raster', 'visibility'));
  if (vis !== 'none') throw new Error(`visibility ${vis} after switching off`);
  if (await page.locator('#noisemap-legend').count()) throw new Error('the legend still shows the noise map');
});

await check('no failed request, no request outside citytwin, no console error', async () => {
  const all = [...problems.failed, ...problems.http, ...problems.external, ...problems.console, ...problems.pageErrors];
  if (all.length) throw new Error(all.join('\n'));
  log(`noise map requests: ${noiseRequests.map((u) => u.search).join(' ')}`);
});

await browser.close();
await client.endAsync();

const failed = results.filter((r) => !r.ok);
fs.writeFileSync(path.join(artifacts, 'result.json'), JSON.stringify({ results, problems, noiseRequests: noiseRequests.map(String) }, null, 2));
for (const r of failed) console.log(`--- ${r.name}\n${r.error}`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
