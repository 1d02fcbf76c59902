// SensorLayer keeps the map's sensors in step with a TwinStore at the cost
// of what changed, not of the fleet. Each sensor is one feature of the
// sensors GeoJSON source under a numeric id of its own (stable for the
// page's life, so never two sensors under one id as hashed string ids
// could be). A feature carries its colour and staleness as properties when
// it is sent; a later change of colour or staleness is a feature state,
// which the paint prefers (map.ts), so a reading that changes a colour
// costs one setFeatureState and never a re-upload. Only sensors that
// appear, leave or move, and layers switched on or off, change the
// source's geometry, by a diff of those features; only a full change
// (snapshot, replay, tenant) replaces it. Feature states are few: those of
// sensors whose colour changed since they were sent (MapLibre applies
// every state held to each tile it loads).
//
// It also counts the sensors shown and the stale ones, for the status bar.
// It has no timer of its own: the app calls it when it draws (pacer.ts),
// with everything that changed since the previous draw.

import type { Changes } from './store';
import type { Domain, Sensor } from './types';

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

/** What the layer shows of one sensor. */
interface Shown {
  fid: number;
  color: string;
  stale: boolean;
}

/** The sensors a sync needs: the store's map of sensors by id. */
export interface SensorSource {
  sensors: Map<string, Sensor>;
}

/** What a SensorLayer did since the page opened (window.citytwin.stats, for tests and benchmarks). */
export interface SensorLayerStats {
  rebuilds: number;
  patches: number;
  added: number;
  removed: number;
  states: number;
}

export class SensorLayer {
  readonly stats: SensorLayerStats = { rebuilds: 0, patches: 0, added: 0, removed: 0, states: 0 };
  private readonly fids = new Map<string, number>();
  private readonly ids: string[] = [];
  private shown = new Map<string, Shown>();
  /** The colour states set on the map, by feature id (they win over a feature's properties). */
  private readonly states = new Map<number, { color: string; stale: boolean }>();
  private staleShown = 0;
  private selected?: string;

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

  /** Re-reads every sensor of store and replaces the source: after a full change. */
  rebuild(store: SensorSource): void {
    const features: GeoJSON.Feature[] = [];
    const before = this.shown;
    this.shown = new Map();
    this.staleShown = 0;
    for (const s of store.sensors.values()) {
      if (!this.enabled(s.domain)) continue;
      const f = this.feature(s);
      if (!f) continue;
      features.push(f);
      this.show(s.id, f, before.get(s.id));
    }
    this.stats.rebuilds++;
    this.sink.replaceSensors(features);
  }

  /** Marks one sensor as selected (undefined: none); tells the map only of a change. */
  select(id: string | undefined): void {
    if (id === this.selected) return;
    this.selected = id;
    this.sink.selectSensor(id === undefined ? undefined : this.fid(id));
  }

  /** One sensor: shown, hidden, moved or recoloured; geometry goes to add or remove. */
  private update(id: string, s: Sensor | undefined, placed: boolean, add: GeoJSON.Feature[], remove: number[]): void {
    const prev = this.shown.get(id);
    const f = s && this.enabled(s.domain) ? this.feature(s) : undefined;
    if (!f) {
      if (prev) {
        remove.push(prev.fid);
        this.drop(id, prev);
      }
      return;
    }
    if (!prev || placed) add.push(f);
    this.show(id, f, !prev || placed ? undefined : prev);
  }

  private patch(add: GeoJSON.Feature[], remove: number[]): void {
    if (!add.length && !remove.length) return;
    this.stats.patches++;
    this.stats.added += add.length;
    this.stats.removed += remove.length;
    this.sink.patchSensors(add, remove);
  }

  /** The sensor's feature, its current colour and staleness as properties. */
  private feature(s: Sensor): GeoJSON.Feature | undefined {
    return sensorFeature(s, this.fid(s.id), this.color(s));
  }

  /**
   * Records what f shows. drawn is what the map draws for it now, when f
   * itself is not being (re)sent: then only a difference needs a state.
   * When f is sent, its properties are current, but a feature state set
   * earlier would win over them (map.ts: state, else property): it is set
   * again where it differs.
   */
  private show(id: string, f: GeoJSON.Feature, drawn: Shown | undefined): void {
    const { color, stale } = f.properties as { color: string; stale: boolean };
    const fid = f.id as number;
    const state = this.states.get(fid);
    const want = drawn ?? state;
    if (want && (want.color !== color || want.stale !== stale)) {
      this.stats.states++;
      this.states.set(fid, { color, stale });
      this.sink.sensorState(fid, { color, stale });
    }
    // The entry replaced is counted in staleShown, unless rebuild just reset it.
    if (this.shown.get(id)?.stale) this.staleShown--;
    if (stale) this.staleShown++;
    this.shown.set(id, { fid, color, stale });
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

/**
 * A sensor as a feature of the sensors source, with its colour and
 * staleness as properties, or undefined when it has no location.
 */
export function sensorFeature(s: Sensor, fid: number, color: string): GeoJSON.Feature | undefined {
  const properties = { id: s.id, domain: s.domain, color, stale: s.stale === true };
  if (s.lon !== undefined && s.lat !== undefined) {
    return { type: 'Feature', id: fid, geometry: { type: 'Point', coordinates: [s.lon, s.lat] }, properties };
  }
  if (s.geometry?.coordinates?.length) {
    return { type: 'Feature', id: fid, geometry: { type: 'LineString', coordinates: s.geometry.coordinates }, properties };
  }
  return undefined;
}
