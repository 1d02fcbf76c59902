// HTTP calls to citytwin. Every URL is relative to the page, so that the
// app works behind a reverse proxy under a path prefix.

import { authHeaders } from './auth';
import type { Alert, FeatureItem, FeatureKind, Indicators, ReplayAnswer, UIConfig } from './types';

async function getJSON<T>(path: string, init?: RequestInit): Promise<T> {
  const res = await fetch(path, { ...init, headers: { Accept: 'application/json', ...authHeaders(), ...init?.headers } });
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const p = (await res.json()) as { detail?: string; title?: string };
      detail = p.detail ?? p.title ?? detail;
    } catch {
      // not a problem+json body
    }
    throw new Error(`${path}: ${res.status} ${detail}`);
  }
  return (await res.json()) as T;
}

export function uiConfig(): Promise<UIConfig> {
  return getJSON<UIConfig>('api/v1/ui-config');
}

/** A feature of GET /api/v1/layers/{kind} (web/layers.go). */
export interface LayerFeature {
  type: 'Feature';
  id: string;
  geometry: GeoJSON.Geometry;
  properties: {
    id: string;
    kind: FeatureKind;
    name: string;
    parent?: string;
    road_class?: string;
    lanes?: number;
    speed_limit?: number;
    indicators: LayerIndicators;
  };
}

/** The indicators as /api/v1/layers names them. */
interface LayerIndicators {
  sensors: number;
  stale_sensors: number;
  laeq?: number;
  aqi_band?: string;
  aqi_pollutant?: string;
  pm25?: number;
  pm10?: number;
  no2?: number;
  o3?: number;
  congestion?: number;
  flow?: number;
  speed?: number;
  soil_moisture?: number;
  water_deficit_mm?: number;
  needs_water?: boolean;
}

export function layer(kind: FeatureKind): Promise<GeoJSON.FeatureCollection & { features: LayerFeature[] }> {
  return getJSON(`api/v1/layers/${kind}`);
}

/** The indicators of a layer feature, named as the stream names them. */
export function streamIndicators(f: LayerFeature): FeatureItem {
  const i = f.properties.indicators ?? { sensors: 0, stale_sensors: 0 };
  const out: Indicators = {
    sensorCount: i.sensors,
    staleSensorCount: i.stale_sensors,
    LAeq: i.laeq,
    aqiBand: i.aqi_band,
    aqiPollutant: i.aqi_pollutant,
    pm25: i.pm25,
    pm10: i.pm10,
    no2: i.no2,
    o3: i.o3,
    congestionIndex: i.congestion,
    intensity: i.flow,
    averageVehicleSpeed: i.speed,
    soilMoistureVwc: i.soil_moisture,
    waterDeficit: i.water_deficit_mm,
    needsWater: i.needs_water,
  };
  return { kind: f.properties.kind, id: f.properties.id, indicators: out };
}

/** One feature with the sensors linked to it (GET /api/v1/layers/{kind}/{id}). */
export interface FeatureDetail {
  properties: LayerFeature['properties'] & {
    sensors: { tenant: string; id: string; type: string; domain: string; stale: boolean; last_seen: string }[];
  };
}

export function feature(kind: FeatureKind, id: string): Promise<FeatureDetail> {
  return getJSON(`api/v1/layers/${kind}/${encodeURIComponent(id)}`);
}

export function openAlerts(tenant: string): Promise<Alert[]> {
  return getJSON(`api/v1/alerts?state=open&tenant=${encodeURIComponent(tenant)}`);
}

/** The alerts that were open at a past time (the replay's alerts panel). */
export function alertsAt(at: Date, tenant: string, signal?: AbortSignal): Promise<Alert[]> {
  return getJSON(`api/v1/alerts?at=${encodeURIComponent(at.toISOString())}&tenant=${encodeURIComponent(tenant)}`, { signal });
}

export function replay(at: Date, tenant: string, signal?: AbortSignal): Promise<ReplayAnswer> {
  return getJSON(`api/v1/replay?at=${encodeURIComponent(at.toISOString())}&tenant=${encodeURIComponent(tenant)}`, { signal });
}

/** One series of a chart: [unix seconds], [values]. */
export interface Series {
  attr: string;
  times: number[];
  values: (number | null)[];
}

/**
 * The last `hours` of an entity's attributes, averaged per `period` by
 * InfluxDB through the NGSI-LD temporal API
 * (GET /ngsi-ld/v1/temporal/entities/{id}?aggrMethods=avg&aggrPeriodDuration=…).
 */
export async function history(id: string, attrs: string[], tenant: string, hours = 24, period = 'PT10M', signal?: AbortSignal): Promise<Series[]> {
  const from = new Date(Date.now() - hours * 3600_000).toISOString();
  const q = new URLSearchParams({ attrs: attrs.join(','), timerel: 'after', timeAt: from, aggrMethods: 'avg', aggrPeriodDuration: period });
  let body: Record<string, unknown>;
  try {
    body = await getJSON(`ngsi-ld/v1/temporal/entities/${encodeURIComponent(id)}?${q}`, {
      headers: { 'NGSILD-Tenant': tenant },
      signal,
    });
  } catch (e) {
    // An entity with no stored point in the range is a 404: no series.
    if (String(e).includes(': 404 ')) return [];
    throw e;
  }
  const out: Series[] = [];
  for (const attr of attrs) {
    const a = body[attr] as { avg?: [number, string, string][] } | undefined;
    if (!a?.avg) continue;
    out.push({
      attr,
      // Each bucket is drawn at its middle.
      times: a.avg.map(([, start, end]) => (Date.parse(start) + Date.parse(end)) / 2000),
      values: a.avg.map(([v]) => (typeof v === 'number' ? v : null)),
    });
  }
  return out;
}
