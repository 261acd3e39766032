// The lock capability as a panel: lock and door state confirmed by the device, jam and tamper
// warnings, one-tap lock, and unlock with the PIN step-up (asked for by commands.js when the
// hub answers that a PIN is needed).

import { get, enc } from '../api.js';
import { expectedEffects, valueLabel } from '../capabilities.js';
import { runCommand } from '../commands.js';
import { h } from '../dom.js';
import { formatTime, loc, t, toMillis } from '../i18n.js';
import { icon } from '../icons.js';
import { store } from '../store.js';
import { accessibleName, controlsLocked } from './widgets.js';

/** @typedef {import('./widgets.js').Ctx} Ctx @typedef {import('./widgets.js').Widget} Widget */

const ALARM_WINDOW_MS = 24 * 3600 * 1000;
const DISMISSED_KEY = 'zshub.dismissed-lock-alarms';
/** @type {Set<string>} devices whose recent events were fetched this page load */
const seeded = new Set();

/** @returns {string[]} */
function dismissed() {
  try {
    return JSON.parse(sessionStorage.getItem(DISMISSED_KEY) ?? '[]');
  } catch {
    return [];
  }
}

/** @param {string} key */
function dismiss(key) {
  try {
    sessionStorage.setItem(DISMISSED_KEY, JSON.stringify([...dismissed(), key].slice(-50)));
  } catch {
    /* ignore */
  }
}

/** @param {string} deviceId */
async function seedEvents(deviceId) {
  if (seeded.has(deviceId)) return;
  seeded.add(deviceId);
  try {
    const data = await get(`/api/devices/${enc(deviceId)}/events?limit=20`);
    const list = Array.isArray(data) ? data : data?.events ?? [];
    const known = store.events.get(deviceId) ?? [];
    if (!known.length) {
      store.events.set(deviceId, list.map((/** @type {any} */ e) => ({ device: deviceId, ...e })));
      store.emit('device', deviceId);
    }
  } catch {
    /* events are a nice-to-have on the card */
  }
}

/**
 * @param {Ctx} ctx
 * @returns {Widget}
 */
export function lockPanel(ctx) {
  const cap = ctx.cap;
  const props = Object.fromEntries(cap.properties.map((p) => [p.name, p]));
  const lockCmd = cap.commands.find((c) => c.name === 'lock');
  const unlockCmd = cap.commands.find((c) => c.name === 'unlock');
  const lockPath = `${cap.comp}/${cap.cap}/lock_state`;
  const doorPath = `${cap.comp}/${cap.cap}/door_state`;

  const stateIcon = h('span', { class: 'lock-icon' });
  const stateText = h('span', { class: 'lock-state-text' });
  const doorText = h('span', { class: 'lock-door-text' });
  const warnings = h('div', { class: 'lock-warnings' });
  const note = h('span', { class: 'pending-note', role: 'status' });

  /** @param {import('../capabilities.js').CommandView | undefined} cmd @param {string} iconName @param {boolean} primary */
  const makeButton = (cmd, iconName, primary) => {
    if (!cmd) return null;
    const title = loc(cmd.def.title) || cmd.name;
    const button = /** @type {HTMLButtonElement} */ (
      h(
        'button',
        {
          type: 'button',
          class: ['button', primary ? 'button-primary' : '', 'lock-button'],
          'aria-label': accessibleName(ctx, title),
          dataset: { target: cmd.target },
        },
        icon(iconName),
        h('span', { text: title }),
      )
    );
    // aria-disabled instead of disabled: a button that keeps focus while the command is pending,
    // so the PIN dialog can hand focus back to it and keyboard users do not lose their place.
    button.addEventListener('click', () => {
      if (button.getAttribute('aria-disabled') === 'true') return;
      runCommand({
        device: ctx.deviceId,
        target: cmd.target,
        args: {},
        expect: expectations(cap, cmd, lockPath),
        label: accessibleName(ctx, title),
        action: title,
        announce: true,
      });
    });
    return button;
  };
  const lockButton = makeButton(lockCmd, 'lock', false);
  const unlockButton = makeButton(unlockCmd, 'unlock', true);

  const el = h(
    'div',
    { class: 'lock-panel' },
    h('div', { class: 'lock-status' }, stateIcon, h('div', { class: 'lock-texts' }, stateText, doorText)),
    warnings,
    h('div', { class: 'lock-actions' }, lockButton, unlockButton),
    note,
  );

  const update = () => {
    const pendingLock = store.pendingFor(ctx.deviceId, lockPath);
    const lockState = pendingLock ? pendingLock.value : store.value(ctx.deviceId, lockPath);
    const doorState = store.value(ctx.deviceId, doorPath);
    stateIcon.replaceChildren(icon(lockState === 'unlocked' ? 'unlock' : 'lock', 'icon-large'));
    el.dataset.lockState = String(lockState ?? 'unknown');
    stateText.textContent = props.lock_state ? valueLabel(props.lock_state.def, lockState) : '—';
    doorText.textContent =
      props.door_state && doorState !== undefined
        ? t('label.value', { label: loc(props.door_state.def.title), value: valueLabel(props.door_state.def, doorState) })
        : '';
    note.textContent = pendingLock ? t('state.pending') : '';
    note.classList.toggle('is-pending', !!pendingLock);
    el.setAttribute('aria-busy', pendingLock ? 'true' : 'false');

    warnings.replaceChildren();
    /** @param {string} text @param {string} [key] */
    const warn = (text, key) => {
      const row = h('p', { class: 'warning warning-danger' }, icon('alert', 'icon-small'), h('span', { text }));
      if (key) {
        row.append(
          h('button', {
            type: 'button',
            class: 'link-button',
            text: t('action.dismiss'),
            'aria-label': `${t('action.dismiss')}: ${text}`,
            onclick: () => {
              dismiss(key);
              update();
            },
          }),
        );
      }
      warnings.append(row);
    };
    if (lockState === 'jammed') warn(t('lock.jammed'));
    if (doorState === 'forced_open') warn(t('lock.forced_open'));
    const alarm = latestAlarm(ctx.deviceId, `${cap.comp}/${cap.cap}/lock_alarm`);
    if (alarm) {
      const codeDef = cap.events?.lock_alarm?.fields?.code;
      const label = codeDef ? valueLabel(codeDef, alarm.fields?.code) : String(alarm.fields?.code ?? '');
      warn(t('lock.alarm', { alarm: label, time: formatTime(alarm.time) }), alarmKey(ctx.deviceId, alarm));
    }
    const locked = controlsLocked(ctx.deviceId);
    const busy = !!pendingLock;
    setDisabled(lockButton, locked || busy || lockState === 'locked');
    setDisabled(unlockButton, locked || busy || lockState === 'unlocked');
  };
  seedEvents(ctx.deviceId);
  update();
  return { el, update };
}

/**
 * What the lock must report after the command: the catalogue's declared effect, or lock@1's
 * meaning (lock → locked, unlock → unlocked) when the hub does not send effects.
 * @param {import('../capabilities.js').CapView} cap
 * @param {import('../capabilities.js').CommandView} cmd
 * @param {string} lockPath
 */
function expectations(cap, cmd, lockPath) {
  const declared = expectedEffects(cap, cmd, {});
  if (declared.length) return declared;
  return [{ path: lockPath, value: cmd.name === 'unlock' ? 'unlocked' : 'locked' }];
}

/** @param {HTMLButtonElement | null} button @param {boolean} off */
function setDisabled(button, off) {
  if (!button) return;
  button.setAttribute('aria-disabled', off ? 'true' : 'false');
  button.classList.toggle('is-disabled', off);
}

/** @param {string} deviceId @param {any} ev */
function alarmKey(deviceId, ev) {
  return `${deviceId}|${ev.time ?? ''}|${ev.fields?.code ?? ''}`;
}

/**
 * The newest lock alarm of the last day that the user has not dismissed.
 * @param {string} deviceId @param {string} path
 */
function latestAlarm(deviceId, path) {
  const list = store.events.get(deviceId) ?? [];
  const gone = new Set(dismissed());
  for (const ev of list) {
    if (ev.path !== path) continue;
    const ms = toMillis(ev.time);
    if (!Number.isNaN(ms) && Date.now() - ms > ALARM_WINDOW_MS) return null;
    if (gone.has(alarmKey(deviceId, ev))) return null;
    return ev;
  }
  return null;
}
