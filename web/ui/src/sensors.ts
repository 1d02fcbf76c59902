// SensorLayer keeps the map's sensors in step with a TwinStore at the cost
// of what changed, not of the fleet. Each sensor is one feature of the
// sensors GeoJSON source under a numeric id of its own (stable for the
// page's life, so never two sensors under one id as hashed string ids
// could be). A feature carries its colour and staleness as properties when
// it is sent; a later change of colour or staleness is a feature state,
// which the paint prefers (map.ts), so a reading that changes a colour
// costs one setFeatureState and never a re-upload. Only sensors that
// appear, leave or move, and layers switched on or off, change the
// source's geometry, by a diff of those features. A full change (snapshot,
// replay, tenant) re-reads every sensor but is a diff too when most
// sensors stay where they were drawn (a reconnect's or a resubscribe's
// snapshot): replacing the source would make MapLibre copy 20,000 features
// to its worker and re-tile them, seconds of work in a weak browser. Only
// when most of the map changes is the source replaced. Feature states are
// few: those of sensors whose colour changed since they were sent
// (MapLibre applies every state held to each tile it loads).
//
// It also counts the sensors shown and the stale ones, for the status bar.
// It has no timer of its own: the app calls it when it draws (pacer.ts),
// with everything that changed since the previous draw.

import { samePlace, type Changes, type Place } from './store';
import type { Domain, Sensor } from './types';

/** From this zoom a sensor located by a line is drawn as a line; below, as circles at its ends (map.ts). */
export const SENSOR_LINES_ZOOM = 12;

/**
 * The filter of the map's circle layer of sensors: points, and below
 * SENSOR_LINES_ZOOM lines too (a circle layer draws a circle at each
 * vertex of a line). A filter sees the zoom of the tile, an integer: tiles
 * of zoom 11 serve zoom 11 to 11.99.
 */
export function sensorCircleFilter(): unknown[] {
  return ['any', ['==', ['geometry-type'], 'Point'], ['all', ['<', ['zoom'], SENSOR_LINES_ZOOM], ['==', ['geometry-type'], 'LineString']]];
}

/** The feature state of a sensor on the map (paint of the sensor layers, map.ts). */
export interface SensorState {
  color?: string;
  stale?: boolean;
}

/** Where SensorLayer draws: MapView, or a recorder in the unit tests. */
export interface SensorSink {
  /** Replaces every sensor feature. */
  replaceSensors(features: GeoJSON.Feature[]): void;
  /** Adds or replaces (same id) the features in add, then removes those of remove. */
  patchSensors(add: GeoJSON.Feature[], remove: number[]): void;
  /** Merges state into the feature state of the sensor feature fid. */
  sensorState(fid: number, state: SensorState): void;
  /**
   * Marks the sensor feature fid as the selected one (undefined: none).
   * Not a feature state: a state every feature may carry makes the paint
   * of every sensor depend on it, which costs each repaint (map.ts).
   */
  selectSensor(fid: number | undefined): void;
}

/** What the layer shows of one sensor: its colour and where it was sent (the layer and place of its feature). */
interface Shown {
  fid: number;
  color: string;
  stale: boolean;
  place: Place;
  /** The rebuild that last saw it (rebuild drops those it did not see). */
  gen: number;
}

/** The sensors a sync needs: the store's map of sensors by id. */
export interface SensorSource {
  sensors: Map<string, Sensor>;
}

/** What a SensorLayer did since the page opened (window.citytwin.stats, for tests and benchmarks). */
export interface SensorLayerStats {
  /** Full re-reads of the store (rebuild). */
  rebuilds: number;
  /** Rebuilds that replaced the whole source (the others were diffs). */
  replaced: number;
  patches: number;
  added: number;
  removed: number;
  states: number;
}

export class SensorLayer {
  readonly stats: SensorLayerStats = { rebuilds: 0, replaced: 0, patches: 0, added: 0, removed: 0, states: 0 };
  private readonly fids = new Map<string, number>();
  private readonly ids: string[] = [];
  private shown = new Map<string, Shown>();
  /** The colour states set on the map, by feature id (they win over a feature's properties). */
  private readonly states = new Map<number, { color: string; stale: boolean }>();
  private staleShown = 0;
  private selected?: string;
  private gen = 0;

  /**
   * color gives a sensor's colour (sensorHeadline in the app); enabled says
   * whether a domain's layer is switched on.
   */
  constructor(
    private readonly sink: SensorSink,
    private readonly color: (s: Sensor) => string,
    private readonly enabled: (d: Domain) => boolean,
  ) {}

  /** Number of sensors on the map. */
  get count(): number {
    return this.shown.size;
  }

  /** Number of stale sensors on the map. */
  get staleCount(): number {
    return this.staleShown;
  }

  /** The feature id of a sensor (assigned on first use, then stable). */
  fid(id: string): number {
    let n = this.fids.get(id);
    if (n === undefined) {
      n = this.ids.length;
      this.ids.push(id);
      this.fids.set(id, n);
    }
    return n;
  }

  /** The sensor id of a feature id, for hit testing. */
  sensorId(fid: number): string | undefined {
    return this.ids[fid];
  }

  /**
   * Brings the map in step with store after changes (those of one or more
   * updates, merged by mergeChanges): the listed sensors only, or every
   * sensor when changes.full. Colours are recomputed for the listed
   * sensors; a feature state is set only where the drawn one differs.
   */
  sync(store: SensorSource, changes: Pick<Changes, 'full' | 'sensorIds' | 'placed'>): void {
    if (changes.full) {
      this.rebuild(store);
      return;
    }
    const add: GeoJSON.Feature[] = [];
    const remove: number[] = [];
    for (const id of changes.sensorIds) this.update(id, store.sensors.get(id), changes.placed.has(id), add, remove);
    this.patch(add, remove);
  }

  /**
   * After a layer was switched on or off: adds the sensors of layers now
   * on and removes those of layers now off, by a diff (every sensor is
   * looked at, only those changed are sent to the map).
   */
  refilter(store: SensorSource): void {
    const add: GeoJSON.Feature[] = [];
    const remove: number[] = [];
    for (const [id, s] of store.sensors) {
      if (this.enabled(s.domain) !== this.shown.has(id)) this.update(id, s, false, add, remove);
    }
    for (const [id, prev] of this.shown) {
      if (!store.sensors.has(id)) {
        remove.push(prev.fid);
        this.drop(id, prev);
      }
    }
    this.patch(add, remove);
  }

  /**
   * Re-reads every sensor of store after a full change. When most of them
   * are drawn already, at the same place, it is a diff: features for the
   * sensors new or moved, removals for those gone, states for colours that
   * differ. Otherwise (the first snapshot, another tenant, a replay far
   * from the live map) it replaces the source.
   */
  rebuild(store: SensorSource): void {
    this.stats.rebuilds++;
    const gen = ++this.gen;
    // The sensors to draw, each with its entry when it is drawn at its place already.
    const wanted: { s: Sensor; kept?: Shown }[] = [];
    let kept = 0;
    for (const s of store.sensors.values()) {
      if (!this.enabled(s.domain) || !hasPlace(s)) continue;
      const prev = this.shown.get(s.id);
      const same = prev && samePlace(prev.place, s) ? prev : undefined;
      if (same) kept++;
      wanted.push({ s, kept: same });
    }
    // Features to send or remove: past half of the map, replacing is cheaper.
    if (wanted.length - kept + (this.shown.size - kept) > Math.max(wanted.length, this.shown.size) / 2) {
      this.replace(store, gen);
      return;
    }
    const add: GeoJSON.Feature[] = [];
    for (const { s, kept } of wanted) {
      const fid = this.fid(s.id);
      const color = this.color(s);
      if (!kept) add.push(sensorFeature(s, fid, color)!);
      this.show(s.id, fid, color, s, kept, gen);
    }
    const remove: number[] = [];
    for (const [id, prev] of this.shown) {
      if (prev.gen !== gen) {
        remove.push(prev.fid);
        this.drop(id, prev);
      }
    }
    this.patch(add, remove);
  }

  /** Replaces the source with every sensor of store. */
  private replace(store: SensorSource, gen: number): void {
    const features: GeoJSON.Feature[] = [];
    this.shown = new Map();
    this.staleShown = 0;
    for (const s of store.sensors.values()) {
      if (!this.enabled(s.domain)) continue;
      const fid = this.fid(s.id);
      const color = this.color(s);
      const f = sensorFeature(s, fid, color);
      if (!f) continue;
      features.push(f);
      this.show(s.id, fid, color, s, undefined, gen);
    }
    this.stats.replaced++;
    this.sink.replaceSensors(features);
  }

  /** Marks one sensor as selected (undefined: none); tells the map only of a change. */
  select(id: string | undefined): void {
    if (id === this.selected) return;
    this.selected = id;
    this.sink.selectSensor(id === undefined ? undefined : this.fid(id));
  }

  /**
   * One sensor: shown, hidden, moved or recoloured; geometry goes to add or
   * remove. A feature is made only for geometry sent: a recolour needs its
   * colour alone.
   */
  private update(id: string, s: Sensor | undefined, placed: boolean, add: GeoJSON.Feature[], remove: number[]): void {
    const prev = this.shown.get(id);
    if (!s || !this.enabled(s.domain) || !hasPlace(s)) {
      if (prev) {
        remove.push(prev.fid);
        this.drop(id, prev);
      }
      return;
    }
    const fid = this.fid(id);
    const color = this.color(s);
    if (!prev || placed) {
      add.push(sensorFeature(s, fid, color)!);
      this.show(id, fid, color, s, undefined, prev?.gen ?? this.gen);
    } else {
      this.show(id, fid, color, s, prev, prev.gen);
    }
  }

  private patch(add: GeoJSON.Feature[], remove: number[]): void {
    if (!add.length && !remove.length) return;
    this.stats.patches++;
    this.stats.added += add.length;
    this.stats.removed += remove.length;
    this.sink.patchSensors(add, remove);
  }

  /**
   * Records what sensor s shows, as feature fid in color. drawn is what
   * the map draws for it now, when its feature is not being (re)sent: then
   * only a difference needs a state. When the feature is sent, its
   * properties are current, but a feature state set earlier would win over
   * them (map.ts: state, else property): it is set again where it differs.
   */
  private show(id: string, fid: number, color: string, s: Sensor, drawn: Shown | undefined, gen: number): void {
    const stale = s.stale === true;
    const state = this.states.get(fid);
    const want = drawn ?? state;
    if (want && (want.color !== color || want.stale !== stale)) {
      this.stats.states++;
      this.states.set(fid, { color, stale });
      this.sink.sensorState(fid, { color, stale });
    }
    // The entry replaced is counted in staleShown, unless replace just reset it.
    const prev = this.shown.get(id);
    if (prev?.stale) this.staleShown--;
    if (stale) this.staleShown++;
    // The place is kept as sent: an entry whose feature is not re-sent keeps its own.
    const place = drawn ? drawn.place : { domain: s.domain, lon: s.lon, lat: s.lat, geometry: s.geometry };
    this.shown.set(id, { fid, color, stale, place, gen });
  }

  private drop(id: string, prev: Shown): void {
    this.shown.delete(id);
    if (prev.stale) this.staleShown--;
  }
}

/**
 * Merges b into a (both changes of the same store, a before b) so that
 * one sync applies both: full wins, id sets unite, features append.
 */
export function mergeChanges(a: Changes, b: Changes): Changes {
  if (b.full && !a.full) {
    a.full = true;
    a.sensorIds.clear();
    a.placed.clear();
  }
  if (!a.full) {
    for (const id of b.sensorIds) a.sensorIds.add(id);
    for (const id of b.placed) a.placed.add(id);
  }
  a.sensors ||= b.sensors;
  a.alerts ||= b.alerts;
  for (const f of b.features) a.features.push(f);
  return a;
}

/** Whether a sensor has a location to draw (sensorFeature gives it a feature). */
function hasPlace(s: Sensor): boolean {
  return (s.lon !== undefined && s.lat !== undefined) || !!s.geometry?.coordinates?.length;
}

/**
 * A sensor as a feature of the sensors source, with its colour and
 * staleness as properties, or undefined when it has no location.
 */
export function sensorFeature(s: Sensor, fid: number, color: string): GeoJSON.Feature | undefined {
  if (!hasPlace(s)) return undefined;
  const properties = { id: s.id, domain: s.domain, color, stale: s.stale === true };
  const geometry: GeoJSON.Geometry =
    s.lon !== undefined && s.lat !== undefined ? { type: 'Point', coordinates: [s.lon, s.lat] } : { type: 'LineString', coordinates: s.geometry!.coordinates };
  return { type: 'Feature', id: fid, geometry, properties };
}
