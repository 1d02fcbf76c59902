// StatusBar shows the connection state, the rate of sensor readings
// received (items in deltas, which the server coalesces per sensor every
// flush), the number of sensors held and the time of the last update.
// Readings are only counted as they come; their texts change when the app
// draws (render), with the map, so that a delta never repaints the page by
// itself.

import { byId, timeOf } from './dom';
import type { ConnState } from './stream';

const LABELS: Record<ConnState, string> = {
  connecting: 'connecting…',
  live: 'live',
  reconnecting: 'reconnecting…',
  offline: 'offline',
};

export class StatusBar {
  private readonly conn = byId('st-conn');
  private readonly rate = byId('st-rate');
  private readonly sensors = byId('st-sensors');
  private readonly last = byId('st-last');
  private readonly window: [number, number][] = [];
  private replaying?: Date;
  private lastUpdate?: Date;
  private rateText = '';
  private lastText = '';
  private sensorsText = '';

  /** changed asks the app for a draw (render) when a text has to change. */
  constructor(private readonly changed: () => void) {
    window.setInterval(() => this.tick(), 1000);
  }

  setConn(s: ConnState, detail: string): void {
    this.conn.dataset.state = this.replaying ? 'replay' : s;
    this.conn.dataset.conn = s;
    this.conn.textContent = this.replaying ? `replay ${timeOf(this.replaying)}` : LABELS[s];
    this.conn.title = detail;
  }

  setReplay(at: Date | undefined): void {
    this.replaying = at;
    this.setConn((this.conn.dataset.conn as ConnState) ?? 'connecting', this.conn.title);
  }

  readings(n: number): void {
    if (n <= 0) return;
    this.window.push([performance.now(), n]);
    this.lastUpdate = new Date();
  }

  setSensors(n: number, stale: number): void {
    const text = `${n} sensor${n === 1 ? '' : 's'}${stale ? ` (${stale} stale)` : ''}`;
    if (text !== this.sensorsText) this.sensors.textContent = this.sensorsText = text;
  }

  /** Writes the texts that changed since the last render. */
  render(): void {
    if (this.rate.textContent !== this.rateText) this.rate.textContent = this.rateText;
    const last = this.lastUpdate ? `updated ${timeOf(this.lastUpdate)}` : '';
    if (last && last !== this.lastText) this.last.textContent = this.lastText = last;
  }

  private tick(): void {
    const now = performance.now();
    while (this.window.length && now - this.window[0][0] > 10_000) this.window.shift();
    const total = this.window.reduce((s, [, n]) => s + n, 0);
    const text = `${(total / 10).toFixed(1)} readings/s`;
    if (text !== this.rateText || (this.lastUpdate && `updated ${timeOf(this.lastUpdate)}` !== this.lastText)) {
      this.rateText = text;
      this.changed();
    }
  }
}
