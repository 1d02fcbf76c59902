// StreamClient speaks the live map's WebSocket protocol (stream/doc.go in
// the Go module): it subscribes, hands every snapshot and delta to its
// owner, resubscribes when asked, and reconnects with exponential backoff
// (0.5 s doubling to 30 s, with jitter) whenever the connection drops. The
// last subscription is sent again on every (re)connect, and the server
// answers it with a full snapshot.

import type { BBox, Delta, ServerMessage, Snapshot } from './types';

export type ConnState = 'connecting' | 'live' | 'reconnecting' | 'offline';

export interface Subscription {
  layers: string[];
  bbox: BBox | null;
  tenant?: string;
}

export interface StreamHandlers {
  snapshot(m: Snapshot): void;
  delta(m: Delta): void;
  state?(s: ConnState, detail: string): void;
}

const MIN_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 30_000;

export class StreamClient {
  private ws?: WebSocket;
  private sub?: Subscription;
  private backoff = MIN_BACKOFF_MS;
  private timer?: number;
  private closed = false;
  state: ConnState = 'connecting';

  constructor(
    private readonly url: string,
    private readonly on: StreamHandlers,
  ) {}

  /** Opens the connection; the subscription is sent once it is open. */
  start(): void {
    this.closed = false;
    this.connect();
  }

  /** Replaces the subscription (sent at once when connected). */
  subscribe(sub: Subscription): void {
    this.sub = sub;
    this.send();
  }

  /**
   * Closes the connection as a network failure would: the client reconnects
   * with its backoff. The browser test uses it to check reconnection.
   */
  drop(): void {
    this.ws?.close(4000, 'dropped by the page');
  }

  /** Closes for good (no reconnect). */
  stop(): void {
    this.closed = true;
    window.clearTimeout(this.timer);
    this.ws?.close(1000, 'bye');
    this.ws = undefined;
  }

  private connect(): void {
    window.clearTimeout(this.timer);
    this.setState(this.state === 'live' || this.state === 'reconnecting' ? 'reconnecting' : 'connecting', 'opening');
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.url);
    } catch (e) {
      this.retry(String(e));
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      this.backoff = MIN_BACKOFF_MS;
      this.setState('live', 'connected');
      this.send();
    };
    ws.onmessage = (ev) => {
      let m: ServerMessage;
      try {
        m = JSON.parse(ev.data as string) as ServerMessage;
      } catch {
        console.warn('citytwin stream: a message that is not JSON was ignored');
        return;
      }
      switch (m.type) {
        case 'snapshot':
          this.on.snapshot(m);
          break;
        case 'delta':
          this.on.delta(m);
          break;
        case 'error':
          console.warn(`citytwin stream: the server refused the subscription: ${m.message}`);
          break;
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      if (this.closed) {
        this.setState('offline', 'closed');
        return;
      }
      this.retry(ev.reason || `closed (${ev.code})`);
    };
    // onerror is always followed by onclose, which retries.
    ws.onerror = () => {};
  }

  private retry(reason: string): void {
    const delay = this.backoff * (0.75 + Math.random() * 0.5);
    this.backoff = Math.min(MAX_BACKOFF_MS, this.backoff * 2);
    this.setState('reconnecting', `${reason}; retrying in ${(delay / 1000).toFixed(1)} s`);
    this.timer = window.setTimeout(() => this.connect(), delay);
  }

  private send(): void {
    if (!this.sub || this.ws?.readyState !== WebSocket.OPEN) return;
    const msg: Record<string, unknown> = { type: 'subscribe', layers: this.sub.layers, bbox: this.sub.bbox };
    if (this.sub.tenant) msg.tenant = this.sub.tenant;
    this.ws.send(JSON.stringify(msg));
  }

  private setState(s: ConnState, detail: string): void {
    this.state = s;
    this.on.state?.(s, detail);
  }
}

/** The WebSocket URL of the stream, relative to the page (works under a path prefix). */
export function streamURL(token?: string | null): string {
  const u = new URL('ws', window.location.href);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  u.search = '';
  u.hash = '';
  if (token) u.searchParams.set('token', token);
  return u.toString();
}
