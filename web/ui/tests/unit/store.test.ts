// Unit tests of store.ts: the field-by-field merge of delta sensor items
// (the incremental protocol of stream/doc.go), what each update reports as
// changed, and the partial snapshot's drops. Run with `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { ItemError, mergeSensor, TwinStore } from '../../src/store';
import type { Delta, Sensor, SensorPatch, Snapshot } from '../../src/types';

const T0 = '2025-06-01T12:00:00Z';
const T10 = '2025-06-01T12:00:10Z';

function noiseSensor(): Sensor {
  return {
    id: 'urn:ngsi-ld:NoiseLevelObserved:n-17',
    type: 'NoiseLevelObserved',
    domain: 'noise',
    lon: 9.19,
    lat: 45.46,
    stale: false,
    lastSeen: T0,
    values: {
      LAeq: { value: 61.2, unitCode: '2N', observedAt: T0 },
      LAmax: { value: 70, unitCode: '2N', observedAt: T0 },
    },
    links: { district: 'm-1', road: 'r-0042' },
  };
}

function delta(seq: number, ...sensors: SensorPatch[]): Delta {
  return { type: 'delta', seq, sensors, features: [], alerts: [] };
}

function store(): TwinStore {
  return new TwinStore(() => undefined);
}

test('a delta item with one changed attribute merges into the held sensor', () => {
  const held = noiseSensor();
  const before = structuredClone(held);
  const { sensor, placed } = mergeSensor(held, { id: held.id, domain: 'noise', values: { LAeq: { value: 63.5, observedAt: T10 } } });
  // LAeq replaced as a whole (its unitCode was not resent, so it is gone);
  // LAmax, the location, links, type and stale kept; lastSeen = the newest
  // observedAt received, 12:00:10, later than the held 12:00:00.
  assert.deepEqual(sensor, {
    ...before,
    lastSeen: T10,
    values: { LAeq: { value: 63.5, observedAt: T10 }, LAmax: before.values.LAmax },
  });
  assert.equal(placed, false);
  assert.deepEqual(held, before, 'the held sensor is left untouched');
});

test('lastSeen: the item’s own wins, else it never goes back', () => {
  const held = noiseSensor();
  // An older reading (11:59:00) arrives late: lastSeen stays 12:00:00.
  const late = mergeSensor(held, { id: held.id, domain: 'noise', values: { LAmax: { value: 72, observedAt: '2025-06-01T11:59:00Z' } } });
  assert.equal(late.sensor.lastSeen, T0);
  assert.equal(late.sensor.values.LAmax.value, 72);
  // Two values: the newest of them, 12:00:30 (written with an offset and a
  // fraction, 14:00:30.5+02:00 = 12:00:30.5Z), is taken as written.
  const two = mergeSensor(held, {
    id: held.id,
    domain: 'noise',
    values: { LAeq: { value: 60, observedAt: T10 }, LAmax: { value: 66, observedAt: '2025-06-01T14:00:30.5+02:00' } },
  });
  assert.equal(two.sensor.lastSeen, '2025-06-01T14:00:30.5+02:00');
  // The server's lastSeen is taken as is, even when older.
  const told = mergeSensor(held, { id: held.id, domain: 'noise', lastSeen: '2025-06-01T11:00:00Z', values: { LAeq: { value: 60, observedAt: T10 } } });
  assert.equal(told.sensor.lastSeen, '2025-06-01T11:00:00Z');
  // Nothing but stale: lastSeen kept.
  const stale = mergeSensor(held, { id: held.id, domain: 'noise', stale: true });
  assert.equal(stale.sensor.lastSeen, T0);
  assert.equal(stale.sensor.stale, true);
});

test('location and domain changes are reported as placed', () => {
  const held = noiseSensor();
  assert.equal(mergeSensor(held, { id: held.id, domain: 'noise', lon: 9.19, lat: 45.46 }).placed, false, 'same point');
  const moved = mergeSensor(held, { id: held.id, domain: 'noise', lon: 9.2, lat: 45.46 });
  assert.equal(moved.placed, true);
  assert.deepEqual([moved.sensor.lon, moved.sensor.lat], [9.2, 45.46]);
  const line = mergeSensor(held, {
    id: held.id,
    domain: 'noise',
    geometry: { type: 'LineString', coordinates: [[9.1, 45.4], [9.2, 45.5]] },
  });
  assert.equal(line.placed, true);
  assert.equal(line.sensor.lon, undefined, 'a geometry replaces lon and lat');
  assert.equal(line.sensor.lat, undefined);
  const sameLine = mergeSensor(line.sensor, {
    id: held.id,
    domain: 'noise',
    geometry: { type: 'LineString', coordinates: [[9.1, 45.4], [9.2, 45.5]] },
  });
  assert.equal(sameLine.placed, false, 'same line, new array');
  assert.equal(mergeSensor(held, { id: held.id, domain: 'generic' }).placed, true, 'another layer');
  const links = mergeSensor(held, { id: held.id, domain: 'noise', links: { district: 'm-2' }, type: 'NoiseSensor' });
  assert.deepEqual(links.sensor.links, { district: 'm-2' }, 'links replaced whole');
  assert.equal(links.sensor.type, 'NoiseSensor');
  assert.equal(links.placed, false);
});

test('a sensor first seen in a delta gets defaults for what it lacks', () => {
  const { sensor, placed } = mergeSensor(undefined, {
    id: 'a1',
    domain: 'air',
    lon: 9,
    lat: 45,
    values: { no2: { value: 40, observedAt: T10 } },
  });
  assert.deepEqual(sensor, { id: 'a1', type: '', domain: 'air', lon: 9, lat: 45, stale: false, lastSeen: T10, values: { no2: { value: 40, observedAt: T10 } }, links: {} });
  assert.equal(placed, true);
});

test('bad items are refused naming the field and the rule', () => {
  const held = noiseSensor();
  const cases: [unknown, string][] = [
    [{ domain: 'noise' }, 'id'],
    [{ id: '', domain: 'noise' }, 'id'],
    [{ id: held.id }, 'domain'],
    [{ id: held.id, domain: 'noise', values: { LAeq: { value: 1 } } }, 'values.LAeq.observedAt'],
    [{ id: held.id, domain: 'noise', values: 3 }, 'values'],
    [{ id: held.id, domain: 'noise', lon: 9 }, 'lat'],
    [{ id: 'other', domain: 'noise' }, 'id'],
  ];
  for (const [item, field] of cases) {
    assert.throws(
      () => mergeSensor(held, item as SensorPatch),
      (e: unknown) => e instanceof ItemError && e.field === field && e.message.startsWith(`${field}: `) && e.rule.length > 0,
      JSON.stringify(item),
    );
  }
});

test('TwinStore.applyDelta merges, reports each id once, and skips bad items', (t) => {
  t.mock.method(console, 'warn', () => {});
  const s = store();
  const full: Snapshot = { type: 'snapshot', seq: 1, full: true, tenant: 'demo', layers: ['noise', 'air'], bbox: null, sensors: [noiseSensor()], features: [], alerts: [] };
  const snap = s.applySnapshot(full);
  assert.equal(snap.full, true);
  const id = noiseSensor().id;
  const ch = s.applyDelta(
    delta(
      2,
      { id, domain: 'noise', values: { LAeq: { value: 64, observedAt: T10 } } },
      { id: 'bad', domain: 'noise', values: { LAeq: { value: 1 } } } as unknown as SensorPatch,
      { id, domain: 'noise', stale: true },
      { id: 'a1', domain: 'air', lon: 9, lat: 45, values: { no2: { value: 40, observedAt: T10 } } },
    ),
  );
  assert.deepEqual([...ch.sensorIds], [id, 'a1']);
  assert.deepEqual([...ch.placed], ['a1'], 'only the new sensor changes the map’s geometry');
  assert.equal(ch.full, false);
  const n = s.sensors.get(id)!;
  // Both items of n-17 applied in order: LAeq 64 at 12:00:10, then stale.
  assert.equal(n.values.LAeq.value, 64);
  assert.equal(n.values.LAmax.value, 70);
  assert.equal(n.stale, true);
  assert.equal(n.lastSeen, T10);
  assert.equal(s.sensors.size, 2);
  assert.equal(s.ignored, 1);
  assert.equal(s.lastIgnored?.field, 'sensors[1].values.LAeq.observedAt');
  assert.equal(s.seq, 2);
});

test('a snapshot item replaces the held sensor whole', () => {
  const s = store();
  s.applyDelta(delta(1, noiseSensor()));
  const only: Sensor = { ...noiseSensor(), values: { LAeq: { value: 50, observedAt: T10 } } };
  const ch = s.applySnapshot({ type: 'snapshot', seq: 2, full: false, tenant: 'demo', layers: ['noise'], bbox: null, sensors: [only], features: [], alerts: [] });
  assert.deepEqual(Object.keys(s.sensors.get(only.id)!.values), ['LAeq'], 'LAmax is gone: snapshots are not merged');
  assert.equal(ch.placed.size, 0, 'same place');
});

test('a partial snapshot drops sensors of other layers and outside the bbox', () => {
  const s = store();
  const inside = noiseSensor(); // 9.19, 45.46
  const outside = { ...noiseSensor(), id: 'n-far', lon: 9.5 };
  const air = { ...noiseSensor(), id: 'a-1', domain: 'air' as const };
  s.applyDelta(delta(1, inside, outside, air));
  const ch = s.applySnapshot({ type: 'snapshot', seq: 2, full: false, tenant: 'demo', layers: ['noise'], bbox: [9.1, 45.4, 9.3, 45.5], sensors: [], features: [], alerts: [] });
  assert.deepEqual([...s.sensors.keys()], [inside.id]);
  assert.deepEqual(new Set(ch.placed), new Set(['n-far', 'a-1']));
  assert.deepEqual(new Set(ch.sensorIds), new Set(['n-far', 'a-1']));
});
