// MapView draws the city with MapLibre GL from citytwin's own data: a blank
// style (no glyphs, no sprites: nothing fetched from elsewhere), the city's
// layers from /api/v1/layers as GeoJSON sources, the sensors as one GeoJSON
// source, and, only when configured, a raster tile layer underneath.
// Every live colour (choropleth, congestion, parks, alerts, selection, and
// each sensor's colour and staleness) is a feature state keyed by
// the feature's id, so that a delta changes a few states instead of
// re-uploading a layer; a state equal to the one already set is not set
// again. The sensors' geometry changes only by diffs (SensorLayer); the
// selected sensor is drawn by a layer filtered to it.

import {
  AttributionControl,
  Map as MlMap,
  NavigationControl,
  ScaleControl,
  setWorkerUrl,
  type GeoJSONSource,
  type LayerSpecification,
  type MapGeoJSONFeature,
  type StyleSpecification,
} from 'maplibre-gl';
import workerUrl from 'maplibre-gl/dist/maplibre-gl-worker.mjs?url';
import 'maplibre-gl/dist/maplibre-gl.css';

import type { LayerFeature } from './api';
import { NO_DATA } from './scales';
import { sensorCircleFilter, SENSOR_LINES_ZOOM, type SensorSink, type SensorState } from './sensors';
import type { BBox, FeatureKind } from './types';

setWorkerUrl(workerUrl);

export type Pick = { what: 'sensor'; id: string } | { what: 'feature'; kind: FeatureKind; id: string };

/** Sensor layer ids, for hit testing. */
const SENSOR_LAYERS = ['sensor-circles', 'sensor-lines'];
/** The layer that outlines the selected sensor (MapView.selectSensor). */
const SENSOR_SELECTED = 'sensor-selected';

/** The selection layer's filter: the point feature fid, or no feature (ids are ≥ 0). */
export function selectedFilter(fid: number | undefined): unknown[] {
  return ['all', ['==', ['geometry-type'], 'Point'], ['==', ['id'], fid ?? -1]];
}

export class MapView implements SensorSink {
  readonly map: MlMap;
  private readonly loaded: Promise<void>;
  private bounds = new Map<string, BBox>();
  private names = new Map<string, string>();
  private speedLimits = new Map<string, number>();
  private selected?: { source: string; id: string };
  private alerted = new Set<string>();
  /** The paint states set through setFeatureState, by kind/id. */
  private states = new Map<string, Record<string, unknown>>();
  private areaLevel: 'neighbourhood' | 'district' = 'neighbourhood';

  constructor(container: HTMLElement, opts: { tileURL?: string; tileAttribution?: string }) {
    const style: StyleSpecification = {
      version: 8,
      sources: {},
      layers: [{ id: 'background', type: 'background', paint: { 'background-color': '#f2efe9' } }],
    };
    if (opts.tileURL) {
      style.sources.tiles = {
        type: 'raster',
        tiles: [opts.tileURL],
        tileSize: 256,
        attribution: opts.tileAttribution ?? '',
      };
      style.layers.push({ id: 'tiles', type: 'raster', source: 'tiles', paint: { 'raster-opacity': 0.6 } });
    }
    this.map = new MlMap({
      container,
      style,
      center: [0, 0],
      zoom: 1,
      attributionControl: false,
      // Touch: one finger pans, two zoom and rotate; no pitch, which hides
      // the city on a phone.
      pitchWithRotate: false,
      dragRotate: false,
      maxPitch: 0,
    });
    this.map.touchZoomRotate.disableRotation();
    this.map.addControl(new NavigationControl({ showCompass: false }), 'top-right');
    this.map.addControl(new ScaleControl({ unit: 'metric' }), 'bottom-left');
    this.map.addControl(
      new AttributionControl({ compact: true, customAttribution: 'City cartography: citytwin' }),
      'bottom-right',
    );
    this.loaded = new Promise((resolve) => this.map.once('load', () => resolve()));
  }

  whenLoaded(): Promise<void> {
    return this.loaded;
  }

  /** Adds the city's layers; call once, after whenLoaded. */
  addCity(layers: Partial<Record<FeatureKind, LayerFeature[]>>): void {
    const m = this.map;
    for (const [kind, feats] of Object.entries(layers) as [FeatureKind, LayerFeature[]][]) {
      for (const f of feats) {
        const key = `${kind}/${f.properties.id}`;
        this.bounds.set(key, geometryBounds(f.geometry));
        this.names.set(key, f.properties.name || f.properties.id);
        if (kind === 'road' && f.properties.speed_limit) this.speedLimits.set(f.properties.id, f.properties.speed_limit);
      }
      // Indicators travel through feature states, not in the source.
      const data: GeoJSON.FeatureCollection = {
        type: 'FeatureCollection',
        features: feats.map((f) => ({ ...f, properties: { ...f.properties, indicators: undefined } })),
      };
      m.addSource(kind, { type: 'geojson', data, promoteId: 'id', tolerance: 0.5 });
    }
    const state = (name: string, fallback: unknown) => ['coalesce', ['feature-state', name], fallback];
    const add = (l: LayerSpecification) => {
      if ('source' in l && !m.getSource(l.source as string)) return;
      m.addLayer(l);
    };
    add({
      id: 'greenarea-fill',
      type: 'fill',
      source: 'greenarea',
      paint: { 'fill-color': state('fill', '#cfe3c4') as never, 'fill-opacity': 0.8 },
    });
    add({
      id: 'irrigationzone-line',
      type: 'line',
      source: 'irrigationzone',
      minzoom: 13,
      paint: { 'line-color': '#5b8f52', 'line-width': 1, 'line-dasharray': [2, 2] },
    });
    for (const level of ['district', 'neighbourhood'] as const) {
      add({
        id: `${level}-fill`,
        type: 'fill',
        source: level,
        paint: {
          'fill-color': state('fill', '#ffffff') as never,
          'fill-opacity': state('op', 0) as never,
        },
      });
    }
    add({
      id: 'neighbourhood-line',
      type: 'line',
      source: 'neighbourhood',
      paint: { 'line-color': '#8a8a8a', 'line-width': 0.6 },
    });
    add({
      id: 'district-line',
      type: 'line',
      source: 'district',
      paint: { 'line-color': '#4a4a4a', 'line-width': 1.6 },
    });
    add({
      id: 'road-line',
      type: 'line',
      source: 'road',
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': state('color', '#bdbdbd') as never,
        'line-width': [
          'interpolate',
          ['linear'],
          ['zoom'],
          11,
          ['match', ['get', 'road_class'], 'primary', 1.6, 'secondary', 1, 0.4],
          16,
          ['match', ['get', 'road_class'], 'primary', 8, 'secondary', 5, 2.5],
        ],
      },
    });
    // Alerts and selection outline the features they concern.
    for (const src of ['district', 'neighbourhood', 'greenarea', 'irrigationzone', 'road']) {
      add({
        id: `${src}-highlight`,
        type: 'line',
        source: src,
        paint: {
          'line-color': [
            'case',
            ['boolean', ['feature-state', 'selected'], false],
            '#1f3a5f',
            ['boolean', ['feature-state', 'alert'], false],
            '#e0002a',
            'rgba(0,0,0,0)',
          ],
          'line-width': ['case', ['boolean', ['feature-state', 'selected'], false], 3.5, ['boolean', ['feature-state', 'alert'], false], 2.5, 0],
        },
      });
    }
    // Sensors: one feature per sensor under a numeric id (SensorLayer), its
    // colour and staleness as properties and, once they change, as feature
    // states, so that a reading costs a feature state and never a re-upload
    // of the source. In software WebGL (SwiftShader) a repaint of 20,000
    // sensors is bound by the circle layer's per-vertex work and fragments,
    // so the layer drawing every sensor keeps one value per feature only,
    // its colour (a stale sensor's colour is already grey, scales.ts);
    // radius and stroke follow the zoom alone (uniforms, not vertex data):
    // small and without a stroke at city zoom, outlined from zoom 13. The
    // selection is its own layer, filtered to the one selected feature
    // (selectSensor), instead of a state that every feature would carry.
    m.addSource('sensors', { type: 'geojson', data: { type: 'FeatureCollection', features: [] } });
    // A feature state set after the feature was sent wins over its properties (SensorLayer).
    const stale = ['boolean', ['coalesce', ['feature-state', 'stale'], ['get', 'stale']], false];
    const color = ['coalesce', ['feature-state', 'color'], ['get', 'color'], NO_DATA];
    // A sensor located by a line (a traffic sensor's road stretch, some
    // 200 m) is a line from zoom SENSOR_LINES_ZOOM; below, where the
    // stretch is a few pixels long, the circle layer draws its ends, which
    // overlap into a dot of its colour. In SwiftShader 6,000 short lines
    // cost about a fifth of a city-zoom repaint, several times what the
    // 14,000 circles of the other sensors cost.
    m.addLayer({
      id: 'sensor-lines',
      type: 'line',
      source: 'sensors',
      minzoom: SENSOR_LINES_ZOOM,
      filter: ['==', ['geometry-type'], 'LineString'],
      paint: { 'line-color': color as never, 'line-width': 4, 'line-opacity': ['case', stale, 0.5, 0.95] as never },
    });
    m.addLayer({
      id: 'sensor-circles',
      type: 'circle',
      source: 'sensors',
      filter: sensorCircleFilter() as never,
      paint: {
        'circle-color': color as never,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 13, 4, 16, 9],
        'circle-opacity': 0.95,
        'circle-stroke-color': '#ffffff',
        'circle-stroke-width': ['step', ['zoom'], 0, 13, 1.2],
      },
    });
    m.addLayer({
      id: SENSOR_SELECTED,
      type: 'circle',
      source: 'sensors',
      filter: selectedFilter(undefined) as never,
      paint: {
        'circle-color': color as never,
        'circle-radius': ['interpolate', ['linear'], ['zoom'], 10, 6, 16, 12],
        'circle-stroke-color': '#111111',
        'circle-stroke-width': 2.5,
      },
    });
  }

  /** The city's extent: its districts, else neighbourhoods, else any layer. */
  cityBounds(): BBox | undefined {
    for (const prefix of ['district/', 'neighbourhood/', '']) {
      let b: BBox | undefined;
      for (const [k, v] of this.bounds) if (k.startsWith(prefix)) b = b ? union(b, v) : v;
      if (b) return b;
    }
    return undefined;
  }

  /** Every feature of the city, as kind/id. */
  featureKeys(): IterableIterator<string> {
    return this.bounds.keys();
  }

  featureBounds(kind: string, id: string): BBox | undefined {
    return this.bounds.get(`${kind}/${id}`);
  }

  featureName(kind: string, id: string): string {
    return this.names.get(`${kind}/${id}`) ?? id;
  }

  speedLimit(road: string | undefined): number | undefined {
    return road ? this.speedLimits.get(road) : undefined;
  }

  /** SensorSink: replaces every sensor feature. */
  replaceSensors(features: GeoJSON.Feature[]): void {
    this.sensorSource()?.setData({ type: 'FeatureCollection', features });
  }

  /** SensorSink: adds or replaces the features of add, removes those of remove (a diff, re-tiling only where they are). */
  patchSensors(add: GeoJSON.Feature[], remove: number[]): void {
    void this.sensorSource()?.updateData({ add, remove });
  }

  /** SensorSink: a sensor's colour and staleness. */
  sensorState(fid: number, state: SensorState): void {
    if (this.sensorSource()) this.map.setFeatureState({ source: 'sensors', id: fid }, state as Record<string, unknown>);
  }

  /** SensorSink: outlines the sensor feature fid, or none (the selection layer's filter). */
  selectSensor(fid: number | undefined): void {
    if (this.map.getLayer(SENSOR_SELECTED)) this.map.setFilter(SENSOR_SELECTED, selectedFilter(fid) as never);
  }

  private sensorSource(): GeoJSONSource | undefined {
    return this.map.getSource('sensors') as GeoJSONSource | undefined;
  }

  /** Sets a city feature's state, unless every value in state is already set. */
  setFeatureState(kind: FeatureKind, id: string, state: Record<string, unknown>): void {
    if (!this.map.getSource(kind)) return;
    const key = `${kind}/${id}`;
    const held = this.states.get(key);
    if (held && Object.keys(state).every((k) => held[k] === state[k])) return;
    this.states.set(key, { ...held, ...state });
    this.map.setFeatureState({ source: kind, id }, state);
  }

  /** Shows the choropleth on one level, outlines only on the other. */
  setAreaLevel(level: 'neighbourhood' | 'district'): void {
    this.areaLevel = level;
    for (const l of ['neighbourhood', 'district']) {
      if (this.map.getLayer(`${l}-fill`)) this.map.setLayoutProperty(`${l}-fill`, 'visibility', l === level ? 'visible' : 'none');
    }
  }

  setVisible(layerId: string, visible: boolean): void {
    if (this.map.getLayer(layerId)) this.map.setLayoutProperty(layerId, 'visibility', visible ? 'visible' : 'none');
  }

  /** Marks the features with an open alert. */
  setAlerted(keys: Set<string>): void {
    for (const k of this.alerted) if (!keys.has(k)) this.state(k, { alert: false });
    for (const k of keys) if (!this.alerted.has(k)) this.state(k, { alert: true });
    this.alerted = new Set(keys);
  }

  select(kind: FeatureKind | undefined, id?: string): void {
    if (this.selected) this.state(`${this.selected.source}/${this.selected.id}`, { selected: false });
    this.selected = kind && id ? { source: kind, id } : undefined;
    if (this.selected) this.state(`${kind}/${id}`, { selected: true });
  }

  private state(key: string, s: Record<string, unknown>): void {
    const i = key.indexOf('/');
    const source = key.slice(0, i);
    if (this.map.getSource(source)) this.map.setFeatureState({ source, id: key.slice(i + 1) }, s);
  }

  /** The current view, padded by a fifth of its size, as a subscription bbox. */
  viewBBox(): BBox {
    const b = this.map.getBounds();
    const w = b.getEast() - b.getWest();
    const h = b.getNorth() - b.getSouth();
    const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
    return [
      clamp(b.getWest() - w * 0.2, -180, 180),
      clamp(b.getSouth() - h * 0.2, -90, 90),
      clamp(b.getEast() + w * 0.2, -180, 180),
      clamp(b.getNorth() + h * 0.2, -90, 90),
    ];
  }

  /**
   * Fits a box into the part of the map that the open panels leave free
   * (padding in pixels from each edge of the map).
   */
  fit(b: BBox, opts: { maxZoom?: number; animate?: boolean; padding?: { top: number; right: number; bottom: number; left: number } } = {}): void {
    const c = this.map.getContainer();
    const pad = opts.padding ?? { top: 40, right: 40, bottom: 40, left: 40 };
    // Never pad away more than the map has.
    if (pad.left + pad.right > c.clientWidth - 80) pad.left = pad.right = 40;
    if (pad.top + pad.bottom > c.clientHeight - 80) pad.top = pad.bottom = 40;
    this.map.fitBounds(
      [
        [b[0], b[1]],
        [b[2], b[3]],
      ],
      { padding: pad, maxZoom: opts.maxZoom ?? 16, animate: opts.animate ?? true, duration: 600 },
    );
  }

  /** What is under a tap or click: a sensor first, then a road, a park, an area. */
  pick(point: { x: number; y: number }): Pick | undefined {
    const box = (r: number): [[number, number], [number, number]] => [
      [point.x - r, point.y - r],
      [point.x + r, point.y + r],
    ];
    const layers = (ids: string[]) => ids.filter((id) => this.map.getLayer(id));
    const hit = (ids: string[], r: number): MapGeoJSONFeature | undefined => {
      const ls = layers(ids);
      return ls.length ? this.map.queryRenderedFeatures(box(r), { layers: ls })[0] : undefined;
    };
    const s = hit(SENSOR_LAYERS, 10);
    if (s) return { what: 'sensor', id: String(s.properties.id) };
    const road = hit(['road-line'], 6);
    if (road) return { what: 'feature', kind: 'road', id: String(road.properties.id) };
    const park = hit(['greenarea-fill'], 0);
    if (park) return { what: 'feature', kind: 'greenarea', id: String(park.properties.id) };
    const area = hit([`${this.areaLevel}-fill`], 0);
    if (area) return { what: 'feature', kind: this.areaLevel, id: String(area.properties.id) };
    return undefined;
  }
}

export function geometryBounds(g: GeoJSON.Geometry): BBox {
  const b: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  if (g.type === 'GeometryCollection') return g.geometries.map(geometryBounds).reduce(union, b);
  const walk = (c: unknown): void => {
    if (Array.isArray(c) && typeof c[0] === 'number') {
      b[0] = Math.min(b[0], c[0] as number);
      b[1] = Math.min(b[1], c[1] as number);
      b[2] = Math.max(b[2], c[0] as number);
      b[3] = Math.max(b[3], c[1] as number);
    } else if (Array.isArray(c)) {
      for (const x of c) walk(x);
    }
  };
  walk(g.coordinates);
  return b;
}

function union(a: BBox, b: BBox): BBox {
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}
