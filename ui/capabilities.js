// Reading a device's capabilities (profile data carried in the device JSON) into what the UI
// renders: properties with their definitions, the command that sets each writable property, and
// the commands left over as buttons. Nothing here knows a product id.

import { formatNumber, loc, t } from './i18n.js';

/**
 * @typedef {{type: string, unit?: string | null, range?: [number, number] | null, step?: number | null,
 *   values?: string[] | null, labels?: Record<string, {zh?: string, en?: string}>, access?: string,
 *   title?: {zh?: string, en?: string} | null}} PropDef
 * @typedef {{type?: string, ref?: string | null, required?: boolean, title?: any}} ParamDef
 * @typedef {{title?: any, params?: Record<string, ParamDef>, confirm?: boolean, privilege?: string,
 *   effects?: Record<string, any>}} CommandDef
 * @typedef {{name: string, path: string, def: PropDef}} PropView
 * @typedef {{name: string, target: string, def: CommandDef}} CommandView
 * @typedef {{comp: string, compLabel: string, cap: string, key: string, title: string,
 *   properties: PropView[], commands: CommandView[], events: Record<string, any>}} CapView
 * @typedef {{command: CommandView, param: string}} Setter
 * @typedef {{on: CommandView | null, off: CommandView | null}} BoolCommands
 */

/** Capabilities a guest never sees (the API hides and refuses them too). */
export const GUEST_HIDDEN = new Set(['lock', 'valve', 'burner', 'gas_detector']);

/** Capabilities shown on the device page only, not on the compact home card. */
const DETAIL_ONLY = new Set(['timer', 'lock_users', 'child_lock', 'appliance_link', 'consumption', 'doorbell']);

/** Property values worth a warning, by capability/property (catalogue names, not products). */
const ALERT_VALUES = /** @type {Record<string, Record<string, 'warn' | 'danger'>>} */ ({
  'lock/lock_state': { jammed: 'danger', not_fully_locked: 'warn', unknown: 'warn' },
  'lock/door_state': { forced_open: 'danger', ajar: 'warn' },
  'burner/flame_protection': { tripped: 'danger', disabled_fault: 'danger' },
  'burner/ignited': { true: 'warn' },
  'gas_detector/gas_detected': { true: 'danger' },
  'gas_detector/sensor_state': { fault: 'danger', end_of_life: 'danger' },
  'filter_life/change': { warning: 'warn', critical: 'danger' },
  'battery/low': { true: 'warn' },
  'fault/active': { true: 'danger' },
  'contact/tampered': { true: 'danger' },
  'heating/state': { fault: 'danger' },
  'operational_state/state': { error: 'danger' },
  'alarm_sounder/sounding': { true: 'danger' },
  'valve/state': { unknown: 'warn' },
});

/** @param {string} nameOrKey "fan@1" or "fan" */
export function capName(nameOrKey) {
  const at = nameOrKey.lastIndexOf('@');
  return at > 0 ? nameOrKey.slice(0, at) : nameOrKey;
}

/**
 * The commands the device's transport can carry, when the hub says so (null = all).
 * @param {any} device
 * @returns {Set<string> | null}
 */
function supportedTargets(device) {
  const byTransport = device.profile?.commands;
  if (!byTransport || Array.isArray(byTransport) || typeof byTransport !== 'object') return null;
  // Bindings are keyed by the protocol ("zsdp"), which is the integration's name; the device's
  // transport may name the carrier ("mdns").
  const list = byTransport[device.transport] ?? byTransport[device.integration];
  return Array.isArray(list) ? new Set(list) : null;
}

/**
 * Every capability of a device, primary component first; hidden ones removed for guests.
 * @param {any} device
 * @param {{role?: string} | null} user
 * @returns {CapView[]}
 */
export function capabilitiesOf(device, user) {
  const profile = device.profile;
  if (!profile || !profile.components) return [];
  const supported = supportedTargets(device);
  const primary = String(profile.ui?.primary ?? '');
  const [primaryComp, primaryCap] = primary.split('/');
  /** @type {CapView[]} */
  const out = [];
  for (const [comp, component] of Object.entries(profile.components)) {
    const c = /** @type {any} */ (component);
    for (const [rawName, capability] of Object.entries(c.capabilities ?? {})) {
      const cap = /** @type {any} */ (capability);
      const name = capName(rawName);
      if (user?.role === 'guest' && GUEST_HIDDEN.has(name)) continue;
      const properties = Object.entries(cap.properties ?? {}).map(([prop, def]) => ({
        name: prop,
        path: `${comp}/${name}/${prop}`,
        def: /** @type {PropDef} */ (def),
      }));
      const commands = Object.entries(cap.commands ?? {})
        .map(([cmd, def]) => ({ name: cmd, target: `${comp}/${name}.${cmd}`, def: /** @type {CommandDef} */ (def) }))
        .filter((cmd) => supported === null || supported.has(cmd.target));
      out.push({
        comp,
        compLabel: loc(c.label),
        cap: name,
        key: cap.key ?? rawName,
        title: loc(cap.title) || name,
        properties,
        commands,
        events: cap.events ?? {},
      });
    }
  }
  const rank = (/** @type {CapView} */ c) =>
    c.comp === primaryComp && c.cap === primaryCap ? 0 : c.comp === primaryComp ? 1 : 2;
  return out
    .map((c, i) => ({ c, i }))
    .sort((a, b) => rank(a.c) - rank(b.c) || a.i - b.i)
    .map(({ c }) => c);
}

/** @param {CapView} cap */
export function isDetailOnly(cap) {
  return DETAIL_ONLY.has(cap.cap);
}

/** @param {CapView} cap @param {string} prop */
function paramsFor(cap, prop) {
  for (const cmd of cap.commands) {
    const effects = cmd.def.effects;
    if (effects && typeof effects[prop] === 'string' && effects[prop].startsWith('$')) {
      return { command: cmd, param: effects[prop].slice(1) };
    }
  }
  for (const cmd of cap.commands) {
    if (cmd.def.effects) continue;
    for (const [pname, p] of Object.entries(cmd.def.params ?? {})) {
      if (p.ref === prop || (p.ref === undefined && pname === prop)) return { command: cmd, param: pname };
    }
  }
  return null;
}

/**
 * How the UI controls each property of one capability, and which commands remain as buttons.
 * @param {CapView} cap
 */
export function controlsOf(cap) {
  /** @type {Map<string, Setter>} */
  const setters = new Map();
  /** @type {Map<string, BoolCommands>} */
  const bools = new Map();
  const used = new Set();
  for (const p of cap.properties) {
    if (p.def.access !== 'rw') continue;
    if (p.def.type === 'bool') {
      /** @type {BoolCommands} */
      const pair = { on: null, off: null };
      for (const cmd of cap.commands) {
        const eff = cmd.def.effects;
        if (eff && eff[p.name] === true) pair.on = cmd;
        else if (eff && eff[p.name] === false) pair.off = cmd;
        else if (!eff && p.name === 'on' && (cmd.name === 'on' || cmd.name === 'off')) pair[cmd.name] = cmd;
      }
      // Only a full on/off pair becomes a switch; an off-only device keeps an "off" button.
      if (pair.on && pair.off) {
        bools.set(p.name, pair);
        used.add(pair.on.name);
        used.add(pair.off.name);
      }
    } else {
      const setter = paramsFor(cap, p.name);
      if (setter) {
        setters.set(p.name, setter);
        used.add(setter.command.name);
      }
    }
  }
  const hasSwitch = [...bools.values()].some((b) => b.on && b.off);
  const buttons = cap.commands.filter((cmd) => {
    if (used.has(cmd.name)) return false;
    if (hasSwitch && cmd.name === 'toggle') return false;
    // A button cannot ask for values: only commands whose parameters are all optional or a PIN.
    return Object.values(cmd.def.params ?? {}).every((p) => p.required === false || p.type === 'secret');
  });
  return { setters, bools, buttons };
}

/**
 * What the device should report after a command (from the catalogue's declared effects).
 * @param {CapView} cap
 * @param {CommandView} cmd
 * @param {Record<string, any>} args
 * @returns {{path: string, value: any}[]}
 */
export function expectedEffects(cap, cmd, args) {
  const out = [];
  for (const [prop, v] of Object.entries(cmd.def.effects ?? {})) {
    const value = typeof v === 'string' && v.startsWith('$') ? args[v.slice(1)] : v;
    if (value !== undefined) out.push({ path: `${cap.comp}/${cap.cap}/${prop}`, value });
  }
  return out;
}

/**
 * Alert level of a value ('warn' | 'danger' | null).
 * @param {CapView} cap @param {string} prop @param {any} value
 */
export function alertLevel(cap, prop, value) {
  const table = ALERT_VALUES[`${cap.cap}/${prop}`];
  if (table && value !== undefined && value !== null) {
    const hit = table[String(value)];
    if (hit) return hit;
  }
  if (cap.cap === 'valve' && prop === 'fault' && Array.isArray(value) && value.length) return 'danger';
  if (cap.cap === 'fault' && prop === 'codes' && Array.isArray(value) && value.length) return 'danger';
  return null;
}

/** @param {PropDef} def @param {any} value */
export function valueLabel(def, value) {
  if (value === undefined || value === null) return '—';
  if (Array.isArray(value)) {
    if (!value.length) return t('value.none');
    return value.map((v) => valueLabel({ ...def, type: 'enum' }, v)).join(t('list.separator'));
  }
  const label = def.labels?.[String(value)];
  if (label) return loc(label);
  if (def.type === 'bool') return value ? t('value.true') : t('value.false');
  if (typeof value === 'number') return formatWithUnit(value, def.unit, digitsOf(def));
  return String(value);
}

/**
 * @param {number} value @param {string | null | undefined} unit
 * @param {number} [digits] fraction digits at most
 */
export function formatWithUnit(value, unit, digits = 1) {
  if (unit === 's') return formatDuration(value);
  if (unit === 'd') return t('unit.days', { n: formatNumber(value, 0) });
  if (unit === 'h') return t('unit.hours', { n: formatNumber(value, 0) });
  const n = formatNumber(value, digits);
  if (!unit) return n;
  if (unit === '%' || unit === '°C') return `${n}${unit}`;
  if (unit === 'deg') return `${n}°`;
  return `${n} ${unit === 'm3' ? 'm³' : unit}`;
}

/** Fraction digits worth showing: none for integers or whole steps, else the step's. @param {PropDef} def */
function digitsOf(def) {
  if (def.type === 'int') return 0;
  const step = def.step ?? (def.range && def.range[1] - def.range[0] >= 20 ? 1 : 0.1);
  if (step >= 1) return 0;
  return Math.min(3, Math.max(0, -Math.floor(Math.log10(step))));
}

/** @param {number} secs */
export function formatDuration(secs) {
  const s = Math.max(0, Math.round(secs));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  if (h) return t('unit.hm', { h, m });
  if (m) return r ? t('unit.ms', { m, s: r }) : t('unit.m', { m });
  return t('unit.s', { s: r });
}

/**
 * A sensible slider step: the property's own, else 1 for short ranges, else a round number.
 * @param {PropDef} def
 */
export function stepOf(def) {
  if (def.step) return def.step;
  if (def.unit === 's' && def.range && def.range[1] - def.range[0] >= 600) return 60;
  const [lo, hi] = def.range ?? [0, 100];
  const span = hi - lo;
  if (span <= 200) return def.type === 'int' || span > 20 ? 1 : 0.5;
  const raw = span / 100;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const nice = [1, 2, 5, 10].map((m) => m * mag).find((v) => v >= raw) ?? raw;
  return nice;
}

/** Values equal enough to count as confirmed (numbers within half a step). */
export function sameValue(/** @type {any} */ a, /** @type {any} */ b, step = 0) {
  if (typeof a === 'number' && typeof b === 'number') return Math.abs(a - b) <= Math.max(step / 2, 1e-6);
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => x === b[i]);
  return a === b;
}

/** The label of an event path comp/cap/event from the device's profile. @param {any} device @param {string} path */
export function eventInfo(device, path) {
  const [comp, capRaw, ev] = path.split('/');
  const component = device?.profile?.components?.[comp];
  const caps = component?.capabilities ?? {};
  const cap = caps[capRaw] ?? caps[`${capRaw}@1`] ?? Object.entries(caps).find(([k]) => capName(k) === capRaw)?.[1];
  const def = cap?.events?.[ev];
  return {
    title: def ? loc(def.title) : ev ?? path,
    priority: def?.priority ?? 'info',
    fields: /** @type {Record<string, any>} */ (def?.fields ?? {}),
    compLabel: loc(component?.label),
  };
}

/**
 * The property definition at comp/cap/prop.
 * @param {any} device @param {string} path
 * @returns {PropDef | null}
 */
export function propDef(device, path) {
  const [comp, capRaw, prop] = path.split('/');
  const caps = device?.profile?.components?.[comp]?.capabilities ?? {};
  const cap = caps[capRaw] ?? Object.entries(caps).find(([k]) => capName(k) === capRaw)?.[1];
  return cap?.properties?.[prop] ?? null;
}

/** Does the device have this capability (in any component)? @param {any} device @param {string} name */
export function hasCapability(device, name) {
  return Object.values(device?.profile?.components ?? {}).some((c) =>
    Object.keys(/** @type {any} */ (c).capabilities ?? {}).some((k) => capName(k) === name),
  );
}
