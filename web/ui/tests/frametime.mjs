// Frame time of the live map while updates flow, in real Chromium driven by
// playwright-core. cmd/citytwin/ui_bench_test.go (BenchmarkDashboardFrameTime)
// starts the stack and a simulated fleet and runs this script; it can also be
// run by hand against `make run`.
//
//   CITYTWIN_URL        the dashboard, e.g. http://127.0.0.1:8080/ (required)
//   CITYTWIN_TENANT     tenant the page shows (default demo)
//   CITYTWIN_SENSORS    wait until the status bar shows at least this many sensors (default 1)
//   CITYTWIN_DURATION   seconds to measure (default 20)
//   CITYTWIN_ARTIFACTS  when set, a screenshot goes to frametime-<sensors>.png there
//   CHROMIUM            the browser (default /usr/bin/chromium, Debian's package)
//
// It opens the map on a 1280×800 desktop viewport, turns every sensor layer
// on, waits until it is live and holds the sensors, then records the interval between successive
// requestAnimationFrame callbacks in the page for the duration, and the long
// tasks (> 50 ms) the page reports meanwhile. Deltas are counted from the
// WebSocket frames the page receives, outside the page, so counting costs the
// page nothing.
//
// Output: "# …" progress lines, then one JSON line:
//   {"frames":…,"durationS":…,"fps":…,"p50Ms":…,"p95Ms":…,"p99Ms":…,"maxMs":…,
//    "longTasks":…,"longTaskMs":…,"sensorsShown":…,"deltas":…,"sensorUpdates":…}
// A number is a measurement, never a verdict: the script exits 0 whenever it
// could measure.

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = new URL(required('CITYTWIN_URL'));
const tenant = process.env.CITYTWIN_TENANT || 'demo';
const wantSensors = Number(process.env.CITYTWIN_SENSORS || 1);
const seconds = Number(process.env.CITYTWIN_DURATION || 20);
const artifacts = process.env.CITYTWIN_ARTIFACTS ? path.resolve(process.env.CITYTWIN_ARTIFACTS) : '';
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';

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

const browser = await chromium.launch({
  executablePath,
  // WebGL through SwiftShader, as run.mjs: there is no GPU in CI.
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
page.on('pageerror', (e) => log(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error') log(`console error: ${m.text()}`);
});

// Deltas as the page receives them; counting starts with the measurement.
const seen = { counting: false, deltas: 0, sensorUpdates: 0, bytes: 0 };
page.on('websocket', (ws) => {
  ws.on('framereceived', ({ payload }) => {
    if (!seen.counting || typeof payload !== 'string') return;
    seen.bytes += payload.length;
    if (!payload.includes('"delta"')) return;
    try {
      const m = JSON.parse(payload);
      if (m.type !== 'delta') return;
      seen.deltas++;
      seen.sensorUpdates += m.sensors?.length ?? 0;
    } catch {
      // Not ours to judge here.
    }
  });
});

const sensorsShown = () => page.evaluate(() => parseInt(document.querySelector('#st-sensors')?.textContent ?? '', 10) || 0);

const t0 = Date.now();
await page.goto(new URL(`?tenant=${encodeURIComponent(tenant)}`, base).toString());
await page.waitForSelector('body[data-ready=true]', { timeout: 60_000 });
await page.waitForSelector('#st-conn[data-state=live]', { timeout: 30_000 });
// Every sensor layer on, "Other (weather, …)" too, so that the whole fleet is on the map.
for (const box of await page.locator('#sensor-layers input[type=checkbox]').all()) await box.check();
await page.waitForFunction((n) => (parseInt(document.querySelector('#st-sensors')?.textContent ?? '', 10) || 0) >= n, wantSensors, {
  timeout: 120_000,
  polling: 500,
});
log(`live with ${await sensorsShown()} sensors after ${Date.now() - t0} ms`);
// Let the first snapshot's upload and the initial burst settle.
await page.waitForTimeout(2000);

seen.counting = true;
const m = await page.evaluate(async (ms) => {
  const long = { n: 0, ms: 0 };
  let obs;
  try {
    obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        long.n++;
        long.ms += e.duration;
      }
    });
    obs.observe({ type: 'longtask' });
  } catch {
    long.n = -1; // not supported
  }
  const gaps = [];
  await new Promise((resolve) => {
    let last = 0;
    let end = 0;
    const step = (now) => {
      if (last) gaps.push(now - last);
      else end = now + ms;
      last = now;
      if (now < end || !end) requestAnimationFrame(step);
      else resolve();
    };
    requestAnimationFrame(step);
  });
  obs?.disconnect();
  return { gaps, long };
}, seconds * 1000);
seen.counting = false;

const gaps = m.gaps.slice().sort((a, b) => a - b);
const total = m.gaps.reduce((s, g) => s + g, 0);
const q = (p) => (gaps.length ? gaps[Math.min(gaps.length - 1, Math.ceil((p / 100) * gaps.length) - 1)] : NaN);
const r = (x) => Math.round(x * 100) / 100;
const result = {
  frames: gaps.length,
  durationS: r(total / 1000),
  fps: r(gaps.length / (total / 1000)),
  p50Ms: r(q(50)),
  p95Ms: r(q(95)),
  p99Ms: r(q(99)),
  maxMs: r(gaps.at(-1) ?? NaN),
  longTasks: m.long.n,
  longTaskMs: r(m.long.ms),
  sensorsShown: await sensorsShown(),
  deltas: seen.deltas,
  sensorUpdates: seen.sensorUpdates,
  wsBytes: seen.bytes,
};

if (artifacts) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `frametime-${wantSensors}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}
await browser.close();
console.log(JSON.stringify(result));
