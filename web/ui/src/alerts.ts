// AlertsView lists the open alerts of the tenant, newest first, and zooms to
// an alert's feature when one is clicked. It is fed by GET /api/v1/alerts at
// start and then by the alerts layer of the stream. Alerts change often
// (value, peak, sensors): each keeps its list item, updated in place, so
// that the list does not jump under the operator's finger.

import { ago, byId, el, fmt } from './dom';
import type { Alert } from './types';

interface Item {
  li: HTMLLIElement;
  button: HTMLButtonElement;
  sig: string;
  alert: Alert;
}

export class AlertsView {
  private readonly list = byId<HTMLUListElement>('alerts-list');
  private readonly empty = byId('alerts-empty');
  private readonly badge = byId('alert-count');
  private items = new Map<string, Item>();

  constructor(
    private readonly name: (kind: string, id: string) => string,
    private readonly onPick: (a: Alert) => void,
  ) {
    // "since 3 min ago" ages.
    window.setInterval(() => {
      for (const it of this.items.values()) it.sig = '';
      this.render([...this.items.values()].map((i) => i.alert));
    }, 60_000);
  }

  render(alerts: Iterable<Alert>): void {
    const open = [...alerts].filter((a) => a.open);
    open.sort((a, b) => b.start.localeCompare(a.start) || a.id.localeCompare(b.id));
    this.badge.textContent = String(open.length);
    this.badge.dataset.count = String(open.length);
    this.empty.hidden = open.length > 0;

    const next = new Map<string, Item>();
    for (const a of open) {
      const sig = JSON.stringify([a.value, a.peak, a.threshold, a.sensorCount, a.sensors.length]);
      let it = this.items.get(a.id);
      if (!it) {
        const button = this.button(a.id);
        it = { li: el('li', {}, button), button, sig: '', alert: a };
      }
      it.alert = a;
      if (it.sig !== sig) {
        it.sig = sig;
        this.fill(it.button, a);
      }
      next.set(a.id, it);
    }
    for (const [id, it] of this.items) if (!next.has(id)) it.li.remove();
    this.items = next;
    // Move only what is out of place.
    let prev: Element | null = null;
    for (const it of next.values()) {
      const want: Element | null = prev ? prev.nextElementSibling : this.list.firstElementChild;
      if (want !== it.li) this.list.insertBefore(it.li, want);
      prev = it.li;
    }
  }

  private button(id: string): HTMLButtonElement {
    const b = el('button', { type: 'button', class: 'alert' }, el('strong'), el('span'), el('span', { class: 'muted' }));
    b.addEventListener('click', () => {
      const it = this.items.get(id);
      if (it) this.onPick(it.alert);
    });
    return b;
  }

  /** Writes an alert into its button, in place. */
  private fill(b: HTMLButtonElement, a: Alert): void {
    const where = a.featureKind === 'sensor' ? `sensor ${a.featureId}` : `${a.featureKind} ${this.name(a.featureKind, a.featureId)}`;
    b.dataset.rule = a.rule;
    b.dataset.feature = `${a.featureKind}/${a.featureId}`;
    b.dataset.sensors = a.sensors.join(' ');
    b.title = a.title;
    const [what, place, meta] = b.children;
    what.textContent = `${a.attr} ${fmt(a.value, 1)} (limit ${fmt(a.threshold, 2)})`;
    place.textContent = where;
    meta.textContent = `${a.rule} · since ${ago(a.start)} · peak ${fmt(a.peak, 1)} · ${a.sensorCount} sensor${a.sensorCount > 1 ? 's' : ''}`;
  }
}
