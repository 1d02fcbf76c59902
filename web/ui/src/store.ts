// TwinStore holds what one stream subscription has received, applying
// snapshots and deltas as the protocol says (stream/doc.go): a full
// snapshot replaces everything; a partial one first drops the items of
// layers no longer subscribed and those outside the new bbox, then adds
// its items; a delta replaces items by identity (a sensor's or feature's id
// in its layer, an alert's id), and an alert with open:false is removed.

import type { Alert, BBox, Delta, FeatureItem, FeatureKind, Sensor, Snapshot } from './types';
import { SENSOR_LAYERS } from './types';

export function featureKey(kind: string, id: string): string {
  return `${kind}/${id}`;
}

export function sensorLayer(s: Sensor): string {
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
  /** Ids of the sensors added or changed. */
  sensorIds: string[];
  /** Features whose indicators changed, or (undefined indicators) were dropped. */
  features: { kind: FeatureKind; id: string; item?: FeatureItem }[];
  alerts: boolean;
  /** Everything was replaced. */
  full: boolean;
}

export class TwinStore {
  sensors = new Map<string, Sensor>();
  features = new Map<string, FeatureItem>();
  alerts = new Map<string, Alert>();
  seq = 0;

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
    this.add(m, ch);
    return ch;
  }

  applyDelta(m: Delta): Changes {
    const ch = this.empty(false);
    this.seq = m.seq;
    this.add(m, ch);
    return ch;
  }

  /** Replaces the sensors and features (replay), keeping alerts. */
  replaceAll(sensors: Sensor[], features: FeatureItem[]): Changes {
    const ch = this.empty(true);
    for (const f of this.features.values()) ch.features.push({ kind: f.kind, id: f.id });
    this.sensors.clear();
    this.features.clear();
    this.add({ sensors, features, alerts: [] }, ch);
    ch.sensors = true;
    return ch;
  }

  private empty(full: boolean): Changes {
    return { sensors: false, sensorIds: [], features: [], alerts: false, full };
  }

  private add(m: { sensors: Sensor[]; features: FeatureItem[]; alerts: Alert[] }, ch: Changes): void {
    for (const s of m.sensors ?? []) {
      this.sensors.set(s.id, s);
      ch.sensors = true;
      ch.sensorIds.push(s.id);
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
}
