// The operator's live map. It loads the city's cartography from
// /api/v1/layers, subscribes to the WebSocket stream for the visible layers
// and bbox (and, on a second connection, to every alert of the tenant),
// colours sensors, areas, roads and parks by their live values, and can
// replay any instant of the last 24 h.
//
// Rendering follows the updates at their own cost, never the fleet's: the
// store applies each message at once and answers what it changed; the
// changes gather until the next draw, which shows them once (SensorLayer
// for sensors, feature states for areas, roads and parks, the alerts list,
// the status bar, the panel). Draws come at most once per animation frame
// and no more often than the page can afford (pacer.ts). Only a full change
// (snapshot, replay, tenant, a layer switched) walks every sensor.
//
// Query parameters: tenant (default: the tenant with most sensors), token
// (the stream's bearer token, when citytwin requires one).

import './style.css';

import * as api from './api';
import { AlertsView } from './alerts';
import { byId, el } from './dom';
import { renderLegend } from './legend';
import { MapView } from './map';
import { NoiseMapLayer } from './noisemap';
import { Pacer } from './pacer';
import { Panel } from './panel';
import { PlannerPanel } from './planner';
import { ReplayControl } from './replay';
import { aqiColor, congestionColor, noiseColor, parkColor, sensorHeadline, type ScaleContext } from './scales';
import { StatusBar } from './status';
import { SensorLayer, mergeChanges } from './sensors';
import { featureKey, TwinStore, type Changes } from './store';
import { StreamClient, streamURL } from './stream';
import { FEATURE_KINDS, type Alert, type Domain, type FeatureKind, type Indicators, type UIConfig } from './types';

type AreaMode = 'off' | 'noise' | 'air';
type AreaLevel = 'neighbourhood' | 'district';

const DOMAIN_LABELS: [Domain, string, boolean][] = [
  ['noise', 'Noise', true],
  ['air', 'Air quality', true],
  ['traffic', 'Traffic', true],
  ['irrigation', 'Soil moisture', true],
  ['generic', 'Other (weather, …)', false],
];

class App {
  private readonly params = new URLSearchParams(window.location.search);
  private cfg: UIConfig = { tenants: [], defaultTenant: 'default', refillVWC: 0.2, replayWindow: '1h0m0s' };
  private tenant = 'default';
  map!: MapView;
  readonly live: TwinStore;
  private replayStore: TwinStore;
  private replayAt?: Date;
  private replayAbort?: AbortController;
  private alerts = new Map<string, Alert>();
  /** In replay: the alerts that were open at the replayed time (api.alertsAt), shown instead of the live ones. */
  private replayAlerts?: Alert[];
  private mapStream?: StreamClient;
  private alertStream?: StreamClient;
  /** Draws what changed, at most once per frame and as often as the page affords (pacer.ts). */
  private readonly pacer = new Pacer(() => this.draw());
  private readonly status = new StatusBar(() => this.pacer.request());
  private readonly panel: Panel;
  private readonly alertsView: AlertsView;
  /** The planners' what-if panel (planner.ts), made once the city's layers are loaded. */
  planner?: PlannerPanel;
  /** The dynamic noise map layer (noisemap.ts), made once the city's layers are loaded; tests read levelAt. */
  noiseMap?: NoiseMapLayer;
  private enabled = new Set<Domain>(DOMAIN_LABELS.filter(([, , on]) => on).map(([d]) => d));
  private areaMode: AreaMode = 'air';
  private areaLevel: AreaLevel = 'neighbourhood';
  private roads = true;
  private selectedSensor?: string;
  private sensors!: SensorLayer;
  /** What changed since the last frame drawn, and what else the next one must redraw. */
  private pending?: Changes;
  private resync = false;
  /** A sensor layer was switched on or off. */
  private refilter = false;
  private alertsDirty = false;
  private moveTimer?: number;
  readonly scale: ScaleContext;
  ready = false;

  constructor() {
    const bounds = (k: FeatureKind, id: string) => this.map.featureBounds(k, id);
    this.live = new TwinStore(bounds);
    this.replayStore = new TwinStore(bounds);
    this.scale = { refillVWC: 0.2, speedLimit: (r) => this.map.speedLimit(r) };
    this.panel = new Panel({
      tenant: () => this.tenant,
      defaultTenant: () => this.cfg.defaultTenant,
      sensor: (id) => this.view.sensors.get(id),
      feature: (k, id) => this.view.features.get(featureKey(k, id)),
      name: (k, id) => this.map.featureName(k, id),
      scale: this.scale,
      replayAt: () => this.replayAt,
      openSensor: (id) => this.openSensor(id, true),
      openFeature: (k, id) => this.openFeature(k, id, true),
      areaMode: () => this.areaMode,
      closed: () => this.unselect(),
    });
    this.alertsView = new AlertsView(
      (k, id) => this.map.featureName(k, id),
      (a) => this.zoomToAlert(a),
    );
    new ReplayControl((at) => void this.setReplay(at));
  }

  /** The store the map shows: the replayed instant, or live. */
  get view(): TwinStore {
    return this.replayAt ? this.replayStore : this.live;
  }

  async start(): Promise<void> {
    try {
      this.cfg = await api.uiConfig();
    } catch (e) {
      console.warn(`citytwin: ui-config unavailable, using defaults: ${String(e)}`);
    }
    this.scale.refillVWC = this.cfg.refillVWC;
    this.tenant = this.params.get('tenant') || this.cfg.tenants[0]?.name || this.cfg.defaultTenant;
    this.map = new MapView(byId('map'), { tileURL: this.cfg.tileURL, tileAttribution: this.cfg.tileAttribution });
    this.sensors = new SensorLayer(
      this.map,
      (s) => sensorHeadline(s, this.scale).color,
      (d) => this.enabled.has(d),
    );
    this.setupControls();
    byId('replay-slider').title = `Each sensor's newest value within ${this.cfg.replayWindow.replace(/0m0s$/, '').replace(/0s$/, '')} before the chosen time`;

    const [layers] = await Promise.all([
      Promise.all(FEATURE_KINDS.map((k) => api.layer(k).then((fc) => [k, fc.features] as const))),
      this.map.whenLoaded(),
    ]);
    this.map.addCity(Object.fromEntries(layers));
    this.noiseMap = new NoiseMapLayer(this.map.map, { tenant: () => this.tenant, before: 'neighbourhood-line' });
    this.noiseMap.setReplay(this.replayAt);
    this.noiseMap.setOn(byId<HTMLInputElement>('layer-noisemap').checked);
    this.legend();
    this.setupPlanner(Object.fromEntries(layers));
    // The layers' own indicators paint the map until the stream's first
    // snapshot arrives (and keep it useful without a stream).
    this.applyChanges(this.live.replaceAll([], layers.flatMap(([, fs]) => fs.map(api.streamIndicators))));
    this.map.setAreaLevel(this.areaLevel);
    const b = this.map.cityBounds();
    if (b) this.map.fit(b, { animate: false, padding: this.freeArea() });

    this.map.map.on('moveend', () => {
      window.clearTimeout(this.moveTimer);
      this.moveTimer = window.setTimeout(() => this.subscribe(), 250);
    });
    this.map.map.on('click', (e) => this.onMapClick(e.point));
    this.map.map.on('mousemove', (e) => {
      if (this.planner?.picking) return; // the planner's crosshair
      this.map.map.getCanvas().style.cursor = this.map.pick(e.point) ? 'pointer' : '';
    });

    const token = this.params.get('token');
    this.mapStream = new StreamClient(streamURL(token), {
      snapshot: (m) => {
        this.counts.snapshots++;
        this.counts.sensorItems += m.sensors?.length ?? 0;
        this.onLive(this.live.applySnapshot(m));
      },
      delta: (m) => {
        this.counts.deltas++;
        this.counts.sensorItems += m.sensors?.length ?? 0;
        this.status.readings(m.sensors?.length ?? 0);
        const ch = this.live.applyDelta(m);
        this.counts.placed += ch.placed.size;
        this.onLive(ch);
      },
      state: (s, detail) => this.status.setConn(s, detail),
    });
    this.alertStream = new StreamClient(streamURL(token), {
      snapshot: (m) => this.onAlerts(m.alerts ?? [], m.full),
      delta: (m) => this.onAlerts(m.alerts ?? [], false),
    });
    this.subscribe();
    this.mapStream.start();
    this.alertStream.start();
    await this.loadAlerts();
    this.ready = true;
    document.body.dataset.ready = 'true';
  }

  /** Counters for tests and benchmarks (tests/frametime.mjs prints them). */
  get stats(): Record<string, number> {
    return { ...this.counts, ...this.sensors.stats, drawInterval: Math.round(this.pacer.interval), drawCost: Math.round(this.pacer.cost) };
  }
  private readonly counts = { snapshots: 0, deltas: 0, sensorItems: 0, placed: 0, draws: 0, drawMs: 0, drawMaxMs: 0 };

  /** Drops the map's stream connection as the network would (it reconnects): a hook for the browser test. */
  dropStream(): void {
    this.mapStream?.drop();
  }

  private setupControls(): void {
    const tenantSel = byId<HTMLSelectElement>('tenant');
    const names = new Set(this.cfg.tenants.map((t) => t.name));
    names.add(this.tenant);
    tenantSel.replaceChildren(
      ...[...names].map((n) => {
        const count = this.cfg.tenants.find((t) => t.name === n)?.sensors;
        const o = el('option', { value: n, title: count !== undefined ? `${count} sensors` : undefined }, n);
        o.selected = n === this.tenant;
        return o;
      }),
    );
    tenantSel.addEventListener('change', () => this.setTenant(tenantSel.value));

    const fs = byId('sensor-layers');
    for (const [d, label] of DOMAIN_LABELS) {
      const box = el('input', { type: 'checkbox', id: `layer-${d}`, 'data-layer': d });
      box.checked = this.enabled.has(d);
      box.addEventListener('change', () => {
        if (box.checked) this.enabled.add(d);
        else this.enabled.delete(d);
        this.refilter = true;
        this.requestDraw();
        this.legend();
        this.subscribe();
      });
      fs.append(el('label', { class: 'check' }, box, ` ${label}`));
    }
    const mode = byId<HTMLSelectElement>('area-mode');
    mode.value = this.areaMode;
    mode.addEventListener('change', () => {
      this.areaMode = mode.value as AreaMode;
      this.repaintFeatures();
      this.legend();
      this.subscribe();
    });
    const level = byId<HTMLSelectElement>('area-level');
    level.value = this.areaLevel;
    level.addEventListener('change', () => {
      this.areaLevel = level.value as AreaLevel;
      this.map.setAreaLevel(this.areaLevel);
      this.repaintFeatures();
      this.legend();
      this.subscribe();
    });
    const noiseMap = byId<HTMLInputElement>('layer-noisemap');
    noiseMap.addEventListener('change', () => {
      this.noiseMap?.setOn(noiseMap.checked);
      this.legend();
    });
    const roads = byId<HTMLInputElement>('roads-congestion');
    roads.checked = this.roads;
    roads.addEventListener('change', () => {
      this.roads = roads.checked;
      this.repaintFeatures();
      this.legend();
      this.subscribe();
    });

    // Sheets: on a phone one at a time, on a wide screen side by side.
    const wide = window.matchMedia('(min-width: 900px)');
    const toggle = (id: string, button: string, show?: boolean) => {
      const sheet = byId(id);
      const open = show ?? sheet.hidden;
      if (open && !wide.matches) for (const other of ['layers-sheet', 'alerts-sheet', 'panel']) if (other !== id) byId(other).hidden = true;
      if (open && (!wide.matches || id === 'layers-sheet')) this.planner?.close();
      sheet.hidden = !open;
      byId(button).setAttribute('aria-expanded', String(open));
    };
    byId('btn-layers').addEventListener('click', () => toggle('layers-sheet', 'btn-layers'));
    byId('btn-alerts').addEventListener('click', () => toggle('alerts-sheet', 'btn-alerts'));
    for (const b of document.querySelectorAll<HTMLButtonElement>('[data-close]')) {
      const id = b.dataset.close!;
      if (id !== 'panel') b.addEventListener('click', () => toggle(id, id === 'layers-sheet' ? 'btn-layers' : 'btn-alerts', false));
    }
    if (wide.matches) {
      toggle('layers-sheet', 'btn-layers', true);
      toggle('alerts-sheet', 'btn-alerts', true);
    }
    this.legend();
  }

  private legend(): void {
    renderLegend(byId('legend'), {
      domains: this.enabled,
      areaMode: this.areaMode,
      areaLevel: this.areaLevel,
      roads: this.roads,
      refillVWC: this.cfg.refillVWC,
      noiseMap: this.noiseMap?.visible ? this.noiseMap.legend : undefined,
    });
  }

  /** Sends the map's subscription: the layers shown and the visible bbox. */
  private subscribe(): void {
    const layers: string[] = [...this.enabled, 'greenarea'];
    if (this.areaMode !== 'off') layers.push(this.areaLevel);
    if (this.roads) layers.push('road');
    this.mapStream?.subscribe({ layers, bbox: this.map.viewBBox(), tenant: this.tenant });
    this.alertStream?.subscribe({ layers: ['alerts'], bbox: null, tenant: this.tenant });
  }

  private setTenant(t: string): void {
    if (t === this.tenant) return;
    this.tenant = t;
    this.params.set('tenant', t);
    window.history.replaceState(null, '', `?${this.params}`);
    this.panel.close();
    this.applyChanges(this.live.clear());
    this.alerts.clear();
    this.scheduleAlerts();
    this.subscribe();
    void this.loadAlerts();
    this.noiseMap?.tenantChanged();
    if (this.replayAt) void this.setReplay(this.replayAt);
  }

  private async loadAlerts(): Promise<void> {
    try {
      const list = await api.openAlerts(this.tenant);
      // The stream may have answered first: it is newer.
      for (const a of list) if (!this.alerts.has(a.id)) this.alerts.set(a.id, a);
      this.scheduleAlerts();
    } catch (e) {
      console.warn(`citytwin: alerts unavailable: ${String(e)}`);
    }
  }

  private onAlerts(items: Alert[], full: boolean): void {
    if (full) this.alerts.clear();
    for (const a of items) {
      if (a.open) this.alerts.set(a.id, a);
      else this.alerts.delete(a.id);
    }
    this.scheduleAlerts();
  }

  private scheduleAlerts(): void {
    this.alertsDirty = true;
    this.requestDraw();
  }

  private renderAlerts(): void {
    this.alertsDirty = false;
    // In replay the alerts open then, marked open (they may have closed since).
    const shown = this.replayAlerts ? this.replayAlerts.map((a) => ({ ...a, open: true })) : [...this.alerts.values()];
    this.alertsView.render(shown);
    // What the list shows: "live" or the replayed time (tests wait for it).
    byId('alerts-list').dataset.at = this.replayAt ? this.replayAt.toISOString() : 'live';
    const keys = new Set<string>();
    for (const a of shown) if (a.featureKind !== 'sensor') keys.add(featureKey(a.featureKind, a.featureId));
    this.map.setAlerted(keys);
  }

  private onLive(ch: Changes): void {
    if (this.replayAt) return; // kept in the live store, shown on return
    this.applyChanges(ch);
  }

  /** Queues what an update changed; the next animation frame draws it. */
  private applyChanges(ch: Changes): void {
    this.pending = this.pending ? mergeChanges(this.pending, ch) : ch;
    this.requestDraw();
  }

  /** Redraws every sensor at the next draw (replay, back to live). */
  private redrawSensors(): void {
    this.resync = true;
    this.requestDraw();
  }

  private requestDraw(): void {
    this.pacer.request();
  }

  /** Draws what changed since the previous frame, once. */
  private draw(): void {
    const t0 = performance.now();
    this.drawChanges();
    const ms = performance.now() - t0;
    this.counts.draws++;
    this.counts.drawMs += ms;
    this.counts.drawMaxMs = Math.max(this.counts.drawMaxMs, ms);
  }

  private drawChanges(): void {
    // Pending changes are the live store's: while replaying they wait in
    // that store, and the return to live redraws everything.
    const ch = this.replayAt ? undefined : this.pending;
    this.pending = undefined;
    this.status.render();
    if (this.alertsDirty) this.renderAlerts();
    if (!ch && !this.resync && !this.refilter) return;
    if (this.resync || ch?.full) {
      this.resync = false;
      this.refilter = false;
      this.sensors.rebuild(this.view);
    } else {
      if (ch?.sensors) this.sensors.sync(this.view, ch);
      if (this.refilter) this.sensors.refilter(this.view);
      this.refilter = false;
    }
    this.status.setSensors(this.sensors.count, this.sensors.staleCount);
    if (!ch) return;
    // The newest item of each feature wins; dropped ones (no item) clear.
    const features = new Map<string, Changes['features'][number]>();
    for (const f of ch.features) features.set(featureKey(f.kind, f.id), f);
    for (const f of features.values()) this.paintFeature(f.kind, f.id, f.item?.indicators);
    if (ch.sensors || features.size) this.panel.refresh(ch.full ? undefined : { sensors: ch.sensorIds, features: new Set(features.keys()) });
  }

  private paintFeature(kind: FeatureKind, id: string, ind: Indicators | undefined): void {
    switch (kind) {
      case 'road': {
        const c = this.roads && ind?.congestionIndex !== undefined ? congestionColor(ind.congestionIndex) : null;
        this.map.setFeatureState('road', id, { color: c });
        break;
      }
      case 'district':
      case 'neighbourhood': {
        let fill: string | null = null;
        if (kind === this.areaLevel && this.areaMode === 'noise' && ind?.LAeq !== undefined) fill = noiseColor(ind.LAeq);
        if (kind === this.areaLevel && this.areaMode === 'air' && ind?.aqiBand) fill = aqiColor(ind.aqiBand);
        this.map.setFeatureState(kind, id, { fill, op: fill ? 0.45 : 0 });
        break;
      }
      case 'greenarea':
        this.map.setFeatureState('greenarea', id, { fill: parkColor(ind) });
        break;
    }
  }

  private repaintFeatures(): void {
    for (const key of this.map.featureKeys()) {
      const [kind, id] = [key.slice(0, key.indexOf('/')) as FeatureKind, key.slice(key.indexOf('/') + 1)];
      this.paintFeature(kind, id, this.view.features.get(key)?.indicators);
    }
  }

  private async setReplay(at: Date | undefined): Promise<void> {
    this.replayAbort?.abort();
    this.noiseMap?.setReplay(at);
    if (!at) {
      this.replayAt = undefined;
      this.replayAlerts = undefined;
      this.scheduleAlerts();
      this.status.setReplay(undefined);
      document.body.dataset.replay = '';
      this.redrawSensors();
      this.repaintFeatures();
      this.panel.refresh();
      this.panel.reloadChart();
      return;
    }
    const ac = new AbortController();
    this.replayAbort = ac;
    document.body.dataset.replay = 'loading';
    try {
      const [ans, alerts] = await Promise.all([
        api.replay(at, this.tenant, ac.signal),
        api.alertsAt(at, this.tenant, ac.signal).catch((e: unknown) => {
          if (!ac.signal.aborted) console.warn(`citytwin: alerts at ${at.toISOString()} unavailable: ${String(e)}`);
          return [] as Alert[];
        }),
      ]);
      if (ac.signal.aborted) return;
      this.replayAt = at;
      this.replayAlerts = alerts;
      this.scheduleAlerts();
      this.replayStore.replaceAll(ans.sensors, ans.features);
      this.status.setReplay(at);
      document.body.dataset.replay = at.toISOString();
      this.redrawSensors();
      this.repaintFeatures();
      this.panel.refresh();
      this.panel.reloadChart();
    } catch (e) {
      if (!ac.signal.aborted) {
        document.body.dataset.replay = 'error';
        console.warn(`citytwin: replay failed: ${String(e)}`);
        this.status.setConn(this.mapStream?.state ?? 'offline', `replay failed: ${String(e)}`);
      }
    }
  }

  /** The Plan button and the planner panel; on a phone it takes the place of the other sheets, on a wide screen that of the layers. */
  private setupPlanner(layers: Partial<Record<FeatureKind, api.LayerFeature[]>>): void {
    const button = byId('btn-plan');
    this.planner = new PlannerPanel(
      {
        map: this.map.map,
        layers: () => layers,
        tenant: () => this.tenant,
        opening: () => {
          const wide = window.matchMedia('(min-width: 900px)').matches;
          for (const [sheet, btn] of [['layers-sheet', 'btn-layers'], ['alerts-sheet', 'btn-alerts'], ['panel', '']]) {
            if (!wide || sheet === 'layers-sheet') {
              byId(sheet).hidden = true;
              if (btn) byId(btn).setAttribute('aria-expanded', 'false');
            }
          }
          button.setAttribute('aria-expanded', 'true');
        },
        closed: () => button.setAttribute('aria-expanded', 'false'),
      },
      byId('map').parentElement!,
    );
    button.addEventListener('click', () => this.planner?.toggle());
  }

  private onMapClick(point: { x: number; y: number }): void {
    if (this.planner?.picking) return; // a click that selects for the planner
    const p = this.map.pick(point);
    if (!p) return;
    if (p.what === 'sensor') this.openSensor(p.id, false);
    else this.openFeature(p.kind, p.id, false);
  }

  private openSensor(id: string, zoom: boolean): void {
    this.map.select(undefined);
    this.selectedSensor = id;
    this.sensors.select(id);
    this.showPanel();
    this.panel.showSensor(id);
    const s = this.view.sensors.get(id);
    if (s?.lon === undefined || s.lat === undefined) return;
    if (zoom) this.map.map.easeTo({ center: [s.lon, s.lat], zoom: Math.max(this.map.map.getZoom(), 15) });
    else this.keepVisible([s.lon, s.lat]);
  }

  /** On a phone, pans a point out from under the bottom sheet. */
  private keepVisible(lonlat: [number, number]): void {
    if (window.matchMedia('(min-width: 900px)').matches) return;
    const sheet = byId('panel').getBoundingClientRect();
    const box = this.map.map.getContainer().getBoundingClientRect();
    const p = this.map.map.project(lonlat);
    const free = sheet.top - box.top;
    if (p.y > free - 24) this.map.map.panBy([0, p.y - free / 2], { duration: 300 });
  }

  private openFeature(kind: FeatureKind, id: string, zoom: boolean): void {
    this.selectedSensor = undefined;
    this.sensors.select(undefined);
    this.map.select(kind, id);
    this.showPanel();
    this.panel.showFeature(kind, id);
    const b = this.map.featureBounds(kind, id);
    if (zoom && b) this.map.fit(b, { maxZoom: 16, padding: this.freeArea() });
  }

  /** Padding that keeps a fitted box clear of the open panels. */
  private freeArea(): { top: number; right: number; bottom: number; left: number } {
    const box = this.map.map.getContainer().getBoundingClientRect();
    const pad = { top: 30, right: 30, bottom: 30, left: 30 };
    for (const id of ['layers-sheet', 'alerts-sheet', 'panel']) {
      const e = byId(id);
      if (e.hidden) continue;
      const r = e.getBoundingClientRect();
      if (r.width === 0) continue;
      if (r.width < box.width * 0.6) {
        // A side panel (wide screens).
        if (r.left - box.left < box.width / 2) pad.left = Math.max(pad.left, r.right - box.left + 20);
        else pad.right = Math.max(pad.right, box.right - r.left + 20);
      } else {
        // A bottom sheet (phones).
        pad.bottom = Math.max(pad.bottom, box.bottom - r.top + 20);
      }
    }
    return pad;
  }

  private showPanel(): void {
    // On a phone the panel takes the place of the other sheets.
    if (!window.matchMedia('(min-width: 900px)').matches) {
      this.planner?.close();
      byId('layers-sheet').hidden = true;
      byId('alerts-sheet').hidden = true;
    }
  }

  private unselect(): void {
    this.map.select(undefined);
    if (this.selectedSensor) {
      this.selectedSensor = undefined;
      this.sensors.select(undefined);
    }
  }

  private zoomToAlert(a: Alert): void {
    if (a.featureKind === 'sensor') {
      this.openSensor(a.featureId, true);
      return;
    }
    this.openFeature(a.featureKind, a.featureId, true);
  }
}

const app = new App();
(window as unknown as { citytwin: App }).citytwin = app;
app.start().catch((e) => {
  console.error(`citytwin: the map could not start: ${String(e)}`);
  byId('st-conn').textContent = `failed: ${String(e)}`;
  byId('st-conn').dataset.state = 'failed';
});
