// Unit tests of sensors.ts: SensorLayer touches the map only for what
// changed, with a recording sink in place of MapLibre. Run with `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { featureFilter } from '@maplibre/maplibre-gl-style-spec';

import { mergeChanges, SENSOR_LINES_ZOOM, sensorCircleFilter, SensorLayer, type SensorSink, type SensorState } from '../../src/sensors';
import { TwinStore } from '../../src/store';
import type { Domain, Sensor, SensorPatch } from '../../src/types';

class Recorder implements SensorSink {
  replaced: GeoJSON.Feature[][] = [];
  patches: { add: GeoJSON.Feature[]; remove: number[] }[] = [];
  states: [number, SensorState][] = [];
  selections: (number | undefined)[] = [];
  replaceSensors(features: GeoJSON.Feature[]): void {
    this.replaced.push(features);
  }
  patchSensors(add: GeoJSON.Feature[], remove: number[]): void {
    this.patches.push({ add, remove });
  }
  sensorState(fid: number, state: SensorState): void {
    this.states.push([fid, state]);
  }
  selectSensor(fid: number | undefined): void {
    this.selections.push(fid);
  }
  reset(): void {
    this.replaced = [];
    this.patches = [];
    this.states = [];
    this.selections = [];
  }
}

const T = '2025-06-01T12:00:00Z';

function sensor(id: string, domain: Domain, laeq: number, lon = 9.1): Sensor {
  return { id, type: 'X', domain, lon, lat: 45.4, stale: false, lastSeen: T, values: { LAeq: { value: laeq, observedAt: T } }, links: {} };
}

/** Colour by LAeq ≥ 65 or not: enough to see when a colour changes. */
const color = (s: Sensor) => (s.stale ? 'grey' : Number(s.values.LAeq?.value) >= 65 ? 'red' : 'green');

function setup(enabled = new Set<Domain>(['noise', 'air'])) {
  const store = new TwinStore(() => undefined);
  const sink = new Recorder();
  const layer = new SensorLayer(sink, color, (d) => enabled.has(d));
  const delta = (...sensors: SensorPatch[]) => store.applyDelta({ type: 'delta', seq: 1, sensors, features: [], alerts: [] });
  return { store, sink, layer, delta, enabled };
}

const props = (f: GeoJSON.Feature) => [f.id, f.properties!.id, f.properties!.color, f.properties!.stale];

test('a full change rebuilds with colours as properties; then only colour changes set states', () => {
  const { store, sink, layer, delta } = setup();
  const ch = store.applySnapshot({
    type: 'snapshot', seq: 1, full: true, tenant: 'demo', layers: ['noise', 'air', 'generic'], bbox: null,
    sensors: [sensor('n1', 'noise', 50), sensor('n2', 'noise', 70), sensor('g1', 'generic', 1), { ...sensor('n3', 'noise', 50), lon: undefined, lat: undefined }],
    features: [], alerts: [],
  });
  layer.sync(store, ch);
  // n1 and n2 are drawn with their colours; g1's layer is off; n3 has no location. No state needed.
  assert.equal(sink.replaced.length, 1);
  assert.deepEqual(sink.replaced[0].map(props), [[0, 'n1', 'green', false], [1, 'n2', 'red', false]]);
  assert.deepEqual(sink.states, []);
  assert.equal(layer.count, 2);
  sink.reset();

  layer.sync(store, delta({ id: 'n1', domain: 'noise', values: { LAeq: { value: 52, observedAt: T } } }));
  assert.deepEqual([sink.replaced.length, sink.patches.length, sink.states.length], [0, 0, 0], 'green stays green: nothing to draw');

  layer.sync(store, delta({ id: 'n1', domain: 'noise', values: { LAeq: { value: 66, observedAt: T } } }));
  assert.deepEqual(sink.states, [[0, { color: 'red', stale: false }]]);
  assert.equal(sink.patches.length, 0, 'a colour is a feature state, not geometry');
  sink.reset();

  // A full change where every sensor stays put (a reconnect's snapshot) is
  // a diff: no geometry is sent, only colours that differ from the drawn ones.
  layer.rebuild(store);
  assert.deepEqual([sink.replaced.length, sink.patches.length, sink.states.length], [0, 0, 0], 'n1 is drawn red and is red');
  store.applyDelta({ type: 'delta', seq: 2, sensors: [{ id: 'n1', domain: 'noise', values: { LAeq: { value: 40, observedAt: T } } }], features: [], alerts: [] });
  layer.rebuild(store);
  assert.deepEqual(sink.states, [[0, { color: 'green', stale: false }]]);
  assert.deepEqual([sink.replaced.length, sink.patches.length], [0, 0]);
  assert.deepEqual([layer.stats.rebuilds, layer.stats.replaced], [3, 1]);
});

test('a full change replaces the source when most of the map changes, else patches it', () => {
  const { store, sink, layer } = setup();
  const snapshot = (...sensors: Sensor[]) =>
    store.applySnapshot({ type: 'snapshot', seq: 1, full: true, tenant: 'demo', layers: ['noise', 'air'], bbox: null, sensors, features: [], alerts: [] });
  layer.sync(store, snapshot(sensor('a', 'noise', 50), sensor('b', 'noise', 50), sensor('c', 'noise', 50), sensor('d', 'noise', 70)));
  assert.equal(sink.replaced.length, 1);
  // d turned red by a state, then the source is replaced: its red property
  // is current but the state would win, so the state is set again only
  // where it differs.
  layer.sync(store, store.applyDelta({ type: 'delta', seq: 2, sensors: [{ id: 'd', domain: 'noise', values: { LAeq: { value: 50, observedAt: T } } }], features: [], alerts: [] }));
  assert.deepEqual(sink.states, [[3, { color: 'green', stale: false }]]);
  sink.reset();

  // One of four moved, one left, one came: 3 changes of 4, past half: replaced.
  layer.sync(store, snapshot(sensor('a', 'noise', 50), sensor('b', 'noise', 50, 9.3), sensor('e', 'noise', 70), { ...sensor('d', 'noise', 70), stale: true }));
  assert.equal(sink.patches.length, 0);
  assert.deepEqual(sink.replaced.map((fs) => fs.map(props)), [[[0, 'a', 'green', false], [1, 'b', 'green', false], [4, 'e', 'red', false], [3, 'd', 'grey', true]]]);
  assert.deepEqual(sink.states, [[3, { color: 'grey', stale: true }]], 'd has a state (green): set to what its property says');
  assert.deepEqual([layer.count, layer.staleCount], [4, 1]);
  sink.reset();

  // One of four moved and d is fresh again: a diff (b's feature, d's state).
  layer.sync(store, snapshot(sensor('a', 'noise', 50), sensor('b', 'noise', 50, 9.4), sensor('e', 'noise', 70), sensor('d', 'noise', 50)));
  assert.equal(sink.replaced.length, 0);
  assert.deepEqual(sink.patches.map((p) => [p.add.map(props), p.remove]), [[[[1, 'b', 'green', false]], []]]);
  assert.deepEqual(sink.states, [[3, { color: 'green', stale: false }]]);
  assert.deepEqual([layer.count, layer.staleCount], [4, 0]);
  sink.reset();

  // a leaves, f comes, the rest stays: a diff that removes and adds.
  layer.sync(store, snapshot(sensor('b', 'noise', 50, 9.4), sensor('e', 'noise', 70), sensor('d', 'noise', 50), sensor('f', 'noise', 70)));
  assert.deepEqual(sink.patches.map((p) => [p.add.map(props), p.remove]), [[[[5, 'f', 'red', false]], [0]]]);
  assert.deepEqual(sink.states, []);
  assert.equal(layer.count, 4);
  sink.reset();

  // Another tenant: nothing in common, replaced.
  layer.sync(store, snapshot(sensor('x', 'noise', 50), sensor('y', 'air', 50)));
  assert.deepEqual(sink.replaced.map((fs) => fs.map(props)), [[[6, 'x', 'green', false], [7, 'y', 'green', false]]]);
  assert.equal(sink.patches.length, 0);
  assert.equal(layer.count, 2);
});

test('new, moved and vanished sensors patch the geometry; counts follow', () => {
  const { store, sink, layer, delta, enabled } = setup();
  layer.sync(store, delta(sensor('n1', 'noise', 50), sensor('n2', 'noise', 50)));
  assert.deepEqual(sink.patches.map((p) => [p.add.map(props), p.remove]), [[[[0, 'n1', 'green', false], [1, 'n2', 'green', false]], []]]);
  sink.reset();

  // n1 moves and goes stale in one draw's worth of deltas; n2 turns into a generic (hidden) sensor.
  const ch = mergeChanges(
    delta({ id: 'n1', domain: 'noise', lon: 9.2, lat: 45.4 }),
    mergeChanges(delta({ id: 'n1', domain: 'noise', stale: true }), delta({ id: 'n2', domain: 'generic' })),
  );
  layer.sync(store, ch);
  assert.equal(sink.patches.length, 1);
  assert.deepEqual(sink.patches[0].add.map((f) => [...props(f), (f.geometry as GeoJSON.Point).coordinates]), [[0, 'n1', 'grey', true, [9.2, 45.4]]]);
  assert.deepEqual(sink.patches[0].remove, [1]);
  assert.deepEqual(sink.states, [], 'the moved feature carries its new colour');
  assert.deepEqual([layer.count, layer.staleCount], [1, 1]);
  sink.reset();

  // The generic layer switched on: a diff adds n2 again, with the same feature id.
  enabled.add('generic');
  layer.refilter(store);
  assert.equal(sink.replaced.length, 0);
  assert.deepEqual(sink.patches.map((p) => [p.add.map(props), p.remove]), [[[[1, 'n2', 'green', false]], []]]);
  assert.deepEqual([layer.count, layer.staleCount], [2, 1]);
  sink.reset();
  // And off again: n2 leaves; noise off too: n1 leaves, the stale count with it.
  enabled.delete('generic');
  enabled.delete('noise');
  layer.refilter(store);
  assert.deepEqual(sink.patches.map((p) => [p.add.length, p.remove.sort()]), [[0, [0, 1]]]);
  assert.deepEqual([layer.count, layer.staleCount], [0, 0]);
});
test('selection tells the map the selected feature id, only when it changes, and sets no feature state', () => {
  const { sink, layer } = setup();
  const a = layer.fid('a');
  const b = layer.fid('b');
  layer.select('a');
  layer.select('a');
  layer.select('b');
  layer.select(undefined);
  layer.select(undefined);
  // a, then b (a again and none again are no change): [0, 1, undefined].
  assert.deepEqual(sink.selections, [a, b, undefined]);
  assert.deepEqual([a, b], [0, 1]);
  assert.deepEqual(sink.states, []);
  assert.equal(layer.sensorId(b), 'b');
  // A sensor selected before it was ever drawn gets its id then, and keeps it.
  layer.select('c');
  assert.deepEqual(sink.selections.at(-1), 2);
  assert.equal(layer.fid('c'), 2);
});

test('the circle layer draws points at every zoom and line sensors only below SENSOR_LINES_ZOOM', () => {
  // MapLibre's own filter evaluation (the style spec maplibre-gl depends on).
  const filter = featureFilter(sensorCircleFilter() as never, 'layers[sensor-circles].filter');
  const feature = (type: 1 | 2) => ({ type, properties: {}, id: 0 }) as never;
  const drawn = (zoom: number, type: 1 | 2) => filter.filter({ zoom } as never, feature(type));
  for (const z of [8, 11, SENSOR_LINES_ZOOM, 16]) assert.equal(drawn(z, 1), true, `a point at zoom ${z}`);
  assert.deepEqual([drawn(10, 2), drawn(11, 2), drawn(SENSOR_LINES_ZOOM, 2), drawn(15, 2)], [true, true, false, false]);
});
