// Unit tests of pacer.ts with a hand-driven clock: draws follow requests at
// the next frame while drawing is cheap, and are spaced ratio × their cost
// once it is not. Run with `npm test`.

import assert from 'node:assert/strict';
import { test } from 'node:test';

import { Pacer, type Clock } from '../../src/pacer';

const F = 1000 / 60;

class FakeClock implements Clock {
  t = 0;
  frames: ((t: number) => void)[] = [];
  timers: { at: number; cb: () => void }[] = [];
  now(): number {
    return this.t;
  }
  frame(cb: (t: number) => void): void {
    this.frames.push(cb);
  }
  after(ms: number, cb: () => void): void {
    this.timers.push({ at: this.t + ms, cb });
  }
  /** Advances to t + dt, fires the timers due, then one frame at that time. */
  tick(dt: number): void {
    this.t += dt;
    for (const x of this.timers.filter((x) => x.at <= this.t)) {
      this.timers.splice(this.timers.indexOf(x), 1);
      x.cb();
    }
    const due = this.frames;
    this.frames = [];
    for (const cb of due) cb(this.t);
  }
}

test('cheap draws: every request is drawn at the next frame', () => {
  const clock = new FakeClock();
  let draws = 0;
  const p = new Pacer(() => draws++, { clock });
  p.request();
  p.request(); // one draw for both
  clock.tick(F);
  assert.equal(draws, 1);
  // The three frames after it come at the display's pace: cost (4F − F) − 3F = 0.
  clock.tick(F);
  clock.tick(F);
  clock.tick(F);
  assert.ok(p.cost < 1e-9, `cost ${p.cost}`); // 0, to rounding
  assert.ok(p.interval < 1e-9, `interval ${p.interval}`);
  p.request();
  clock.tick(F);
  assert.equal(draws, 2);
});

test('costly draws are spaced by ratio × cost, up to maxWait', () => {
  const clock = new FakeClock();
  let draws = 0;
  const p = new Pacer(() => draws++, { clock, ratio: 2, maxWait: 1000 });
  p.request();
  clock.tick(F); // draw at F
  clock.tick(300); // the repaint: the next frame comes 300 ms later
  clock.tick(F);
  clock.tick(F);
  // Three frames took 300 + 2F after the draw; the display needs 3F: cost = 300 − F.
  assert.ok(Math.abs(p.cost - (300 - F)) < 1e-9, `cost ${p.cost}`);
  assert.ok(Math.abs(p.interval - 2 * (300 - F)) < 1e-9, `interval ${p.interval}`);
  // A request now (t = 300 + 3F) waits until F + interval = 600 − F: 300 − 4F more.
  p.request();
  clock.tick(F);
  assert.equal(draws, 1, 'not yet');
  clock.tick(300 - 5 * F - 1);
  assert.equal(draws, 1, 'still not: 1 ms early');
  clock.tick(1);
  assert.equal(draws, 2);

  // A far costlier draw: 3 s → interval capped at 1 s. The smoothed cost is
  // the mean of the previous one and this one.
  clock.tick(3000);
  clock.tick(F);
  clock.tick(F);
  const second = 3000 - F;
  assert.ok(Math.abs(p.cost - (300 - F + second) / 2) < 1e-9, `cost ${p.cost}`);
  assert.equal(p.interval, 1000);
});

test('bad options are refused, naming the option', () => {
  assert.throws(() => new Pacer(() => {}, { ratio: -1 }), /^RangeError: ratio: want a number ≥ 0/);
  assert.throws(() => new Pacer(() => {}, { maxWait: NaN }), /^RangeError: maxWait: /);
  assert.throws(() => new Pacer(() => {}, { probeFrames: 0 }), /^RangeError: probeFrames: /);
});

test('long frames that come after the probe frames are charged to the draw until a frame is short again', () => {
  const clock = new FakeClock();
  let draws = 0;
  const p = new Pacer(() => draws++, { clock, ratio: 2, maxWait: 5000 });
  p.request();
  clock.tick(F); // draw at F
  clock.tick(F);
  clock.tick(F);
  clock.tick(400); // the repaint's long frame, third after the draw
  clock.tick(200); // and its tail
  clock.tick(F); // short again: the probe ends here
  clock.tick(500); // not charged: the probe has ended
  // Five frames, 3F + 600 after the draw; the display needs 5F: cost = 600 − 2F.
  assert.ok(Math.abs(p.cost - (600 - 2 * F)) < 1e-9, `cost ${p.cost}`);
  assert.ok(Math.abs(p.interval - 2 * (600 - 2 * F)) < 1e-9, `interval ${p.interval}`);

  // maxProbeFrames bounds what one draw is charged: 4 frames of 100 ms, then the probe ends.
  const q = new Pacer(() => {}, { clock, ratio: 1, maxWait: 5000, probeFrames: 2, maxProbeFrames: 4 });
  q.request();
  clock.tick(F);
  for (let i = 0; i < 6; i++) clock.tick(100);
  assert.ok(Math.abs(q.cost - (400 - 4 * F)) < 1e-9, `cost ${q.cost}`);
});

test('requests at every frame wait for the measurement of the previous draw, then its interval', () => {
  const clock = new FakeClock();
  const at: number[] = [];
  const p = new Pacer(() => at.push(clock.t), { clock, ratio: 2, maxWait: 1000 });
  // Each draw makes the next frame 300 ms late; a request comes at every frame.
  let lateAfterDraw = false;
  const frame = () => {
    p.request();
    const drew = at.length;
    clock.tick(lateAfterDraw ? 300 : F);
    lateAfterDraw = at.length > drew;
  };
  for (let t = 0; clock.t < 5000; t++) frame();
  // First draw at F; its frames: 300, F, F → cost 300 − F, interval 2 × (300 − F).
  assert.ok(Math.abs(p.cost - (300 - F)) < 1e-6, `cost ${p.cost}`);
  // So draws are at least 3 frames (the measurement) and the interval apart, never at every frame.
  for (let i = 1; i < at.length; i++) assert.ok(at[i] - at[i - 1] >= 2 * (300 - F) - 1e-6, `draws ${at[i - 1]} and ${at[i]}`);
  assert.ok(at.length >= 5, `${at.length} draws in 5 s`);
});
