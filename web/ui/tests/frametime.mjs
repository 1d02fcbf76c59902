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
//   CITYTWIN_PROFILE    when set, a JavaScript CPU profile of the page covers the
//                       measurement: the 25 functions with most self time are
//                       printed as "# profile …" lines, and the profile goes to
//                       CITYTWIN_ARTIFACTS/frametime-<sensors>.cpuprofile when that
//                       is set (open it in Chromium's DevTools). Profiling slows
//                       the page: its figures are not comparable with others.
//   CITYTWIN_TRACE      when set, a Chromium trace (devtools.timeline) covers the
//                       measurement: each thread's busy time and the main thread's
//                       costliest events are printed as "# trace …" lines, and the
//                       trace goes to CITYTWIN_ARTIFACTS/frametime-<sensors>.trace.json.
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
const profiling = !!process.env.CITYTWIN_PROFILE;
const tracing = !!process.env.CITYTWIN_TRACE;

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
const t0 = Date.now();
const snapshots = [];
page.on('websocket', (ws) => {
  ws.on('close', () => log(`websocket closed after ${Date.now() - t0} ms`));
  ws.on('framereceived', ({ payload }) => {
    if (typeof payload === 'string' && payload.startsWith('{"type":"snapshot"')) {
      // A snapshot during the measurement (a reconnect, a resubscribe) is part of what it measures: say so.
      const full = /"full":true/.test(payload.slice(0, 200));
      snapshots.push({ atMs: Date.now() - t0, full, bytes: payload.length, counting: seen.counting });
      log(`snapshot full=${full} ${payload.length} bytes after ${Date.now() - t0} ms${seen.counting ? ', during the measurement' : ''}`);
    }
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
const statsBefore = await page.evaluate(() => window.citytwin?.stats).catch(() => undefined);
if (statsBefore) log(`page stats before ${JSON.stringify(statsBefore)}`);

let cdp;
if (profiling) {
  cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 1000 });
  await cdp.send('Profiler.start');
}
if (tracing) await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'toplevel', 'v8', 'gpu'] });
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
if (tracing) {
  const buf = await browser.stopTracing();
  if (artifacts) {
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, `frametime-${wantSensors}.trace.json`), buf);
  }
  for (const line of traceSummary(JSON.parse(buf.toString()))) log(`trace ${line}`);
}
if (cdp) {
  const { profile } = await cdp.send('Profiler.stop');
  if (artifacts) {
    fs.mkdirSync(artifacts, { recursive: true });
    fs.writeFileSync(path.join(artifacts, `frametime-${wantSensors}.cpuprofile`), JSON.stringify(profile));
  }
  for (const line of topSelfTime(profile, 25)) log(`profile ${line}`);
}

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

// What the page did (main.ts: App.stats), when it says.
const stats = await page.evaluate(() => window.citytwin?.stats).catch(() => undefined);
if (stats) log(`page stats after ${JSON.stringify(stats)}`);

if (artifacts) {
  fs.mkdirSync(artifacts, { recursive: true });
  const file = path.join(artifacts, `frametime-${wantSensors}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}
await browser.close();
console.log(JSON.stringify(result));

/** The n functions with most self time in a CDP CPU profile, as text lines. */
function topSelfTime(profile, n) {
  const self = new Map();
  const byId = new Map(profile.nodes.map((x) => [x.id, x]));
  // timeDeltas[i] is the time (µs) before samples[i]: charge it to that sample's node.
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    const f = byId.get(id).callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}:${f.columnNumber + 1}` : ''}`.trim();
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`);
}

/** Busy time per thread (its top-level tasks) and the main thread's costliest events, from a Chromium trace. */
function traceSummary(trace) {
  const events = trace.traceEvents ?? trace;
  const names = new Map();
  for (const e of events) if (e.ph === 'M' && e.name === 'thread_name') names.set(`${e.pid}/${e.tid}`, e.args.name);
  const busy = new Map();
  const main = new Map();
  let t0 = Infinity;
  let t1 = 0;
  for (const e of events) {
    if (e.ph !== 'X' || typeof e.dur !== 'number') continue;
    t0 = Math.min(t0, e.ts);
    t1 = Math.max(t1, e.ts + e.dur);
    const thread = names.get(`${e.pid}/${e.tid}`) ?? `tid ${e.tid}`;
    if (e.name === 'ThreadControllerImpl::RunTask' || e.name === 'RunTask') busy.set(thread, (busy.get(thread) ?? 0) + e.dur);
    if (thread === 'CrRendererMain' && e.name !== 'ThreadControllerImpl::RunTask' && e.name !== 'RunTask') main.set(e.name, (main.get(e.name) ?? 0) + e.dur);
  }
  const span = (t1 - t0) / 1000;
  const lines = [`span ${span.toFixed(0)} ms`];
  for (const [t, us] of [...busy].sort((a, b) => b[1] - a[1]).slice(0, 8)) lines.push(`busy ${(us / 1000).toFixed(0).padStart(7)} ms  ${t}`);
  for (const [n, us] of [...main].sort((a, b) => b[1] - a[1]).slice(0, 20)) lines.push(`main ${(us / 1000).toFixed(0).padStart(7)} ms  ${n}`);
  return lines;
}
