// Unit tests of the noise map layer's pure part (noisemap.ts): the grid's
// validation, its pixels, the cell under a point, the refresh delay and the
// legend's texts, against values worked out by hand. Run with `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  cellIndex,
  gridPixels,
  heldOutText,
  imageCoordinates,
  levelAt,
  parseNoiseGrid,
  problemText,
  refreshDelayMs,
  rgbOf,
  type NoiseGrid,
} from '../../src/noisemap';

const heldOut = { n: 4, biasDb: 0.1, maeDb: 1.234, rmseDb: 1.6, shareWithin3Db: 0.92 };

// 4 × 2 cells over [8, 44, 10, 45]: cells of 0.5° × 0.5°, exact in binary,
// so that the hand computation below has no rounding.
//   row 0 (lat 45 → 44.5): 50 51 52 53
//   row 1 (lat 44.5 → 44): 60 61 null 63
const grid: NoiseGrid = {
  bbox: [8, 44, 10, 45],
  nx: 4,
  ny: 2,
  cellMetres: 100,
  origin: 'north-west',
  time: '2026-11-22T10:00:00Z',
  levels: [50, 51, 52, 53, 60, 61, null, 63],
  heldOut,
};

test('pixels: one RGBA per cell in the noise band colours, transparent where null', () => {
  // A 2×2 grid, NW 40, NE 50, SW null, SE 80:
  //   40 < 45 → '#2e9e44' = (0x2e, 0x9e, 0x44) = (46, 158, 68)
  //   45 ≤ 50 < 55 → '#e8d33a' = (232, 211, 58)
  //   null → (0, 0, 0, 0)
  //   80 ≥ 75 → '#7a0177' = (122, 1, 119)
  assert.deepEqual([...gridPixels([40, 50, null, 80])], [46, 158, 68, 255, 232, 211, 58, 255, 0, 0, 0, 0, 122, 1, 119, 255]);
  // Band edges are the sensors' (lower edge inclusive): 44.9 green, 45 yellow, 65 red (#d7301f = 215, 48, 31), 75 purple.
  assert.deepEqual([...gridPixels([44.9, 45, 65, 75])], [46, 158, 68, 255, 232, 211, 58, 255, 215, 48, 31, 255, 122, 1, 119, 255]);
  assert.equal(gridPixels([]).length, 0);
});

test('rgbOf: #rrggbb only', () => {
  assert.deepEqual(rgbOf('#f39c22'), [243, 156, 34]);
  assert.throws(() => rgbOf('red'), /must be #rrggbb/);
});

test('cell index: column from the west edge, row from the north edge, open on the east and south edges', () => {
  // dlon = (10 − 8)/4 = 0.5, dlat = (45 − 44)/2 = 0.5.
  assert.equal(cellIndex(grid, 8, 45), 0); // NW corner: c = 0, r = 0
  // Centre (9, 44.5): c = ⌊1/0.5⌋ = 2, r = ⌊0.5/0.5⌋ = 1 → 1·4 + 2 = 6.
  assert.equal(cellIndex(grid, 9, 44.5), 6);
  // Just inside the SE corner: c = ⌊1.999/0.5⌋ = 3, r = ⌊0.999/0.5⌋ = 1 → 7.
  assert.equal(cellIndex(grid, 9.999, 44.001), 7);
  // (8.75, 44.75): c = ⌊0.75/0.5⌋ = 1, r = ⌊0.25/0.5⌋ = 0 → 1.
  assert.equal(cellIndex(grid, 8.75, 44.75), 1);
  // The SE corner itself is outside (c = 4 = nx), as in dynamap.Grid.Cell; so are points beyond any edge.
  assert.equal(cellIndex(grid, 10, 44), undefined);
  assert.equal(cellIndex(grid, 7.9, 44.5), undefined);
  assert.equal(cellIndex(grid, 9, 45.0001), undefined);
  assert.equal(cellIndex(grid, 9, 43.9), undefined);
});

test('level at a point: the cell’s level, undefined where null or outside', () => {
  assert.equal(levelAt(grid, 8.25, 44.75), 50); // cell 0
  assert.equal(levelAt(grid, 9.999, 44.001), 63); // cell 7
  assert.equal(levelAt(grid, 9, 44.5), undefined); // cell 6 is null
  assert.equal(levelAt(grid, 11, 44.5), undefined);
});

test('image corners: top left, then clockwise', () => {
  assert.deepEqual(imageCoordinates([8, 44, 10, 45]), [
    [8, 45],
    [10, 45],
    [10, 44],
    [8, 44],
  ]);
});

test('refresh delay: the max-age, at least 30 s; 60 s without one', () => {
  assert.equal(refreshDelayMs('max-age=45'), 45_000);
  assert.equal(refreshDelayMs('public, max-age=120'), 120_000);
  assert.equal(refreshDelayMs('max-age=1'), 30_000);
  assert.equal(refreshDelayMs('max-age=0'), 30_000);
  assert.equal(refreshDelayMs(null), 60_000);
  assert.equal(refreshDelayMs('no-store'), 60_000);
});

test('legend texts: held-out error, reference levels, problems', () => {
  assert.equal(heldOutText(heldOut), 'held-out error: MAE 1.2 dB over 4 sensors');
  assert.equal(heldOutText({ ...heldOut, n: 1, maeDb: 0.96 }), 'held-out error: MAE 1.0 dB over 1 sensor');
  assert.equal(heldOutText({ ...heldOut, n: 0, maeDb: 0 }), 'no sensor reporting: reference levels');
  const noHistory = { title: 'no history', detail: 'this server keeps no history: the noise map is live only (omit at)' };
  assert.equal(problemText(501, noHistory, true), 'replay has no noise map: this server keeps no history');
  assert.equal(problemText(501, noHistory, false), `noise map unavailable (501 no history): ${noHistory.detail}`);
  assert.equal(problemText(502, undefined, false), 'noise map unavailable (502)');
  assert.equal(problemText(400, { title: 'bad at' }, true), 'noise map unavailable (400 bad at)');
});

test('parse: a valid grid passes, each broken rule is named', () => {
  assert.equal(parseNoiseGrid(structuredClone(grid)).nx, 4);
  const cases: [Record<string, unknown>, RegExp][] = [
    [{ bbox: [10, 44, 8, 45] }, /bbox must have minLon < maxLon/],
    [{ bbox: [8, 44, 10] }, /bbox must be 4 finite numbers/],
    [{ bbox: [8, 44, 190, 45] }, /bbox must lie within/],
    [{ nx: 0 }, /nx must be an integer from 1 to 4096/],
    [{ ny: 1.5 }, /ny must be an integer/],
    [{ origin: 'south-west' }, /origin must be "north-west"/],
    [{ time: 'yesterday' }, /time must be an RFC 3339 time/],
    [{ levels: [1, 2, 3] }, /levels must hold nx·ny = 8 values/],
    [{ levels: [50, 51, 'x', 53, 60, 61, null, 63] }, /levels\[2\] must be null or a finite number/],
    [{ heldOut: undefined }, /heldOut must be an object/],
    [{ heldOut: { ...heldOut, n: -1 } }, /heldOut.n must be an integer ≥ 0/],
    [{ heldOut: { ...heldOut, maeDb: 'x' } }, /heldOut.maeDb must be a finite number/],
  ];
  for (const [patch, want] of cases) assert.throws(() => parseNoiseGrid({ ...structuredClone(grid), ...patch }), want, JSON.stringify(patch));
  assert.throws(() => parseNoiseGrid(null), /body must be a JSON object/);
});
