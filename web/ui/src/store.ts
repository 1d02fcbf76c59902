// TwinStore holds what one stream subscription has received, applying
// snapshots and deltas as the protocol says (stream/doc.go): a full
// snapshot replaces everything; a partial one first drops the items of
// layers no longer subscribed and those outside the new bbox, then adds
// its items; a delta merges each sensor item into the held sensor field by
// field (mergeSensor: a delta may carry only what changed) and replaces
// features by identity (kind and id), and an alert with open:false is
// removed.
//
// Every update answers what it changed (Changes), by id, so that the map,
// the status bar and the panel redraw only that: no update walks the whole
// store except a partial snapshot, which must find what left its bbox.

import type { Alert, BBox, Delta, FeatureItem, FeatureKind, Sensor, SensorPatch, Snapshot } from './types';
import { SENSOR_LAYERS } from './types';

export function featureKey(kind: string, id: string): string {
  return `${kind}/${id}`;
}

export function sensorLayer(s: Pick<Sensor, 'domain'>): string {
  return (SENSOR_LAYERS as string[]).includes(s.domain) ? s.domain : 'generic';
}

export function sensorBounds(s: Sensor): BBox | undefined {
  if (s.lon !== undefined && s.lat !== undefined) return [s.lon, s.lat, s.lon, s.lat];
  const cs = s.geometry?.coordinates;
  if (!cs?.length) return undefined;
  const b: BBox = [Infinity, Infinity, -Infinity, -Infinity];
  for (const [x, y] of cs) {
    b[0] = Math.min(b[0], x);
    b[1] = Math.min(b[1], y);
    b[2] = Math.max(b[2], x);
    b[3] = Math.max(b[3], y);
  }
  return b;
}

export function meets(a: BBox, b: BBox): boolean {
  return a[0] <= b[2] && b[0] <= a[2] && a[1] <= b[3] && b[1] <= a[3];
}

/** What an update changed, for incremental rendering. */
export interface Changes {
  /** Sensors were added, changed or removed. */
  sensors: boolean;
  /** Ids of the sensors added, changed or removed, each once. */
  sensorIds: Set<string>;
  /**
   * Ids of the sensors whose place on the map changed: added, removed, or
   * with a new location, geometry or domain (a subset of sensorIds).
   */
  placed: Set<string>;
  /** Features whose indicators changed, or (undefined item) were dropped. */
  features: { kind: FeatureKind; id: string; item?: FeatureItem }[];
  alerts: boolean;
  /** Everything was replaced: sensorIds and placed are not listed, re-read the store. */
  full: boolean;
}

/** Why a sensor item was ignored: the field and the rule it breaks. */
export class ItemError extends Error {
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field}: ${rule}`);
  }
}

/**
 * Merges a sensor item into the sensor held with its id (undefined: none
 * yet) and returns the new sensor, leaving both arguments untouched, and
 * whether its place on the map changed.
 *
 * Fields the item carries replace the held ones; values merge per
 * attribute, each attribute's value replacing the held one. A location
 * replaces the other kind: lon and lat drop a held geometry, a geometry
 * drops held lon and lat (a sensor has one or the other, stream/doc.go).
 * When the item has no lastSeen, lastSeen becomes the newest of the held
 * lastSeen and the observedAt of the values the item carries, so that it
 * never goes back. A sensor first seen without type, links, values or
 * stale gets "", {}, {} and false.
 *
 * It throws ItemError when the item has no string id or domain, when a
 * value has no observedAt, or when lon comes without lat.
 */
export function mergeSensor(held: Sensor | undefined, item: SensorPatch): { sensor: Sensor; placed: boolean } {
  if (typeof item?.id !== 'string' || item.id === '') throw new ItemError('id', 'want a non-empty string');
  if (typeof item.domain !== 'string' || (item.domain as string) === '') throw new ItemError('domain', 'want a non-empty string (the sensor layer)');
  if (held !== undefined && held.id !== item.id) throw new ItemError('id', `${item.id} merged into ${held.id}: want the same id`);
  let newest = '';
  if (item.values !== undefined) {
    if (typeof item.values !== 'object' || item.values === null) throw new ItemError('values', 'want an object of attribute values');
    for (const [attr, v] of Object.entries(item.values)) {
      if (typeof v?.observedAt !== 'string') throw new ItemError(`values.${attr}.observedAt`, 'want an RFC 3339 time');
      newest = later(newest, v.observedAt);
    }
  }
  const s: Sensor = held
    ? { ...held, values: item.values ? { ...held.values, ...item.values } : held.values }
    : { id: item.id, type: '', domain: item.domain, stale: false, lastSeen: '', values: { ...item.values }, links: {} };
  let placed = held === undefined;
  if (item.domain !== s.domain) {
    s.domain = item.domain;
    placed = true;
  }
  if (item.type !== undefined) s.type = item.type;
  if (item.links !== undefined) s.links = item.links;
  if (item.stale !== undefined) s.stale = item.stale;
  if (item.lon !== undefined || item.lat !== undefined) {
    if (typeof item.lon !== 'number' || typeof item.lat !== 'number') throw new ItemError(typeof item.lon !== 'number' ? 'lon' : 'lat', 'lon and lat come together, as numbers');
    if (held && (held.lon !== item.lon || held.lat !== item.lat || held.geometry !== undefined)) placed = true;
    s.lon = item.lon;
    s.lat = item.lat;
    delete s.geometry;
  } else if (item.geometry !== undefined) {
    if (held && (held.lon !== undefined || !sameLine(held.geometry?.coordinates, item.geometry?.coordinates))) placed = true;
    s.geometry = item.geometry;
    delete s.lon;
    delete s.lat;
  }
  if (item.lastSeen !== undefined) s.lastSeen = item.lastSeen;
  else if (newest) s.lastSeen = later(s.lastSeen, newest);
  return { sensor: s, placed };
}

/** The later of two RFC 3339 times ("" is before any). */
function later(a: string, b: string): string {
  if (!a) return b;
  if (!b) return a;
  const ta = Date.parse(a);
  const tb = Date.parse(b);
  if (Number.isNaN(tb)) return a;
  if (Number.isNaN(ta)) return b;
  return tb > ta ? b : a;
}

function sameLine(a: [number, number][] | undefined, b: [number, number][] | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i][0] !== b[i][0] || a[i][1] !== b[i][1]) return false;
  return true;
}

export class TwinStore {
  sensors = new Map<string, Sensor>();
  features = new Map<string, FeatureItem>();
  alerts = new Map<string, Alert>();
  seq = 0;
  /** Sensor items ignored since the start, and the last reason. */
  ignored = 0;
  lastIgnored?: ItemError;

  constructor(private readonly featureBounds: (kind: FeatureKind, id: string) => BBox | undefined) {}

  clear(): Changes {
    const ch = this.empty(true);
    ch.sensors = this.sensors.size > 0;
    for (const f of this.features.values()) ch.features.push({ kind: f.kind, id: f.id });
    ch.alerts = this.alerts.size > 0;
    this.sensors.clear();
    this.features.clear();
    this.alerts.clear();
    return ch;
  }

  applySnapshot(m: Snapshot): Changes {
    let ch: Changes;
    if (m.full) {
      ch = this.clear();
    } else {
      ch = this.empty(false);
      const layers = new Set(m.layers);
      const inBox = (b: BBox | undefined) => m.bbox === null || (b !== undefined && meets(b, m.bbox));
      for (const [id, s] of this.sensors) {
        if (!layers.has(sensorLayer(s)) || !inBox(sensorBounds(s))) {
          this.sensors.delete(id);
          ch.sensors = true;
          ch.sensorIds.add(id);
          ch.placed.add(id);
        }
      }
      for (const [k, f] of this.features) {
        if (!layers.has(f.kind) || !inBox(this.featureBounds(f.kind, f.id))) {
          this.features.delete(k);
          ch.features.push({ kind: f.kind, id: f.id });
        }
      }
      if (!layers.has('alerts') && this.alerts.size > 0) {
        this.alerts.clear();
        ch.alerts = true;
      }
    }
    this.seq = m.seq;
    // A snapshot's items are whole: each replaces the held one.
    this.add(m, ch, false);
    return ch;
  }

  applyDelta(m: Delta): Changes {
    const ch = this.empty(false);
    this.seq = m.seq;
    this.add(m, ch, true);
    return ch;
  }

  /** Replaces the sensors and features (replay), keeping alerts. */
  replaceAll(sensors: Sensor[], features: FeatureItem[]): Changes {
    const ch = this.empty(true);
    for (const f of this.features.values()) ch.features.push({ kind: f.kind, id: f.id });
    this.sensors.clear();
    this.features.clear();
    this.add({ sensors, features, alerts: [] }, ch, false);
    ch.sensors = true;
    return ch;
  }

  private empty(full: boolean): Changes {
    return { sensors: false, sensorIds: new Set(), placed: new Set(), features: [], alerts: false, full };
  }

  private add(m: { sensors: SensorPatch[]; features: FeatureItem[]; alerts: Alert[] }, ch: Changes, merge: boolean): void {
    const sensors = m.sensors ?? [];
    for (let i = 0; i < sensors.length; i++) {
      const item = sensors[i];
      let r: { sensor: Sensor; placed: boolean };
      try {
        r = mergeSensor(merge ? this.sensors.get(item?.id) : undefined, item);
      } catch (e) {
        if (!(e instanceof ItemError)) throw e;
        this.ignore(new ItemError(`sensors[${i}].${e.field}`, e.rule));
        continue;
      }
      if (!merge) {
        const held = this.sensors.get(r.sensor.id);
        r.placed = held === undefined || !samePlace(held, r.sensor);
      }
      this.sensors.set(r.sensor.id, r.sensor);
      ch.sensors = true;
      if (!ch.full) {
        ch.sensorIds.add(r.sensor.id);
        if (r.placed) ch.placed.add(r.sensor.id);
      }
    }
    for (const f of m.features ?? []) {
      this.features.set(featureKey(f.kind, f.id), f);
      ch.features.push({ kind: f.kind, id: f.id, item: f });
    }
    for (const a of m.alerts ?? []) {
      if (a.open) this.alerts.set(a.id, a);
      else this.alerts.delete(a.id);
      ch.alerts = true;
    }
  }

  private ignore(e: ItemError): void {
    this.ignored++;
    this.lastIgnored = e;
    // The 1st, 2nd, 4th, 8th… only: a broken server must not flood the console.
    if ((this.ignored & (this.ignored - 1)) === 0) console.warn(`citytwin stream: sensor item ignored (${this.ignored} so far): ${e.message}`);
  }
}

/** Where and in which layer a sensor is drawn. */
export type Place = Pick<Sensor, 'domain' | 'lon' | 'lat' | 'geometry'>;

/** Whether two versions of a sensor are drawn at the same place in the same layer. */
export function samePlace(a: Place, b: Place): boolean {
  return a.domain === b.domain && a.lon === b.lon && a.lat === b.lat && sameLine(a.geometry?.coordinates, b.geometry?.coordinates);
}
