// ReplayControl is the time slider over the last 24 h: 0 is live; any other
// position asks for the map as it was then (GET /api/v1/replay), once the
// slider is released (or after a pause while dragging with keys).

import { byId, dateTimeOf } from './dom';

export class ReplayControl {
  private readonly slider = byId<HTMLInputElement>('replay-slider');
  private readonly out = byId<HTMLOutputElement>('replay-time');
  private readonly live = byId<HTMLButtonElement>('btn-live');
  private timer?: number;

  constructor(private readonly onChange: (at: Date | undefined) => void) {
    this.slider.addEventListener('input', () => {
      this.label();
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => this.commit(), 400);
    });
    this.slider.addEventListener('change', () => {
      window.clearTimeout(this.timer);
      this.commit();
    });
    this.live.addEventListener('click', () => {
      this.slider.value = '0';
      this.label();
      this.commit();
    });
    this.label();
  }

  /** The instant the slider points at, or undefined for live. */
  at(): Date | undefined {
    const min = Number(this.slider.value);
    if (min >= 0) return undefined;
    // Whole minutes, so that repeated requests are equal.
    const now = Math.floor(Date.now() / 60_000) * 60_000;
    return new Date(now + min * 60_000);
  }

  private label(): void {
    const at = this.at();
    this.out.value = at ? dateTimeOf(at) : 'live';
    this.live.hidden = !at;
    document.body.classList.toggle('replaying', !!at);
  }

  private last?: number;
  private commit(): void {
    const at = this.at();
    const key = at?.getTime() ?? 0;
    if (key === this.last) return;
    this.last = key;
    this.onChange(at);
  }
}
