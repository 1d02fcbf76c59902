// Chart draws time series with uPlot: one or more series aligned on their
// times (uPlot.join), dashed horizontal lines for thresholds, and an
// optional vertical marker (the replayed instant). It resizes with its
// container and records the number of points drawn in data-points.

import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

import type { Series } from './api';

export interface Threshold {
  value: number;
  label: string;
  color: string;
}

const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#8c564b', '#17becf', '#7f7f7f'];

export class Chart {
  private plot?: uPlot;
  private readonly resize = new ResizeObserver(() => this.fit());

  constructor(private readonly el: HTMLElement) {
    this.resize.observe(el);
  }

  clear(message = ''): void {
    this.plot?.destroy();
    this.plot = undefined;
    this.el.textContent = message;
    this.el.dataset.points = '0';
  }

  show(series: (Series & { label: string })[], opts: { unit: string; thresholds?: Threshold[]; marker?: number }): void {
    this.plot?.destroy();
    this.el.textContent = '';
    const points = series.reduce((n, s) => n + s.values.filter((v) => v !== null).length, 0);
    this.el.dataset.points = String(points);
    if (points === 0) {
      this.el.textContent = 'No stored value in the last 24 h.';
      this.plot = undefined;
      return;
    }
    const data = uPlot.join(series.map((s) => [s.times, s.values] as uPlot.AlignedData));
    const thresholds = opts.thresholds ?? [];
    const marker = opts.marker;
    this.plot = new uPlot(
      {
        width: Math.max(200, this.el.clientWidth),
        height: 180,
        legend: { show: series.length > 1 },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        series: [
          {},
          ...series.map((s, i) => ({
            label: s.label,
            stroke: PALETTE[i % PALETTE.length],
            width: 1.5,
            spanGaps: false,
            points: { show: s.values.length < 3 },
          })),
        ],
        axes: [{ stroke: '#555' }, { stroke: '#555', label: opts.unit, size: 52 }],
        hooks: {
          draw: [
            (u: uPlot) => {
              const ctx = u.ctx;
              ctx.save();
              ctx.textAlign = 'left';
              ctx.textBaseline = 'bottom';
              ctx.setLineDash([6, 4]);
              ctx.lineWidth = 1;
              for (const t of thresholds) {
                const y = u.valToPos(t.value, 'y', true);
                if (y < u.bbox.top || y > u.bbox.top + u.bbox.height) continue;
                ctx.strokeStyle = t.color;
                ctx.beginPath();
                ctx.moveTo(u.bbox.left, y);
                ctx.lineTo(u.bbox.left + u.bbox.width, y);
                ctx.stroke();
                ctx.fillStyle = t.color;
                ctx.font = `${11 * devicePixelRatio}px system-ui, sans-serif`;
                ctx.fillText(t.label, u.bbox.left + 4 * devicePixelRatio, y - 2 * devicePixelRatio);
              }
              if (marker !== undefined) {
                const x = u.valToPos(marker, 'x', true);
                ctx.setLineDash([]);
                ctx.strokeStyle = '#1f3a5f';
                ctx.lineWidth = 2;
                ctx.beginPath();
                ctx.moveTo(x, u.bbox.top);
                ctx.lineTo(x, u.bbox.top + u.bbox.height);
                ctx.stroke();
              }
              ctx.restore();
            },
          ],
        },
      },
      data,
      this.el,
    );
  }

  private fit(): void {
    if (this.plot && this.el.clientWidth > 0) this.plot.setSize({ width: this.el.clientWidth, height: 180 });
  }
}
