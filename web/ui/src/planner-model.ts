// The planner panel's model, free of the DOM and of MapLibre so that it is
// unit-tested under node (tests/unit/planner.test.ts): the wire types of the
// scenario API (planner/*.go in the Go module, web/planner.go), the form's
// state and its translation into a Spec with the server's own field paths
// and rules, the colour scales of the result layers, and the small geometry
// the map's picking needs.
//
// Units as the API gives them: levels dB(A), concentrations µg/m³, flows
// vehicles per hour, speeds km/h, depths mm, volumes m³; coordinates WGS84
// [lon, lat].

import { noiseColor, NO_DATA } from './scales';

// ---- wire types (planner.Spec, planner.Result, …) --------------------------

export interface PolicySpec {
  policy: 'threshold' | 'fixed' | 'rain-skip';
  everyDays?: number;
  depthMm?: number;
}

export interface Spec {
  name: string;
  author?: string;
  tenant?: string;
  baseline: { last: string };
  area: {
    districts?: string[];
    neighbourhoods?: string[];
    polygon?: [number, number][];
    roads?: string[];
    greenAreas?: string[];
  };
  traffic?: {
    flowChangePct: number;
    speedChangePct?: number;
    close?: string[];
    /** Road id → percent of the closed roads' total flow moved onto it; the shares sum to at most 100. */
    divert?: Record<string, number>;
  };
  air?: { backgroundShare?: number };
  noise?: { periods?: string; limitClass?: string };
  irrigation?: { horizonDays?: number; policies?: PolicySpec[] };
}

export interface NoiseFigures {
  hours: number;
  ldenBefore: number | null;
  ldenAfter: number | null;
  ldenDelta: number | null;
  hoursAboveBefore: number;
  hoursAboveAfter: number;
}

export interface RoadResult {
  id: string;
  name?: string;
  flowBefore: number;
  flowAfter: number;
  flowRatio: number;
  speedBefore: number;
  speedAfter: number;
  measuredFlow: boolean;
  closed?: boolean;
  diverted?: boolean;
  inArea: boolean;
  deltaDb: number | null;
  no2Delta: number | null;
}

export interface AreaResult {
  kind: 'district' | 'neighbourhood';
  id: string;
  name?: string;
  noiseSensors: number;
  affectedNoiseSensors: number;
  noise?: NoiseFigures;
  airSensors: number;
  no2Before: number | null;
  no2After: number | null;
  no2Delta: number | null;
}

export interface PolicyResult {
  policy: string;
  irrigationMm: number;
  volumeM3: number;
  events: number;
  stressDays: number;
  drainageMm: number;
}

export interface GreenAreaResult {
  id: string;
  name?: string;
  areaM2: number;
  soilSensors: number;
  measured: boolean;
  results: PolicyResult[];
}

export interface Result {
  id?: string;
  name: string;
  author?: string;
  tenant: string;
  spec: Spec;
  ranAt: string;
  baseline: { start: string; end: string };
  assumptions: string[];
  timing: { totalMs: number; influxMs: number; points: number };
  /** Go's nil slices come as null: a run without noise sensors has areas null. */
  traffic?: {
    roads: RoadResult[] | null;
    areas: AreaResult[] | null;
    sensors: unknown[] | null;
    totals: {
      roadsChanged: number;
      roadsClosed: number;
      flowBefore: number;
      flowAfter: number;
      sensorsAffected: number;
      maxDecreaseDb: number;
      maxIncreaseDb: number;
      hoursAboveBefore: number;
      hoursAboveAfter: number;
    };
    /** air.Background, which has no JSON tags: Go's field names. */
    background: BackgroundShare;
  };
  irrigation?: {
    horizonDays: number;
    policies: string[];
    totals: { policy: string; volumeM3: number; irrigationMm: number; events: number; stressDays: number }[];
    greenAreas: GreenAreaResult[];
  };
}

/** twin/air.Background as the API encodes it. */
export interface BackgroundShare {
  share: number;
  /** "" or "default": DefaultBackgroundShare (0.5); "given"; "stations". */
  origin: string;
  backgroundStation?: number;
  roadsideStation?: number;
  clamped?: boolean;
}

/** The NO2 background share used (twin/air DefaultBackgroundShare is 0.5), and where it came from. */
export function backgroundText(b: BackgroundShare | undefined): string {
  if (!b || !b.origin || b.origin === 'default') return '0.50 (default assumption)';
  if (b.origin === 'stations') {
    return `${num(b.share, 2)} (stations: background ${num(b.backgroundStation)} / roadside ${num(b.roadsideStation)} µg/m³${b.clamped ? ', clamped' : ''})`;
  }
  return `${num(b.share, 2)} (${b.origin})`;
}

export interface Saved {
  id: string;
  created: string;
  runs: number;
  result: Result;
}

export interface Summary {
  id: string;
  name: string;
  author?: string;
  tenant: string;
  created: string;
  ranAt: string;
  runs: number;
  traffic: boolean;
  irrigation: boolean;
}

export interface CompareRow {
  kind: string;
  id: string;
  name?: string;
  metric: string;
  a: number | null;
  b: number | null;
}

export interface Comparison {
  names: [string, string];
  ids: [string, string];
  roads: CompareRow[] | null;
  areas: CompareRow[] | null;
  irrigation: CompareRow[] | null;
  totals: Record<string, [unknown, unknown]>;
}

// ---- the form ----------------------------------------------------------------

/** What the planner picked on the map. */
export interface Selection {
  districts: string[];
  neighbourhoods: string[];
  roads: string[];
  greenAreas: string[];
  /** The drawn polygon's vertices; closed (a finished ring) when done. */
  polygon: [number, number][];
  polygonDone: boolean;
}

export function emptySelection(): Selection {
  return { districts: [], neighbourhoods: [], roads: [], greenAreas: [], polygon: [], polygonDone: false };
}

export type SelectionKind = 'district' | 'neighbourhood' | 'road' | 'greenarea';

const SELECTION_LIST: Record<SelectionKind, keyof Omit<Selection, 'polygon' | 'polygonDone'>> = {
  district: 'districts',
  neighbourhood: 'neighbourhoods',
  road: 'roads',
  greenarea: 'greenAreas',
};

/** Adds the feature to the selection, or removes it when it is there; answers whether it is selected now. */
export function toggleSelected(sel: Selection, kind: SelectionKind, id: string): boolean {
  const list = sel[SELECTION_LIST[kind]];
  const i = list.indexOf(id);
  if (i >= 0) {
    list.splice(i, 1);
    return false;
  }
  list.push(id);
  return true;
}

export function isSelected(sel: Selection, kind: SelectionKind, id: string): boolean {
  return sel[SELECTION_LIST[kind]].includes(id);
}

export function selectionSize(sel: Selection): number {
  return sel.districts.length + sel.neighbourhoods.length + sel.roads.length + sel.greenAreas.length + (sel.polygon.length ? 1 : 0);
}

/** A road taking a share of the closed roads' traffic: pct percent of their total flow. */
export interface Detour {
  road: string;
  pct: number;
}

/**
 * total percent split into n shares in steps of 0.1 %, as even as can be
 * and summing to total exactly in tenths: the first shares take the
 * remainder (100 / 3 → 33.4, 33.3, 33.3).
 */
export function splitEvenly(total: number, n: number): number[] {
  if (n <= 0) return [];
  if (!Number.isFinite(total)) return Array(n).fill(total);
  const tenths = Math.round(total * 10);
  const base = Math.floor(tenths / n);
  const rem = tenths - base * n;
  return Array.from({ length: n }, (_, i) => (base + (i < rem ? 1 : 0)) / 10);
}

/** Gives the detours the even split of the total (after a road is added or removed, or the total changes). */
export function resplitDetours(t: PlanForm['traffic']): void {
  const shares = splitEvenly(t.detourTotalPct, t.detours.length);
  t.detours.forEach((d, i) => (d.pct = shares[i]));
}

/** Adds a detour road or removes it, then splits the total evenly again; answers whether it is a detour now. */
export function toggleDetour(t: PlanForm['traffic'], road: string): boolean {
  const i = t.detours.findIndex((d) => d.road === road);
  if (i >= 0) t.detours.splice(i, 1);
  else t.detours.push({ road, pct: 0 });
  resplitDetours(t);
  return i < 0;
}

/** The sum of the detours' shares, percent (non-finite shares left out). */
export function detourSum(t: PlanForm['traffic']): number {
  return t.detours.reduce((s, d) => s + (Number.isFinite(d.pct) ? d.pct : 0), 0);
}

/** The server's tolerance on the sum of the shares (planner/spec.go: sum > 100+1e-9). */
const DIVERT_SUM_SLACK = 1e-9;

/**
 * traffic.divert as the form gives it, checked as the server checks it
 * (planner/spec.go Validate, planner/traffic.go): each share within
 * 0..100 percent exclusive of 0 (traffic.divert.<road>), the shares
 * summing to at most 100 (traffic.divert), no detour among the closed
 * roads (traffic.divert.<road>). Undefined without detours or when the
 * selected roads are not closed.
 */
export function divertOf(form: PlanForm): { divert?: Record<string, number>; errors: FieldError[] } {
  const t = form.traffic;
  const errors: FieldError[] = [];
  if (!t.on || !t.closeSelected || !t.detours.length) return { errors };
  const closed = form.selection.roads;
  const divert: Record<string, number> = {};
  for (const d of t.detours) {
    const field = `traffic.divert.${d.road}`;
    if (!Number.isFinite(d.pct) || d.pct <= 0 || d.pct > 100) {
      errors.push({ field, rule: `must be a share within 0..100 percent (exclusive of 0), got ${Number.isFinite(d.pct) ? d.pct : 'no number'}` });
    } else if (closed.includes(d.road)) {
      errors.push({ field, rule: 'is closed: traffic cannot be diverted onto a closed road' });
    }
    divert[d.road] = d.pct;
  }
  const sum = detourSum(t);
  if (sum > 100 + DIVERT_SUM_SLACK) errors.push({ field: 'traffic.divert', rule: `shares must sum to at most 100 percent, got ${Number(sum.toFixed(6))}` });
  return errors.length ? { errors } : { divert, errors };
}

export interface PolicyForm {
  policy: 'threshold' | 'fixed' | 'rain-skip';
  everyDays: number;
  depthMm: number;
}

export interface PlanForm {
  name: string;
  author: string;
  tenant: string;
  /** Baseline: the last 7 days (default) or the last `days` days. */
  baseline: { mode: 'last7' | 'lastN'; days: number };
  selection: Selection;
  traffic: {
    on: boolean;
    flowChangePct: number;
    speedChangePct: number;
    /** Close the roads selected on the map (traffic.close). */
    closeSelected: boolean;
    /**
     * Detour roads, in the order picked, each with its share (percent) of
     * the closed roads' total flow (traffic.divert); written only with
     * closeSelected, kept otherwise so that ticking it again restores them.
     */
    detours: Detour[];
    /** The total the detours share evenly when one is added or removed (form only: the spec has the shares). */
    detourTotalPct: number;
    /** The NO2 background share 0–1; undefined: estimated by citytwin. */
    backgroundShare?: number;
  };
  noise: { periods: 'eu' | 'italy'; limitClass: string };
  irrigation: { on: boolean; horizonDays: number; policies: PolicyForm[] };
}

export function defaultForm(tenant: string): PlanForm {
  return {
    name: '',
    author: '',
    tenant,
    baseline: { mode: 'last7', days: 7 },
    selection: emptySelection(),
    traffic: { on: true, flowChangePct: 0, speedChangePct: 0, closeSelected: false, detours: [], detourTotalPct: 100 },
    noise: { periods: 'eu', limitClass: 'IV' },
    irrigation: {
      on: false,
      horizonDays: 7,
      policies: [
        { policy: 'threshold', everyDays: 2, depthMm: 10 },
        { policy: 'fixed', everyDays: 2, depthMm: 10 },
      ],
    },
  };
}

/** An input that breaks a rule: field is the Spec's path (traffic.flowChangePct), as the server names it. */
export interface FieldError {
  field: string;
  rule: string;
}

/** The longest baseline the server accepts (planner.MaxBaseline, 92 days). */
export const MAX_BASELINE_DAYS = 92;

const LIMIT_CLASSES = ['I', 'II', 'III', 'IV', 'V', 'VI'];

/**
 * Builds the Spec the form describes, checking the rules the server checks
 * (planner/spec.go, Spec.Validate; twin/fao56, Fixed.Validate) with the same
 * field paths, so that the answer comes before a round trip. purpose "save"
 * requires a name; a plain run is named "unsaved run" when it has none.
 */
export function buildSpec(form: PlanForm, purpose: 'run' | 'save'): { spec?: Spec; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const bad = (field: string, rule: string) => errors.push({ field, rule });
  const num = (field: string, v: number, lo: number, hi: number, what: string) => {
    if (!Number.isFinite(v)) bad(field, `must be a number within ${lo}..${hi} ${what}`);
    else if (v < lo || v > hi) bad(field, `must be within ${lo}..${hi} ${what}, got ${v}`);
  };
  const name = form.name.trim();
  if (!name && purpose === 'save') bad('name', 'is required to save a scenario');
  if ([...name].length > 200) bad('name', 'must be at most 200 characters');
  if ([...form.author.trim()].length > 200) bad('author', 'must be at most 200 characters');

  const spec: Spec = { name: name || 'unsaved run', baseline: { last: '7d' }, area: {} };
  if (form.author.trim()) spec.author = form.author.trim();
  if (form.tenant) spec.tenant = form.tenant;
  if (form.baseline.mode === 'lastN') {
    const d = form.baseline.days;
    if (!Number.isInteger(d) || d < 1 || d > MAX_BASELINE_DAYS) bad('baseline.last', `must be a whole number of days within 1..${MAX_BASELINE_DAYS}`);
    else spec.baseline = { last: `${d}d` };
  }

  const s = form.selection;
  if (s.districts.length) spec.area.districts = [...s.districts];
  if (s.neighbourhoods.length) spec.area.neighbourhoods = [...s.neighbourhoods];
  if (s.roads.length) spec.area.roads = [...s.roads];
  if (s.greenAreas.length) spec.area.greenAreas = [...s.greenAreas];
  if (s.polygon.length) {
    if (s.polygon.length < 3) bad('area.polygon', `needs at least 3 points, got ${s.polygon.length}: click more points on the map`);
    else spec.area.polygon = s.polygon.map(([x, y]) => [x, y]);
  }
  if (selectionSize(s) === 0) bad('area', 'select neighbourhoods, districts, roads or parks on the map, or draw a polygon');

  if (!form.traffic.on && !form.irrigation.on) bad('traffic', 'a scenario needs a traffic or an irrigation part (or both)');
  if (form.traffic.on) {
    const t = form.traffic;
    num('traffic.flowChangePct', t.flowChangePct, -100, 300, 'percent');
    num('traffic.speedChangePct', t.speedChangePct, -80, 100, 'percent');
    spec.traffic = { flowChangePct: t.flowChangePct };
    if (t.speedChangePct) spec.traffic.speedChangePct = t.speedChangePct;
    if (t.closeSelected) {
      if (!s.roads.length) bad('traffic.close', 'select the roads to close on the map (Roads mode)');
      else spec.traffic.close = [...s.roads];
      const dv = divertOf(form);
      errors.push(...dv.errors);
      if (dv.divert) spec.traffic.divert = dv.divert;
    }
    if (t.backgroundShare !== undefined) {
      num('air.backgroundShare', t.backgroundShare, 0, 1, '(a share)');
      spec.air = { backgroundShare: t.backgroundShare };
    }
    if (!LIMIT_CLASSES.includes(form.noise.limitClass)) bad('noise.limitClass', 'must be a DPCM class I–VI');
    spec.noise = { periods: form.noise.periods, limitClass: form.noise.limitClass };
  }
  if (form.irrigation.on) {
    const ir = form.irrigation;
    if (!Number.isInteger(ir.horizonDays) || ir.horizonDays < 1 || ir.horizonDays > 31) bad('irrigation.horizonDays', 'must be a whole number of days within 1..31');
    if (ir.policies.length < 2) bad('irrigation.policies', 'choose at least two policies to compare');
    const policies: PolicySpec[] = [];
    ir.policies.forEach((p, i) => {
      const field = `irrigation.policies[${i}]`;
      if (p.policy === 'threshold') {
        policies.push({ policy: 'threshold' });
        return;
      }
      if (!Number.isInteger(p.everyDays) || p.everyDays < 1 || p.everyDays > 31) bad(`${field}.everyDays`, 'must be a whole number of days within 1..31');
      if (!(p.depthMm > 0 && p.depthMm <= 100)) bad(`${field}.depthMm`, 'must be within (0, 100] mm');
      policies.push({ policy: p.policy, everyDays: p.everyDays, depthMm: p.depthMm });
    });
    spec.irrigation = { horizonDays: ir.horizonDays, policies };
  }
  return errors.length ? { errors } : { spec, errors };
}

/**
 * The form that a saved scenario's spec describes, to edit and run it again
 * (the inverse of buildSpec for every field the form has).
 */
export function specToForm(spec: Spec, tenant: string): PlanForm {
  const f = defaultForm(spec.tenant || tenant);
  f.name = spec.name ?? '';
  f.author = spec.author ?? '';
  const m = /^(\d+)d$/.exec(spec.baseline?.last ?? '');
  if (m && m[1] !== '7') f.baseline = { mode: 'lastN', days: Number(m[1]) };
  const a = spec.area ?? {};
  f.selection = {
    districts: [...(a.districts ?? [])],
    neighbourhoods: [...(a.neighbourhoods ?? [])],
    roads: [...(a.roads ?? [])],
    greenAreas: [...(a.greenAreas ?? [])],
    polygon: (a.polygon ?? []).map(([x, y]) => [x, y] as [number, number]),
    polygonDone: (a.polygon ?? []).length >= 3,
  };
  f.traffic.on = Boolean(spec.traffic);
  if (spec.traffic) {
    f.traffic.flowChangePct = spec.traffic.flowChangePct ?? 0;
    f.traffic.speedChangePct = spec.traffic.speedChangePct ?? 0;
    f.traffic.closeSelected = (spec.traffic.close ?? []).length > 0;
    // Closed roads are roads of the selection.
    for (const r of spec.traffic.close ?? []) if (!f.selection.roads.includes(r)) f.selection.roads.push(r);
    f.traffic.detours = Object.entries(spec.traffic.divert ?? {}).map(([road, pct]) => ({ road, pct }));
    if (f.traffic.detours.length) f.traffic.detourTotalPct = Number(detourSum(f.traffic).toFixed(6));
  }
  if (spec.air?.backgroundShare !== undefined) f.traffic.backgroundShare = spec.air.backgroundShare;
  if (spec.noise?.periods === 'italy') f.noise.periods = 'italy';
  if (spec.noise?.limitClass) f.noise.limitClass = spec.noise.limitClass;
  f.irrigation.on = Boolean(spec.irrigation);
  if (spec.irrigation) {
    f.irrigation.horizonDays = spec.irrigation.horizonDays || 7;
    if (spec.irrigation.policies?.length) {
      f.irrigation.policies = spec.irrigation.policies.map((p) => ({ policy: p.policy, everyDays: p.everyDays ?? 2, depthMm: p.depthMm ?? 10 }));
    }
  }
  return f;
}

/**
 * The fields to try, most specific first, when showing an error next to its
 * input: irrigation.policies[1].depthMm, irrigation.policies[1],
 * irrigation.policies, irrigation.
 */
export function fieldCandidates(field: string): string[] {
  const out: string[] = [];
  let f = field;
  while (f) {
    out.push(f);
    const cut = Math.max(f.lastIndexOf('.'), f.lastIndexOf('['));
    f = cut > 0 ? f.slice(0, cut) : '';
  }
  return out;
}

// ---- colour scales -----------------------------------------------------------

export interface ScaleBand {
  /** The band holds values below upTo (the last band: everything above). */
  upTo: number;
  color: string;
  label: string;
}

/**
 * A diverging scale for level changes (a road's emission change deltaDb, an
 * area's Lden change): blue where it gets quieter, red where louder, grey
 * within ±0.1 dB (no audible nor reportable change). Colours: ColorBrewer
 * RdBu, 7 classes.
 */
export const DELTA_DB_BANDS: ScaleBand[] = [
  { upTo: -3, color: '#2166ac', label: '≤ −3 dB' },
  { upTo: -1, color: '#67a9cf', label: '−3 to −1 dB' },
  { upTo: -0.1, color: '#d1e5f0', label: '−1 to −0.1 dB' },
  { upTo: 0.1, color: '#f7f7f7', label: '±0.1 dB' },
  { upTo: 1, color: '#fddbc7', label: '0.1 to 1 dB' },
  { upTo: 3, color: '#ef8a62', label: '1 to 3 dB' },
  { upTo: Infinity, color: '#b2182b', label: '≥ 3 dB' },
];

/** A closed road: no emission left. */
export const CLOSED_COLOR = '#1d2733';

/**
 * The outline of a detour road (one receiving diverted traffic), in the
 * result and in the selection: a magenta (ColorBrewer PiYG's end) that
 * none of the fill scales uses.
 */
export const DETOUR_COLOR = '#c51b7d';

/**
 * deltaColor colours a level change; the lower edge of a band belongs to the
 * band above it except on the negative side, where an edge value belongs to
 * the quieter band (−3 is "≤ −3"): bands are (−∞, −3], (−3, −1], (−1, −0.1],
 * (−0.1, 0.1), [0.1, 1), [1, 3), [3, ∞).
 */
export function deltaColor(db: number | null | undefined): string {
  if (db === null || db === undefined || !Number.isFinite(db)) return NO_DATA;
  for (const b of DELTA_DB_BANDS) {
    if (b.upTo < 0 ? db <= b.upTo : db < b.upTo) return b.color;
  }
  return DELTA_DB_BANDS[DELTA_DB_BANDS.length - 1].color;
}

/** A sequential scale for hourly traffic flows (vehicles per hour) on a road. */
export const FLOW_BANDS: ScaleBand[] = [
  { upTo: 100, color: '#fff5eb', label: '< 100 veh/h' },
  { upTo: 300, color: '#fdd0a2', label: '100–300' },
  { upTo: 600, color: '#fd8d3c', label: '300–600' },
  { upTo: 1200, color: '#d94801', label: '600–1,200' },
  { upTo: Infinity, color: '#7f2704', label: '≥ 1,200 veh/h' },
];

export function flowColor(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  return (FLOW_BANDS.find((b) => v < b.upTo) ?? FLOW_BANDS[FLOW_BANDS.length - 1]).color;
}

/** Five blues for water volumes, relative to the largest volume shown. */
export const VOLUME_COLORS = ['#eff3ff', '#bdd7e7', '#6baed6', '#3182bd', '#08519c'];

/**
 * volumeColor: no water is the palest blue; a positive volume falls in a
 * quarter of max: (0, ¼), [¼, ½), [½, ¾), [¾, 1] (and above).
 */
export function volumeColor(v: number | null | undefined, max: number): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return NO_DATA;
  if (v <= 0 || !(max > 0)) return VOLUME_COLORS[0];
  return VOLUME_COLORS[1 + Math.min(3, Math.floor((v / max) * 4))];
}

// ---- the result as map features ---------------------------------------------

/** What the result layers show: the baseline, the scenario, or the change. */
export type ResultView = 'before' | 'after' | 'delta';

export type GeometryOf = (kind: string, id: string) => GeoJSON.Geometry | undefined;

/**
 * The result as features for the map, each with "layer", "id", the result's
 * figures and the "color" of the view: roads by flow (before, after) or by
 * emission change deltaDb (delta, closed roads dark; detour roads flagged
 * "diverted" for their outline); neighbourhoods (or,
 * when the result has none, districts) by Lden (noise bands) or its change
 * ldenDelta; green areas by
 * the volume of the chosen policy (every view). Features whose geometry is
 * unknown are left out.
 */
export function resultFeatures(r: Result, geometryOf: GeometryOf, view: ResultView, policy: string | undefined): GeoJSON.FeatureCollection {
  const features: GeoJSON.Feature[] = [];
  const add = (kind: string, id: string, props: Record<string, unknown>) => {
    const geometry = geometryOf(kind, id);
    if (geometry) features.push({ type: 'Feature', geometry, properties: { layer: kind, id, ...props } });
  };
  // Neighbourhoods tile their districts: the map shows the finer level
  // (the tables list both), districts only when there is no neighbourhood.
  const areas = r.traffic?.areas ?? [];
  const level = areas.some((a) => a.kind === 'neighbourhood') ? 'neighbourhood' : 'district';
  for (const a of areas) {
    if (a.kind !== level) continue;
    const n = a.noise;
    const color = view === 'delta' ? deltaColor(n?.ldenDelta) : n?.hours ? noiseColor((view === 'before' ? n.ldenBefore : n.ldenAfter) ?? undefined) : NO_DATA;
    add(a.kind, a.id, {
      name: a.name ?? '',
      ldenBefore: n?.ldenBefore ?? null,
      ldenAfter: n?.ldenAfter ?? null,
      ldenDelta: n?.ldenDelta ?? null,
      no2Delta: a.no2Delta,
      color,
    });
  }
  for (const rd of r.traffic?.roads ?? []) {
    let color: string;
    if (view === 'delta') color = rd.closed ? CLOSED_COLOR : deltaColor(rd.deltaDb);
    else color = flowColor(view === 'before' ? rd.flowBefore : rd.flowAfter);
    add('road', rd.id, {
      name: rd.name ?? '',
      deltaDb: rd.deltaDb,
      flowBefore: rd.flowBefore,
      flowAfter: rd.flowAfter,
      closed: Boolean(rd.closed),
      diverted: Boolean(rd.diverted),
      color,
    });
  }
  const ir = r.irrigation;
  if (ir) {
    const pol = policy && ir.policies.includes(policy) ? policy : ir.policies[0];
    const max = Math.max(0, ...ir.greenAreas.flatMap((g) => g.results.map((p) => p.volumeM3)));
    for (const g of ir.greenAreas) {
      const pr = g.results.find((p) => p.policy === pol);
      add('greenarea', g.id, { name: g.name ?? '', policy: pol, volumeM3: pr?.volumeM3 ?? null, color: volumeColor(pr?.volumeM3, max) });
    }
  }
  return { type: 'FeatureCollection', features };
}

// ---- geometry for picking ----------------------------------------------------

/** Whether a [lon, lat] point lies in a Polygon or MultiPolygon (even-odd rule over every ring, so holes are out). */
export function pointInGeometry(p: [number, number], g: GeoJSON.Geometry): boolean {
  const inRings = (rings: GeoJSON.Position[][]) => {
    let inside = false;
    for (const ring of rings) {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [xi, yi] = ring[i];
        const [xj, yj] = ring[j];
        if (yi > p[1] !== yj > p[1] && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
      }
    }
    return inside;
  };
  if (g.type === 'Polygon') return inRings(g.coordinates);
  if (g.type === 'MultiPolygon') return g.coordinates.some(inRings);
  return false;
}

/** The distance from point p to segment ab, in the units of the coordinates (pixels when projected). */
export function segmentDistance(p: [number, number], a: [number, number], b: [number, number]): number {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2));
  return Math.hypot(p[0] - (a[0] + t * dx), p[1] - (a[1] + t * dy));
}

/** The lines of a LineString or MultiLineString. */
export function linesOf(g: GeoJSON.Geometry): GeoJSON.Position[][] {
  if (g.type === 'LineString') return [g.coordinates];
  if (g.type === 'MultiLineString') return g.coordinates;
  return [];
}

// ---- formatting --------------------------------------------------------------

/** A road's flow before → after, as the roads table tags a detour: "600 → 960 veh/h". */
export function flowChangeText(rd: Pick<RoadResult, 'flowBefore' | 'flowAfter'>): string {
  return `${num(rd.flowBefore, 0)} → ${num(rd.flowAfter, 0)} veh/h`;
}

/** A signed number with a real minus sign: −1.55, +0.20, 0.00. */
export function signed(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  const s = Math.abs(v).toFixed(digits);
  if (Number(s) === 0) return s;
  return (v < 0 ? '−' : '+') + s;
}

/** A number with thousands separators and a real minus: 1,234.5, −1.55. */
export function num(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: digits }).replace('-', '−');
}
