// Unit tests of planner-model.ts: the form → Spec translation and its rules
// (the server's field paths, planner/spec.go), the colour scales worked out
// by hand at their edges, the result features, and the picking geometry.
// Run with `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  backgroundText,
  buildSpec,
  CLOSED_COLOR,
  defaultForm,
  deltaColor,
  detourSum,
  divertOf,
  fieldCandidates,
  flowChangeText,
  flowColor,
  num,
  pointInGeometry,
  resultFeatures,
  segmentDistance,
  signed,
  specToForm,
  splitEvenly,
  toggleDetour,
  toggleSelected,
  volumeColor,
  VOLUME_COLORS,
  type PlanForm,
  type Result,
  type Spec,
} from '../../src/planner-model';
import { NO_DATA } from '../../src/scales';

test('a traffic form becomes the Spec of the brief, field by field', () => {
  const f = defaultForm('demo');
  f.name = ' LEZ ';
  f.author = 'ana';
  toggleSelected(f.selection, 'neighbourhood', 'nil-12');
  toggleSelected(f.selection, 'road', 'r-0042');
  f.traffic.flowChangePct = -30;
  f.traffic.closeSelected = true;
  f.traffic.backgroundShare = 0.5;
  const { spec, errors } = buildSpec(f, 'save');
  assert.deepEqual(errors, []);
  assert.deepEqual(spec, {
    name: 'LEZ',
    author: 'ana',
    tenant: 'demo',
    baseline: { last: '7d' },
    area: { neighbourhoods: ['nil-12'], roads: ['r-0042'] },
    traffic: { flowChangePct: -30, close: ['r-0042'] },
    air: { backgroundShare: 0.5 },
    noise: { periods: 'eu', limitClass: 'IV' },
  });
});

test('toggling a selected feature removes it', () => {
  const f = defaultForm('t');
  assert.equal(toggleSelected(f.selection, 'district', 'd-1'), true);
  assert.equal(toggleSelected(f.selection, 'district', 'd-1'), false);
  assert.deepEqual(f.selection.districts, []);
});

test('the rules name the same fields as the server', () => {
  const f = defaultForm('t');
  f.traffic.flowChangePct = -101; // below −100
  f.traffic.speedChangePct = 101; // above 100
  f.traffic.closeSelected = true; // but no road selected
  f.traffic.backgroundShare = 1.5;
  f.selection.polygon = [
    [9.1, 45.4],
    [9.2, 45.4],
  ]; // two points: a polygon needs three
  f.baseline = { mode: 'lastN', days: 93 }; // over 92
  f.irrigation.on = true;
  f.irrigation.horizonDays = 0;
  f.irrigation.policies = [{ policy: 'fixed', everyDays: 0, depthMm: 101 }];
  const { spec, errors } = buildSpec(f, 'save');
  assert.equal(spec, undefined);
  assert.deepEqual(
    errors.map((e) => e.field),
    [
      'name', // required to save
      'baseline.last',
      'area.polygon',
      'traffic.flowChangePct',
      'traffic.speedChangePct',
      'traffic.close',
      'air.backgroundShare',
      'irrigation.horizonDays',
      'irrigation.policies', // fewer than two
      'irrigation.policies[0].everyDays',
      'irrigation.policies[0].depthMm',
    ],
  );
  assert.match(errors.find((e) => e.field === 'traffic.flowChangePct')!.rule, /-100\.\.300 percent, got -101/);
});

test('the limits themselves are accepted: −100 %, +300 %, share 0 and 1, 92 days, 100 mm', () => {
  const f = defaultForm('t');
  toggleSelected(f.selection, 'greenarea', 'g-1');
  f.traffic.flowChangePct = -100;
  f.traffic.speedChangePct = -80;
  f.traffic.backgroundShare = 0;
  f.baseline = { mode: 'lastN', days: 92 };
  f.irrigation.on = true;
  f.irrigation.horizonDays = 31;
  f.irrigation.policies = [
    { policy: 'threshold', everyDays: 5, depthMm: 7 },
    { policy: 'rain-skip', everyDays: 1, depthMm: 100 },
  ];
  const { spec, errors } = buildSpec(f, 'run');
  assert.deepEqual(errors, []);
  assert.equal(spec!.name, 'unsaved run'); // a run needs no name
  assert.deepEqual(spec!.baseline, { last: '92d' });
  // threshold takes no calendar (the server refuses one)
  assert.deepEqual(spec!.irrigation, {
    horizonDays: 31,
    policies: [{ policy: 'threshold' }, { policy: 'rain-skip', everyDays: 1, depthMm: 100 }],
  });
  f.traffic.flowChangePct = 300;
  f.traffic.speedChangePct = 100;
  f.traffic.backgroundShare = 1;
  assert.deepEqual(buildSpec(f, 'run').errors, []);
});

test('an empty scenario asks for an area and a part', () => {
  const f = defaultForm('t');
  f.traffic.on = false;
  assert.deepEqual(
    buildSpec(f, 'run').errors.map((e) => e.field),
    ['area', 'traffic'],
  );
});

test('a spec goes back into the form and out again unchanged', () => {
  const f = defaultForm('demo');
  f.name = 'parks';
  toggleSelected(f.selection, 'district', 'd-3');
  f.selection.polygon = [
    [9.1, 45.4],
    [9.2, 45.4],
    [9.2, 45.5],
  ];
  f.selection.polygonDone = true;
  f.traffic.on = false;
  f.irrigation.on = true;
  f.irrigation.horizonDays = 10;
  f.baseline = { mode: 'lastN', days: 30 };
  const spec = buildSpec(f, 'save').spec!;
  assert.deepEqual(buildSpec(specToForm(spec, 'other'), 'save').spec, spec);
});

test('error fields walk up to a place that shows them', () => {
  assert.deepEqual(fieldCandidates('irrigation.policies[1].depthMm'), [
    'irrigation.policies[1].depthMm',
    'irrigation.policies[1]',
    'irrigation.policies',
    'irrigation',
  ]);
  assert.deepEqual(fieldCandidates('name'), ['name']);
  assert.deepEqual(fieldCandidates(''), []);
});

test('deltaColor: the diverging bands at their edges', () => {
  // (−∞, −3] (−3, −1] (−1, −0.1] (−0.1, 0.1) [0.1, 1) [1, 3) [3, ∞)
  const cases: [number | null, string][] = [
    [-5, '#2166ac'],
    [-3, '#2166ac'],
    [-2.99, '#67a9cf'],
    [-1.549, '#67a9cf'], // 10·lg(0.7): a 30 % cut
    [-1, '#67a9cf'],
    [-0.5, '#d1e5f0'],
    [-0.1, '#d1e5f0'],
    [0, '#f7f7f7'],
    [0.0999, '#f7f7f7'],
    [0.1, '#fddbc7'],
    [1, '#ef8a62'],
    [1.14, '#ef8a62'], // 10·lg(1.3): +30 %
    [3, '#b2182b'],
    [null, NO_DATA],
  ];
  for (const [v, want] of cases) assert.equal(deltaColor(v), want, `deltaColor(${v})`);
});

test('flowColor and volumeColor bands', () => {
  assert.equal(flowColor(99), '#fff5eb');
  assert.equal(flowColor(100), '#fdd0a2');
  assert.equal(flowColor(420), '#fd8d3c');
  assert.equal(flowColor(600), '#d94801');
  assert.equal(flowColor(5000), '#7f2704');
  // max 40: quarters at 10, 20, 30.
  assert.equal(volumeColor(0, 40), VOLUME_COLORS[0]);
  assert.equal(volumeColor(9.9, 40), VOLUME_COLORS[1]);
  assert.equal(volumeColor(10, 40), VOLUME_COLORS[2]);
  assert.equal(volumeColor(29.9, 40), VOLUME_COLORS[3]);
  assert.equal(volumeColor(30, 40), VOLUME_COLORS[4]);
  assert.equal(volumeColor(40, 40), VOLUME_COLORS[4]);
  assert.equal(volumeColor(undefined, 40), NO_DATA);
});

test('result features carry the figures and the colour of the view', () => {
  const dl = 10 * Math.log10(0.7); // −1.549
  const r = {
    name: 'x',
    tenant: 't',
    spec: {} as never,
    ranAt: '',
    baseline: { start: '', end: '' },
    assumptions: [],
    timing: { totalMs: 1, influxMs: 1, points: 1 },
    traffic: {
      roads: [
        { id: 'r-a', flowBefore: 600, flowAfter: 420, flowRatio: 0.7, speedBefore: 45, speedAfter: 45, measuredFlow: true, inArea: true, deltaDb: dl, no2Delta: -6 },
        { id: 'r-c', flowBefore: 300, flowAfter: 0, flowRatio: 0, speedBefore: 45, speedAfter: 45, measuredFlow: false, closed: true, inArea: true, deltaDb: null, no2Delta: null },
        { id: 'r-gone', flowBefore: 1, flowAfter: 1, flowRatio: 1, speedBefore: 1, speedAfter: 1, measuredFlow: false, inArea: true, deltaDb: 0, no2Delta: null },
      ],
      areas: [
        {
          kind: 'district' as const,
          id: 'd-1',
          noiseSensors: 1,
          affectedNoiseSensors: 1,
          noise: { hours: 48, ldenBefore: 70.2, ldenAfter: 69.9, ldenDelta: -0.3, hoursAboveBefore: 46, hoursAboveAfter: 40 },
          airSensors: 0,
          no2Before: null,
          no2After: null,
          no2Delta: null,
        },
        {
          kind: 'neighbourhood' as const,
          id: 'n-1',
          noiseSensors: 1,
          affectedNoiseSensors: 1,
          noise: { hours: 48, ldenBefore: 70.2, ldenAfter: 68.7, ldenDelta: -1.5, hoursAboveBefore: 46, hoursAboveAfter: 2 },
          airSensors: 0,
          no2Before: null,
          no2After: null,
          no2Delta: null,
        },
      ],
      sensors: [],
      totals: {} as never,
      background: { share: 0.5, origin: 'given' },
    },
    irrigation: {
      horizonDays: 7,
      policies: ['threshold-refill', 'fixed(every 2 d; 10 mm)'],
      totals: [],
      greenAreas: [
        {
          id: 'g-1',
          areaM2: 1000,
          soilSensors: 1,
          measured: true,
          results: [
            { policy: 'threshold-refill', irrigationMm: 25, volumeM3: 25, events: 1, stressDays: 0, drainageMm: 0 },
            { policy: 'fixed(every 2 d; 10 mm)', irrigationMm: 40, volumeM3: 40, events: 4, stressDays: 0, drainageMm: 0 },
          ],
        },
      ],
    },
  } satisfies Result;
  const square: GeoJSON.Polygon = { type: 'Polygon', coordinates: [[[0, 0], [1, 0], [1, 1], [0, 0]]] };
  const line: GeoJSON.LineString = { type: 'LineString', coordinates: [[0, 0], [1, 1]] };
  const geom = (kind: string, id: string) => (id === 'r-gone' ? undefined : kind === 'road' ? line : square);

  const delta = resultFeatures(r, geom, 'delta', undefined);
  const props = delta.features.map((f) => f.properties as Record<string, unknown>);
  assert.deepEqual(
    props.map((p) => [p.layer, p.id, p.color]),
    [
      // d-1 is left out: the map shows neighbourhoods when there are any
      ['neighbourhood', 'n-1', '#67a9cf'], // −1.5 dB
      ['road', 'r-a', '#67a9cf'], // −1.549 dB
      ['road', 'r-c', CLOSED_COLOR],
      // r-gone has no geometry: left out
      ['greenarea', 'g-1', VOLUME_COLORS[3]], // first policy by default: 25 of max 40 = 0.625 → [½, ¾)
    ],
  );
  assert.equal(props[1].deltaDb, dl);
  const after = resultFeatures(r, geom, 'after', 'fixed(every 2 d; 10 mm)').features.map((f) => (f.properties as Record<string, unknown>).color);
  // Lden after 68.7: band 65–75; r-a 420 veh/h: 300–600; r-c 0: < 100; g-1 40 of 40: top quarter.
  assert.deepEqual(after, ['#d7301f', '#fd8d3c', '#fff5eb', VOLUME_COLORS[4]]);
});

test('point in polygon honours holes and multipolygons', () => {
  const withHole: GeoJSON.Polygon = {
    type: 'Polygon',
    coordinates: [
      [[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]],
      [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]],
    ],
  };
  assert.equal(pointInGeometry([1, 1], withHole), true);
  assert.equal(pointInGeometry([5, 5], withHole), false); // in the hole
  assert.equal(pointInGeometry([11, 5], withHole), false);
  const multi: GeoJSON.MultiPolygon = { type: 'MultiPolygon', coordinates: [[[[20, 20], [21, 20], [21, 21], [20, 20]]], withHole.coordinates] };
  assert.equal(pointInGeometry([20.9, 20.5], multi), true);
  assert.equal(pointInGeometry([1, 1], multi), true);
  assert.equal(pointInGeometry([1, 1], { type: 'Point', coordinates: [1, 1] }), false);
});

test('segment distance: perpendicular inside, to the end outside', () => {
  assert.equal(segmentDistance([5, 3], [0, 0], [10, 0]), 3);
  assert.equal(segmentDistance([13, 4], [0, 0], [10, 0]), 5); // 3-4-5 from (10, 0)
  assert.equal(segmentDistance([1, 1], [0, 0], [0, 0]), Math.SQRT2);
});

test('signed numbers use a real minus and no sign for zero', () => {
  assert.equal(signed(-1.549), '−1.55');
  assert.equal(signed(0.2), '+0.20');
  assert.equal(signed(-0.001), '0.00');
  assert.equal(signed(null), '—');
  assert.equal(num(-1.549, 2), '−1.55');
  assert.equal(num(1234.56), '1,234.6');
  assert.equal(num(undefined), '—');
});

test('the background share says where it came from', () => {
  assert.equal(backgroundText({ share: 0, origin: '' }), '0.50 (default assumption)');
  assert.equal(backgroundText({ share: 0.45, origin: 'given' }), '0.45 (given)');
  // 20 / 32 = 0.625 → 0.63 with two digits
  assert.equal(
    backgroundText({ share: 20 / 32, origin: 'stations', backgroundStation: 20, roadsideStation: 32 }),
    '0.63 (stations: background 20.0 / roadside 32.0 µg/m³)',
  );
});

// ---- closure with diversion (traffic.close + traffic.divert) -------------------

/** Road r-0042 selected and closed, traffic on, no detour yet. */
function closing(): PlanForm {
  const f = defaultForm('demo');
  toggleSelected(f.selection, 'road', 'r-0042');
  f.traffic.closeSelected = true;
  return f;
}

test('two detour roads at 60 % and 40 % become traffic.divert exactly', () => {
  const f = closing();
  toggleDetour(f.traffic, 'r-0043');
  toggleDetour(f.traffic, 'r-0044');
  // Picked: an even split of the total 100 %: 50 / 50; then set by hand.
  assert.deepEqual(
    f.traffic.detours.map((d) => d.pct),
    [50, 50],
  );
  f.traffic.detours[0].pct = 60;
  f.traffic.detours[1].pct = 40;
  const { spec, errors } = buildSpec(f, 'run');
  assert.deepEqual(errors, []);
  assert.deepEqual(spec!.traffic, { flowChangePct: 0, close: ['r-0042'], divert: { 'r-0043': 60, 'r-0044': 40 } });
  assert.deepEqual(spec!.area, { roads: ['r-0042'] });
});

test('shares summing to 120 % are refused on traffic.divert, as the server does', () => {
  const f = closing();
  toggleDetour(f.traffic, 'r-0043');
  toggleDetour(f.traffic, 'r-0044');
  f.traffic.detours[0].pct = 70;
  f.traffic.detours[1].pct = 50; // 70 + 50 = 120 > 100
  const { spec, errors } = buildSpec(f, 'run');
  assert.equal(spec, undefined);
  assert.deepEqual(errors, [{ field: 'traffic.divert', rule: 'shares must sum to at most 100 percent, got 120' }]);
  // Exactly 100 is allowed; so is a sum a rounding error above it (the server's slack is 1e-9):
  // 0.2 + 83.9 + 15.9 is 100.00000000000001 in binary floating point.
  f.traffic.detours[1].pct = 30;
  assert.deepEqual(buildSpec(f, 'run').errors, []);
  f.traffic.detours = [
    { road: 'a', pct: 0.2 },
    { road: 'b', pct: 83.9 },
    { road: 'c', pct: 15.9 },
  ];
  assert.ok(detourSum(f.traffic) > 100);
  assert.deepEqual(divertOf(f).errors, []);
  f.traffic.detours[2].pct = 15.9001; // 100.0001: beyond the slack
  assert.deepEqual(
    divertOf(f).errors.map((e) => e.field),
    ['traffic.divert'],
  );
});

test('each share is 0 < p ≤ 100, named traffic.divert.<road>; a closed road cannot be a detour', () => {
  const f = closing();
  f.traffic.detours = [
    { road: 'r-z', pct: 0 }, // 0 is not a share
    { road: 'r-n', pct: -5 },
    { road: 'r-big', pct: 101 },
    { road: 'r-nan', pct: NaN }, // an emptied input
    { road: 'r-ok', pct: 100 }, // the limit itself is fine
    { road: 'r-0042', pct: 10 }, // closed
  ];
  const errs = divertOf(f).errors;
  assert.deepEqual(errs, [
    { field: 'traffic.divert.r-z', rule: 'must be a share within 0..100 percent (exclusive of 0), got 0' },
    { field: 'traffic.divert.r-n', rule: 'must be a share within 0..100 percent (exclusive of 0), got -5' },
    { field: 'traffic.divert.r-big', rule: 'must be a share within 0..100 percent (exclusive of 0), got 101' },
    { field: 'traffic.divert.r-nan', rule: 'must be a share within 0..100 percent (exclusive of 0), got no number' },
    { field: 'traffic.divert.r-0042', rule: 'is closed: traffic cannot be diverted onto a closed road' },
    // 0 − 5 + 101 + 100 + 10 = 206 (NaN left out)
    { field: 'traffic.divert', rule: 'shares must sum to at most 100 percent, got 206' },
  ]);
  assert.equal(detourSum(f.traffic), 206);
  // buildSpec reports the same, among the other fields.
  assert.deepEqual(
    buildSpec(f, 'run').errors.map((e) => e.field),
    errs.map((e) => e.field),
  );
  // The error walks up to the list, then to the traffic part.
  assert.deepEqual(fieldCandidates('traffic.divert.r-0043'), ['traffic.divert.r-0043', 'traffic.divert', 'traffic']);
});

test('detours are written only while the selected roads are closed, and kept for later', () => {
  const f = closing();
  toggleDetour(f.traffic, 'r-0043');
  f.traffic.closeSelected = false;
  assert.deepEqual(buildSpec(f, 'run').spec!.traffic, { flowChangePct: 0 });
  assert.deepEqual(divertOf(f), { errors: [] });
  f.traffic.closeSelected = true;
  assert.deepEqual(buildSpec(f, 'run').spec!.traffic!.divert, { 'r-0043': 100 });
  f.traffic.on = false;
  f.irrigation.on = true;
  assert.equal(buildSpec(f, 'run').spec!.traffic, undefined);
});

test('an even split in tenths of a percent sums to the total exactly', () => {
  assert.deepEqual(splitEvenly(100, 1), [100]);
  assert.deepEqual(splitEvenly(100, 2), [50, 50]);
  // 1000 tenths / 3 = 333 r 1: the first takes the remainder.
  assert.deepEqual(splitEvenly(100, 3), [33.4, 33.3, 33.3]);
  // 600 tenths / 7 = 85 r 5.
  assert.deepEqual(splitEvenly(60, 7), [8.6, 8.6, 8.6, 8.6, 8.6, 8.5, 8.5]);
  assert.deepEqual(splitEvenly(60, 0), []);
  assert.ok(splitEvenly(NaN, 2).every((x) => Number.isNaN(x)));
});

test('adding or removing a detour splits the chosen total evenly again', () => {
  const f = closing();
  f.traffic.detourTotalPct = 60;
  assert.equal(toggleDetour(f.traffic, 'a'), true);
  assert.deepEqual(f.traffic.detours, [{ road: 'a', pct: 60 }]);
  toggleDetour(f.traffic, 'b');
  toggleDetour(f.traffic, 'c');
  assert.deepEqual(
    f.traffic.detours.map((d) => d.pct),
    [20, 20, 20],
  );
  assert.equal(toggleDetour(f.traffic, 'b'), false);
  assert.deepEqual(f.traffic.detours, [
    { road: 'a', pct: 30 },
    { road: 'c', pct: 30 },
  ]);
});

test('a closure with diversion goes back into the form and out again unchanged', () => {
  const spec: Spec = {
    name: 'Via Roma closed',
    tenant: 'demo',
    baseline: { last: '14d' },
    area: { neighbourhoods: ['nil-12'], roads: ['r-0042', 'r-0050'] },
    traffic: { flowChangePct: -10, close: ['r-0042', 'r-0050'], divert: { 'r-0043': 60, 'r-0044': 25.5 } },
    noise: { periods: 'eu', limitClass: 'IV' },
  };
  const f = specToForm(spec, 'other');
  assert.equal(f.traffic.closeSelected, true);
  assert.deepEqual(f.traffic.detours, [
    { road: 'r-0043', pct: 60 },
    { road: 'r-0044', pct: 25.5 },
  ]);
  // The total of the form is what the shares sum to: 60 + 25.5.
  assert.equal(f.traffic.detourTotalPct, 85.5);
  assert.deepEqual(buildSpec(f, 'save').spec, spec);
});

test('result features flag detour roads; the table tags them with flow before → after', () => {
  // 600 veh/h closed, 60 % onto a road of 300 veh/h: 300 + 0.6 × 600 = 660, ΔL = 10·lg(660/300) = 3.424 dB.
  const dl = 10 * Math.log10(660 / 300);
  const r = {
    name: 'x',
    tenant: 't',
    spec: {} as never,
    ranAt: '',
    baseline: { start: '', end: '' },
    assumptions: [],
    timing: { totalMs: 1, influxMs: 1, points: 1 },
    traffic: {
      roads: [
        { id: 'r-c', flowBefore: 600, flowAfter: 0, flowRatio: 0, speedBefore: 45, speedAfter: 45, measuredFlow: true, closed: true, inArea: true, deltaDb: null, no2Delta: null },
        { id: 'r-d', flowBefore: 300, flowAfter: 660, flowRatio: 2.2, speedBefore: 45, speedAfter: 45, measuredFlow: true, diverted: true, inArea: false, deltaDb: dl, no2Delta: null },
      ],
      areas: null, // no noise sensor near: Go's nil slice
      sensors: null,
      totals: {} as never,
      background: { share: 0.5, origin: '' },
    },
  } satisfies Result;
  const line: GeoJSON.LineString = { type: 'LineString', coordinates: [[0, 0], [1, 1]] };
  const props = resultFeatures(r, () => line, 'delta', undefined).features.map((f) => f.properties as Record<string, unknown>);
  assert.deepEqual(
    props.map((p) => [p.id, p.closed, p.diverted, p.color]),
    [
      ['r-c', true, false, CLOSED_COLOR],
      ['r-d', false, true, '#b2182b'], // +3.42 dB: the ≥ 3 dB band
    ],
  );
  assert.equal(flowChangeText(r.traffic.roads[1]), '300 → 660 veh/h');
  assert.equal(flowChangeText({ flowBefore: 1234.4, flowAfter: 1975.6 }), '1,234 → 1,976 veh/h');
});
