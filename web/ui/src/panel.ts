// Panel is the side panel (a bottom sheet on a phone) of one sensor, road,
// area or park: its latest values or indicators, links to the features it
// belongs to and to the APIs, and a chart of the last 24 h from the NGSI-LD
// temporal API, averaged per 10 minutes by InfluxDB.

import * as api from './api';
import { withToken } from './auth';
import { Chart, type Threshold } from './chart';
import { ago, byId, chip, el, fmt, timeOf } from './dom';
import {
  AQI_BANDS,
  aqiColor,
  congestionColor,
  noiseColor,
  parkColor,
  sensorHeadline,
  soilColor,
  type ScaleContext,
} from './scales';
import type { Domain, FeatureItem, FeatureKind, Indicators, Sensor } from './types';

export interface PanelContext {
  tenant(): string;
  defaultTenant(): string;
  sensor(id: string): Sensor | undefined;
  feature(kind: FeatureKind, id: string): FeatureItem | undefined;
  name(kind: string, id: string): string;
  scale: ScaleContext;
  /** The replayed instant, or undefined when live. */
  replayAt(): Date | undefined;
  openSensor(id: string): void;
  openFeature(kind: FeatureKind, id: string): void;
  areaMode(): 'noise' | 'air' | 'off';
  closed(): void;
}

/** The attributes charted for a domain, and their unit. */
const CHARTED: Record<Domain, { attrs: string[]; unit: string }> = {
  noise: { attrs: ['LAeq'], unit: 'dB(A)' },
  air: { attrs: ['no2', 'pm10', 'pm25', 'o3'], unit: 'µg/m³' },
  traffic: { attrs: ['intensity'], unit: 'vehicles' },
  irrigation: { attrs: ['soilMoistureVwc'], unit: 'm³/m³' },
  generic: { attrs: [], unit: '' },
};

const KIND_LABEL: Record<string, string> = {
  district: 'District',
  neighbourhood: 'Neighbourhood',
  road: 'Road segment',
  greenarea: 'Park',
  irrigationzone: 'Irrigation zone',
  sensor: 'Sensor',
};

type Current = { what: 'sensor'; id: string } | { what: 'feature'; kind: FeatureKind; id: string; detail?: api.FeatureDetail };

export class Panel {
  private readonly root = byId('panel');
  private readonly title = byId('panel-title');
  private readonly body = byId('panel-body');
  private readonly links = byId('panel-links');
  private readonly chartTitle = byId('chart-title');
  private readonly chart = new Chart(byId('chart'));
  private current?: Current;
  private loading?: AbortController;
  private refreshTimer?: number;

  constructor(private readonly ctx: PanelContext) {
    this.root.querySelector('.close')?.addEventListener('click', () => this.close());
  }

  get selection(): Current | undefined {
    return this.current;
  }

  isOpen(): boolean {
    return !this.root.hidden;
  }

  close(): void {
    this.root.hidden = true;
    this.current = undefined;
    this.loading?.abort();
    window.clearInterval(this.refreshTimer);
    this.ctx.closed();
  }

  showSensor(id: string): void {
    this.current = { what: 'sensor', id };
    this.open();
    this.render();
    void this.loadChart();
  }

  showFeature(kind: FeatureKind, id: string): void {
    const cur: Current = { what: 'feature', kind, id };
    this.current = cur;
    this.open();
    this.render();
    void api
      .feature(kind, id)
      .then((d) => {
        if (this.current !== cur) return;
        cur.detail = d;
        this.render();
        void this.loadChart();
      })
      .catch((e) => this.body.append(el('p', { class: 'error' }, String(e))));
  }

  /**
   * Re-renders the values (after deltas or a switch to or from replay):
   * only when what it shows is among changed (sensor ids, feature kind/id
   * keys), always when changed is undefined.
   */
  refresh(changed?: { sensors: Set<string>; features: Set<string> }): void {
    const c = this.current;
    if (!c || this.root.hidden) return;
    if (changed && !(c.what === 'sensor' ? changed.sensors.has(c.id) : changed.features.has(`${c.kind}/${c.id}`))) return;
    this.render();
  }

  /** Reloads the chart (replay marker moved). */
  reloadChart(): void {
    if (this.current && !this.root.hidden) void this.loadChart();
  }

  private open(): void {
    this.root.hidden = false;
    window.clearInterval(this.refreshTimer);
    // The chart's newest bucket fills up while the panel stays open.
    this.refreshTimer = window.setInterval(() => void this.loadChart(), 5 * 60_000);
  }

  private render(): void {
    const c = this.current;
    if (!c) return;
    this.body.replaceChildren();
    this.links.replaceChildren();
    if (c.what === 'sensor') this.renderSensor(c.id);
    else this.renderFeature(c.kind, c.id, c.detail);
  }

  private renderSensor(id: string): void {
    const s = this.ctx.sensor(id);
    this.title.textContent = s ? `${s.type}` : 'Sensor';
    this.root.dataset.kind = 'sensor';
    this.root.dataset.id = id;
    if (!s) {
      this.body.append(el('p', { class: 'muted' }, `${id}: no value ${this.ctx.replayAt() ? 'in the replay window' : 'in view'}.`));
      return;
    }
    const h = sensorHeadline(s, this.ctx.scale);
    this.body.append(
      el('p', { class: 'sensor-id' }, s.id),
      el('p', { class: 'headline', 'data-color': h.color }, chip(h.color, h.text)),
      el('p', { class: 'muted' }, `${s.stale ? 'Stale: silent for longer than usual. ' : ''}Last seen ${timeOf(s.lastSeen)} (${ago(s.lastSeen, this.now())}).`),
    );
    const rows = Object.entries(s.values)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, v]) =>
        el(
          'tr',
          { 'data-attr': name },
          el('th', {}, name),
          el('td', { class: 'value' }, `${fmt(v.value)}${v.unitCode ? ` ${unitLabel(v.unitCode)}` : ''}`),
          el('td', { class: 'muted' }, timeOf(v.observedAt)),
        ),
      );
    this.body.append(el('table', { class: 'values' }, el('tbody', {}, ...rows)));
    const linkList = el('ul', { class: 'links' });
    for (const [kind, fid] of Object.entries(s.links) as [FeatureKind, string][]) {
      const b = el('button', { type: 'button', class: 'link' }, `${KIND_LABEL[kind] ?? kind}: ${this.ctx.name(kind, fid)}`);
      b.addEventListener('click', () => this.ctx.openFeature(kind, fid));
      linkList.append(el('li', {}, b));
    }
    if (linkList.childElementCount) this.links.append(el('h3', {}, 'Belongs to'), linkList);
    if (this.ctx.tenant() === this.ctx.defaultTenant()) {
      this.links.append(el('p', {}, el('a', { href: withToken(`ngsi-ld/v1/entities/${encodeURIComponent(s.id)}`), target: '_blank', rel: 'noopener' }, 'NGSI-LD entity')));
    }
  }

  private renderFeature(kind: FeatureKind, id: string, detail?: api.FeatureDetail): void {
    const item = this.ctx.feature(kind, id);
    const ind: Indicators | undefined = item?.indicators ?? (detail ? api.streamIndicators(detail as unknown as api.LayerFeature).indicators : undefined);
    this.title.textContent = `${KIND_LABEL[kind] ?? kind}: ${this.ctx.name(kind, id)}`;
    this.root.dataset.kind = kind;
    this.root.dataset.id = id;
    if (detail?.properties.road_class) {
      this.body.append(
        el('p', { class: 'muted' }, `${detail.properties.road_class}, ${detail.properties.lanes ?? '?'} lanes, ${detail.properties.speed_limit ?? '?'} km/h`),
      );
    }
    if (!ind) {
      this.body.append(el('p', { class: 'muted' }, 'Loading…'));
      return;
    }
    const rows: [string, Node | string][] = [[`Sensors`, `${ind.sensorCount}${ind.staleSensorCount ? ` (+${ind.staleSensorCount} stale)` : ''}`]];
    if (ind.LAeq !== undefined) rows.push(['LAeq (energetic mean)', chip(noiseColor(ind.LAeq), `${ind.LAeq.toFixed(1)} dB(A)`)]);
    if (ind.aqiBand) rows.push(['European AQI', chip(aqiColor(ind.aqiBand), `${ind.aqiBand} (${ind.aqiPollutant})`)]);
    for (const p of ['pm25', 'pm10', 'no2', 'o3'] as const) if (ind[p] !== undefined) rows.push([p, `${ind[p]!.toFixed(1)} µg/m³`]);
    if (ind.congestionIndex !== undefined) rows.push(['Congestion', chip(congestionColor(ind.congestionIndex), ind.congestionIndex.toFixed(2))]);
    if (ind.intensity !== undefined) rows.push(['Flow', `${fmt(ind.intensity, 0)} veh/h`]);
    if (ind.averageVehicleSpeed !== undefined) rows.push(['Speed', `${ind.averageVehicleSpeed.toFixed(0)} km/h`]);
    if (ind.soilMoistureVwc !== undefined)
      rows.push(['Soil moisture', chip(soilColor(ind.soilMoistureVwc, this.ctx.scale.refillVWC), `${ind.soilMoistureVwc.toFixed(3)} m³/m³`)]);
    if (ind.waterDeficit !== undefined) rows.push(['Water deficit', `${ind.waterDeficit.toFixed(1)} mm`]);
    if (ind.needsWater !== undefined) rows.push(['Needs water', chip(parkColor(ind), ind.needsWater ? 'yes' : 'no')]);
    this.body.append(
      el('table', { class: 'values' }, el('tbody', {}, ...rows.map(([k, v]) => el('tr', {}, el('th', {}, k), el('td', { class: 'value' }, v))))),
    );
    const sensors = (detail?.properties.sensors ?? []).filter((s) => s.tenant === this.ctx.tenant());
    if (sensors.length) {
      const list = el('ul', { class: 'links' });
      for (const s of sensors.slice(0, 50)) {
        const b = el('button', { type: 'button', class: 'link' }, `${s.domain}: ${s.id}${s.stale ? ' (stale)' : ''}`);
        b.addEventListener('click', () => this.ctx.openSensor(s.id));
        list.append(el('li', {}, b));
      }
      this.links.append(el('h3', {}, `Sensors (${sensors.length})`), list);
    }
    this.links.append(el('p', {}, el('a', { href: withToken(`api/v1/layers/${kind}/${encodeURIComponent(id)}`), target: '_blank', rel: 'noopener' }, 'GeoJSON')));
  }

  private now(): number {
    return this.ctx.replayAt()?.getTime() ?? Date.now();
  }

  private async loadChart(): Promise<void> {
    const c = this.current;
    if (!c) return;
    this.loading?.abort();
    const ac = new AbortController();
    this.loading = ac;
    const tenant = this.ctx.tenant();
    const marker = this.ctx.replayAt() ? this.ctx.replayAt()!.getTime() / 1000 : undefined;
    try {
      if (c.what === 'sensor') {
        const s = this.ctx.sensor(c.id);
        const domain = s?.domain ?? 'generic';
        let { attrs, unit } = CHARTED[domain];
        if (!attrs.length && s) attrs = Object.keys(s.values).filter((a) => typeof s.values[a].value === 'number').slice(0, 3);
        if (!attrs.length) {
          this.chart.clear('Nothing to chart.');
          return;
        }
        this.chartTitle.textContent = `Last 24 h, 10-minute means`;
        this.chart.clear('Loading…');
        const series = await api.history(c.id, attrs, tenant, 24, 'PT10M', ac.signal);
        if (ac.signal.aborted) return;
        this.chart.show(
          series.map((x) => ({ ...x, label: x.attr })),
          { unit, thresholds: this.thresholds(domain), marker },
        );
        return;
      }
      const sensors = (c.detail?.properties.sensors ?? []).filter((s) => s.tenant === tenant);
      const domain = this.featureDomain(c.kind, sensors.map((s) => s.domain as Domain));
      if (!domain) {
        this.chartTitle.textContent = '';
        this.chart.clear('No sensor to chart.');
        return;
      }
      const ind = this.ctx.feature(c.kind, c.id)?.indicators;
      const attr = domain === 'air' ? (ind?.aqiPollutant ?? 'no2') : CHARTED[domain].attrs[0];
      const picked = sensors.filter((s) => s.domain === domain).slice(0, 6);
      this.chartTitle.textContent = `${attr} of ${picked.length} linked ${domain} sensor${picked.length > 1 ? 's' : ''}, last 24 h, 10-minute means`;
      this.chart.clear('Loading…');
      const all = await Promise.all(picked.map((s) => api.history(s.id, [attr], tenant, 24, 'PT10M', ac.signal)));
      if (ac.signal.aborted) return;
      const series = all.flatMap((ss, i) => ss.map((x) => ({ ...x, label: shortId(picked[i].id) })));
      this.chart.show(series, { unit: CHARTED[domain].unit, thresholds: this.thresholds(domain), marker });
    } catch (e) {
      if (!ac.signal.aborted) this.chart.clear(`Chart unavailable: ${String(e)}`);
    }
  }

  private featureDomain(kind: FeatureKind, domains: Domain[]): Domain | undefined {
    const prefer: Domain[] =
      kind === 'road'
        ? ['traffic', 'noise', 'air']
        : kind === 'greenarea' || kind === 'irrigationzone'
          ? ['irrigation', 'noise', 'air']
          : this.ctx.areaMode() === 'air'
            ? ['air', 'noise', 'traffic', 'irrigation']
            : ['noise', 'air', 'traffic', 'irrigation'];
    return prefer.find((d) => domains.includes(d));
  }

  private thresholds(domain: Domain): Threshold[] {
    switch (domain) {
      case 'noise':
        return [
          { value: 65, label: '65 day limit (class IV)', color: '#d7301f' },
          { value: 55, label: '55 night limit', color: '#f39c22' },
        ];
      case 'irrigation':
        return [{ value: this.ctx.scale.refillVWC, label: `refill ${this.ctx.scale.refillVWC}`, color: '#b35806' }];
      case 'air':
        return [{ value: 200, label: 'NO2 hourly limit 200', color: AQI_BANDS[3].color }];
      default:
        return [];
    }
  }
}

function shortId(id: string): string {
  const i = id.lastIndexOf(':');
  return i >= 0 ? id.slice(i + 1) : id;
}

/** UN/CEFACT unit codes the fleet sends, in words. */
function unitLabel(code: string): string {
  return (
    { '2N': 'dB', GQ: 'µg/m³', KMH: 'km/h', C62: '', P1: '%', CEL: '°C', MMT: 'mm', HUR: 'h', E30: 'vehicles' } as Record<string, string>
  )[code] ?? code;
}
