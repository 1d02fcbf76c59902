// PlanMap draws the planner's own layers on the live map and picks features
// for the selection. Everything it adds is a separate source or layer whose
// id starts with "plan-", added when the panel opens and removed when it
// closes, so the live layers (map.ts) are never touched:
//
//   plan-result   the last result: roads, areas, green areas with a "color" (planner-model.ts, resultFeatures);
//                 detour roads ("diverted") outlined in DETOUR_COLOR, closed roads dashed
//   plan-select   the selected areas, roads and parks, and the detour roads (layer "detour")
//   plan-draft    the polygon being drawn (its vertices, outline and fill)
//
// Picking works on the city's GeoJSON (the features of /api/v1/layers that
// main.ts loaded) rather than on rendered features, so that any area or
// park can be picked whatever the live layers show: areas and parks by
// point in polygon, roads by the nearest segment within 10 px.

import type { GeoJSONSource, LayerSpecification, Map as MlMap } from 'maplibre-gl';

import type { LayerFeature } from './api';
import { geometryBounds } from './map';
import { DETOUR_COLOR, linesOf, pointInGeometry, segmentDistance, type Selection, type SelectionKind } from './planner-model';
import type { BBox, FeatureKind } from './types';

const RESULT = 'plan-result';
const SELECT = 'plan-select';
const DRAFT = 'plan-draft';

/** Roads within this many pixels of a click are candidates. */
const ROAD_PICK_PX = 10;

interface Indexed {
  id: string;
  name: string;
  bbox: BBox;
  geometry: GeoJSON.Geometry;
}

const EMPTY: GeoJSON.FeatureCollection = { type: 'FeatureCollection', features: [] };

export class PlanMap {
  private index = new Map<string, Indexed[]>();
  private byKey = new Map<string, Indexed>();
  private added = false;
  private resultData: GeoJSON.FeatureCollection = EMPTY;
  private selectData: GeoJSON.FeatureCollection = EMPTY;
  private draftData: GeoJSON.FeatureCollection = EMPTY;

  constructor(
    readonly map: MlMap,
    private readonly layers: () => Partial<Record<FeatureKind, LayerFeature[]>>,
  ) {}

  /** The feature's geometry from the city's layers. */
  geometryOf = (kind: string, id: string): GeoJSON.Geometry | undefined => {
    this.buildIndex();
    return this.byKey.get(`${kind}/${id}`)?.geometry;
  };

  nameOf(kind: string, id: string): string {
    this.buildIndex();
    return this.byKey.get(`${kind}/${id}`)?.name || id;
  }

  boundsOf(kind: string, id: string): BBox | undefined {
    this.buildIndex();
    return this.byKey.get(`${kind}/${id}`)?.bbox;
  }

  private buildIndex(): void {
    if (this.byKey.size) return;
    for (const [kind, feats] of Object.entries(this.layers()) as [FeatureKind, LayerFeature[]][]) {
      const list: Indexed[] = [];
      for (const f of feats ?? []) {
        const it = { id: f.properties.id, name: f.properties.name, bbox: geometryBounds(f.geometry), geometry: f.geometry };
        list.push(it);
        this.byKey.set(`${kind}/${it.id}`, it);
      }
      this.index.set(kind, list);
    }
  }

  /** Adds the plan- sources and layers (idempotent), above the city and below the sensors. */
  show(): void {
    if (this.added) return;
    const m = this.map;
    const data: [string, GeoJSON.FeatureCollection][] = [
      [RESULT, this.resultData],
      [SELECT, this.selectData],
      [DRAFT, this.draftData],
    ];
    for (const [id, d] of data) if (!m.getSource(id)) m.addSource(id, { type: 'geojson', data: d });
    const before = m.getLayer('sensor-lines') ? 'sensor-lines' : undefined;
    const add = (l: LayerSpecification) => {
      if (!m.getLayer(l.id)) m.addLayer(l, before);
    };
    const layerIs = (...kinds: string[]) => ['in', ['get', 'layer'], ['literal', kinds]] as never;
    const color = ['coalesce', ['get', 'color'], '#c8c8c8'] as never;
    add({ id: 'plan-result-area', type: 'fill', source: RESULT, filter: layerIs('neighbourhood', 'district'), paint: { 'fill-color': color, 'fill-opacity': 0.45 } });
    add({ id: 'plan-result-area-line', type: 'line', source: RESULT, filter: layerIs('neighbourhood', 'district'), paint: { 'line-color': '#5f6b78', 'line-width': 0.8 } });
    add({ id: 'plan-result-green', type: 'fill', source: RESULT, filter: layerIs('greenarea'), paint: { 'fill-color': color, 'fill-opacity': 0.9, 'fill-outline-color': '#08519c' } });
    // A dark casing under the roads keeps them apart from the area fills.
    add({
      id: 'plan-result-road-case',
      type: 'line',
      source: RESULT,
      filter: layerIs('road'),
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: { 'line-color': '#1d2733', 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 4, 16, 12] as never },
    });
    // A detour road (it takes diverted traffic): a wider magenta outline around its colour, in place of the dark casing.
    add({
      id: 'plan-result-road-detour',
      type: 'line',
      source: RESULT,
      filter: ['all', layerIs('road'), ['==', ['get', 'diverted'], true]] as never,
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': DETOUR_COLOR,
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 7, 16, 18] as never,
      },
    });
    add({
      id: 'plan-result-road',
      type: 'line',
      source: RESULT,
      filter: layerIs('road'),
      layout: { 'line-cap': 'round', 'line-join': 'round' },
      paint: {
        'line-color': color,
        'line-width': ['interpolate', ['linear'], ['zoom'], 11, 2.5, 16, 9] as never,
        'line-dasharray': ['case', ['==', ['get', 'closed'], true], ['literal', [1, 1]], ['literal', [1, 0]]] as never,
      },
    });
    add({ id: 'plan-select-area', type: 'fill', source: SELECT, filter: layerIs('neighbourhood', 'district', 'greenarea'), paint: { 'fill-color': '#1f6fd1', 'fill-opacity': 0.18 } });
    add({ id: 'plan-select-line', type: 'line', source: SELECT, filter: layerIs('neighbourhood', 'district', 'greenarea'), paint: { 'line-color': '#1f3a5f', 'line-width': 3, 'line-dasharray': [3, 1.5] } });
    add({
      id: 'plan-select-road',
      type: 'line',
      source: SELECT,
      filter: layerIs('road'),
      layout: { 'line-cap': 'round' },
      paint: { 'line-color': '#1f6fd1', 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 3, 16, 11] as never, 'line-opacity': 0.55 },
    });
    add({
      id: 'plan-select-detour',
      type: 'line',
      source: SELECT,
      filter: layerIs('detour'),
      paint: { 'line-color': DETOUR_COLOR, 'line-width': ['interpolate', ['linear'], ['zoom'], 11, 3, 16, 11] as never, 'line-opacity': 0.8, 'line-dasharray': [1.5, 0.8] },
    });
    add({ id: 'plan-draft-fill', type: 'fill', source: DRAFT, filter: ['==', ['geometry-type'], 'Polygon'], paint: { 'fill-color': '#7b3294', 'fill-opacity': 0.12 } });
    add({ id: 'plan-draft-line', type: 'line', source: DRAFT, filter: ['!=', ['geometry-type'], 'Point'], paint: { 'line-color': '#7b3294', 'line-width': 2 } });
    add({
      id: 'plan-draft-points',
      type: 'circle',
      source: DRAFT,
      filter: ['==', ['geometry-type'], 'Point'],
      paint: { 'circle-radius': 5, 'circle-color': '#ffffff', 'circle-stroke-color': '#7b3294', 'circle-stroke-width': 2 },
    });
    this.added = true;
  }

  /** Removes every plan- layer and source. */
  hide(): void {
    const m = this.map;
    for (const l of m.getStyle()?.layers ?? []) if (l.id.startsWith('plan-')) m.removeLayer(l.id);
    for (const id of [RESULT, SELECT, DRAFT]) if (m.getSource(id)) m.removeSource(id);
    this.added = false;
  }

  setResult(fc: GeoJSON.FeatureCollection): void {
    this.resultData = fc;
    (this.map.getSource(RESULT) as GeoJSONSource | undefined)?.setData(fc);
  }

  /** The result features the map holds (for the browser test and the legend). */
  result(): GeoJSON.FeatureCollection {
    return this.resultData;
  }

  /** Shows the selection and the detour roads (ids of roads, drawn as layer "detour"). */
  setSelection(sel: Selection, detours: string[] = []): void {
    const features: GeoJSON.Feature[] = [];
    const add = (kind: string, ids: string[], layer = kind) => {
      for (const id of ids) {
        const geometry = this.geometryOf(kind, id);
        if (geometry) features.push({ type: 'Feature', geometry, properties: { layer, id } });
      }
    };
    add('district', sel.districts);
    add('neighbourhood', sel.neighbourhoods);
    add('greenarea', sel.greenAreas);
    add('road', sel.roads);
    add('road', detours, 'detour');
    this.selectData = { type: 'FeatureCollection', features };
    (this.map.getSource(SELECT) as GeoJSONSource | undefined)?.setData(this.selectData);
    const pts = sel.polygon;
    const draft: GeoJSON.Feature[] = pts.map((p) => ({ type: 'Feature', geometry: { type: 'Point', coordinates: p }, properties: {} }));
    if (pts.length >= 3 && sel.polygonDone) {
      draft.push({ type: 'Feature', geometry: { type: 'Polygon', coordinates: [[...pts, pts[0]]] }, properties: {} });
    } else if (pts.length >= 2) {
      draft.push({ type: 'Feature', geometry: { type: 'LineString', coordinates: pts }, properties: {} });
    }
    this.draftData = { type: 'FeatureCollection', features: draft };
    (this.map.getSource(DRAFT) as GeoJSONSource | undefined)?.setData(this.draftData);
  }

  /** The selection and the polygon being drawn as the map holds them (for the browser test). */
  selection(): { select: GeoJSON.FeatureCollection; draft: GeoJSON.FeatureCollection } {
    return { select: this.selectData, draft: this.draftData };
  }

  /** The [lon, lat] under a point of the map's canvas. */
  lonLat(point: { x: number; y: number }): [number, number] {
    const ll = this.map.unproject([point.x, point.y]);
    return [ll.lng, ll.lat];
  }

  /**
   * The feature of kind under a point of the canvas: the area or park that
   * contains it, or the road nearest to it within ROAD_PICK_PX.
   */
  pick(point: { x: number; y: number }, kind: SelectionKind): string | undefined {
    this.buildIndex();
    const list = this.index.get(kind) ?? [];
    if (kind !== 'road') {
      const ll = this.lonLat(point);
      // The smallest containing feature wins (a park inside a park).
      let best: Indexed | undefined;
      for (const f of list) {
        if (!inBox(ll, f.bbox) || !pointInGeometry(ll, f.geometry)) continue;
        if (!best || area(f.bbox) < area(best.bbox)) best = f;
      }
      return best?.id;
    }
    const a = this.lonLat({ x: point.x - ROAD_PICK_PX, y: point.y - ROAD_PICK_PX });
    const b = this.lonLat({ x: point.x + ROAD_PICK_PX, y: point.y + ROAD_PICK_PX });
    const box: BBox = [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[0], b[0]), Math.max(a[1], b[1])];
    let best: { id: string; d: number } | undefined;
    for (const f of list) {
      if (!meets(box, f.bbox)) continue;
      for (const line of linesOf(f.geometry)) {
        const px = line.map((c) => {
          const p = this.map.project([c[0], c[1]]);
          return [p.x, p.y] as [number, number];
        });
        for (let i = 1; i < px.length; i++) {
          const d = segmentDistance([point.x, point.y], px[i - 1], px[i]);
          if (d <= ROAD_PICK_PX && (!best || d < best.d)) best = { id: f.id, d };
        }
      }
    }
    return best?.id;
  }
}

function inBox(p: [number, number], b: BBox): boolean {
  return p[0] >= b[0] && p[0] <= b[2] && p[1] >= b[1] && p[1] <= b[3];
}

function meets(a: BBox, b: BBox): boolean {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

function area(b: BBox): number {
  return (b[2] - b[0]) * (b[3] - b[1]);
}
