// Wire types of citytwin's APIs. The item formats are those of the
// WebSocket protocol (stream/doc.go in the Go module); /api/v1/replay
// answers the same items.

/** A value of a sensor's attribute. */
export interface Value {
  value: number | boolean | string;
  unitCode?: string;
  observedAt: string;
}

/** The feature kinds of the city's cartography. */
export type FeatureKind = 'district' | 'neighbourhood' | 'road' | 'greenarea' | 'irrigationzone';
export const FEATURE_KINDS: FeatureKind[] = ['district', 'neighbourhood', 'road', 'greenarea', 'irrigationzone'];

/** Sensor domains, which are also the sensor layers of the stream. */
export type Domain = 'noise' | 'air' | 'traffic' | 'irrigation' | 'generic';
export const SENSOR_LAYERS: Domain[] = ['noise', 'air', 'traffic', 'irrigation', 'generic'];

/** A sensor item (layers noise, air, traffic, irrigation, generic). */
export interface Sensor {
  id: string;
  type: string;
  domain: Domain;
  lon?: number;
  lat?: number;
  geometry?: { type: 'LineString'; coordinates: [number, number][] };
  stale: boolean;
  lastSeen: string;
  values: Record<string, Value>;
  links: Partial<Record<FeatureKind, string>>;
}

/** A feature's live indicators, named as in the stream protocol. */
export interface Indicators {
  sensorCount: number;
  staleSensorCount: number;
  LAeq?: number;
  aqiBand?: string;
  aqiPollutant?: string;
  pm25?: number;
  pm10?: number;
  no2?: number;
  o3?: number;
  congestionIndex?: number;
  intensity?: number;
  averageVehicleSpeed?: number;
  soilMoistureVwc?: number;
  waterDeficit?: number;
  needsWater?: boolean;
}

/** A feature item (layers district, neighbourhood, road, greenarea, irrigationzone). */
export interface FeatureItem {
  kind: FeatureKind;
  id: string;
  indicators: Indicators;
}

/** An alert item (layer alerts), as GET /api/v1/alerts serves it. */
export interface Alert {
  id: string;
  rule: string;
  title: string;
  attr: string;
  tenant: string;
  featureKind: FeatureKind | 'sensor';
  featureId: string;
  sensors: string[];
  sensorCount: number;
  threshold: number;
  value: number;
  peak: number;
  peakSensor: string;
  peakTime: string;
  start: string;
  end?: string;
  open: boolean;
  silent?: boolean;
  window: string;
}

export type BBox = [number, number, number, number];

export interface Snapshot {
  type: 'snapshot';
  seq: number;
  full: boolean;
  tenant: string;
  layers: string[];
  bbox: BBox | null;
  sensors: Sensor[];
  features: FeatureItem[];
  alerts: Alert[];
}

/**
 * A sensor item of a delta. Today's server sends whole items; with the
 * incremental protocol an item carries "id" and "domain" always, then only
 * what changed since the previous delta: "values" with only the attributes
 * that changed, "stale" and "lastSeen" when they changed, "lon"/"lat",
 * "geometry", "links" and "type" when they changed. An item whose id the
 * client does not hold yet carries every field. TwinStore merges it field
 * by field (store.ts, mergeSensor).
 */
export type SensorPatch = Partial<Sensor> & { id: string; domain: Domain };

export interface Delta {
  type: 'delta';
  seq: number;
  sensors: SensorPatch[];
  features: FeatureItem[];
  alerts: Alert[];
}

export interface ProtocolError {
  type: 'error';
  field?: string;
  message: string;
}

export type ServerMessage = Snapshot | Delta | ProtocolError;

/** GET /api/v1/ui-config (web.UIConfig). */
export interface UIConfig {
  tenants: { name: string; sensors: number }[];
  defaultTenant: string;
  tileURL?: string;
  tileAttribution?: string;
  refillVWC: number;
  replayWindow: string;
}

/** GET /api/v1/replay (web.Replay). */
export interface ReplayAnswer {
  at: string;
  window: string;
  tenant: string;
  sensors: Sensor[];
  features: FeatureItem[];
}
