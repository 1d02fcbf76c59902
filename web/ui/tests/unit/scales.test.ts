// Unit tests of scales.ts: band edges and colours, worked out by hand from
// the thresholds the twin uses (twin/indicators.go, twin/aqi.go). Run with
// `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import {
  aqiBandOf,
  aqiColor,
  congestionColor,
  NO_DATA,
  noiseColor,
  parkColor,
  PARK_COLORS,
  sensorAqi,
  sensorCongestion,
  sensorHeadline,
  soilColor,
  STALE,
} from '../../src/scales';
import type { Sensor } from '../../src/types';

test('noise: bands of 10 dB(A) at 45/55/65/75, lower edge inclusive', () => {
  const cases: [number | undefined, string][] = [
    [44.9, '#2e9e44'],
    [45, '#e8d33a'], // 45 < 45 is false, 45 < 55: the second band
    [54.99, '#e8d33a'],
    [55, '#f39c22'],
    [65, '#d7301f'],
    [74.9, '#d7301f'],
    [75, '#7a0177'],
    [120, '#7a0177'],
    [undefined, NO_DATA],
    [NaN, NO_DATA],
  ];
  for (const [laeq, want] of cases) assert.equal(noiseColor(laeq), want, `LAeq ${laeq}`);
});

test('EAQI: upper bounds inclusive, the worst pollutant decides', () => {
  // pm25 upper bounds 10, 20, 25, 50, 75: 10 is good (0), 10.1 fair (1), 75 very poor (4), above extremely poor (5).
  assert.deepEqual([10, 10.1, 25, 75, 75.1].map((c) => aqiBandOf('pm25', c)), [0, 1, 2, 4, 5]);
  // no2 upper bounds 40, 90, 120, 230, 340.
  assert.deepEqual([40, 90.5, 230, 341].map((c) => aqiBandOf('no2', c)), [0, 2, 3, 5]);
  const v = (value: number) => ({ value, observedAt: '2025-06-01T12:00:00Z' });
  // pm25 22 → band 2 (20 < 22 ≤ 25); no2 95 → band 2 (90 < 95 ≤ 120): a tie keeps the first pollutant, pm25.
  assert.deepEqual(sensorAqi({ pm25: v(22), no2: v(95) }), { band: 2, pollutant: 'pm25' });
  // no2 130 → band 3 (120 < 130 ≤ 230) beats pm25's band 2.
  assert.deepEqual(sensorAqi({ pm25: v(22), no2: v(130) }), { band: 3, pollutant: 'no2' });
  assert.deepEqual(sensorAqi({ temperature: v(20) }), { band: -1, pollutant: undefined });
  assert.equal(aqiColor(3), '#ff5050');
  assert.equal(aqiColor('very poor'), '#960032');
  assert.equal(aqiColor(-1), NO_DATA);
  assert.equal(aqiColor('unknown'), NO_DATA);
});

test('congestion: linear from green through yellow to red, clamped to 0–1', () => {
  // Stops 0 → (26,152,80), 0.5 → (254,224,139), 1 → (215,48,39).
  // 0.25: halfway between the first two: (140, 188, 109.5 → 110) = #8cbc6e.
  // 0.75: halfway between the last two: (234.5 → 235, 136, 89) = #eb8859.
  const cases: [number | undefined, string][] = [
    [0, '#1a9850'],
    [-1, '#1a9850'],
    [0.25, '#8cbc6e'],
    [0.5, '#fee08b'],
    [0.75, '#eb8859'],
    [1, '#d73027'],
    [1.7, '#d73027'],
    [undefined, NO_DATA],
    [Infinity, NO_DATA],
  ];
  for (const [c, want] of cases) assert.equal(congestionColor(c), want, `congestion ${c}`);
});

test('a traffic sensor’s congestion: max(occupancy, 1 − speed / free flow)', () => {
  const v = (value: number | boolean) => ({ value, observedAt: '2025-06-01T12:00:00Z' });
  // occupancy 0.3, 20 km/h on a 50 km/h road: 1 − 20/50 = 0.6 > 0.3.
  assert.equal(sensorCongestion({ occupancy: v(0.3), averageVehicleSpeed: v(20) }, 50), 0.6);
  // 60 km/h on a 50 km/h road: 1 − 1.2 < 0 → 0, occupancy 0.3 decides.
  assert.equal(sensorCongestion({ occupancy: v(0.3), averageVehicleSpeed: v(60) }, 50), 0.3);
  // 30 km/h on a 30 km/h road (speed limit known): 0.
  assert.equal(sensorCongestion({ averageVehicleSpeed: v(30) }, 30), 0);
  // No speed limit (undefined → default 50): 1 − 40/50 = 0.2 (to rounding).
  assert.ok(Math.abs(sensorCongestion({ averageVehicleSpeed: v(40) }, undefined)! - 0.2) < 1e-12);
  assert.equal(sensorCongestion({ occupancy: v(1.4) }), 1);
  assert.equal(sensorCongestion({ congested: v(true) }), 1);
  assert.equal(sensorCongestion({ congested: v(false) }), undefined);
  assert.equal(sensorCongestion({}), undefined);
});

test('soil moisture against the refill point', () => {
  // refill 0.20: ≤ 0.20 needs water, then near refill up to 0.22, then up to 0.32, then field capacity.
  const cases: [number | undefined, string][] = [
    [0.1, '#b35806'],
    [0.2, '#b35806'],
    [0.21, '#f1a340'],
    [0.25, '#67a9cf'],
    [0.32, '#2166ac'],
    [0.5, '#2166ac'],
    [undefined, NO_DATA],
  ];
  for (const [vwc, want] of cases) assert.equal(soilColor(vwc, 0.2), want, `vwc ${vwc}`);
  // Another refill point moves the first two bands: 0.25 needs water at refill 0.25.
  assert.equal(soilColor(0.25, 0.25), '#b35806');
});

test('parks by needsWater', () => {
  assert.equal(parkColor({ sensorCount: 1, staleSensorCount: 0, needsWater: true }), PARK_COLORS.needsWater);
  assert.equal(parkColor({ sensorCount: 1, staleSensorCount: 0, needsWater: false }), PARK_COLORS.ok);
  assert.equal(parkColor(undefined), PARK_COLORS.unknown);
});

test('a sensor’s headline, and grey when stale', () => {
  const ctx = { refillVWC: 0.2, speedLimit: (r: string | undefined) => (r === 'r-1' ? 30 : undefined) };
  const s: Sensor = {
    id: 't1',
    type: 'TrafficFlowObserved',
    domain: 'traffic',
    stale: false,
    lastSeen: '2025-06-01T12:00:00Z',
    values: { averageVehicleSpeed: { value: 15, observedAt: '2025-06-01T12:00:00Z' } },
    links: { road: 'r-1' },
  };
  // 15 km/h on a 30 km/h road: 1 − 15/30 = 0.5 → the middle stop #fee08b.
  assert.deepEqual(sensorHeadline(s, ctx), { color: '#fee08b', attr: 'congestion', text: 'congestion 0.50' });
  assert.deepEqual(sensorHeadline({ ...s, stale: true }, ctx), { color: STALE, attr: 'congestion', text: 'congestion 0.50 (stale)' });
  const noise: Sensor = { ...s, domain: 'noise', values: { LAeq: { value: 80, observedAt: s.lastSeen } } };
  assert.deepEqual(sensorHeadline(noise, ctx), { color: '#7a0177', attr: 'LAeq', text: '80.0 dB(A)' });
});
