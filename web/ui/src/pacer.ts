// Pacer decides when the app draws what changed: at most once per
// animation frame, and no more often than the page can afford. Each draw
// (new feature states, texts) makes MapLibre repaint the whole map at the
// next frame; on a fast GPU that costs a few milliseconds, but in software
// WebGL (SwiftShader, or a weak device) one repaint of a city with 20,000
// sensors can take hundreds of milliseconds, and drawing every frame would
// leave no frame for panning, zooming or taps. So after each draw the pacer
// measures what the frames that follow cost beyond the display's own
// interval, and lets ratio times that cost pass before the next draw: the
// page then spends at most 1/(1 + ratio) of its time on live updates, and
// a draw waits at most maxWait. Nothing is lost by waiting: changes gather
// in the store (store.ts) until the draw, which shows the latest of each.
// The frames charged to a draw are the probeFrames after it and, while
// they are still long, the following ones (up to maxProbeFrames): in
// software WebGL the GPU process works behind the page, and a repaint's
// long frame may come two or three frames after the draw that caused it.

/** Time and frame scheduling, injected for the unit tests. */
export interface Clock {
  now(): number;
  frame(cb: (t: number) => void): void;
  after(ms: number, cb: () => void): void;
}

export const browserClock: Clock = {
  now: () => performance.now(),
  frame: (cb) => void window.requestAnimationFrame(cb),
  after: (ms, cb) => void window.setTimeout(cb, ms),
};

export interface PacerOptions {
  /** Time between draws, as a multiple of what a draw costs (default 2). */
  ratio?: number;
  /** Longest wait between a request and its draw, ms (default 1000). */
  maxWait?: number;
  /** Frames after a draw whose cost is charged to it (default 3). */
  probeFrames?: number;
  /** Most frames charged to a draw: after probeFrames, the frames that follow while they are long (default 30). */
  maxProbeFrames?: number;
  clock?: Clock;
}

export class Pacer {
  /** Current least time between two draws, ms. */
  interval = 0;
  /** Smoothed cost of a draw, ms (what its frames took beyond the display's interval). */
  cost = 0;
  private last = -Infinity;
  private scheduled = false;
  /** The display's frame interval, the shortest seen. */
  private frameMs = 1000 / 60;
  private probe?: { start: number; prev: number; frames: number };
  private readonly ratio: number;
  private readonly maxWait: number;
  private readonly probeFrames: number;
  private readonly maxProbeFrames: number;
  private readonly clock: Clock;

  constructor(
    private readonly draw: () => void,
    opts: PacerOptions = {},
  ) {
    this.ratio = opts.ratio ?? 2;
    this.maxWait = opts.maxWait ?? 1000;
    this.probeFrames = opts.probeFrames ?? 3;
    this.maxProbeFrames = Math.max(this.probeFrames, opts.maxProbeFrames ?? 30);
    this.clock = opts.clock ?? browserClock;
    if (!(this.ratio >= 0)) throw new RangeError(`ratio: want a number ≥ 0, got ${opts.ratio}`);
    if (!(this.maxWait >= 0)) throw new RangeError(`maxWait: want a number of ms ≥ 0, got ${opts.maxWait}`);
    if (!(this.probeFrames >= 1)) throw new RangeError(`probeFrames: want a number ≥ 1, got ${opts.probeFrames}`);
  }

  /**
   * Asks for a draw: at the first frame after the pacing interval. While
   * the frames after the previous draw are being measured, the draw waits
   * for the measurement (else requests at every frame would never let one
   * finish, and the interval would stay that of a free draw).
   */
  request(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    if (!this.probe) this.schedule();
  }

  private schedule(): void {
    const wait = this.last + this.interval - this.clock.now();
    if (wait > 1) this.clock.after(wait, () => this.clock.frame(this.run));
    else this.clock.frame(this.run);
  }

  private readonly run = (t: number): void => {
    this.scheduled = false;
    this.last = this.clock.now();
    this.draw();
    const p = { start: t, prev: t, frames: 0 };
    this.probe = p;
    this.clock.frame((t) => this.watch(p, t));
  };

  /** Follows the frames after a draw and charges their excess to it. */
  private watch(p: { start: number; prev: number; frames: number }, t: number): void {
    if (this.probe !== p) return;
    const gap = t - p.prev;
    if (gap > 4) this.frameMs = Math.min(this.frameMs, gap);
    p.prev = t;
    p.frames++;
    // A frame over twice the display's interval is still paying for the
    // draw; the measurement ends by maxWait all the same.
    const long = gap > 2 * this.frameMs && t - p.start < this.maxWait;
    if (p.frames < this.probeFrames || (long && p.frames < this.maxProbeFrames)) {
      this.clock.frame((t) => this.watch(p, t));
      return;
    }
    this.probe = undefined;
    const cost = Math.max(0, t - p.start - p.frames * this.frameMs);
    this.cost = this.cost === 0 ? cost : (this.cost + cost) / 2;
    this.interval = Math.min(this.maxWait, this.ratio * this.cost);
    if (this.scheduled) this.schedule();
  }
}
