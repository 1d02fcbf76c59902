// The legend: one block per visible scale, with what the bands mean.

import { el, chip } from './dom';
import { AQI_BANDS, CONGESTION_LEGEND, NOISE_BANDS, PARK_COLORS, STALE, soilBands, type Band } from './scales';
import type { Domain } from './types';

function block(title: string, bands: Band[], note?: string): HTMLElement {
  return el(
    'section',
    { class: 'legend-block' },
    el('h3', {}, title),
    el('ul', {}, ...bands.map((b) => el('li', {}, chip(b.color, b.label)))),
    note ? el('p', { class: 'muted' }, note) : undefined,
  );
}

export function renderLegend(
  root: HTMLElement,
  opts: {
    domains: Set<Domain>;
    areaMode: 'off' | 'noise' | 'air';
    areaLevel: string;
    roads: boolean;
    refillVWC: number;
    /** The noise map layer's own block (noisemap.ts), while the layer is on. */
    noiseMap?: HTMLElement;
  },
): void {
  const blocks: HTMLElement[] = [];
  if (opts.noiseMap) blocks.push(opts.noiseMap);
  if (opts.domains.has('noise') || opts.areaMode === 'noise' || opts.noiseMap)
    blocks.push(block('Noise LAeq, dB(A)', NOISE_BANDS, 'Class IV limits: 65 by day, 55 by night (DPCM 14/11/1997).'));
  if (opts.domains.has('air') || opts.areaMode === 'air')
    blocks.push(block('European Air Quality Index', AQI_BANDS, 'EEA bands of PM2.5, PM10, NO2, O3; the worst pollutant decides.'));
  if (opts.domains.has('traffic') || opts.roads)
    blocks.push(block('Congestion index', CONGESTION_LEGEND, 'max(occupancy, 1 − speed / speed limit).'));
  if (opts.domains.has('irrigation'))
    blocks.push(block('Soil moisture, m³/m³', soilBands(opts.refillVWC), 'Refill point as the soil-refill alert rule.'));
  blocks.push(
    block('Parks', [
      { label: 'needs water', color: PARK_COLORS.needsWater },
      { label: 'soil moist enough', color: PARK_COLORS.ok },
      { label: 'no soil sensor', color: PARK_COLORS.unknown },
    ]),
  );
  blocks.push(block('Sensors', [{ label: 'stale (silent longer than usual)', color: STALE }]));
  if (opts.areaMode !== 'off') blocks.unshift(el('p', { class: 'muted' }, `Areas: ${opts.areaMode === 'noise' ? 'LAeq' : 'EAQI'} per ${opts.areaLevel}.`));
  root.replaceChildren(...blocks);
}
