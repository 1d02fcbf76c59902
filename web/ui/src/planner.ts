// PlannerPanel is the planners' what-if panel (a bottom sheet on a phone, a
// side panel from 900 px): pick an area and roads on the map, set the
// interventions (traffic flow and speed change, closures with a share of
// their traffic diverted onto detour roads picked on the map, the NO2
// background share; irrigation horizon and policies), choose the baseline,
// run, and read the result on the map (before / after / change layers),
// in tables (roads, areas, green areas per policy, totals), with the
// assumptions verbatim, the timing and CSV / GeoJSON downloads; save,
// list, open, re-run, compare and delete scenarios.
//
// It talks only to the scenario API (planner-api.ts) and draws only its own
// plan- layers (planner-map.ts); the host (main.ts) gives it the MapLibre
// map, the city's layers and the tenant, and asks it, on each map click,
// whether it is picking (then the click is the planner's).

import './planner.css';

import type { Map as MlMap } from 'maplibre-gl';

import type { LayerFeature } from './api';
import { chip, el } from './dom';
import * as planApi from './planner-api';
import { PlanProblem } from './planner-api';
import { PlanMap } from './planner-map';
import {
  backgroundText,
  buildSpec,
  CLOSED_COLOR,
  defaultForm,
  DELTA_DB_BANDS,
  detourSum,
  divertOf,
  fieldCandidates,
  FLOW_BANDS,
  flowChangeText,
  num,
  resplitDetours,
  resultFeatures,
  selectionSize,
  signed,
  specToForm,
  toggleDetour,
  toggleSelected,
  VOLUME_COLORS,
  type CompareRow,
  type Comparison,
  type FieldError,
  type PlanForm,
  type Result,
  type ResultView,
  type RoadResult,
  type SelectionKind,
  type Spec,
  type Summary,
} from './planner-model';
import { NOISE_BANDS } from './scales';
import type { BBox, FeatureKind } from './types';

export interface PlannerHost {
  map: MlMap;
  /** The city's layers as loaded from /api/v1/layers. */
  layers(): Partial<Record<FeatureKind, LayerFeature[]>>;
  tenant(): string;
  /** The panel opens: on a phone the other sheets make room. */
  opening(): void;
  /** The panel closed (e.g. the host's toggle button shows it). */
  closed?(): void;
}

/**
 * How clicks on the map select: areas (at a level), roads, detour roads
 * (offered while the selected roads are closed), parks, polygon points, or
 * not at all.
 */
export type PickMode = 'area' | 'road' | 'detour' | 'park' | 'polygon' | 'off';

const MODES: [PickMode, string][] = [
  ['area', 'Areas'],
  ['road', 'Roads'],
  ['detour', 'Detour roads'],
  ['park', 'Parks'],
  ['polygon', 'Polygon'],
  ['off', 'Browse'],
];

const KIND_LABEL: Record<string, string> = {
  district: 'District',
  neighbourhood: 'Neighbourhood',
  road: 'Road',
  greenarea: 'Park',
};

/** Rows drawn per table; the downloads hold every row. */
const MAX_ROWS = 200;

export class PlannerPanel {
  readonly root: HTMLElement;
  readonly plan: PlanMap;
  private form: PlanForm;
  private mode: PickMode = 'area';
  private level: 'neighbourhood' | 'district' = 'neighbourhood';
  private view: ResultView = 'delta';
  private policy?: string;
  /** The result shown, its spec and, when saved, its id. */
  result?: Result;
  private resultSpec?: Spec;
  private savedId?: string;
  private running?: AbortController;
  private saved: Summary[] = [];
  private compareSel: { a?: string; b?: string } = {};
  comparison?: Comparison;

  // Parts of the panel redrawn on their own.
  private readonly selectionList = el('ul', { class: 'plan-selection', id: 'plan-selection' });
  private readonly modeBar = el('div', { class: 'plan-modes', role: 'radiogroup', 'aria-label': 'Click on the map to select' });
  private readonly modeHint = el('p', { class: 'muted plan-hint' });
  private readonly polygonTools = el('div', { class: 'plan-row' });
  private readonly policiesBox = el('div', { class: 'plan-policies' });
  private readonly detourList = el('ul', { class: 'plan-detours', id: 'plan-detours' });
  private readonly detourSumText = el('p', { class: 'muted plan-hint', id: 'plan-detour-sum', 'aria-live': 'polite' });
  private readonly status = el('p', { class: 'plan-status', 'aria-live': 'polite', id: 'plan-status' });
  private readonly resultBox = el('section', { class: 'plan-result', id: 'plan-result', hidden: '' });
  private readonly savedBox = el('div', { id: 'plan-saved' });
  private readonly compareBox = el('div', { id: 'plan-compare' });
  private readonly body = el('div', { class: 'plan-body' });

  constructor(
    private readonly host: PlannerHost,
    mount: HTMLElement,
  ) {
    this.form = defaultForm(host.tenant());
    this.plan = new PlanMap(host.map, () => host.layers());
    const collapse = el('button', { type: 'button', class: 'plan-collapse', 'aria-expanded': 'true', 'aria-label': 'Collapse the planner', title: 'Collapse' }, '▾');
    const close = el('button', { type: 'button', class: 'close', 'aria-label': 'Close the planner' }, '×');
    this.root = el(
      'section',
      { id: 'planner', class: 'sheet plan', 'aria-label': 'Scenario planner', hidden: '', 'data-state': 'idle' },
      el('header', {}, el('h2', {}, 'Plan a scenario'), el('span', { class: 'plan-header-tools' }, collapse, close)),
      this.body,
    );
    collapse.addEventListener('click', () => {
      const collapsed = this.root.dataset.collapsed !== 'true';
      this.root.dataset.collapsed = String(collapsed);
      collapse.setAttribute('aria-expanded', String(!collapsed));
      collapse.textContent = collapsed ? '▴' : '▾';
    });
    close.addEventListener('click', () => this.close());
    this.buildForm();
    mount.append(this.root);
    host.map.on('click', (e) => this.onClick(e.point));
  }

  isOpen(): boolean {
    return !this.root.hidden;
  }

  /** Whether a click on the map is the planner's (it selects), not the live map's. */
  get picking(): boolean {
    return this.isOpen() && this.mode !== 'off';
  }

  open(): void {
    if (this.isOpen()) return;
    this.host.opening();
    this.root.hidden = false;
    this.form.tenant = this.host.tenant();
    this.plan.show();
    this.plan.setSelection(this.form.selection, this.activeDetours());
    if (this.result) this.drawResultLayers();
    void this.loadSaved();
  }

  close(): void {
    if (!this.isOpen()) return;
    this.root.hidden = true;
    this.plan.hide();
    this.host.closed?.();
  }

  toggle(): void {
    if (this.isOpen()) this.close();
    else this.open();
  }

  // ---- selection -------------------------------------------------------------

  private onClick(point: { x: number; y: number }): void {
    if (!this.picking) return;
    const sel = this.form.selection;
    if (this.mode === 'polygon') {
      if (sel.polygonDone) {
        sel.polygon = [];
        sel.polygonDone = false;
      }
      sel.polygon.push(this.plan.lonLat(point));
      this.selectionChanged();
      return;
    }
    if (this.mode === 'detour') {
      const id = this.plan.pick(point, 'road');
      if (id) this.toggleDetour(id);
      return;
    }
    const kind: SelectionKind = this.mode === 'road' ? 'road' : this.mode === 'park' ? 'greenarea' : this.level;
    const id = this.plan.pick(point, kind);
    if (id) this.toggle1(kind, id);
  }

  /** Adds a detour road or removes it, splitting the total evenly again (a test hook too). */
  toggleDetour(id: string): void {
    toggleDetour(this.form.traffic, id);
    this.renderDetours();
    this.detoursChanged();
  }

  /** The detour roads the spec will hold: only while traffic is on and the selected roads are closed. */
  private activeDetours(): string[] {
    const t = this.form.traffic;
    return t.on && t.closeSelected ? t.detours.map((d) => d.road) : [];
  }

  /** After a detour, its share, the closure or the selection changed: the map, the lists, the sum and its check. */
  private detoursChanged(): void {
    this.plan.setSelection(this.form.selection, this.activeDetours());
    this.renderSelection();
    this.updateDetourSum();
    this.checkDetours();
  }

  /** The local check of traffic.divert, shown next to each share as it is typed. */
  private checkDetours(): void {
    this.showErrors(divertOf(this.form).errors, 'traffic.divert');
    // The last marked field fixed: the status no longer sends the planner looking.
    if (this.root.dataset.state === 'error' && !this.root.querySelector('.plan-err:not([hidden])')) this.setState('idle', '');
  }

  private updateDetourSum(): void {
    const t = this.form.traffic;
    const sum = detourSum(t);
    const n = t.detours.length;
    this.detourSumText.dataset.sum = String(sum);
    this.detourSumText.textContent = n
      ? `${num(sum, 1)} % of the closed roads' flow moves to ${n === 1 ? 'the detour road' : `${n} detour roads`}` +
        (sum < 100 ? `; the other ${num(100 - sum, 1)} % leaves the modelled roads.` : '.')
      : "No detour road: the closed roads' traffic leaves the modelled roads.";
  }

  /** The detour list: each road's name, its share and a place for its error (traffic.divert.<road>). */
  private renderDetours(): void {
    const t = this.form.traffic;
    const items = t.detours.map((d, i) => {
      const name = this.plan.nameOf('road', d.road);
      const pct = number(`plan-detour-${i}`, d.pct, { min: 0, max: 100, step: 0.1 });
      pct.classList.add('plan-detour-pct');
      pct.setAttribute('aria-label', `Share of the closed roads' flow onto ${name}, percent`);
      pct.addEventListener('input', () => {
        d.pct = pct.valueAsNumber;
        this.detoursChanged();
      });
      const rm = el('button', { type: 'button', class: 'plan-remove', 'aria-label': `Remove detour ${name}` }, '×');
      rm.addEventListener('click', () => this.toggleDetour(d.road));
      return el(
        'li',
        { class: 'plan-detour', 'data-road': d.road },
        el('span', { class: 'plan-detour-name' }, name === d.road ? name : `${name} (${d.road})`),
        pct,
        el('span', { class: 'muted' }, '%'),
        rm,
        errSpan(`traffic.divert.${d.road}`),
      );
    });
    this.detourList.replaceChildren(...items);
    this.detourList.dataset.count = String(items.length);
  }

  /** The Detour roads mode is offered only while the selected roads are closed. */
  private syncDetourMode(): void {
    const t = this.form.traffic;
    const offered = t.on && t.closeSelected;
    const b = this.modeBar.querySelector<HTMLButtonElement>('button[data-mode=detour]');
    if (b) b.hidden = !offered;
    if (!offered && this.mode === 'detour') this.setMode('road');
  }

  /** Adds a feature to the selection or removes it (a test hook too). */
  toggle1(kind: SelectionKind, id: string): void {
    toggleSelected(this.form.selection, kind, id);
    this.selectionChanged();
  }

  private selectionChanged(): void {
    this.clearErrors('area');
    // A closed road may have become, or stopped being, a detour too.
    this.detoursChanged();
  }

  private setMode(m: PickMode): void {
    this.mode = m;
    for (const b of this.modeBar.querySelectorAll<HTMLButtonElement>('button')) b.setAttribute('aria-checked', String(b.dataset.mode === m));
    this.modeHint.textContent = {
      area: `Click ${this.level === 'neighbourhood' ? 'neighbourhoods' : 'districts'} to add or remove them.`,
      road: 'Click roads to add or remove them.',
      detour: "Click the roads that take the closed roads' traffic; set each one's share under Interventions.",
      park: 'Click parks to add or remove them.',
      polygon: 'Click points on the map, then Finish.',
      off: 'Clicks open the live details as usual.',
    }[m];
    this.polygonTools.hidden = m !== 'polygon';
    this.host.map.getCanvas().style.cursor = m === 'off' ? '' : 'crosshair';
  }

  private renderSelection(): void {
    const sel = this.form.selection;
    const items: HTMLElement[] = [];
    const item = (kind: SelectionKind, id: string) => {
      const rm = el('button', { type: 'button', class: 'plan-remove', 'aria-label': `Remove ${this.plan.nameOf(kind, id)}`, 'data-remove': `${kind}/${id}` }, '×');
      rm.addEventListener('click', () => this.toggle1(kind, id));
      const closed = kind === 'road' && this.form.traffic.on && this.form.traffic.closeSelected ? el('span', { class: 'plan-tag' }, 'closed') : undefined;
      items.push(
        el('li', { 'data-kind': kind, 'data-id': id }, el('span', { class: 'muted' }, KIND_LABEL[kind]), ` ${this.plan.nameOf(kind, id)} `, closed, rm),
      );
    };
    for (const id of sel.districts) item('district', id);
    for (const id of sel.neighbourhoods) item('neighbourhood', id);
    for (const id of sel.roads) item('road', id);
    for (const id of sel.greenAreas) item('greenarea', id);
    if (this.activeDetours().length) {
      for (const d of this.form.traffic.detours) {
        const name = this.plan.nameOf('road', d.road);
        const rm = el('button', { type: 'button', class: 'plan-remove', 'aria-label': `Remove detour ${name}`, 'data-remove': `detour/${d.road}` }, '×');
        rm.addEventListener('click', () => this.toggleDetour(d.road));
        items.push(
          el('li', { 'data-kind': 'detour', 'data-id': d.road }, el('span', { class: 'muted' }, 'Detour'), ` ${name} `, el('span', { class: 'plan-tag plan-tag-detour' }, `${num(d.pct, 1)} %`), rm),
        );
      }
    }
    if (sel.polygon.length) {
      const rm = el('button', { type: 'button', class: 'plan-remove', 'aria-label': 'Remove the polygon', 'data-remove': 'polygon' }, '×');
      rm.addEventListener('click', () => this.clearPolygon());
      items.push(
        el(
          'li',
          { 'data-kind': 'polygon' },
          el('span', { class: 'muted' }, 'Polygon'),
          ` ${sel.polygon.length} points${sel.polygonDone ? '' : ' (drawing)'} `,
          rm,
        ),
      );
    }
    if (!items.length) items.push(el('li', { class: 'muted' }, 'Nothing selected yet.'));
    this.selectionList.replaceChildren(...items);
    this.selectionList.dataset.count = String(selectionSize(sel));
  }

  private clearPolygon(): void {
    this.form.selection.polygon = [];
    this.form.selection.polygonDone = false;
    this.selectionChanged();
  }

  // ---- the form --------------------------------------------------------------

  private buildForm(): void {
    // The initial values; the handlers below write into this.form, which a loaded scenario replaces.
    const f = this.form;
    for (const [m, label] of MODES) {
      const b = el('button', { type: 'button', role: 'radio', 'data-mode': m, 'aria-checked': 'false' }, label);
      b.addEventListener('click', () => this.setMode(m));
      this.modeBar.append(b);
    }
    const levelSel = select('plan-level', [
      ['neighbourhood', 'neighbourhoods'],
      ['district', 'districts'],
    ]);
    levelSel.addEventListener('change', () => {
      this.level = levelSel.value as 'neighbourhood' | 'district';
      this.setMode('area');
    });
    const finish = button('Finish polygon', () => {
      const sel = this.form.selection;
      if (sel.polygon.length < 3) {
        this.showErrors([{ field: 'area.polygon', rule: `needs at least 3 points, got ${sel.polygon.length}` }]);
        return;
      }
      sel.polygonDone = true;
      this.selectionChanged();
    });
    const clearPoly = button('Clear polygon', () => this.clearPolygon());
    this.polygonTools.append(finish, clearPoly);
    const clearAll = button('Clear selection', () => {
      const t = this.form.selection;
      t.districts = [];
      t.neighbourhoods = [];
      t.roads = [];
      t.greenAreas = [];
      this.form.traffic.detours = [];
      this.renderDetours();
      this.clearPolygon();
    });

    // Traffic.
    const trafficOn = checkbox('plan-traffic-on', f.traffic.on);
    const flow = number('plan-flow', f.traffic.flowChangePct, { min: -100, max: 300, step: 1 });
    const speed = number('plan-speed', f.traffic.speedChangePct, { min: -80, max: 100, step: 1 });
    const closeSel = checkbox('plan-close', f.traffic.closeSelected);
    const detourTotal = number('plan-detour-total', f.traffic.detourTotalPct, { min: 0, max: 100, step: 1 });
    detourTotal.addEventListener('input', () => {
      this.form.traffic.detourTotalPct = detourTotal.valueAsNumber;
      resplitDetours(this.form.traffic);
      this.renderDetours();
      this.detoursChanged();
    });
    const pickDetours = button('Pick detour roads on the map', () => this.setMode('detour'));
    const detourBox = el(
      'div',
      { class: 'plan-sub plan-detour-box', id: 'plan-detour-box' },
      el('p', { class: 'muted plan-hint' }, "Detour roads take a share of the closed roads' total flow. Adding or removing one splits the total evenly again."),
      pickDetours,
      labelled('Total diverted', detourTotal, '% split evenly', 'traffic.detourTotal'),
      this.detourList,
      this.detourSumText,
      errSpan('traffic.divert'),
    );
    const bgOn = checkbox('plan-bg-on', false);
    const bg = number('plan-bg', 0.5, { min: 0, max: 1, step: 0.05 });
    bg.disabled = true;
    const periods = select('plan-periods', [
      ['eu', 'EU (07–19–23)'],
      ['italy', 'Italy (06–20–22)'],
    ]);
    const limit = select(
      'plan-limit',
      ['I', 'II', 'III', 'IV', 'V', 'VI'].map((c) => [c, `class ${c}`]),
    );
    limit.value = f.noise.limitClass;
    const trafficBox = el(
      'div',
      { class: 'plan-sub' },
      labelled('Flow change', flow, '%', 'traffic.flowChangePct'),
      labelled('Speed change', speed, '%', 'traffic.speedChangePct'),
      el('label', { class: 'check' }, closeSel, ' Close the selected roads'),
      errSpan('traffic.close'),
      detourBox,
      el('label', { class: 'check' }, bgOn, ' Set the NO₂ background share'),
      labelled('Background share', bg, '0–1', 'air.backgroundShare'),
      labelled('Noise periods', periods, '', 'noise.periods'),
      labelled('Limits (DPCM)', limit, '', 'noise.limitClass'),
    );
    const syncTraffic = () => {
      const f = this.form;
      f.traffic.on = trafficOn.checked;
      trafficBox.hidden = !trafficOn.checked;
      f.traffic.flowChangePct = flow.valueAsNumber;
      f.traffic.speedChangePct = speed.valueAsNumber;
      f.traffic.closeSelected = closeSel.checked;
      detourBox.hidden = !closeSel.checked;
      bg.disabled = !bgOn.checked;
      f.traffic.backgroundShare = bgOn.checked ? bg.valueAsNumber : undefined;
      f.noise.periods = periods.value as 'eu' | 'italy';
      f.noise.limitClass = limit.value;
      this.syncDetourMode();
      this.detoursChanged();
    };
    for (const i of [trafficOn, flow, speed, closeSel, bgOn, bg, periods, limit]) i.addEventListener('input', syncTraffic);

    // Irrigation.
    const irrOn = checkbox('plan-irr-on', f.irrigation.on);
    const horizon = number('plan-horizon', f.irrigation.horizonDays, { min: 1, max: 31, step: 1 });
    const addPolicy = button('Add policy', () => {
      this.form.irrigation.policies.push({ policy: 'rain-skip', everyDays: 2, depthMm: 10 });
      this.renderPolicies();
    });
    const irrBox = el(
      'div',
      { class: 'plan-sub' },
      labelled('Horizon', horizon, 'days', 'irrigation.horizonDays'),
      this.policiesBox,
      errSpan('irrigation.policies'),
      addPolicy,
    );
    const syncIrr = () => {
      const f = this.form;
      f.irrigation.on = irrOn.checked;
      irrBox.hidden = !irrOn.checked;
      f.irrigation.horizonDays = horizon.valueAsNumber;
    };
    for (const i of [irrOn, horizon]) i.addEventListener('input', syncIrr);

    // Baseline, name, run.
    const last7 = el('input', { type: 'radio', name: 'plan-baseline', id: 'plan-baseline-7', value: 'last7' });
    last7.checked = true;
    const lastN = el('input', { type: 'radio', name: 'plan-baseline', id: 'plan-baseline-n', value: 'lastN' });
    const days = number('plan-days', 14, { min: 1, max: 92, step: 1 });
    const name = el('input', { type: 'text', id: 'plan-name', maxlength: '200', placeholder: 'e.g. Area B −30 %', autocomplete: 'off' });
    const author = el('input', { type: 'text', id: 'plan-author', maxlength: '200', placeholder: 'your name or e-mail', autocomplete: 'off' });
    const syncBase = () => {
      const f = this.form;
      f.baseline = { mode: lastN.checked ? 'lastN' : 'last7', days: days.valueAsNumber };
      f.name = name.value;
      f.author = author.value;
    };
    for (const i of [last7, lastN, days, name, author]) i.addEventListener('input', syncBase);
    days.addEventListener('focus', () => {
      lastN.checked = true;
      syncBase();
    });
    const runBtn = button('Run', () => void this.run('run'), 'primary');
    runBtn.id = 'plan-run';
    const saveBtn = button('Run and save', () => void this.run('save'));
    saveBtn.id = 'plan-save';

    // Each control is found again when a spec is loaded into the form.
    this.controls = { trafficOn, flow, speed, closeSel, detourTotal, detourBox, bgOn, bg, periods, limit, irrOn, horizon, last7, lastN, days, name, author, trafficBox, irrBox };

    const refresh = button('Refresh', () => void this.loadSaved());
    const compareBtn = button('Compare A and B', () => void this.compare());
    compareBtn.id = 'plan-compare-btn';

    this.body.append(
      details('Area and roads', true,
        this.modeBar,
        el('label', { class: 'plan-inline' }, 'Areas are ', levelSel),
        this.modeHint,
        this.polygonTools,
        this.selectionList,
        errSpan('area'),
        errSpan('area.polygon'),
        clearAll,
      ),
      details('Interventions', true,
        el('label', { class: 'check plan-part' }, trafficOn, ' Traffic: noise and NO₂ response'),
        errSpan('traffic'),
        trafficBox,
        el('label', { class: 'check plan-part' }, irrOn, ' Irrigation: water needs of the parks'),
        irrBox,
      ),
      details('Baseline and run', true,
        el('div', { class: 'plan-radios' },
          el('label', { class: 'check' }, last7, ' last 7 days'),
          el('label', { class: 'check' }, lastN, ' last ', days, ' days'),
        ),
        errSpan('baseline.last'),
        errSpan('baseline'),
        labelled('Name', name, '', 'name'),
        labelled('Author', author, '', 'author'),
        el('div', { class: 'plan-row' }, runBtn, saveBtn),
        this.status,
        errSpan(''),
      ),
      this.resultBox,
      details('Saved scenarios', false, el('div', { class: 'plan-row' }, refresh, compareBtn), this.savedBox, this.compareBox),
    );
    syncTraffic();
    syncIrr();
    this.renderPolicies();
    this.setMode('area');
    this.renderSelection();
  }

  private controls!: {
    trafficOn: HTMLInputElement;
    flow: HTMLInputElement;
    speed: HTMLInputElement;
    closeSel: HTMLInputElement;
    detourTotal: HTMLInputElement;
    detourBox: HTMLElement;
    bgOn: HTMLInputElement;
    bg: HTMLInputElement;
    periods: HTMLSelectElement;
    limit: HTMLSelectElement;
    irrOn: HTMLInputElement;
    horizon: HTMLInputElement;
    last7: HTMLInputElement;
    lastN: HTMLInputElement;
    days: HTMLInputElement;
    name: HTMLInputElement;
    author: HTMLInputElement;
    trafficBox: HTMLElement;
    irrBox: HTMLElement;
  };

  /** Puts a spec's parameters into the form (opening a saved scenario). */
  private loadForm(spec: Spec): void {
    const f = specToForm(spec, this.host.tenant());
    this.form = f;
    const c = this.controls;
    c.trafficOn.checked = f.traffic.on;
    c.trafficBox.hidden = !f.traffic.on;
    c.flow.valueAsNumber = f.traffic.flowChangePct;
    c.speed.valueAsNumber = f.traffic.speedChangePct;
    c.closeSel.checked = f.traffic.closeSelected;
    c.detourBox.hidden = !f.traffic.closeSelected;
    c.detourTotal.valueAsNumber = f.traffic.detourTotalPct;
    c.bgOn.checked = f.traffic.backgroundShare !== undefined;
    c.bg.disabled = !c.bgOn.checked;
    if (f.traffic.backgroundShare !== undefined) c.bg.valueAsNumber = f.traffic.backgroundShare;
    c.periods.value = f.noise.periods;
    c.limit.value = f.noise.limitClass;
    c.irrOn.checked = f.irrigation.on;
    c.irrBox.hidden = !f.irrigation.on;
    c.horizon.valueAsNumber = f.irrigation.horizonDays;
    c.last7.checked = f.baseline.mode === 'last7';
    c.lastN.checked = f.baseline.mode === 'lastN';
    c.days.valueAsNumber = f.baseline.days;
    c.name.value = f.name;
    c.author.value = f.author;
    this.renderPolicies();
    this.renderDetours();
    this.syncDetourMode();
    this.selectionChanged();
  }

  private renderPolicies(): void {
    const pols = this.form.irrigation.policies;
    const rows = pols.map((p, i) => {
      const field = `irrigation.policies[${i}]`;
      const kind = select(`plan-policy-${i}`, [
        ['threshold', 'threshold (refill at RAW)'],
        ['fixed', 'fixed'],
        ['rain-skip', 'rain-skip'],
      ]);
      kind.value = p.policy;
      const every = number(`plan-every-${i}`, p.everyDays, { min: 1, max: 31, step: 1 });
      const depth = number(`plan-depth-${i}`, p.depthMm, { min: 1, max: 100, step: 1 });
      const cal = el('span', { class: 'plan-cal' }, 'every ', every, ' days, ', depth, ' mm');
      cal.hidden = p.policy === 'threshold';
      const rm = el('button', { type: 'button', class: 'plan-remove', 'aria-label': `Remove policy ${i + 1}` }, '×');
      rm.addEventListener('click', () => {
        pols.splice(i, 1);
        this.renderPolicies();
      });
      const sync = () => {
        p.policy = kind.value as typeof p.policy;
        p.everyDays = every.valueAsNumber;
        p.depthMm = depth.valueAsNumber;
        cal.hidden = p.policy === 'threshold';
      };
      for (const x of [kind, every, depth]) x.addEventListener('input', sync);
      return el(
        'div',
        { class: 'plan-policy', 'data-index': String(i) },
        el('span', { class: 'plan-policy-n' }, `${i + 1}.`),
        kind,
        cal,
        rm,
        errSpan(field),
        errSpan(`${field}.policy`),
        errSpan(`${field}.everyDays`),
        errSpan(`${field}.depthMm`),
      );
    });
    this.policiesBox.replaceChildren(...rows);
  }

  // ---- errors ----------------------------------------------------------------

  /**
   * Shows each error next to its input (the nearest enclosing field that has
   * a place), else under Run. Without scope every error shown before goes and
   * the first new one is scrolled to; with a scope (a live check) only the
   * errors of fields starting with it go.
   */
  private showErrors(errors: FieldError[], scope?: string): void {
    this.clearErrors(scope);
    for (const e of errors) {
      let target: HTMLElement | null = null;
      for (const f of [...fieldCandidates(e.field), '']) {
        target = this.root.querySelector<HTMLElement>(`.plan-err[data-field="${CSS.escape(f)}"]`);
        if (target) break;
      }
      if (!target) continue;
      const text = e.field && target.dataset.field !== e.field ? `${e.field}: ${e.rule}` : e.rule;
      target.textContent = target.textContent ? `${target.textContent}; ${text}` : text;
      target.hidden = false;
      const input = target.closest('.plan-field, .plan-policy, .plan-detour')?.querySelector<HTMLElement>('input, select');
      input?.setAttribute('aria-invalid', 'true');
      // Make the error visible: open its section.
      const d = target.closest('details');
      if (d) d.open = true;
    }
    if (scope === undefined) this.root.querySelector<HTMLElement>('.plan-err:not([hidden])')?.scrollIntoView({ block: 'nearest' });
  }

  private clearErrors(prefix?: string): void {
    for (const e of this.root.querySelectorAll<HTMLElement>('.plan-err')) {
      if (prefix !== undefined && !(e.dataset.field ?? '').startsWith(prefix)) continue;
      e.textContent = '';
      e.hidden = true;
      e.closest('.plan-field, .plan-policy, .plan-detour')?.querySelector('[aria-invalid]')?.removeAttribute('aria-invalid');
    }
  }

  private setState(state: 'idle' | 'running' | 'done' | 'error', text: string): void {
    this.root.dataset.state = state;
    this.status.textContent = text;
    for (const id of ['plan-run', 'plan-save']) {
      const b = this.root.querySelector<HTMLButtonElement>(`#${id}`);
      if (b) b.disabled = state === 'running';
    }
  }

  private fail(e: unknown): void {
    if (e instanceof DOMException && e.name === 'AbortError') return;
    if (e instanceof PlanProblem && e.status === 400) {
      this.showErrors([{ field: e.field, rule: e.rule }]);
      this.setState('error', 'The scenario has an error: see the field marked.');
      return;
    }
    this.setState('error', `Failed: ${e instanceof Error ? e.message : String(e)}`);
  }

  // ---- run, save, results ------------------------------------------------------

  private async run(purpose: 'run' | 'save'): Promise<void> {
    this.form.tenant = this.host.tenant();
    const { spec, errors } = buildSpec(this.form, purpose);
    if (!spec) {
      this.showErrors(errors);
      this.setState('error', 'Check the fields marked.');
      return;
    }
    this.clearErrors();
    this.running?.abort();
    const ac = new AbortController();
    this.running = ac;
    this.setState('running', purpose === 'save' ? 'Running and saving…' : 'Running…');
    const t0 = performance.now();
    try {
      if (purpose === 'save') {
        const sv = await planApi.save(spec, ac.signal);
        this.show(sv.result, sv.result.spec, sv.id);
        void this.loadSaved();
      } else {
        const res = await planApi.run(spec, ac.signal);
        this.show(res, spec, undefined);
      }
      this.setState('done', `Done in ${Math.round(performance.now() - t0)} ms.`);
      this.resultBox.scrollIntoView({ block: 'start' });
    } catch (e) {
      this.fail(e);
    } finally {
      if (this.running === ac) this.running = undefined;
    }
  }

  /** Shows a result: map layers, tables, assumptions, timing, downloads. */
  private show(r: Result, spec: Spec, savedId: string | undefined): void {
    this.result = r;
    this.resultSpec = spec;
    this.savedId = savedId;
    const pols = r.irrigation?.policies ?? [];
    if (!this.policy || !pols.includes(this.policy)) this.policy = pols[0];
    this.drawResultLayers();
    this.renderResult();
    this.fitResult();
  }

  private drawResultLayers(): void {
    if (!this.result) return;
    this.plan.setResult(resultFeatures(this.result, this.plan.geometryOf, this.view, this.policy));
  }

  /** Fits the features of the result into the map beside the panel. */
  private fitResult(): void {
    let b: BBox | undefined;
    for (const f of this.plan.result().features) {
      const p = f.properties as { layer: string; id: string };
      const fb = this.plan.boundsOf(p.layer, p.id);
      if (fb) b = b ? [Math.min(b[0], fb[0]), Math.min(b[1], fb[1]), Math.max(b[2], fb[2]), Math.max(b[3], fb[3])] : fb;
    }
    if (!b) return;
    const m = this.host.map;
    const box = m.getContainer().getBoundingClientRect();
    const r = this.root.getBoundingClientRect();
    const pad = { top: 30, right: 30, bottom: 30, left: 30 };
    if (r.width && r.width < box.width * 0.6) pad.left = Math.max(pad.left, r.right - box.left + 20);
    else if (r.height) pad.bottom = Math.max(pad.bottom, box.bottom - r.top + 20);
    if (pad.left + pad.right > box.width - 80) pad.left = pad.right = 30;
    if (pad.top + pad.bottom > box.height - 80) pad.top = pad.bottom = 30;
    m.fitBounds(
      [
        [b[0], b[1]],
        [b[2], b[3]],
      ],
      { padding: pad, maxZoom: 16, duration: 500 },
    );
  }

  private renderResult(): void {
    const r = this.result;
    if (!r) return;
    const box = this.resultBox;
    box.hidden = false;
    box.dataset.saved = this.savedId ?? '';
    const parts: (HTMLElement | string)[] = [];
    parts.push(
      el('h3', {}, r.name, this.savedId ? el('span', { class: 'muted' }, ` · saved, id ${this.savedId}`) : el('span', { class: 'muted' }, ' · not saved')),
    );
    const t = r.timing;
    parts.push(
      el(
        'p',
        { class: 'muted plan-timing', id: 'plan-timing', 'data-total-ms': String(t.totalMs) },
        `Ran in ${num(t.totalMs, 0)} ms (InfluxDB ${num(t.influxMs, 0)} ms, ${t.points.toLocaleString('en')} rollup values) on the baseline ${span(r.baseline.start, r.baseline.end)}.`,
      ),
    );

    // What the map shows.
    const viewSel = select('plan-view', [
      ['delta', 'change'],
      ['before', 'before'],
      ['after', 'after'],
    ]);
    viewSel.value = this.view;
    viewSel.addEventListener('change', () => {
      this.view = viewSel.value as ResultView;
      this.drawResultLayers();
      legend.replaceChildren(...this.legendItems());
    });
    const controls = el('div', { class: 'plan-row' }, el('label', { class: 'plan-inline' }, 'Map: ', viewSel));
    const pols = r.irrigation?.policies ?? [];
    if (pols.length) {
      const polSel = select('plan-view-policy', pols.map((p) => [p, p]));
      polSel.value = this.policy ?? pols[0];
      polSel.addEventListener('change', () => {
        this.policy = polSel.value;
        this.drawResultLayers();
        legend.replaceChildren(...this.legendItems());
      });
      controls.append(el('label', { class: 'plan-inline' }, 'parks: ', polSel));
    }
    const legend = el('div', { class: 'plan-legend' }, ...this.legendItems());
    parts.push(controls, legend);

    // Downloads.
    parts.push(el('div', { class: 'plan-row plan-downloads' }, this.download('csv', 'Download CSV'), this.download('geojson', 'Download GeoJSON')));

    if (r.traffic) parts.push(...this.trafficTables(r));
    if (r.irrigation) parts.push(...this.irrigationTables(r));

    parts.push(
      el('h4', {}, 'Assumptions'),
      el('ul', { class: 'plan-assumptions', id: 'plan-assumptions' }, ...r.assumptions.map((a) => el('li', {}, a))),
    );
    box.replaceChildren(...parts);
  }

  private legendItems(): HTMLElement[] {
    const r = this.result;
    const out: HTMLElement[] = [];
    if (r?.traffic) {
      if (this.view === 'delta') {
        out.push(el('p', { class: 'muted' }, 'Roads: emission change; areas: Lden change'));
        out.push(el('ul', {}, ...DELTA_DB_BANDS.map((b) => el('li', {}, chip(b.color, b.label))), el('li', {}, chip(CLOSED_COLOR, 'closed road'))));
      } else {
        out.push(el('p', { class: 'muted' }, `Roads: flow ${this.view}; areas: Lden ${this.view}`));
        out.push(el('ul', {}, ...FLOW_BANDS.map((b) => el('li', {}, chip(b.color, b.label)))));
        out.push(el('ul', {}, ...NOISE_BANDS.map((b) => el('li', {}, chip(b.color, b.label)))));
      }
      const marks: HTMLElement[] = [];
      const rs = r.traffic.roads ?? [];
      // In the change view a closed road has its own colour; in the others its dashes tell it.
      if (this.view !== 'delta' && rs.some((x) => x.closed)) marks.push(el('li', {}, el('span', { class: 'chip' }, el('span', { class: 'swatch plan-swatch-closed' }), 'dashed: closed road (flow 0)')));
      if (rs.some((x) => x.diverted)) {
        marks.push(
          el('li', { 'data-legend': 'detour' }, el('span', { class: 'chip' }, el('span', { class: 'swatch plan-swatch-detour' }), "magenta outline: detour road, takes a share of the closed roads' flow")),
        );
      }
      if (marks.length) out.push(el('ul', { class: 'plan-marks' }, ...marks));
    }
    if (r?.irrigation) {
      out.push(el('p', { class: 'muted' }, `Parks: water volume, ${this.policy ?? ''} (palest: none; darkest: the largest)`));
      out.push(el('ul', { class: 'plan-ramp' }, ...VOLUME_COLORS.map((c) => el('li', {}, chip(c, '')))));
    }
    return out;
  }

  /** A download link: the export endpoint of a saved result; an unsaved one runs again as CSV or GeoJSON. */
  private download(format: 'csv' | 'geojson', label: string): HTMLAnchorElement {
    const file = `scenario${this.savedId ? `-${this.savedId}` : ''}.${format}`;
    if (this.savedId) {
      return el('a', { class: 'plan-dl button', href: planApi.exportURL(this.savedId, format), download: file, 'data-format': format }, label);
    }
    const a = el('a', { class: 'plan-dl button', role: 'button', tabindex: '0', 'data-format': format, title: 'Runs the scenario again in this format' }, label);
    const spec = this.resultSpec;
    const go = async () => {
      if (!spec) return;
      a.setAttribute('aria-busy', 'true');
      try {
        const blob = await planApi.runAs(spec, format);
        const url = URL.createObjectURL(blob);
        const tmp = el('a', { href: url, download: file, hidden: '' });
        document.body.append(tmp);
        tmp.click();
        tmp.remove();
        window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
      } catch (e) {
        this.fail(e);
      } finally {
        a.removeAttribute('aria-busy');
      }
    };
    a.addEventListener('click', (e) => {
      e.preventDefault();
      void go();
    });
    a.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        void go();
      }
    });
    return a;
  }

  private trafficTables(r: Result): HTMLElement[] {
    const tr = r.traffic!;
    const tt = tr.totals;
    const trRoads = tr.roads ?? [];
    const trAreas = tr.areas ?? [];
    const out: HTMLElement[] = [];
    out.push(
      el('h4', {}, 'Totals'),
      table('plan-totals', ['', 'before', 'after'], [
        row({}, 'Roads changed', String(tt.roadsChanged), tt.roadsClosed ? `${tt.roadsClosed} closed` : ''),
        row({}, 'Flow (veh/h, sum)', num(tt.flowBefore, 0), num(tt.flowAfter, 0)),
        row({}, 'Hours above limit (noise sensors)', String(tt.hoursAboveBefore), String(tt.hoursAboveAfter)),
        row({}, 'Largest Lden change', signed(-Math.abs(tt.maxDecreaseDb)), tt.maxIncreaseDb ? signed(tt.maxIncreaseDb) : '—'),
        row({}, 'Noise sensors affected', '', String(tt.sensorsAffected)),
        row({}, 'NO₂ background share', '', backgroundText(tr.background)),
      ]),
    );
    // Closed roads first, then the detours, then by emission change.
    const rank = (x: RoadResult) => (x.closed ? 0 : x.diverted ? 1 : 2);
    const roads = [...trRoads].sort((a, b) => rank(a) - rank(b) || (a.deltaDb ?? 0) - (b.deltaDb ?? 0));
    out.push(
      el('h4', {}, `Roads (${trRoads.length})`),
      table(
        'plan-roads',
        ['Road', 'Flow before', 'after (veh/h)', 'ΔL (dB)', 'NO₂ Δ'],
        roads.slice(0, MAX_ROWS).map((rd) =>
          row(
            {
              'data-id': rd.id,
              'data-delta-db': rd.deltaDb === null ? 'closed' : String(rd.deltaDb),
              'data-closed': rd.closed ? 'true' : undefined,
              'data-detour': rd.diverted ? 'true' : undefined,
            },
            roadCell(rd),
            num(rd.flowBefore, 0) + (rd.measuredFlow ? '' : '*'),
            num(rd.flowAfter, 0),
            rd.closed ? 'closed' : signed(rd.deltaDb),
            signed(rd.no2Delta, 1),
          ),
        ),
      ),
    );
    if (trRoads.length > MAX_ROWS) out.push(el('p', { class: 'muted' }, `${trRoads.length - MAX_ROWS} more roads in the downloads.`));
    if (trRoads.some((x) => !x.measuredFlow)) out.push(el('p', { class: 'muted' }, '* no traffic sensor: flow from the road class table.'));
    const areas = [...trAreas].sort((a, b) => (a.noise?.ldenDelta ?? 0) - (b.noise?.ldenDelta ?? 0));
    out.push(
      el('h4', {}, `Areas (${trAreas.length})`),
      table(
        'plan-areas',
        ['Area', 'Lden before', 'after', 'Δ (dB)', 'h > limit', 'NO₂ Δ'],
        areas.slice(0, MAX_ROWS).map((a) =>
          row(
            { 'data-kind': a.kind, 'data-id': a.id, 'data-lden-delta': a.noise?.ldenDelta === null || a.noise?.ldenDelta === undefined ? '' : String(a.noise.ldenDelta) },
            `${a.name || a.id} (${a.kind === 'district' ? 'district' : 'nbhd'})`,
            num(a.noise?.ldenBefore),
            num(a.noise?.ldenAfter),
            signed(a.noise?.ldenDelta),
            a.noise?.hours ? `${a.noise.hoursAboveBefore} → ${a.noise.hoursAboveAfter}` : '—',
            signed(a.no2Delta, 1),
          ),
        ),
      ),
    );
    return out;
  }

  private irrigationTables(r: Result): HTMLElement[] {
    const ir = r.irrigation!;
    const head = ['Park', ...ir.policies.map((p) => `${p} (m³)`)];
    const rows = ir.greenAreas.slice(0, MAX_ROWS).map((g) =>
      row(
        { 'data-id': g.id },
        `${g.name || g.id}${g.measured ? '' : '*'}`,
        ...ir.policies.map((p) => {
          const pr = g.results.find((x) => x.policy === p);
          return pr ? `${num(pr.volumeM3)} (${pr.events}×${pr.stressDays ? `, ${pr.stressDays} stress d` : ''})` : '—';
        }),
      ),
    );
    rows.push(
      row(
        { class: 'plan-total' },
        'Total',
        ...ir.policies.map((p) => {
          const t = ir.totals.find((x) => x.policy === p);
          return t ? `${num(t.volumeM3)} (${num(t.irrigationMm)} mm)` : '—';
        }),
      ),
    );
    const tbl = table('plan-irrigation', head, rows);
    ir.policies.forEach((p, i) => tbl.querySelectorAll('thead th')[i + 1]?.setAttribute('data-policy', p));
    const out: HTMLElement[] = [el('h4', {}, `Parks over ${ir.horizonDays} days, policy by policy`), tbl, el('p', { class: 'muted' }, 'Volume m³ (irrigation events, stress days).')];
    if (ir.greenAreas.some((g) => !g.measured)) out.push(el('p', { class: 'muted' }, '* no soil moisture measured in the baseline.'));
    return out;
  }

  // ---- saved scenarios ---------------------------------------------------------

  private async loadSaved(): Promise<void> {
    try {
      this.saved = await planApi.list(this.host.tenant());
      this.renderSaved();
    } catch (e) {
      this.savedBox.replaceChildren(el('p', { class: 'error' }, `Saved scenarios unavailable: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  private renderSaved(): void {
    if (!this.saved.length) {
      this.savedBox.replaceChildren(el('p', { class: 'muted' }, 'No saved scenario yet.'));
      return;
    }
    const rows = this.saved.map((s) => {
      const pick = (side: 'a' | 'b') => {
        const r = el('input', { type: 'radio', name: `plan-cmp-${side}`, value: s.id, 'aria-label': `${side.toUpperCase()}: ${s.name}` });
        r.checked = this.compareSel[side] === s.id;
        r.addEventListener('change', () => (this.compareSel[side] = s.id));
        return r;
      };
      const open = button('Open', () => void this.openSaved(s.id));
      const rerun = button('Re-run', () => void this.rerun(s.id));
      const del = button('Delete', () => {
        if (del.dataset.confirm !== 'true') {
          del.dataset.confirm = 'true';
          del.textContent = 'Confirm delete';
          return;
        }
        void this.deleteSaved(s.id);
      });
      const what = [s.traffic ? 'traffic' : '', s.irrigation ? 'irrigation' : ''].filter(Boolean).join(' + ');
      const tr = el(
        'tr',
        { 'data-id': s.id },
        el('td', {}, pick('a')),
        el('td', {}, pick('b')),
        el(
          'td',
          {},
          el('strong', {}, s.name),
          el('br'),
          el('span', { class: 'muted' }, `${s.author ? `${s.author} · ` : ''}${what} · ran ${new Date(s.ranAt).toLocaleString()} · ${s.runs} run${s.runs === 1 ? '' : 's'}`),
        ),
        el('td', { class: 'plan-actions' }, open, rerun, del),
      );
      return tr;
    });
    const tbl = el(
      'table',
      { class: 'plan-table', id: 'plan-saved-list' },
      el('thead', {}, el('tr', {}, el('th', {}, 'A'), el('th', {}, 'B'), el('th', {}, 'Scenario'), el('th', {}, ''))),
      el('tbody', {}, ...rows),
    );
    this.savedBox.replaceChildren(el('div', { class: 'plan-scroll' }, tbl));
  }

  private async openSaved(id: string): Promise<void> {
    try {
      const sv = await planApi.get(id);
      this.loadForm(sv.result.spec);
      this.show(sv.result, sv.result.spec, sv.id);
      this.setState('done', `Opened ${sv.result.name}.`);
    } catch (e) {
      this.fail(e);
    }
  }

  private async rerun(id: string): Promise<void> {
    this.setState('running', 'Re-running…');
    try {
      const sv = await planApi.rerun(id);
      this.show(sv.result, sv.result.spec, sv.id);
      this.setState('done', `Re-ran ${sv.result.name} (run ${sv.runs}).`);
      void this.loadSaved();
    } catch (e) {
      this.fail(e);
    }
  }

  private async deleteSaved(id: string): Promise<void> {
    try {
      await planApi.remove(id);
      if (this.compareSel.a === id) this.compareSel.a = undefined;
      if (this.compareSel.b === id) this.compareSel.b = undefined;
      if (this.savedId === id) {
        this.savedId = undefined;
        this.renderResult();
      }
      await this.loadSaved();
    } catch (e) {
      this.fail(e);
    }
  }

  private async compare(): Promise<void> {
    const { a, b } = this.compareSel;
    if (!a || !b) {
      this.compareBox.replaceChildren(el('p', { class: 'plan-err', 'data-field': 'compare' }, 'Choose scenario A and scenario B in the list.'));
      return;
    }
    try {
      this.comparison = await planApi.compare(a, b);
      this.renderComparison(this.comparison);
    } catch (e) {
      this.compareBox.replaceChildren(el('p', { class: 'error' }, `Comparison failed: ${e instanceof Error ? e.message : String(e)}`));
    }
  }

  private renderComparison(c: Comparison): void {
    const [na, nb] = c.names;
    const rowsOf = (rows: CompareRow[] | null) =>
      (rows ?? []).slice(0, MAX_ROWS).map((x) =>
        row(
          { 'data-kind': x.kind, 'data-id': x.id, 'data-metric': x.metric },
          `${x.name || x.id}`,
          x.metric,
          fmtCmp(x.a),
          fmtCmp(x.b),
          x.a !== null && x.b !== null ? signed(x.b - x.a) : '—',
        ),
      );
    const head = ['Feature', 'Metric', `A: ${na}`, `B: ${nb}`, 'B − A'];
    const totals = Object.entries(c.totals)
      .sort(([x], [y]) => x.localeCompare(y))
      .map(([k, [va, vb]]) => row({ 'data-metric': k }, 'Total', k, fmtCmp(va), fmtCmp(vb), typeof va === 'number' && typeof vb === 'number' ? signed(vb - va) : '—'));
    const parts: HTMLElement[] = [el('h4', {}, `A: ${na} — B: ${nb}`)];
    if (totals.length) parts.push(table('plan-compare-totals', head, totals));
    if (c.roads?.length) parts.push(el('h4', {}, 'Roads'), table('plan-compare-roads', head, rowsOf(c.roads)));
    if (c.areas?.length) parts.push(el('h4', {}, 'Areas'), table('plan-compare-areas', head, rowsOf(c.areas)));
    if (c.irrigation?.length) parts.push(el('h4', {}, 'Parks'), table('plan-compare-irrigation', head, rowsOf(c.irrigation)));
    this.compareBox.replaceChildren(...parts);
  }
}

// ---- small DOM builders ----------------------------------------------------------

function errSpan(field: string): HTMLElement {
  return el('span', { class: 'plan-err', 'data-field': field, role: 'alert', hidden: '' });
}

function labelled(text: string, input: HTMLElement, unit: string, field: string): HTMLElement {
  return el('div', { class: 'plan-field' }, el('label', {}, el('span', {}, text), input, unit ? el('span', { class: 'muted' }, unit) : undefined), errSpan(field));
}

function checkbox(id: string, on: boolean): HTMLInputElement {
  const c = el('input', { type: 'checkbox', id });
  c.checked = on;
  return c;
}

function number(id: string, value: number, r: { min: number; max: number; step: number }): HTMLInputElement {
  const i = el('input', { type: 'number', id, min: String(r.min), max: String(r.max), step: String(r.step), inputmode: 'decimal' });
  i.valueAsNumber = value;
  return i;
}

function select(id: string, options: string[][]): HTMLSelectElement {
  return el('select', { id }, ...options.map(([v, t]) => el('option', { value: v }, t)));
}

function button(text: string, onClick: () => void, cls = ''): HTMLButtonElement {
  const b = el('button', { type: 'button', class: `plan-btn ${cls}`.trim() }, text);
  b.addEventListener('click', onClick);
  return b;
}

function details(title: string, open: boolean, ...children: HTMLElement[]): HTMLDetailsElement {
  const d = el('details', { class: 'plan-section' }, el('summary', {}, title), ...children);
  d.open = open;
  return d;
}

/** A road's name and id, tagged closed or detour (with its flow before → after). */
function roadCell(rd: { id: string; name?: string; closed?: boolean; diverted?: boolean; flowBefore: number; flowAfter: number }): HTMLElement {
  const c = el('span', {}, rd.name ? `${rd.name} (${rd.id})` : rd.id);
  if (rd.closed) c.append(' ', el('span', { class: 'plan-tag' }, 'closed'));
  if (rd.diverted) {
    c.append(' ', el('span', { class: 'plan-tag plan-tag-detour', title: "takes a share of the closed roads' flow" }, 'detour'), ' ', el('span', { class: 'plan-flow-change' }, flowChangeText(rd)));
  }
  return c;
}

function row(attrs: Record<string, string | undefined>, ...cells: (string | Node)[]): HTMLTableRowElement {
  return el('tr', attrs, ...cells.map((c, i) => el(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : { class: 'num' }, c)));
}

function table(id: string, head: string[], rows: HTMLTableRowElement[]): HTMLElement {
  const t = el('table', { class: 'plan-table', id }, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col' }, h)))), el('tbody', {}, ...rows));
  return el('div', { class: 'plan-scroll' }, t);
}

function fmtCmp(v: unknown): string {
  if (typeof v === 'number') return num(v, 2);
  if (v === null || v === undefined) return '—';
  return String(v);
}

function span(start: string, end: string): string {
  const f = (s: string) => new Date(s).toLocaleString([], { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hour12: false });
  return `${f(start)} – ${f(end)}`;
}
