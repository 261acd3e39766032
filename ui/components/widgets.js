// One widget per capability property, chosen by the property's type and access:
// rw bool → switch, rw number → slider (or number field), rw enum → segmented/select,
// read-only → a value row; commands without a property → buttons.

import { alertLevel, expectedEffects, stepOf, valueLabel } from '../capabilities.js';
import { runCommand } from '../commands.js';
import { h, uniqueId } from '../dom.js';
import { loc, t } from '../i18n.js';
import { icon } from '../icons.js';
import { store } from '../store.js';

/**
 * @typedef {import('../capabilities.js').CapView} CapView
 * @typedef {import('../capabilities.js').PropView} PropView
 * @typedef {import('../capabilities.js').CommandView} CommandView
 * @typedef {import('../capabilities.js').Setter} Setter
 * @typedef {{deviceId: string, deviceName: string, cap: CapView}} Ctx
 * @typedef {{el: HTMLElement, update: () => void}} Widget
 */

/** Controls are disabled while the view may be stale or the device is offline. */
export function controlsLocked(/** @type {string} */ deviceId) {
  const dev = store.device(deviceId);
  return store.stale || !dev || dev.availability === 'offline';
}

/** @param {Ctx} ctx @param {string} title */
export function accessibleName(ctx, title) {
  const comp = ctx.cap.comp !== 'main' && ctx.cap.compLabel ? `${ctx.cap.compLabel} ` : '';
  return `${ctx.deviceName} ${comp}${title}`.trim();
}

/** @param {PropView} prop */
const titleOf = (prop) => loc(prop.def.title) || prop.name;

/**
 * The value to show: the pending target while a command is in flight, else the reported value.
 * @param {Ctx} ctx @param {PropView} prop
 */
function shownValue(ctx, prop) {
  const pending = store.pendingFor(ctx.deviceId, prop.path);
  return { pending: !!pending, value: pending ? pending.value : store.value(ctx.deviceId, prop.path) };
}

function pendingNote() {
  return h('span', { class: 'pending-note', role: 'status' });
}

/** @param {HTMLElement} note @param {HTMLElement} control @param {boolean} pending */
function showPending(note, control, pending) {
  note.textContent = pending ? t('state.pending') : '';
  note.classList.toggle('is-pending', pending);
  control.setAttribute('aria-busy', pending ? 'true' : 'false');
  control.classList.toggle('pending', pending);
}

/**
 * Send a setter command for a property.
 * @param {Ctx} ctx @param {PropView} prop @param {Setter} setter @param {any} value
 */
function sendSetter(ctx, prop, setter, value) {
  /** @type {Record<string, any>} */
  const args = { [setter.param]: value };
  // Other required parameters that mirror properties (hue + saturation) keep their current values.
  for (const [pname, p] of Object.entries(setter.command.def.params ?? {})) {
    if (pname in args || p.required === false || !p.ref) continue;
    const current = store.value(ctx.deviceId, `${ctx.cap.comp}/${ctx.cap.cap}/${p.ref}`);
    if (current !== undefined) args[pname] = current;
  }
  const expect = expectedEffects(ctx.cap, setter.command, args);
  if (!expect.some((e) => e.path === prop.path)) expect.push({ path: prop.path, value });
  const step = prop.def.type === 'bool' || prop.def.type === 'enum' ? 0 : stepOf(prop.def);
  return runCommand({
    device: ctx.deviceId,
    target: setter.command.target,
    args,
    expect: expect.map((e) => ({ ...e, step })),
    label: accessibleName(ctx, titleOf(prop)),
  });
}

/**
 * An on/off switch for a writable bool (onoff.on, …).
 * @param {Ctx} ctx @param {PropView} prop @param {import('../capabilities.js').BoolCommands} cmds
 * @returns {Widget}
 */
function switchWidget(ctx, prop, cmds) {
  const labelId = uniqueId('lbl');
  const stateText = h('span', { class: 'switch-state' });
  const button = /** @type {HTMLButtonElement} */ (
    h(
      'button',
      { type: 'button', role: 'switch', class: 'switch', 'aria-label': accessibleName(ctx, titleOf(prop)) },
      h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })),
    )
  );
  const note = pendingNote();
  const el = h(
    'div',
    { class: 'widget widget-switch' },
    h('span', { id: labelId, class: 'widget-label', text: titleOf(prop) }),
    h('span', { class: 'widget-control' }, stateText, button),
    note,
  );
  button.addEventListener('click', () => {
    const { value } = shownValue(ctx, prop);
    const next = !(value === true);
    const cmd = next ? cmds.on : cmds.off;
    if (!cmd) return;
    runCommand({
      device: ctx.deviceId,
      target: cmd.target,
      args: {},
      expect: [{ path: prop.path, value: next }],
      label: `${accessibleName(ctx, titleOf(prop))}: ${valueLabel(prop.def, next)}`,
    });
  });
  const update = () => {
    const { pending, value } = shownValue(ctx, prop);
    const on = value === true;
    button.setAttribute('aria-checked', on ? 'true' : 'false');
    stateText.textContent = value === undefined ? '—' : valueLabel(prop.def, on);
    button.disabled = controlsLocked(ctx.deviceId) || (on ? !cmds.off : !cmds.on);
    showPending(note, button, pending);
  };
  update();
  return { el, update };
}

/**
 * A slider for a writable number with a range; a number field when the range is huge or absent.
 * @param {Ctx} ctx @param {PropView} prop @param {Setter} setter
 * @returns {Widget}
 */
function numberWidget(ctx, prop, setter) {
  const def = prop.def;
  const id = uniqueId('num');
  const step = stepOf(def);
  const range = def.range;
  const useSlider = !!range && (range[1] - range[0]) / step <= 500;
  const output = h('output', { class: 'widget-value', for: id });
  const note = pendingNote();
  const name = accessibleName(ctx, titleOf(prop));
  let editing = false;
  /** @type {number | undefined} */
  let timer;

  const input = /** @type {HTMLInputElement} */ (
    h('input', {
      id,
      type: useSlider ? 'range' : 'number',
      class: useSlider ? 'slider' : 'number-input',
      min: range ? range[0] : null,
      max: range ? range[1] : null,
      step,
      'aria-label': name,
    })
  );
  const commit = () => {
    const value = clamp(Number(input.value), def);
    if (Number.isNaN(value)) return;
    editing = false;
    sendSetter(ctx, prop, setter, value);
  };
  const applyButton = useSlider
    ? null
    : h('button', { type: 'button', class: 'button button-small', text: t('action.apply'), onclick: commit, 'aria-label': `${t('action.apply')} ${name}` });
  input.addEventListener('input', () => {
    editing = true;
    const v = Number(input.value);
    output.textContent = valueLabel(def, v);
    input.setAttribute('aria-valuetext', valueLabel(def, v));
  });
  if (useSlider) {
    input.addEventListener('change', () => {
      clearTimeout(timer);
      timer = window.setTimeout(commit, 250);
    });
  } else {
    input.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter') commit();
    });
  }
  input.addEventListener('blur', () => {
    if (!useSlider) editing = false;
  });
  const el = h(
    'div',
    { class: ['widget', useSlider ? 'widget-slider' : 'widget-number'] },
    h('label', { class: 'widget-label', for: id, text: titleOf(prop) }),
    output,
    h('span', { class: 'widget-control' }, input, useSlider ? null : unitText(def.unit), applyButton),
    note,
  );
  const update = () => {
    const { pending, value } = shownValue(ctx, prop);
    if (!editing || pending) {
      if (typeof value === 'number') {
        input.value = String(value);
        input.setAttribute('aria-valuetext', valueLabel(def, value));
      } else if (!useSlider) {
        input.value = '';
      }
      output.textContent = typeof value === 'number' ? valueLabel(def, value) : '—';
    }
    input.disabled = controlsLocked(ctx.deviceId);
    if (applyButton) /** @type {HTMLButtonElement} */ (applyButton).disabled = input.disabled;
    showPending(note, input, pending);
  };
  update();
  return { el, update };
}

/** The unit after a number field ("秒" for seconds). @param {string | null | undefined} unit */
function unitText(unit) {
  if (!unit) return null;
  const key = `unit.symbol.${unit}`;
  const label = t(key);
  return h('span', { class: 'unit', 'aria-hidden': 'true', text: label === key ? unit : label });
}

/** @param {number} v @param {import('../capabilities.js').PropDef} def */
function clamp(v, def) {
  if (!def.range) return def.type === 'int' ? Math.round(v) : v;
  const r = Math.min(def.range[1], Math.max(def.range[0], v));
  return def.type === 'int' ? Math.round(r) : r;
}

/**
 * Radio buttons styled as a segmented control (few values) or a <select> (many).
 * @param {Ctx} ctx @param {PropView} prop @param {Setter} setter
 * @returns {Widget}
 */
function enumWidget(ctx, prop, setter) {
  const values = prop.def.values ?? Object.keys(prop.def.labels ?? {});
  const note = pendingNote();
  const name = accessibleName(ctx, titleOf(prop));
  /** @type {number | undefined} */
  let timer;
  const choose = (/** @type {string} */ value) => {
    clearTimeout(timer);
    timer = window.setTimeout(() => sendSetter(ctx, prop, setter, value), 300);
  };
  if (values.length <= 6) {
    const group = uniqueId('seg');
    const inputs = values.map((v) =>
      /** @type {HTMLInputElement} */ (h('input', { type: 'radio', name: group, value: v, class: 'segment-input', onchange: () => choose(v) })),
    );
    const fieldset = h(
      'fieldset',
      { class: 'segmented', 'aria-label': name },
      h('legend', { class: 'widget-label', text: titleOf(prop) }),
      h(
        'div',
        { class: 'segments' },
        values.map((v, i) => h('label', { class: 'segment' }, inputs[i], h('span', { text: valueLabel(prop.def, v) }))),
      ),
    );
    const el = h('div', { class: 'widget widget-enum' }, fieldset, note);
    const update = () => {
      const { pending, value } = shownValue(ctx, prop);
      const locked = controlsLocked(ctx.deviceId);
      inputs.forEach((input) => {
        input.checked = input.value === value;
        input.disabled = locked;
      });
      showPending(note, fieldset, pending);
    };
    update();
    return { el, update };
  }
  const id = uniqueId('sel');
  const select = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { id, class: 'select', 'aria-label': name, onchange: () => choose(select.value) },
      values.map((v) => h('option', { value: v, text: valueLabel(prop.def, v) })),
    )
  );
  const el = h(
    'div',
    { class: 'widget widget-select' },
    h('label', { class: 'widget-label', for: id, text: titleOf(prop) }),
    h('span', { class: 'widget-control' }, select),
    note,
  );
  const update = () => {
    const { pending, value } = shownValue(ctx, prop);
    if (typeof value === 'string') select.value = value;
    select.disabled = controlsLocked(ctx.deviceId);
    showPending(note, select, pending);
  };
  update();
  return { el, update };
}

/**
 * A read-only value row; warning colours for values the catalogue marks as faults or alarms.
 * @param {Ctx} ctx @param {PropView} prop
 * @returns {Widget}
 */
export function readWidget(ctx, prop) {
  const value = h('span', { class: 'prop-value' });
  const el = h('div', { class: 'widget widget-read' }, h('span', { class: 'widget-label', text: titleOf(prop) }), value);
  const update = () => {
    const { pending, value: v } = shownValue(ctx, prop);
    const level = alertLevel(ctx.cap, prop.name, v);
    value.replaceChildren();
    if (level) value.append(icon('alert', 'icon-small'));
    value.append(valueLabel(prop.def, v));
    if (pending) value.append(h('span', { class: 'pending-note is-pending', text: ` ${t('state.pending')}` }));
    el.classList.toggle('alert-warn', level === 'warn');
    el.classList.toggle('alert-danger', level === 'danger');
    el.dataset.value = String(v);
  };
  update();
  return { el, update };
}

/**
 * A button for a command with no property to set (burner.off, filter_life.reset, …).
 * @param {Ctx} ctx @param {CommandView} cmd
 * @param {{primary?: boolean, iconName?: string, qualify?: boolean}} [opts] `qualify` names the
 *   capability too, for a title that another capability of the component also uses ("消音").
 * @returns {Widget}
 */
export function commandButton(ctx, cmd, opts = {}) {
  const bare = loc(cmd.def.title) || cmd.name;
  const title = opts.qualify ? t('label.qualified', { group: ctx.cap.title, name: bare }) : bare;
  const expect = expectedEffects(ctx.cap, cmd, {});
  const button = /** @type {HTMLButtonElement} */ (
    h(
      'button',
      {
        type: 'button',
        class: ['button', opts.primary ? 'button-primary' : '', 'command-button'],
        'aria-label': accessibleName(ctx, title),
        dataset: { target: cmd.target },
      },
      opts.iconName ? icon(opts.iconName) : null,
      h('span', { text: title }),
    )
  );
  const note = pendingNote();
  button.addEventListener('click', () => {
    runCommand({ device: ctx.deviceId, target: cmd.target, args: {}, expect, label: accessibleName(ctx, title), action: title, announce: true });
  });
  const el = h('div', { class: 'widget widget-command' }, button, note);
  const update = () => {
    const pending = expect.some((e) => store.pendingFor(ctx.deviceId, e.path));
    button.disabled = controlsLocked(ctx.deviceId);
    showPending(note, button, pending);
  };
  update();
  return { el, update };
}

/**
 * The widget for one property, or null for a read-only property without a value (when
 * `skipEmpty`): bounds such as min_kelvin are rarely reported and only add dashes.
 * @param {Ctx} ctx @param {PropView} prop @param {ReturnType<typeof import('../capabilities.js').controlsOf>} controls
 * @param {boolean} skipEmpty
 * @returns {Widget | null}
 */
export function propertyWidget(ctx, prop, controls, skipEmpty) {
  const def = prop.def;
  if (def.access === 'rw') {
    const pair = controls.bools.get(prop.name);
    if (def.type === 'bool' && pair && pair.on && pair.off) return switchWidget(ctx, prop, pair);
    const setter = controls.setters.get(prop.name);
    if (setter && (def.type === 'number' || def.type === 'int')) return numberWidget(ctx, prop, setter);
    if (setter && def.type === 'enum' && (def.values?.length || Object.keys(def.labels ?? {}).length)) {
      return enumWidget(ctx, prop, setter);
    }
  }
  if (skipEmpty && store.value(ctx.deviceId, prop.path) === undefined) return null;
  return readWidget(ctx, prop);
}

