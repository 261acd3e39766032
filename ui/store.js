// Client state: the signed-in user, rooms, devices (from the WebSocket snapshot and pushes),
// the connection, pending commands and active gas alarms. Views subscribe with store.on().

/**
 * @typedef {{value: any, last_changed?: string, last_reported?: string}} StateEntry
 * @typedef {{id: string, name: {zh?: string, en?: string}, room_id: string | null, profile_id?: string,
 *   integration?: string, transport?: string, availability?: string, last_seen?: any,
 *   state: Record<string, StateEntry>, profile: any}} Device
 * @typedef {{id: string, name: {zh?: string, en?: string}, order?: number}} Room
 * @typedef {{id: string, username: string, display_name?: string, role: 'owner'|'member'|'guest',
 *   language?: string, grants?: any}} User
 * @typedef {{device: string, path: string, fields?: Record<string, any>, priority?: string, time?: any}} DeviceEvent
 * @typedef {{device: string, severity?: string, concentration?: number | null, since: number}} GasAlarm
 * @typedef {{value: any, confirmed: boolean, stateSeen: boolean, since: number}} Pending
 */

const GAS_DETECTED = '/gas_detector/gas_detected';
const GAS_ALARM = '/gas_detector/gas_alarm';
const GAS_CLEARED = '/gas_detector/gas_cleared';
const MAX_EVENTS = 30;

class Store extends EventTarget {
  constructor() {
    super();
    /** @type {User | null} */
    this.user = null;
    /** @type {Room[]} */
    this.rooms = [];
    /** @type {Map<string, Device>} */
    this.devices = new Map();
    /** @type {'connecting' | 'online' | 'offline'} */
    this.connection = 'offline';
    this.everConnected = false;
    this.snapshotAt = 0;
    /** @type {Map<string, Pending>} key: device|path */
    this.pending = new Map();
    /** @type {Map<string, DeviceEvent[]>} newest first */
    this.events = new Map();
    /** @type {Map<string, GasAlarm>} */
    this.gasAlarms = new Map();
  }

  /**
   * Listen for one kind of change; returns the unsubscribe function.
   * Kinds: devices, device (detail: id), pending (detail: id), connection, gas, user, rooms,
   * event (detail: DeviceEvent), notification, command_result.
   * @param {string} kind
   * @param {(detail: any) => void} fn
   */
  on(kind, fn) {
    /** @param {Event} ev */
    const listener = (ev) => fn(/** @type {CustomEvent} */ (ev).detail);
    this.addEventListener(kind, listener);
    return () => this.removeEventListener(kind, listener);
  }

  /** @param {string} kind @param {any} [detail] */
  emit(kind, detail) {
    this.dispatchEvent(new CustomEvent(kind, { detail }));
  }

  /** @param {User | null} user */
  setUser(user) {
    this.user = user;
    this.emit('user', user);
  }

  /** @param {Room[]} rooms */
  setRooms(rooms) {
    this.rooms = [...rooms].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
    this.emit('rooms', this.rooms);
  }

  /** @param {'connecting' | 'online' | 'offline'} status */
  setConnection(status) {
    this.connection = status;
    if (status === 'online') this.everConnected = true;
    this.emit('connection', status);
  }

  /** True while the shown state may be out of date. */
  get stale() {
    return this.everConnected && this.connection !== 'online';
  }

  /**
   * Replace every device with a fresh snapshot (after each (re)subscribe).
   * @param {Device[]} devices
   */
  setSnapshot(devices) {
    this.devices = new Map(devices.map((d) => [d.id, normalizeDevice(d)]));
    this.snapshotAt = Date.now();
    for (const key of [...this.gasAlarms.keys()]) {
      if (!this.devices.has(key)) this.gasAlarms.delete(key);
    }
    for (const d of this.devices.values()) this.syncGasFromState(d, null);
    this.emit('devices', this.devices);
    this.emit('gas', this.gasAlarms);
  }

  /** @param {string} id */
  device(id) {
    return this.devices.get(id);
  }

  /**
   * The value at comp/cap/prop (or undefined).
   * @param {string} deviceId
   * @param {string} path
   */
  value(deviceId, path) {
    return this.devices.get(deviceId)?.state?.[path]?.value;
  }

  /**
   * Apply one pushed event from the WebSocket.
   * @param {{type: string, data: any, time?: any}} event
   */
  applyEvent(event) {
    const data = event.data ?? {};
    switch (event.type) {
      case 'state_changed':
        this.applyState(data, event.time);
        break;
      case 'device_event':
        this.applyDeviceEvent({ ...data, time: data.time ?? event.time });
        break;
      case 'availability_changed': {
        const id = data.device ?? data.device_id;
        const dev = this.devices.get(id);
        if (dev) {
          dev.availability = data.new ?? data.availability ?? dev.availability;
          if (data.last_seen !== undefined) dev.last_seen = data.last_seen;
          this.emit('device', id);
        }
        break;
      }
      case 'device_added':
      case 'device_updated': {
        const dev = data.device && typeof data.device === 'object' ? data.device : data;
        if (dev && dev.id) {
          const old = this.devices.get(dev.id);
          this.devices.set(dev.id, normalizeDevice({ ...old, ...dev, state: dev.state ?? old?.state ?? {} }));
          this.emit('devices', this.devices);
        }
        break;
      }
      case 'device_removed': {
        const id = typeof data === 'string' ? data : data.id ?? data.device;
        if (this.devices.delete(id)) {
          this.gasAlarms.delete(id);
          this.emit('devices', this.devices);
          this.emit('gas', this.gasAlarms);
        }
        break;
      }
      case 'notification':
        this.emit('notification', data);
        break;
      case 'command_result':
        this.emit('command_result', data);
        break;
      default:
        break;
    }
  }

  /** @param {any} data @param {any} time */
  applyState(data, time) {
    const id = data.device;
    const dev = this.devices.get(id);
    if (!dev) return;
    const path = relPath(id, data.path);
    if (data.new === null || data.new === undefined) {
      delete dev.state[path];
    } else {
      const n = data.new;
      dev.state[path] = {
        value: n.value,
        last_changed: n.last_changed ?? time,
        last_reported: n.last_reported ?? time,
      };
    }
    const pending = this.pending.get(`${id}|${path}`);
    if (pending) pending.stateSeen = true;
    this.syncGasFromState(dev, path);
    this.emit('device', id);
    this.emit('state', { device: id, path, value: dev.state[path]?.value });
  }

  /** @param {DeviceEvent} ev */
  applyDeviceEvent(ev) {
    const list = this.events.get(ev.device) ?? [];
    list.unshift(ev);
    if (list.length > MAX_EVENTS) list.length = MAX_EVENTS;
    this.events.set(ev.device, list);
    if (ev.path?.endsWith(GAS_ALARM)) {
      const f = ev.fields ?? {};
      this.gasAlarms.set(ev.device, {
        device: ev.device,
        severity: f.severity,
        concentration: f.concentration ?? null,
        since: Date.now(),
      });
      this.emit('gas', this.gasAlarms);
    } else if (ev.path?.endsWith(GAS_CLEARED)) {
      if (this.gasAlarms.delete(ev.device)) this.emit('gas', this.gasAlarms);
    }
    this.emit('event', ev);
  }

  /**
   * Keep gas alarms in line with the detectors' gas_detected state.
   * @param {Device} dev
   * @param {string | null} changed the path that changed, or null for a whole snapshot
   */
  syncGasFromState(dev, changed) {
    if (changed !== null && !changed.endsWith(GAS_DETECTED) && !changed.endsWith('/gas_detector/concentration')) return;
    let detected = null;
    let concentration = null;
    for (const [path, st] of Object.entries(dev.state)) {
      if (path.endsWith(GAS_DETECTED)) detected = st.value === true || (detected ?? false);
      if (path.endsWith('/gas_detector/concentration')) concentration = st.value;
    }
    if (detected === null) return;
    const had = this.gasAlarms.get(dev.id);
    if (detected) {
      this.gasAlarms.set(dev.id, {
        device: dev.id,
        severity: had?.severity,
        concentration: concentration ?? had?.concentration ?? null,
        since: had?.since ?? Date.now(),
      });
    } else {
      this.gasAlarms.delete(dev.id);
    }
    if (changed !== null) this.emit('gas', this.gasAlarms);
  }

  // -- pending commands ------------------------------------------------------------------------
  /** @param {string} device @param {string} path */
  pendingFor(device, path) {
    return this.pending.get(`${device}|${path}`);
  }

  /** @param {string} device @param {string} path @param {any} value */
  setPending(device, path, value) {
    this.pending.set(`${device}|${path}`, { value, confirmed: false, stateSeen: false, since: Date.now() });
    this.emit('pending', device);
    this.emit('device', device);
  }

  /** @param {string} device @param {string} path */
  clearPending(device, path) {
    if (this.pending.delete(`${device}|${path}`)) {
      this.emit('pending', device);
      this.emit('device', device);
    }
  }
}

/**
 * State keys relative to the device: the hub may send "device/comp/cap/prop".
 * @param {string} deviceId
 * @param {string} path
 */
export function relPath(deviceId, path) {
  return path.startsWith(`${deviceId}/`) ? path.slice(deviceId.length + 1) : path;
}

/** @param {any} d @returns {Device} */
function normalizeDevice(d) {
  /** @type {Record<string, StateEntry>} */
  const state = {};
  for (const [k, v] of Object.entries(d.state ?? {})) {
    state[relPath(d.id, k)] = v && typeof v === 'object' && 'value' in v ? v : { value: v };
  }
  return { ...d, state };
}

export const store = new Store();
