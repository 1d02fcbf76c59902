// Colour scales of the map. Each one states what its bands mean; the
// thresholds are those of the twin (twin/indicators.go, twin/aqi.go,
// twin/alerts.go in the Go module), so that the map and the alerts agree.

import type { Indicators, Sensor } from './types';

/** Colour of a sensor that is stale: silent for longer than its usual interval allows. */
export const STALE = '#9e9e9e';
/** Colour of a feature or sensor without the value a scale needs. */
export const NO_DATA = '#c8c8c8';

export interface Band {
  label: string;
  color: string;
}

// Noise: LAeq in dB(A), bands of 10 dB at 45/55/65/75. 55 dB(A) is the
// night limit and 65 the day limit of acoustic class IV (DPCM 14/11/1997),
// which the alert rule noise-dpcm-iv applies; the colours follow the
// green-yellow-orange-red-purple progression of strategic noise maps
// (ISO 1996-2 palette, grouped by 10 dB).
export const NOISE_BANDS: (Band & { upTo: number })[] = [
  { upTo: 45, label: '< 45 dB(A)', color: '#2e9e44' },
  { upTo: 55, label: '45–55', color: '#e8d33a' },
  { upTo: 65, label: '55–65', color: '#f39c22' },
  { upTo: 75, label: '65–75', color: '#d7301f' },
  { upTo: Infinity, label: '≥ 75', color: '#7a0177' },
];

export function noiseBand(laeq: number): number {
  return NOISE_BANDS.findIndex((b) => laeq < b.upTo);
}

export function noiseColor(laeq: number | undefined): string {
  return laeq === undefined || !Number.isFinite(laeq) ? NO_DATA : NOISE_BANDS[noiseBand(laeq)].color;
}

// Air: the European Air Quality Index of the EEA, six bands with the EEA's
// own colours. Upper bounds (µg/m³, inclusive) per pollutant as in
// twin/aqi.go; the worst pollutant decides.
export const AQI_BANDS: Band[] = [
  { label: 'good', color: '#50f0e6' },
  { label: 'fair', color: '#50ccaa' },
  { label: 'moderate', color: '#f0e641' },
  { label: 'poor', color: '#ff5050' },
  { label: 'very poor', color: '#960032' },
  { label: 'extremely poor', color: '#7d2181' },
];

export const AQI_POLLUTANTS = ['pm25', 'pm10', 'no2', 'o3'] as const;
const AQI_UPPER: Record<(typeof AQI_POLLUTANTS)[number], number[]> = {
  pm25: [10, 20, 25, 50, 75],
  pm10: [20, 40, 50, 100, 150],
  no2: [40, 90, 120, 230, 340],
  o3: [50, 100, 130, 240, 380],
};

/** The EAQI band index (0 good … 5 extremely poor) of one concentration. */
export function aqiBandOf(pollutant: (typeof AQI_POLLUTANTS)[number], conc: number): number {
  const i = AQI_UPPER[pollutant].findIndex((u) => conc <= u);
  return i < 0 ? 5 : i;
}

/** The worst band of a sensor's latest concentrations, and the pollutant deciding it; -1 when it has none. */
export function sensorAqi(values: Sensor['values']): { band: number; pollutant?: string } {
  let band = -1;
  let pollutant: string | undefined;
  for (const p of AQI_POLLUTANTS) {
    const v = values[p]?.value;
    if (typeof v !== 'number') continue;
    const b = aqiBandOf(p, v);
    if (b > band) {
      band = b;
      pollutant = p;
    }
  }
  return { band, pollutant };
}

export function aqiColor(band: number | string | undefined): string {
  const i = typeof band === 'string' ? AQI_BANDS.findIndex((b) => b.label === band) : (band ?? -1);
  return i >= 0 && i < AQI_BANDS.length ? AQI_BANDS[i].color : NO_DATA;
}

// Traffic: the congestion index 0–1 of twin.Indicators: max(occupancy,
// 1 − speed / free-flow speed), from green (free flow) through yellow to
// red (standstill).
const CONGESTION_STOPS: [number, [number, number, number]][] = [
  [0, [26, 152, 80]],
  [0.5, [254, 224, 139]],
  [1, [215, 48, 39]],
];
export const CONGESTION_LEGEND: Band[] = [0, 0.25, 0.5, 0.75, 1].map((c) => ({
  label: c === 0 ? '0 free flow' : c === 1 ? '1 standstill' : String(c),
  color: congestionColor(c),
}));

export function congestionColor(c: number | undefined): string {
  if (c === undefined || !Number.isFinite(c)) return NO_DATA;
  const x = Math.min(1, Math.max(0, c));
  for (let i = 1; i < CONGESTION_STOPS.length; i++) {
    const [x1, c1] = CONGESTION_STOPS[i];
    const [x0, c0] = CONGESTION_STOPS[i - 1];
    if (x <= x1) {
      const t = (x - x0) / (x1 - x0);
      const rgb = c0.map((v, k) => Math.round(v + t * (c1[k] - v)));
      return `#${rgb.map((v) => v.toString(16).padStart(2, '0')).join('')}`;
    }
  }
  return '#d73027';
}

/** DefaultFreeFlowKmh of the twin: the speed assumed when a road has no speed limit. */
export const DEFAULT_FREE_FLOW_KMH = 50;

/** A traffic sensor's congestion index, as twin/indicators.go computes it for one sensor. */
export function sensorCongestion(values: Sensor['values'], freeFlowKmh = DEFAULT_FREE_FLOW_KMH): number | undefined {
  const occ = values.occupancy?.value;
  const spd = values.averageVehicleSpeed?.value;
  const hasOcc = typeof occ === 'number';
  const hasSpd = typeof spd === 'number';
  if (!hasOcc && !hasSpd) {
    return values.congested?.value === true ? 1 : undefined;
  }
  let c = hasOcc ? Math.min(1, Math.max(0, occ)) : 0;
  if (hasSpd) c = Math.max(c, Math.min(1, Math.max(0, 1 - spd / (freeFlowKmh > 0 ? freeFlowKmh : DEFAULT_FREE_FLOW_KMH))));
  return c;
}

// Irrigation: volumetric soil moisture (m³/m³) against the refill point
// (default 0.20, twin.StateConfig.RefillVWC; the rule soil-refill alerts
// below it and closes 0.02 above), up to field capacity (0.32).
export function soilBands(refill: number): (Band & { upTo: number })[] {
  return [
    { upTo: refill, label: `≤ ${refill} needs water`, color: '#b35806' },
    { upTo: refill + 0.02, label: `${refill}–${round2(refill + 0.02)} near refill`, color: '#f1a340' },
    { upTo: 0.32, label: `${round2(refill + 0.02)}–0.32`, color: '#67a9cf' },
    { upTo: Infinity, label: '≥ 0.32 field capacity', color: '#2166ac' },
  ];
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export function soilColor(vwc: number | undefined, refill: number): string {
  if (vwc === undefined || !Number.isFinite(vwc)) return NO_DATA;
  const bands = soilBands(refill);
  const i = bands.findIndex((b, k) => (k === 0 ? vwc <= b.upTo : vwc < b.upTo));
  return bands[i < 0 ? bands.length - 1 : i].color;
}

/** Green areas and irrigation zones, by their needsWater indicator. */
export const PARK_COLORS = { needsWater: '#e9b44c', ok: '#8fcf8a', unknown: '#cfe3c4' };

export function parkColor(ind: Indicators | undefined): string {
  if (ind?.needsWater === true) return PARK_COLORS.needsWater;
  if (ind?.needsWater === false) return PARK_COLORS.ok;
  return PARK_COLORS.unknown;
}

/** A sensor's headline: the attribute that decides its colour. */
export interface Headline {
  color: string;
  attr?: string;
  text: string;
}

export interface ScaleContext {
  refillVWC: number;
  /** Speed limit of a road by id, km/h. */
  speedLimit(roadId: string | undefined): number | undefined;
}

export function sensorHeadline(s: Sensor, ctx: ScaleContext): Headline {
  const num = (a: string) => {
    const v = s.values[a]?.value;
    return typeof v === 'number' ? v : undefined;
  };
  let h: Headline;
  switch (s.domain) {
    case 'noise': {
      const l = num('LAeq');
      h = { color: noiseColor(l), attr: 'LAeq', text: l === undefined ? 'no LAeq' : `${l.toFixed(1)} dB(A)` };
      break;
    }
    case 'air': {
      const { band, pollutant } = sensorAqi(s.values);
      h = {
        color: aqiColor(band),
        attr: pollutant,
        text: band < 0 ? 'no EAQI pollutant' : `${AQI_BANDS[band].label} (${pollutant} ${num(pollutant!)?.toFixed(0)} µg/m³)`,
      };
      break;
    }
    case 'traffic': {
      const c = sensorCongestion(s.values, ctx.speedLimit(s.links.road));
      h = { color: congestionColor(c), attr: 'congestion', text: c === undefined ? 'no speed or occupancy' : `congestion ${c.toFixed(2)}` };
      break;
    }
    case 'irrigation': {
      const m = num('soilMoistureVwc');
      h = { color: soilColor(m, ctx.refillVWC), attr: 'soilMoistureVwc', text: m === undefined ? 'no soil moisture' : `${m.toFixed(3)} m³/m³` };
      break;
    }
    default: {
      const first = Object.entries(s.values).find(([, v]) => typeof v.value === 'number');
      h = { color: '#5e6b7a', attr: first?.[0], text: first ? `${first[0]} ${first[1].value}` : s.type };
    }
  }
  if (s.stale) h = { ...h, color: STALE, text: `${h.text} (stale)` };
  return h;
}
