// The hub's API as the UI uses it: REST helpers and one WebSocket connection with message ids,
// reconnect with backoff, and a full resubscribe (fresh snapshot) after every reconnect.
// Contract: docs/api.md.

/** @typedef {{zh?: string, en?: string}} LocalText */
/** @typedef {{status: string, code?: string, message?: LocalText, needs?: string | null, duration_ms?: number}} CommandResult */

export class ApiError extends Error {
  /**
   * @param {number} status HTTP status (0 for a network error)
   * @param {string} code
   * @param {LocalText | null} message
   * @param {string | null} needs
   * @param {any} [body]
   */
  constructor(status, code, message, needs, body) {
    super(`${status} ${code}`);
    this.status = status;
    this.code = code;
    this.text = message;
    this.needs = needs;
    this.body = body;
  }
}

/**
 * Call the REST API. Resolves to the parsed JSON body (or null for 204).
 * @param {string} method
 * @param {string} path
 * @param {any} [body]
 * @returns {Promise<any>}
 */
export async function api(method, path, body) {
  /** @type {RequestInit} */
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    /** @type {Record<string, string>} */ (init.headers)['Content-Type'] = 'application/json';
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    throw new ApiError(0, 'network', null, null, String(err));
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const err = data && data.error ? data.error : {};
    const result = data && data.result ? data.result : null; // commands answer 403/504 with a result
    throw new ApiError(
      res.status,
      err.code || (result && result.code) || `http_${res.status}`,
      err.message || (result && result.message) || null,
      err.needs ?? (result && result.needs) ?? null,
      data,
    );
  }
  return data;
}

export const get = (/** @type {string} */ path) => api('GET', path);
export const post = (/** @type {string} */ path, /** @type {any} */ body = {}) => api('POST', path, body);
export const patch = (/** @type {string} */ path, /** @type {any} */ body) => api('PATCH', path, body);
export const del = (/** @type {string} */ path) => api('DELETE', path);

/** @param {string} id */
export const enc = (id) => encodeURIComponent(id);

/**
 * @typedef {'connecting' | 'online' | 'offline'} SocketStatus
 * Events: `status` (detail: SocketStatus), `snapshot` (detail: device[]), `event` (detail: event),
 * `unauthorized`.
 */
export class HubSocket extends EventTarget {
  /** @param {{url?: string, pingEveryMs?: number, pongTimeoutMs?: number}} [opts] */
  constructor(opts = {}) {
    super();
    const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
    this.url = opts.url ?? `${scheme}//${location.host}/api/ws`;
    this.pingEveryMs = opts.pingEveryMs ?? 20000;
    this.pongTimeoutMs = opts.pongTimeoutMs ?? 8000;
    /** @type {WebSocket | null} */
    this.ws = null;
    /** @type {SocketStatus} */
    this.status = 'offline';
    this.nextId = 1;
    /** @type {Map<number, {resolve: (v: any) => void, reject: (e: any) => void, timer: number}>} */
    this.waiting = new Map();
    this.subscriptionId = 0;
    this.attempt = 0;
    this.everConnected = false;
    this.stopped = true;
    /** @type {number | undefined} */
    this.retryTimer = undefined;
    /** @type {number | undefined} */
    this.pingTimer = undefined;
  }

  start() {
    this.stopped = false;
    if (!this.ws) this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.pingTimer);
    if (this.ws) this.ws.close(1000);
    this.ws = null;
    this.setStatus('offline');
  }

  /** Reconnect now (e.g. the page became visible again). */
  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.retryTimer);
    this.attempt = 0;
    if (this.ws) this.ws.close(4000, 'reconnect');
    else this.open();
  }

  /** Ask for a fresh snapshot without reconnecting. */
  async resync() {
    if (this.status === 'online') await this.subscribe();
  }

  /** @param {SocketStatus} status */
  setStatus(status) {
    if (this.status === status) return;
    this.status = status;
    this.dispatchEvent(new CustomEvent('status', { detail: status }));
  }

  open() {
    this.setStatus('connecting');
    const ws = new WebSocket(this.url);
    this.ws = ws;
    let opened = false;
    ws.addEventListener('open', async () => {
      opened = true;
      try {
        await this.subscribe();
      } catch (err) {
        ws.close(4001, 'subscribe failed');
        return;
      }
      this.attempt = 0;
      this.everConnected = true;
      this.setStatus('online');
      this.startPing();
    });
    ws.addEventListener('message', (ev) => this.onMessage(ev.data));
    ws.addEventListener('close', (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      clearInterval(this.pingTimer);
      for (const [, w] of this.waiting) {
        clearTimeout(w.timer);
        w.reject(new Error('connection lost'));
      }
      this.waiting.clear();
      if (this.stopped) return;
      this.setStatus('offline');
      // Never opened, auth refused (4001), signed out elsewhere (4003): maybe the session ended.
      if (!opened || ev.code === 4001 || ev.code === 4003 || ev.code === 1008) {
        this.dispatchEvent(new CustomEvent('maybe-unauthorized'));
      }
      this.scheduleRetry();
    });
  }

  scheduleRetry() {
    this.attempt += 1;
    const base = Math.min(15000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    const delay = base / 2 + Math.random() * (base / 2);
    clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => {
      if (!this.stopped && !this.ws) this.open();
    }, delay);
  }

  startPing() {
    clearInterval(this.pingTimer);
    this.pingTimer = window.setInterval(async () => {
      const ws = this.ws;
      if (!ws) return;
      try {
        await this.request({ type: 'ping' }, this.pongTimeoutMs);
      } catch {
        if (this.ws === ws) ws.close(4002, 'no pong');
      }
    }, this.pingEveryMs);
  }

  async subscribe() {
    const reply = await this.request({ type: 'subscribe' }, 15000, (id) => {
      this.subscriptionId = id;
    });
    if (!reply.success) throw new Error('subscribe refused');
    const devices = reply.result?.snapshot?.devices ?? [];
    this.dispatchEvent(new CustomEvent('snapshot', { detail: devices }));
  }

  /**
   * Send a message with a fresh id and wait for the reply with the same id.
   * @param {Record<string, any>} msg
   * @param {number} [timeoutMs]
   * @param {(id: number) => void} [onId]
   * @returns {Promise<any>}
   */
  request(msg, timeoutMs = 20000, onId) {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) return Promise.reject(new Error('not connected'));
    const id = this.nextId++;
    if (onId) onId(id);
    return new Promise((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error('no reply'));
      }, timeoutMs);
      this.waiting.set(id, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...msg, id }));
    });
  }

  /**
   * Send a device command; resolves to the command result (never rejects for a refusal).
   * @param {string} device
   * @param {string} target
   * @param {Record<string, any>} args
   * @param {{pin?: string, owner_confirmed?: boolean}} [extra]
   * @returns {Promise<CommandResult>}
   */
  async command(device, target, args, extra = {}) {
    const reply = await this.request({ type: 'command', device, target, args, ...extra }, 30000);
    const result = reply.result ?? reply.error ?? {};
    if (!result.status) result.status = reply.success ? 'confirmed' : 'failed';
    return result;
  }

  /** @param {string} scene */
  async runScene(scene) {
    const reply = await this.request({ type: 'run_scene', scene }, 60000);
    return reply;
  }

  /** @param {string} raw */
  onMessage(raw) {
    let msg;
    try {
      msg = JSON.parse(raw);
    } catch {
      return;
    }
    if (msg.type === 'event') {
      if (msg.id === this.subscriptionId || msg.id === undefined) {
        this.dispatchEvent(new CustomEvent('event', { detail: msg.event }));
      }
      return;
    }
    if (msg.type === 'auth_invalid') {
      this.dispatchEvent(new CustomEvent('maybe-unauthorized'));
      return;
    }
    const w = msg.id !== undefined ? this.waiting.get(msg.id) : undefined;
    if (w) {
      this.waiting.delete(msg.id);
      clearTimeout(w.timer);
      w.resolve(msg);
    }
  }
}
