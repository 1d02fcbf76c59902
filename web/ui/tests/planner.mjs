// Browser test of the planner panel, in real Chromium driven by
// playwright-core, against a running citytwin whose InfluxDB holds the
// synthetic history cmd/citytwin/planner_ui_test.go writes (it starts the
// stack, places the sensors and runs this script).
//
//   CITYTWIN_URL        the dashboard, e.g. http://127.0.0.1:8080/ (required)
//   CITYTWIN_TENANT     tenant of the history (default planner)
//   CITYTWIN_ARTIFACTS  directory for screenshots and result.json (default ./artifacts)
//   CHROMIUM            the browser (default /usr/bin/chromium)
//   PLAN_NEIGHBOURHOOD, PLAN_ROAD, PLAN_PARK   the neighbourhood, road and park of the test's sensors (required)
//   PLAN_NO_PARK        a neighbourhood without a park (optional: the server-side error check)
//   PLAN_CLICK          lon,lat inside PLAN_NEIGHBOURHOOD (required)
//   PLAN_ROAD_POINT     lon,lat on PLAN_ROAD (required)
//   PLAN_DETOUR_ROAD    a second road with a traffic sensor, the detour (required)
//   PLAN_DETOUR_POINT   lon,lat on PLAN_DETOUR_ROAD (required)
//   PLAN_ROAD_FLOW, PLAN_DETOUR_FLOW   the hourly flows (veh/h) the history holds on the two roads (required)
//
// Output: one line per check ("ok - …" or "not ok - …"), then "N passed, N failed".

import fs from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';

const base = new URL(required('CITYTWIN_URL'));
const tenant = process.env.CITYTWIN_TENANT || 'planner';
const artifacts = path.resolve(process.env.CITYTWIN_ARTIFACTS || 'artifacts');
const executablePath = process.env.CHROMIUM || '/usr/bin/chromium';
const N = required('PLAN_NEIGHBOURHOOD');
const ROAD = required('PLAN_ROAD');
const PARK = required('PLAN_PARK');
const NO_PARK = process.env.PLAN_NO_PARK || '';
const CLICK = required('PLAN_CLICK').split(',').map(Number);
const ROAD_POINT = required('PLAN_ROAD_POINT').split(',').map(Number);
const DETOUR = required('PLAN_DETOUR_ROAD');
const DETOUR_POINT = required('PLAN_DETOUR_POINT').split(',').map(Number);
const ROAD_FLOW = Number(required('PLAN_ROAD_FLOW'));
const DETOUR_FLOW = Number(required('PLAN_DETOUR_FLOW'));
fs.mkdirSync(artifacts, { recursive: true });

// A 30 % flow cut changes a road's emission by 10·lg(0.7) = −1.549 dB
// (CNOSSOS-EU: only the flow term changes).
const DELTA_30 = 10 * Math.log10(0.7);
// Closing PLAN_ROAD and moving 60 % of its flow onto the detour: with the
// history's 600 and 300 veh/h, 300 + 0.6 × 600 = 660 veh/h after, and the
// detour's emission changes by 10·lg(660/300) = +3.424 dB.
const SHARE = 60;
const DETOUR_AFTER = DETOUR_FLOW + (SHARE / 100) * ROAD_FLOW;
const DETOUR_DELTA = 10 * Math.log10(DETOUR_AFTER / DETOUR_FLOW);
const CSV_HEADER = 'section,kind,id,name,metric,policy,before,after,delta';

const results = [];
const problems = { console: [], failed: [], http: [], external: [], pageErrors: [] };
/** Responses ≥ 400 the test provokes on purpose (method and path). */
const expected400 = [];

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
    if (m.type() === 'error') {
      // Chromium logs every 4xx response as a console error: the ones the test provokes are expected.
      if (/Failed to load resource: the server responded with a status of 400/.test(m.text()) && expected400.length) return;
      problems.console.push(`${label}: ${m.text()}`);
    } else if (m.type() === 'warning') log(`${label} console warning: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.pageErrors.push(`${label}: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (!['data:', 'blob:'].includes(u.protocol) && u.host !== base.host) problems.external.push(`${label}: ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    if (r.failure()?.errorText === 'net::ERR_ABORTED' && /\/(ngsi-ld\/v1\/temporal\/|api\/v1\/replay\?)/.test(r.url())) return;
    problems.failed.push(`${label}: ${r.method()} ${r.url()}: ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() < 400) return;
    const what = `${r.request().method()} ${new URL(r.url()).pathname}`;
    if (r.status() === 400 && expected400.some((e) => what.endsWith(e))) return;
    problems.http.push(`${label}: ${r.status()} ${what}`);
  });
}

async function shot(page, name) {
  const file = path.join(artifacts, `${name}.png`);
  await page.screenshot({ path: file });
  log(`screenshot ${file}`);
}

/** Centres the map on lonlat and returns its position on the page once the map is still. */
async function focus(page, lonlat, zoom = 15) {
  await page.evaluate(([lonlat, zoom]) => window.citytwin.map.map.jumpTo({ center: lonlat, zoom }), [lonlat, zoom]);
  await page.waitForFunction(() => window.citytwin.map.map.loaded() && !window.citytwin.map.map.isMoving(), null, { timeout: 10_000 });
  return pagePoint(page, lonlat);
}

function pagePoint(page, lonlat) {
  return page.evaluate((lonlat) => {
    const m = window.citytwin.map.map;
    const p = m.project(lonlat);
    const r = m.getContainer().getBoundingClientRect();
    return { x: r.left + p.x, y: r.top + p.y };
  }, lonlat);
}

/** Waits for the run in progress to end and fails with the panel's status if it failed. */
async function waitRun(page, timeout = 90_000) {
  await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('#planner')?.dataset.state), null, { timeout });
  const state = await page.locator('#planner').getAttribute('data-state');
  if (state !== 'done') throw new Error(`the run failed: ${await page.locator('#plan-status').innerText()}`);
}

async function setMode(page, mode) {
  await page.locator(`#planner .plan-modes button[data-mode=${mode}]`).click();
}

// ---- the browser ---------------------------------------------------------------

const browser = await chromium.launch({
  executablePath,
  args: ['--no-sandbox', '--use-angle=swiftshader', '--enable-unsafe-swiftshader', '--ignore-gpu-blocklist'],
});
const pageURL = new URL(`?tenant=${encodeURIComponent(tenant)}`, base).toString();
const desktop = await browser.newPage({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
watch(desktop, 'desktop');
const saved = {};

await check('the Plan button opens the planner and adds its own plan- layers', async () => {
  await desktop.goto(pageURL);
  await desktop.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await desktop.locator('#btn-plan').click();
  await desktop.waitForSelector('#planner:not([hidden])', { timeout: 5_000 });
  const ids = await desktop.evaluate(() => window.citytwin.map.map.getStyle().layers.map((l) => l.id).filter((id) => id.startsWith('plan-')));
  if (!ids.includes('plan-result-road') || !ids.includes('plan-select-area')) throw new Error(`plan- layers ${ids}`);
  if ((await desktop.locator('#btn-plan').getAttribute('aria-expanded')) !== 'true') throw new Error('the Plan button is not marked expanded');
});

await check('clicking a neighbourhood on the map selects it', async () => {
  const p = await focus(desktop, CLICK);
  await desktop.mouse.click(p.x, p.y);
  await desktop.waitForSelector(`#plan-selection li[data-kind=neighbourhood][data-id="${N}"]`, { timeout: 5_000 });
  // The details panel of the live map did not open: the click was the planner's.
  if (await desktop.locator('#panel').isVisible()) throw new Error('the live details panel opened on a planner click');
  const sel = await desktop.evaluate(() => window.citytwin.planner.plan.selection().select.features.map((f) => f.properties));
  if (!sel.some((p) => p.layer === 'neighbourhood' && p.id === N)) throw new Error(`plan-select holds ${JSON.stringify(sel)}`);
});

await check('clicking a road adds it, a second click removes it', async () => {
  await setMode(desktop, 'road');
  const p = await pagePoint(desktop, ROAD_POINT);
  await desktop.mouse.click(p.x, p.y);
  await desktop.waitForSelector(`#plan-selection li[data-kind=road][data-id="${ROAD}"]`, { timeout: 5_000 });
  await shot(desktop, '1-selection');
  await desktop.mouse.click(p.x, p.y);
  await desktop.waitForSelector(`#plan-selection li[data-kind=road]`, { state: 'detached', timeout: 5_000 });
});

await check('a polygon drawn point by point is listed, finished and removed', async () => {
  await setMode(desktop, 'polygon');
  const c = await pagePoint(desktop, CLICK);
  for (const [dx, dy] of [
    [-60, -40],
    [60, -40],
    [0, 60],
  ]) {
    await desktop.mouse.click(c.x + dx, c.y + dy);
  }
  const li = desktop.locator('#plan-selection li[data-kind=polygon]');
  await li.waitFor({ timeout: 5_000 });
  if (!(await li.innerText()).includes('3 points (drawing)')) throw new Error(`polygon item ${await li.innerText()}`);
  await desktop.getByRole('button', { name: 'Finish polygon' }).click();
  await desktop.waitForFunction(() => /3 points(?! \(drawing)/.test(document.querySelector('#plan-selection li[data-kind=polygon]')?.textContent ?? ''));
  const drawn = await desktop.evaluate(() => window.citytwin.planner.plan.selection().draft.features.map((f) => f.geometry.type));
  if (!drawn.includes('Polygon')) throw new Error(`draft layer ${drawn}`);
  await shot(desktop, '2-polygon');
  await desktop.locator('#plan-selection [data-remove=polygon]').click();
  await li.waitFor({ state: 'detached', timeout: 5_000 });
  await setMode(desktop, 'area');
});

await check('a bad input is shown next to its field before any request', async () => {
  await desktop.locator('#plan-flow').fill('-150');
  await desktop.locator('#plan-run').click();
  const err = desktop.locator('#planner .plan-err[data-field="traffic.flowChangePct"]');
  await err.waitFor({ state: 'visible', timeout: 2_000 });
  const text = await err.innerText();
  if (!text.includes('-100..300')) throw new Error(`error text ${JSON.stringify(text)}`);
  if ((await desktop.locator('#plan-flow').getAttribute('aria-invalid')) !== 'true') throw new Error('the input is not marked invalid');
  await shot(desktop, '3-field-error');
});

await check('flow −30 %: roads coloured by ΔL −1.55 dB, areas by a negative Lden change, assumptions and timing shown', async () => {
  await desktop.locator('#plan-flow').fill('-30');
  await desktop.locator('#plan-run').click();
  await waitRun(desktop);
  const res = await desktop.evaluate(() => {
    const pl = window.citytwin.planner;
    return { features: pl.plan.result().features.map((f) => f.properties), assumptions: pl.result.assumptions, timing: pl.result.timing };
  });
  const roads = res.features.filter((f) => f.layer === 'road');
  if (!roads.length) throw new Error('no road in the delta layer');
  const off = roads.filter((r) => Math.abs(r.deltaDb - DELTA_30) > 0.01);
  if (off.length) throw new Error(`roads not at ${DELTA_30.toFixed(3)} dB: ${JSON.stringify(off.slice(0, 3))}`);
  if (!roads.some((r) => r.id === ROAD)) throw new Error(`road ${ROAD} of the neighbourhood is not in the delta layer`);
  if (!roads.every((r) => r.color === '#67a9cf')) throw new Error(`road colours ${[...new Set(roads.map((r) => r.color))]}, want the −3..−1 dB blue`);
  log(`${roads.length} roads at ΔL ${roads[0].deltaDb} dB; timing ${JSON.stringify(res.timing)}`);
  // The map draws them: features of the plan-result source are rendered.
  await desktop.waitForFunction(() => !window.citytwin.map.map.isMoving() && window.citytwin.map.map.loaded());
  const rendered = await desktop.evaluate(() => window.citytwin.map.map.queryRenderedFeatures({ layers: ['plan-result-road'] }).map((f) => f.properties.deltaDb));
  if (!rendered.length || rendered.some((d) => Math.abs(d - DELTA_30) > 0.01)) throw new Error(`rendered road deltas ${rendered.slice(0, 5)}`);
  const srcRoads = await desktop.evaluate(() => window.citytwin.map.map.querySourceFeatures('plan-result', { filter: ['==', ['get', 'layer'], 'road'] }).length);
  if (!srcRoads) throw new Error('querySourceFeatures(plan-result) has no road');

  // The table: the neighbourhood with a negative Lden change.
  const row = desktop.locator(`#plan-areas tr[data-kind=neighbourhood][data-id="${N}"]`);
  const ld = Number(await row.getAttribute('data-lden-delta'));
  if (!(ld < 0)) throw new Error(`neighbourhood ${N} Lden change ${ld}, want < 0`);
  const negatives = await desktop.locator('#plan-areas tr[data-lden-delta^="-"]').count();
  log(`neighbourhood ${N}: Lden change ${ld} dB; ${negatives} areas with a negative change`);
  const roadRow = await desktop.locator(`#plan-roads tr[data-id="${ROAD}"]`).innerText();
  if (!roadRow.includes('−1.55')) throw new Error(`road row ${JSON.stringify(roadRow)}, want −1.55`);

  // Assumptions verbatim, timing.
  const shown = await desktop.locator('#plan-assumptions li').allInnerTexts();
  if (shown.length < 5 || JSON.stringify(shown) !== JSON.stringify(res.assumptions)) throw new Error(`assumptions shown ${JSON.stringify(shown)} vs ${JSON.stringify(res.assumptions)}`);
  const timing = await desktop.locator('#plan-timing').innerText();
  if (!/Ran in [\d,]+ ms \(InfluxDB [\d,]+ ms, [\d,]+ rollup values\)/.test(timing)) throw new Error(`timing ${JSON.stringify(timing)}`);
  await desktop.waitForTimeout(300);
  await shot(desktop, '4-traffic-delta');

  // After: the measured road at 420 veh/h (600 − 30 %) in the 300–600 class.
  await desktop.locator('#plan-view').selectOption('after');
  const after = await desktop.evaluate((road) => window.citytwin.planner.plan.result().features.find((f) => f.properties.id === road && f.properties.layer === 'road').properties, ROAD);
  if (after.flowAfter !== 420 || after.color !== '#fd8d3c') throw new Error(`after: road ${ROAD} ${JSON.stringify(after)}, want 420 veh/h in #fd8d3c`);
  await shot(desktop, '5-traffic-after');
  await desktop.locator('#plan-view').selectOption('delta');
});

await check('the CSV download of an unsaved run has the header row and the road', async () => {
  const [dl] = await Promise.all([desktop.waitForEvent('download', { timeout: 60_000 }), desktop.locator('a.plan-dl[data-format=csv]').click()]);
  const file = await dl.path();
  const text = fs.readFileSync(file, 'utf8');
  const lines = text.trim().split('\n');
  if (lines[0] !== CSV_HEADER) throw new Error(`CSV header ${JSON.stringify(lines[0])}`);
  if (!lines.some((l) => l.startsWith(`traffic,road,${ROAD},`) && l.includes('emission_delta_dB'))) throw new Error(`no emission row for ${ROAD}`);
  log(`CSV ${dl.suggestedFilename()}: ${lines.length} lines`);
});

await check('saving lists the scenario; its CSV and GeoJSON links answer their types', async () => {
  await desktop.locator('#plan-name').fill('LEZ −30 %');
  await desktop.locator('#plan-author').fill('ana');
  await desktop.locator('#plan-save').click();
  await waitRun(desktop);
  saved.traffic = await desktop.locator('#plan-result').getAttribute('data-saved');
  if (!saved.traffic) throw new Error('the result is not marked saved');
  await desktop.locator('#planner summary', { hasText: 'Saved scenarios' }).click();
  const item = desktop.locator(`#plan-saved-list tr[data-id="${saved.traffic}"]`);
  await item.waitFor({ timeout: 5_000 });
  const text = await item.innerText();
  if (!text.includes('LEZ −30 %') || !text.includes('ana')) throw new Error(`listed as ${JSON.stringify(text)}`);
  const href = await desktop.locator('a.plan-dl[data-format=csv]').getAttribute('href');
  const got = await desktop.evaluate(async (href) => {
    const r = await fetch(href);
    return { status: r.status, type: r.headers.get('content-type'), disp: r.headers.get('content-disposition'), first: (await r.text()).split('\n')[0] };
  }, href);
  if (got.status !== 200 || !got.type.startsWith('text/csv') || got.first !== CSV_HEADER) throw new Error(`GET ${href}: ${JSON.stringify(got)}`);
  const gj = await desktop.evaluate(async (href) => {
    const r = await fetch(href);
    const fc = await r.json();
    return { type: r.headers.get('content-type'), layers: [...new Set(fc.features.map((f) => f.properties.layer))] };
  }, await desktop.locator('a.plan-dl[data-format=geojson]').getAttribute('href'));
  if (!gj.type.startsWith('application/geo+json') || !gj.layers.includes('road')) throw new Error(`GeoJSON ${JSON.stringify(gj)}`);
  log(`saved ${saved.traffic}; CSV ${got.type} (${got.disp}); GeoJSON layers ${gj.layers}`);
});

await check('an irrigation scenario with two policies shows both side by side', async () => {
  await desktop.locator('#plan-traffic-on').uncheck();
  await desktop.locator('#plan-irr-on').check();
  if ((await desktop.locator('#planner .plan-policy').count()) !== 2) throw new Error('want the two default policies');
  await desktop.locator('#plan-name').fill('Parks, two policies');
  await desktop.locator('#plan-save').click();
  await waitRun(desktop);
  saved.parks = await desktop.locator('#plan-result').getAttribute('data-saved');
  const policies = await desktop.locator('#plan-irrigation thead th[data-policy]').evaluateAll((ths) => ths.map((th) => th.dataset.policy));
  if (policies.length !== 2) throw new Error(`policies in the table ${policies}`);
  const park = await desktop.locator(`#plan-irrigation tr[data-id="${PARK}"]`).innerText();
  log(`policies ${policies.join(' | ')}; park ${PARK}: ${park.replace(/\s+/g, ' ')}`);
  const green = await desktop.evaluate((park) => window.citytwin.planner.plan.result().features.find((f) => f.properties.layer === 'greenarea' && f.properties.id === park)?.properties, PARK);
  if (!green || typeof green.volumeM3 !== 'number') throw new Error(`park ${PARK} on the map: ${JSON.stringify(green)}`);
  // The map shows the volume of the chosen policy.
  await desktop.locator('#plan-view-policy').selectOption(policies[1]);
  const second = await desktop.evaluate((park) => window.citytwin.planner.plan.result().features.find((f) => f.properties.id === park).properties.policy, PARK);
  if (second !== policies[1]) throw new Error(`map policy ${second}, want ${policies[1]}`);
  await desktop.locator(`#plan-irrigation`).scrollIntoViewIfNeeded();
  await shot(desktop, '6-irrigation');
});

await check('two saved scenarios are compared side by side', async () => {
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.parks}"]`).waitFor({ timeout: 5_000 });
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.traffic}"] input[name=plan-cmp-a]`).check();
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.parks}"] input[name=plan-cmp-b]`).check();
  await desktop.locator('#plan-compare-btn').click();
  await desktop.locator('#plan-compare-roads').waitFor({ timeout: 5_000 });
  const roads = await desktop.locator(`#plan-compare-roads tr[data-id="${ROAD}"]`).innerText();
  const parks = await desktop.locator(`#plan-compare-irrigation tr[data-id="${PARK}"]`).count();
  if (!roads.includes('−1.55') || parks !== 2) throw new Error(`comparison: road ${JSON.stringify(roads)}, ${parks} park rows (want one per policy)`);
  await desktop.locator('#plan-compare').scrollIntoViewIfNeeded();
  await shot(desktop, '7-compare');
});

await check('a saved scenario re-runs, opens into the form, and is deleted', async () => {
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.parks}"] button`, { hasText: 'Re-run' }).click();
  await waitRun(desktop);
  await desktop.waitForFunction((id) => /2 runs/.test(document.querySelector(`#plan-saved-list tr[data-id="${id}"]`)?.textContent ?? ''), saved.parks, { timeout: 5_000 });
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.traffic}"] button`, { hasText: 'Open' }).click();
  await desktop.waitForFunction(() => document.querySelector('#plan-flow').value === '-30' && document.querySelector('#plan-traffic-on').checked);
  const del = desktop.locator(`#plan-saved-list tr[data-id="${saved.parks}"] button`, { hasText: 'Delete' });
  await del.click();
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.parks}"] button`, { hasText: 'Confirm delete' }).click();
  await desktop.locator(`#plan-saved-list tr[data-id="${saved.parks}"]`).waitFor({ state: 'detached', timeout: 5_000 });
  const list = await desktop.evaluate(async (t) => (await (await fetch(`api/v1/scenarios?tenant=${t}`)).json()).map((s) => s.id), tenant);
  if (list.includes(saved.parks) || !list.includes(saved.traffic)) throw new Error(`listed after delete: ${list}`);
});

if (NO_PARK) {
  await check("the server's rule is shown at its field (irrigation of a neighbourhood without parks)", async () => {
    expected400.push('/api/v1/scenarios/run');
    await desktop.getByRole('button', { name: 'Clear selection' }).click();
    await desktop.evaluate((id) => window.citytwin.planner.toggle1('neighbourhood', id), NO_PARK);
    await desktop.locator('#plan-traffic-on').uncheck();
    await desktop.locator('#plan-irr-on').check();
    await desktop.locator('#plan-run').click();
    await desktop.waitForFunction(() => document.querySelector('#planner').dataset.state === 'error', null, { timeout: 30_000 });
    const err = await desktop.locator('#planner .plan-err[data-field=area]').innerText();
    if (!/green area/.test(err)) throw new Error(`area error ${JSON.stringify(err)}`);
    await desktop.locator('#planner .plan-err[data-field=area]').scrollIntoViewIfNeeded();
    await shot(desktop, '8-server-error');
  });
}

await check('closure with diversion: the Detour roads mode comes with the closure and picks roads on the map', async () => {
  await desktop.getByRole('button', { name: 'Clear selection' }).click();
  await desktop.locator('#plan-irr-on').uncheck();
  await desktop.locator('#plan-traffic-on').check();
  await desktop.locator('#plan-flow').fill('0');
  await desktop.locator('#plan-close').uncheck();
  const detourMode = desktop.locator('#planner .plan-modes button[data-mode=detour]');
  if (!(await detourMode.isHidden())) throw new Error('the Detour roads mode is offered without a closure');
  if (!(await desktop.locator('#plan-detour-box').isHidden())) throw new Error('the detour list is shown without a closure');
  await setMode(desktop, 'road');
  const r = await focus(desktop, ROAD_POINT);
  await desktop.mouse.click(r.x, r.y);
  await desktop.waitForSelector(`#plan-selection li[data-kind=road][data-id="${ROAD}"]`, { timeout: 5_000 });
  await desktop.locator('#plan-close').check();
  await detourMode.waitFor({ state: 'visible', timeout: 2_000 });
  await desktop.locator('#plan-detour-box').waitFor({ state: 'visible', timeout: 2_000 });
  await setMode(desktop, 'detour');
  const d = await focus(desktop, DETOUR_POINT);
  await desktop.mouse.click(d.x, d.y);
  const share = desktop.locator(`#plan-detours li[data-road="${DETOUR}"] input`);
  await share.waitFor({ timeout: 5_000 });
  // One detour takes the whole default total.
  if ((await share.inputValue()) !== '100') throw new Error(`one detour's share ${await share.inputValue()}, want 100`);
  await desktop.waitForSelector(`#plan-selection li[data-kind=detour][data-id="${DETOUR}"]`, { state: 'attached', timeout: 2_000 });
  const sel = await desktop.evaluate(() => window.citytwin.planner.plan.selection().select.features.map((f) => f.properties));
  if (!sel.some((p) => p.layer === 'detour' && p.id === DETOUR) || !sel.some((p) => p.layer === 'road' && p.id === ROAD)) {
    throw new Error(`plan-select holds ${JSON.stringify(sel)}`);
  }

  // The closed road picked as a detour too: split 50 / 50, refused next to its share at once.
  const r2 = await focus(desktop, ROAD_POINT);
  await desktop.mouse.click(r2.x, r2.y);
  const closedShare = desktop.locator(`#plan-detours li[data-road="${ROAD}"] input`);
  await closedShare.waitFor({ timeout: 5_000 });
  if ((await share.inputValue()) !== '50' || (await closedShare.inputValue()) !== '50') throw new Error('two detours are not split 50 / 50');
  const closedErr = desktop.locator(`#planner .plan-err[data-field="traffic.divert.${ROAD}"]`);
  await closedErr.waitFor({ state: 'visible', timeout: 2_000 });
  if (!/closed/.test(await closedErr.innerText())) throw new Error(`error ${JSON.stringify(await closedErr.innerText())}`);
  if ((await closedShare.getAttribute('aria-invalid')) !== 'true') throw new Error("the closed road's share is not marked invalid");
  await desktop.locator('#plan-run').click();
  if ((await desktop.locator('#planner').getAttribute('data-state')) !== 'error') throw new Error('a run started with a closed detour');
  await desktop.mouse.click(r2.x, r2.y); // removes it again
  await closedShare.waitFor({ state: 'detached', timeout: 5_000 });
  await closedErr.waitFor({ state: 'hidden', timeout: 2_000 });

  // Shares are 0 < p ≤ 100: 120 is refused next to the input while typing.
  await share.fill('120');
  const shareErr = desktop.locator(`#planner .plan-err[data-field="traffic.divert.${DETOUR}"]`);
  await shareErr.waitFor({ state: 'visible', timeout: 2_000 });
  if (!/0\.\.100 percent/.test(await shareErr.innerText())) throw new Error(`error ${JSON.stringify(await shareErr.innerText())}`);
  await share.fill(String(SHARE));
  await shareErr.waitFor({ state: 'hidden', timeout: 2_000 });
  const sum = await desktop.locator('#plan-detour-sum').innerText();
  if (!sum.startsWith('60.0 %')) throw new Error(`sum ${JSON.stringify(sum)}`);
  // Every marked field fixed: the status of the refused run is gone.
  if ((await desktop.locator('#planner').getAttribute('data-state')) !== 'idle') throw new Error(`state ${await desktop.locator('#planner').getAttribute('data-state')} after the fixes`);
  await desktop.locator('#plan-detour-box').scrollIntoViewIfNeeded();
  await shot(desktop, '11-detour-form');
});

await check("the server's traffic.divert.<road> error lands next to that road's share", async () => {
  expected400.push('/api/v1/scenarios/run');
  const bogus = 'r-no-such-road';
  await desktop.evaluate((id) => window.citytwin.planner.toggleDetour(id), bogus);
  await desktop.locator('#plan-run').click();
  await desktop.waitForFunction(() => document.querySelector('#planner').dataset.state === 'error', null, { timeout: 30_000 });
  const err = desktop.locator(`#plan-detours li[data-road="${bogus}"] .plan-err[data-field="traffic.divert.${bogus}"]`);
  await err.waitFor({ state: 'visible', timeout: 2_000 });
  if (!/no road segment/.test(await err.innerText())) throw new Error(`error ${JSON.stringify(await err.innerText())}`);
  if ((await desktop.locator(`#plan-detours li[data-road="${bogus}"] input`).getAttribute('aria-invalid')) !== 'true') throw new Error('its share is not marked invalid');
  // Removing it splits the total again: the detour takes 100 %, then 60 % by hand.
  await desktop.evaluate((id) => window.citytwin.planner.toggleDetour(id), bogus);
  await desktop.locator(`#plan-detours li[data-road="${DETOUR}"] input`).fill(String(SHARE));
});

await check(`closure with ${SHARE} % diverted: the closed road at 0, the detour at before + ${SHARE} % of the closed flow, outlined and tagged`, async () => {
  await desktop.locator('#plan-name').fill(`Closure, ${SHARE} % diverted`);
  await desktop.locator('#plan-save').click();
  await waitRun(desktop);
  saved.detour = await desktop.locator('#plan-result').getAttribute('data-saved');
  const res = await desktop.evaluate(() => {
    const pl = window.citytwin.planner;
    return { roads: pl.result.traffic.roads, spec: pl.result.spec.traffic, features: pl.plan.result().features.map((f) => f.properties) };
  });
  if (JSON.stringify(res.spec.close) !== JSON.stringify([ROAD]) || JSON.stringify(res.spec.divert) !== JSON.stringify({ [DETOUR]: SHARE })) {
    throw new Error(`spec sent ${JSON.stringify(res.spec)}`);
  }
  const closed = res.roads.find((x) => x.id === ROAD);
  const detour = res.roads.find((x) => x.id === DETOUR);
  if (!closed?.closed || closed.flowAfter !== 0 || closed.flowBefore !== ROAD_FLOW) throw new Error(`closed road ${JSON.stringify(closed)}, want closed, ${ROAD_FLOW} → 0 veh/h`);
  if (!detour?.diverted || detour.flowBefore !== DETOUR_FLOW || Math.abs(detour.flowAfter - DETOUR_AFTER) > 1e-6) {
    throw new Error(`detour ${JSON.stringify(detour)}, want diverted, ${DETOUR_FLOW} → ${DETOUR_AFTER} veh/h`);
  }
  if (Math.abs(detour.deltaDb - DETOUR_DELTA) > 0.01) throw new Error(`detour ΔL ${detour.deltaDb} dB, want 10·lg(${DETOUR_AFTER}/${DETOUR_FLOW}) = ${DETOUR_DELTA.toFixed(3)}`);
  log(`closed ${ROAD}: ${closed.flowBefore} → ${closed.flowAfter} veh/h; detour ${DETOUR}: ${detour.flowBefore} → ${detour.flowAfter} veh/h, ΔL ${detour.deltaDb} dB (want ${DETOUR_DELTA})`);
  // The plan-result source: flags and colours.
  const fc = res.features.find((f) => f.layer === 'road' && f.id === DETOUR);
  const fr = res.features.find((f) => f.layer === 'road' && f.id === ROAD);
  if (!fc?.diverted || fc.color !== '#b2182b' || !fr?.closed || fr.color !== '#1d2733') throw new Error(`features ${JSON.stringify([fr, fc])}`);
  // Rendered: the detour in its outline layer and in the road layer with its ΔL; the closed road dashed.
  await desktop.waitForFunction(
    ([road, detour]) => {
      const m = window.citytwin.map.map;
      if (m.isMoving() || !m.loaded()) return false;
      const outline = m.queryRenderedFeatures({ layers: ['plan-result-road-detour'] }).map((f) => f.properties.id);
      const roads = m.queryRenderedFeatures({ layers: ['plan-result-road'] }).map((f) => f.properties.id);
      return outline.includes(detour) && !outline.includes(road) && roads.includes(road) && roads.includes(detour);
    },
    [ROAD, DETOUR],
    { timeout: 10_000 },
  );
  const rendered = await desktop.evaluate(
    ([road, detour]) =>
      window.citytwin.map.map
        .queryRenderedFeatures({ layers: ['plan-result-road'] })
        .filter((f) => [road, detour].includes(f.properties.id))
        .map((f) => f.properties),
    [ROAD, DETOUR],
  );
  const rd = rendered.find((p) => p.id === DETOUR);
  const rc = rendered.find((p) => p.id === ROAD);
  if (Math.abs(rd.deltaDb - DETOUR_DELTA) > 0.01 || rd.flowAfter !== detour.flowAfter || rc.closed !== true || rc.flowAfter !== 0) {
    throw new Error(`rendered ${JSON.stringify(rendered)}`);
  }
  // The roads table: the closed road first, then the detour with its tag and flow before → after.
  const rows = await desktop.locator('#plan-roads tbody tr').evaluateAll((trs) => trs.slice(0, 2).map((tr) => tr.dataset.id));
  if (rows[0] !== ROAD || rows[1] !== DETOUR) throw new Error(`first rows ${rows}`);
  const row = desktop.locator(`#plan-roads tr[data-id="${DETOUR}"][data-detour=true]`);
  const text = await row.innerText();
  const want = `${DETOUR_FLOW.toLocaleString('en')} → ${Math.round(DETOUR_AFTER).toLocaleString('en')} veh/h`;
  if (!text.includes('detour') || !text.includes(want) || !text.includes(`+${DETOUR_DELTA.toFixed(2)}`)) throw new Error(`detour row ${JSON.stringify(text)}, want "detour", "${want}"`);
  if (!(await desktop.locator(`#plan-roads tr[data-id="${ROAD}"][data-closed=true]`).count())) throw new Error('the closed road is not tagged');
  // The legend explains the outline.
  const legend = await desktop.locator('.plan-legend li[data-legend=detour]').innerText();
  if (!/detour road/.test(legend)) throw new Error(`legend ${JSON.stringify(legend)}`);
  // Close up on the two roads for the screenshot.
  await focus(desktop, [(ROAD_POINT[0] + DETOUR_POINT[0]) / 2, (ROAD_POINT[1] + DETOUR_POINT[1]) / 2], 17);
  await desktop.waitForTimeout(300);
  await shot(desktop, '12-detour');
  await desktop.locator('#plan-roads').scrollIntoViewIfNeeded();
  await shot(desktop, '13-detour-table');
});

await check('re-opening the saved closure restores the closed road and the detour with its share', async () => {
  await desktop.getByRole('button', { name: 'Clear selection' }).click();
  await desktop.locator('#plan-close').uncheck();
  const item = desktop.locator(`#plan-saved-list tr[data-id="${saved.detour}"]`);
  await item.waitFor({ timeout: 5_000 });
  await item.locator('button', { hasText: 'Open' }).click();
  const share = desktop.locator(`#plan-detours li[data-road="${DETOUR}"] input`);
  await share.waitFor({ timeout: 5_000 });
  if ((await share.inputValue()) !== String(SHARE)) throw new Error(`share ${await share.inputValue()}, want ${SHARE}`);
  if (!(await desktop.locator('#plan-close').isChecked())) throw new Error('the closure is not restored');
  if ((await desktop.locator('#plan-detour-total').inputValue()) !== String(SHARE)) throw new Error('the total is not the sum of the shares');
  await desktop.waitForSelector(`#plan-selection li[data-kind=road][data-id="${ROAD}"]`, { state: 'attached', timeout: 2_000 });
  await desktop.waitForSelector(`#plan-selection li[data-kind=detour][data-id="${DETOUR}"]`, { state: 'attached', timeout: 2_000 });
});

await check('closing the planner removes every plan- layer and source', async () => {
  await desktop.locator('#planner .close').click();
  const left = await desktop.evaluate(() => {
    const m = window.citytwin.map.map;
    return [...m.getStyle().layers.map((l) => l.id), ...Object.keys(m.getStyle().sources)].filter((id) => id.startsWith('plan-'));
  });
  if (left.length) throw new Error(`left on the map: ${left}`);
});

const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
watch(phone, 'phone');

await check('on a phone the planner is a bottom sheet that collapses for picking by tap', async () => {
  await phone.goto(pageURL);
  await phone.waitForSelector('body[data-ready=true]', { timeout: 30_000 });
  await phone.locator('#btn-plan').tap();
  await phone.waitForSelector('#planner:not([hidden])', { timeout: 5_000 });
  for (const other of ['#layers-sheet', '#alerts-sheet', '#panel']) if (await phone.locator(other).isVisible()) throw new Error(`${other} is still open beside the planner`);
  const box = await phone.locator('#planner').boundingBox();
  if (!box || box.y < 844 * 0.3 || box.width < 380) throw new Error(`planner at ${JSON.stringify(box)}: want a bottom sheet`);
  await shot(phone, '9-phone-planner');
  await phone.locator('#planner .plan-collapse').tap();
  const small = await phone.locator('#planner').boundingBox();
  if (small.height > box.height * 0.8) throw new Error(`collapsed height ${small.height}, open ${box.height}`);
  const p = await focus(phone, CLICK);
  if (p.y > small.y) throw new Error(`the point to tap (${p.y}) is under the sheet (${small.y})`);
  await phone.touchscreen.tap(p.x, p.y);
  await phone.waitForSelector(`#plan-selection li[data-kind=neighbourhood][data-id="${N}"]`, { state: 'attached', timeout: 5_000 });
  await shot(phone, '10-phone-picked');
  await phone.locator('#btn-alerts').tap();
  if (await phone.locator('#planner').isVisible()) throw new Error('on a phone the alerts sheet must replace the planner');
});

await check('no failed request, no request outside citytwin, no console error', async () => {
  const all = [...problems.failed, ...problems.http, ...problems.external, ...problems.console, ...problems.pageErrors];
  if (all.length) throw new Error(all.join('\n'));
});

await browser.close();

const failed = results.filter((r) => !r.ok);
fs.writeFileSync(path.join(artifacts, 'result.json'), JSON.stringify({ results, problems }, null, 2));
for (const r of failed) console.log(`--- ${r.name}\n${r.error}`);
console.log(`${results.length - failed.length} passed, ${failed.length} failed`);
process.exit(failed.length ? 1 : 0);
