// The dynamic noise map (DYNAMAP, domain.md §4) as a map layer: the grid of
// GET api/v1/noisemap (web/noisemap.go; twin/dynamap AppendJSON) drawn as a
// MapLibre image source, one pixel per cell, coloured with the sensors'
// noise bands (scales.ts NOISE_BANDS), transparent where no road reaches.
//
// Live, the map is fetched again when the server's Cache-Control max-age
// says it has been recomputed (every minute), at most once per 30 s, and only
// while the layer is on and the page is visible. In replay the map is asked
// for as it was (?at=); ReplayControl debounces the slider and a newer time
// aborts the request in flight. The layer's legend block says which map is
// shown, its time and its held-out error, or what went wrong.
//
// The pure part (parseNoiseGrid, gridPixels, cellIndex, levelAt,
// imageCoordinates, refreshDelayMs, heldOutText, problemText) does no I/O and
// is unit-tested in tests/unit/noisemap.test.ts; maplibre-gl is imported for
// its types only, so that node can load this module.

import type { ImageSource, Map as MlMap } from 'maplibre-gl';

import { authHeaders } from './auth';
import { dateTimeOf, el, timeOf } from './dom';
import { noiseColor } from './scales';

/** Source and layer ids of the noise map. */
export const NOISE_MAP_SOURCE = 'noisemap';
export const NOISE_MAP_LAYER = 'noisemap-raster';
/** The shortest pause between two live fetches. */
export const MIN_REFRESH_MS = 30_000;
/** The pause when the server sends no max-age: its DefaultNoiseMapInterval. */
export const DEFAULT_REFRESH_MS = 60_000;
/** Cells per side above which a grid is refused (the server's is ~120). */
export const MAX_CELLS_PER_SIDE = 4096;

/** The held-out (leave-one-out) error of the map's calibration. */
export interface HeldOut {
  n: number;
  biasDb: number;
  maeDb: number;
  rmseDb: number;
  shareWithin3Db: number;
}

/** The compact grid JSON of GET api/v1/noisemap (twin/dynamap Map.AppendJSON). */
export interface NoiseGrid {
  /** [minLon, minLat, maxLon, maxLat], WGS84 degrees. */
  bbox: [number, number, number, number];
  nx: number;
  ny: number;
  cellMetres: number;
  origin: 'north-west';
  /** RFC 3339 time the map is for. */
  time: string;
  /** ny rows of nx cells, row-major from the north-west corner; dB(A), null where no road contributes. */
  levels: (number | null)[];
  heldOut: HeldOut;
  sensors?: { reporting: number; ignored: number; unused: number };
}

/**
 * Checks that body is a noise grid and returns it typed; throws an Error
 * naming the field and the rule it breaks.
 */
export function parseNoiseGrid(body: unknown): NoiseGrid {
  const bad = (field: string, rule: string): never => {
    throw new Error(`noise map: ${field} ${rule}`);
  };
  if (typeof body !== 'object' || body === null) bad('body', 'must be a JSON object');
  const g = body as Record<string, unknown>;
  const b = g.bbox;
  if (!Array.isArray(b) || b.length !== 4 || !b.every((v) => typeof v === 'number' && Number.isFinite(v)))
    bad('bbox', 'must be 4 finite numbers [minLon, minLat, maxLon, maxLat]');
  const [w, s, e, n] = b as number[];
  if (!(w < e && s < n)) bad('bbox', 'must have minLon < maxLon and minLat < maxLat');
  if (w < -180 || e > 180 || s < -90 || n > 90) bad('bbox', 'must lie within lon −180…180 and lat −90…90');
  for (const k of ['nx', 'ny'] as const) {
    const v = g[k];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > MAX_CELLS_PER_SIDE) bad(k, `must be an integer from 1 to ${MAX_CELLS_PER_SIDE}`);
  }
  const nx = g.nx as number;
  const ny = g.ny as number;
  if (g.origin !== 'north-west') bad('origin', 'must be "north-west"');
  if (typeof g.time !== 'string' || Number.isNaN(Date.parse(g.time))) bad('time', 'must be an RFC 3339 time');
  const levels = g.levels;
  if (!Array.isArray(levels) || levels.length !== nx * ny) bad('levels', `must hold nx·ny = ${nx * ny} values`);
  for (let i = 0; i < (levels as unknown[]).length; i++) {
    const v = (levels as unknown[])[i];
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) bad(`levels[${i}]`, 'must be null or a finite number');
  }
  const h = g.heldOut as Record<string, unknown> | undefined;
  if (typeof h !== 'object' || h === null) bad('heldOut', 'must be an object');
  if (typeof h!.n !== 'number' || !Number.isInteger(h!.n) || h!.n < 0) bad('heldOut.n', 'must be an integer ≥ 0');
  for (const k of ['biasDb', 'maeDb', 'rmseDb', 'shareWithin3Db']) {
    if (typeof h![k] !== 'number' || !Number.isFinite(h![k])) bad(`heldOut.${k}`, 'must be a finite number');
  }
  return body as NoiseGrid;
}

/** The red, green and blue of a #rrggbb colour. */
export function rgbOf(hex: string): [number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) throw new Error(`colour ${JSON.stringify(hex)} must be #rrggbb`);
  return [parseInt(m[1], 16), parseInt(m[2], 16), parseInt(m[3], 16)];
}

/**
 * The grid as RGBA pixels, one per cell in the grid's order (row 0 is the
 * northernmost, as an image's top row): opaque in the noise band's colour
 * (noiseColor), fully transparent where the level is null.
 */
export function gridPixels(levels: readonly (number | null)[]): Uint8ClampedArray<ArrayBuffer> {
  const out = new Uint8ClampedArray(levels.length * 4);
  const rgb = new Map<string, [number, number, number]>();
  for (let i = 0; i < levels.length; i++) {
    const v = levels[i];
    if (v === null || !Number.isFinite(v)) continue; // stays 0,0,0,0
    const color = noiseColor(v);
    let c = rgb.get(color);
    if (!c) rgb.set(color, (c = rgbOf(color)));
    out[4 * i] = c[0];
    out[4 * i + 1] = c[1];
    out[4 * i + 2] = c[2];
    out[4 * i + 3] = 255;
  }
  return out;
}

/**
 * The index of the cell containing [lng, lat], as the server's
 * dynamap.Grid.Cell computes it (column from the west edge, row from the
 * north edge, each cell closed on its west and north sides), or undefined
 * outside the raster.
 */
export function cellIndex(g: Pick<NoiseGrid, 'bbox' | 'nx' | 'ny'>, lng: number, lat: number): number | undefined {
  const [w, s, e, n] = g.bbox;
  const c = Math.floor((lng - w) / ((e - w) / g.nx));
  const r = Math.floor((n - lat) / ((n - s) / g.ny));
  if (!(c >= 0 && c < g.nx && r >= 0 && r < g.ny)) return undefined;
  return r * g.nx + c;
}

/** The level of the cell containing [lng, lat]; undefined outside the raster or where no road contributes. */
export function levelAt(g: Pick<NoiseGrid, 'bbox' | 'nx' | 'ny' | 'levels'>, lng: number, lat: number): number | undefined {
  const i = cellIndex(g, lng, lat);
  const v = i === undefined ? null : g.levels[i];
  return v === null ? undefined : v;
}

/** The image's corners for an image source: top left, then clockwise. */
export function imageCoordinates(bbox: NoiseGrid['bbox']): [[number, number], [number, number], [number, number], [number, number]] {
  const [w, s, e, n] = bbox;
  return [
    [w, n],
    [e, n],
    [e, s],
    [w, s],
  ];
}

/** How long to wait before the next live fetch: the response's max-age, at least MIN_REFRESH_MS. */
export function refreshDelayMs(cacheControl: string | null): number {
  const m = /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/i.exec(cacheControl ?? '');
  const ms = m ? Number(m[1]) * 1000 : DEFAULT_REFRESH_MS;
  return Math.max(MIN_REFRESH_MS, ms);
}

/** The legend's line on the map's accuracy. */
export function heldOutText(h: HeldOut): string {
  if (h.n === 0) return 'no sensor reporting: reference levels';
  return `held-out error: MAE ${h.maeDb.toFixed(1)} dB over ${h.n} sensor${h.n === 1 ? '' : 's'}`;
}

/** What the legend says about an HTTP error: the problem's title and detail (RFC 9457), or the status. */
export function problemText(status: number, problem: { title?: unknown; detail?: unknown } | undefined, replay: boolean): string {
  if (status === 501 && replay) return 'replay has no noise map: this server keeps no history';
  const title = typeof problem?.title === 'string' ? problem.title : '';
  const detail = typeof problem?.detail === 'string' ? problem.detail : '';
  return `noise map unavailable (${status}${title ? ` ${title}` : ''})${detail ? `: ${detail}` : ''}`;
}

/** What the layer shows, for its legend and the tests (data-state on the legend block). */
export type NoiseMapState = 'off' | 'loading' | 'live' | 'replay' | 'error';

/**
 * The noise map layer. Create it once the city's layers are on the map;
 * before names the layer it is drawn under (roads, sensors and area outlines
 * stay above it).
 */
export class NoiseMapLayer {
  /** The layer's legend block: title, the map's time, its held-out error or the error. */
  readonly legend: HTMLElement;
  /** The canvas the image source is fed from: one pixel per cell of `grid`. */
  readonly canvas: HTMLCanvasElement;
  /** The grid drawn (undefined when nothing is). */
  grid?: NoiseGrid;
  /** The replayed instant the drawn grid is for, undefined for live. */
  gridAt?: Date;
  state: NoiseMapState = 'off';
  /** Requests made, for the tests: the URL of each. */
  readonly requests: string[] = [];

  private on = false;
  private at?: Date;
  /** The live map held, and its tenant. */
  private live?: { grid: NoiseGrid; tenant: string };
  /** When the next live fetch is due (epoch ms). */
  private due = 0;
  private abort?: AbortController;
  private timer?: number;
  private readonly timeLine: HTMLElement;
  private readonly errorLine: HTMLElement;

  constructor(
    private readonly map: MlMap,
    private readonly opts: { tenant: () => string; before?: string },
  ) {
    this.canvas = document.createElement('canvas');
    this.timeLine = el('p', { class: 'muted', id: 'noisemap-time' });
    this.errorLine = el('p', { class: 'muted', id: 'noisemap-error' });
    this.legend = el(
      'section',
      { class: 'legend-block', id: 'noisemap-legend', 'data-state': 'off' },
      el('h3', {}, 'Noise map (DYNAMAP), LAeq dB(A)'),
      this.timeLine,
      this.errorLine,
    );
    document.addEventListener('visibilitychange', () => {
      if (document.hidden) window.clearTimeout(this.timer);
      else if (this.on && !this.at) this.schedule();
    });
  }

  get visible(): boolean {
    return this.on;
  }

  /** Turns the layer on or off. */
  setOn(on: boolean): void {
    if (on === this.on) return;
    this.on = on;
    if (!on) {
      this.abort?.abort();
      window.clearTimeout(this.timer);
      if (this.map.getLayer(NOISE_MAP_LAYER)) this.map.setLayoutProperty(NOISE_MAP_LAYER, 'visibility', 'none');
      this.setState('off');
      return;
    }
    this.refresh();
  }

  /** Shows the map as it was at `at`, or live when undefined. */
  setReplay(at: Date | undefined): void {
    if (at?.getTime() === this.at?.getTime()) return;
    this.at = at;
    if (this.on) this.refresh();
  }

  /** The tenant changed: the live map held is another tenant's. */
  tenantChanged(): void {
    this.live = undefined;
    this.due = 0;
    if (this.on) this.refresh();
  }

  /** The level of the drawn grid's cell at [lng, lat] (the test hook): undefined outside it, where no road contributes, or when nothing is drawn. */
  levelAt(lng: number, lat: number): number | undefined {
    return this.grid ? levelAt(this.grid, lng, lat) : undefined;
  }

  /** Shows what the current mode needs: the replayed map, or the live one (held while current, else fetched). */
  private refresh(): void {
    this.abort?.abort();
    window.clearTimeout(this.timer);
    if (this.at) {
      void this.load(this.at);
      return;
    }
    const held = this.live?.tenant === this.opts.tenant() ? this.live : undefined;
    if (held && Date.now() < this.due) {
      this.show(held.grid, undefined);
      this.schedule();
    } else if (!document.hidden) {
      void this.load(undefined);
    }
  }

  /** Arms the next live fetch for when the held map is due. */
  private schedule(): void {
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(
      () => {
        if (this.on && !this.at && !document.hidden) void this.load(undefined);
      },
      Math.max(0, this.due - Date.now()),
    );
  }

  private async load(at: Date | undefined): Promise<void> {
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    const tenant = this.opts.tenant();
    const q = new URLSearchParams({ tenant });
    if (at) q.set('at', at.toISOString());
    const url = `api/v1/noisemap?${q}`;
    this.requests.push(url);
    if (this.state !== 'live' && this.state !== 'replay') this.setState('loading');
    let res: Response;
    let body: unknown;
    try {
      res = await fetch(url, { headers: { Accept: 'application/json', ...authHeaders() }, signal: ac.signal });
      body = await res.json().catch(() => undefined);
    } catch (e) {
      if (ac.signal.aborted) return;
      this.fail(`noise map unavailable: ${String(e)}`, at);
      return;
    }
    if (ac.signal.aborted) return;
    if (!res.ok) {
      this.fail(problemText(res.status, body as { title?: unknown; detail?: unknown } | undefined, !!at), at);
      return;
    }
    let grid: NoiseGrid;
    try {
      grid = parseNoiseGrid(body);
    } catch (e) {
      this.fail(String((e as Error).message), at);
      return;
    }
    if (!at) {
      this.live = { grid, tenant };
      this.due = Date.now() + refreshDelayMs(res.headers.get('Cache-Control'));
      this.schedule();
    }
    this.show(grid, at);
  }

  /** An error: said in the legend; a failed replay hides the map, a failed live refresh keeps the one shown and retries. */
  private fail(message: string, at: Date | undefined): void {
    this.errorLine.textContent = message;
    this.errorLine.className = 'error';
    if (at || !this.grid || this.gridAt) {
      this.grid = undefined;
      this.gridAt = undefined;
      this.timeLine.textContent = at ? `As it was at ${dateTimeOf(at)}` : 'Live';
      if (this.map.getLayer(NOISE_MAP_LAYER)) this.map.setLayoutProperty(NOISE_MAP_LAYER, 'visibility', 'none');
    }
    if (!at) {
      this.due = Date.now() + MIN_REFRESH_MS;
      this.schedule();
    }
    this.setState('error');
  }

  /** Draws grid on the canvas and hands it to the image source. */
  private show(grid: NoiseGrid, at: Date | undefined): void {
    if (this.canvas.width !== grid.nx || this.canvas.height !== grid.ny) {
      this.canvas.width = grid.nx;
      this.canvas.height = grid.ny;
    }
    const ctx = this.canvas.getContext('2d', { willReadFrequently: true });
    if (!ctx) {
      this.fail('noise map: this browser gives no 2D canvas', at);
      return;
    }
    ctx.putImageData(new ImageData(gridPixels(grid.levels), grid.nx, grid.ny), 0, 0);
    const coordinates = imageCoordinates(grid.bbox);
    const src = this.map.getSource(NOISE_MAP_SOURCE) as ImageSource | undefined;
    if (src) {
      src.updateImage({ image: this.canvas, coordinates });
    } else {
      this.map.addSource(NOISE_MAP_SOURCE, { type: 'image', coordinates });
      (this.map.getSource(NOISE_MAP_SOURCE) as ImageSource).updateImage({ image: this.canvas, coordinates });
      this.map.addLayer(
        {
          id: NOISE_MAP_LAYER,
          type: 'raster',
          source: NOISE_MAP_SOURCE,
          // Nearest: each 100 m cell stays a crisp square whose colour is its band.
          paint: { 'raster-opacity': 0.6, 'raster-resampling': 'nearest', 'raster-fade-duration': 0 },
        },
        this.opts.before && this.map.getLayer(this.opts.before) ? this.opts.before : undefined,
      );
    }
    this.map.setLayoutProperty(NOISE_MAP_LAYER, 'visibility', 'visible');
    this.grid = grid;
    this.gridAt = at;
    const t = new Date(grid.time);
    this.timeLine.textContent = at ? `As it was at ${dateTimeOf(t)}` : `Live map of ${timeOf(t)}`;
    this.errorLine.textContent = heldOutText(grid.heldOut);
    this.errorLine.className = 'muted';
    this.legend.dataset.time = grid.time;
    this.legend.dataset.at = at ? at.toISOString() : '';
    this.setState(at ? 'replay' : 'live');
  }

  private setState(s: NoiseMapState): void {
    this.state = s;
    this.legend.dataset.state = s;
  }
}
