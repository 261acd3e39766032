// Integration health from GET /api/info (`integrations.<name>` = each integration's status()):
// one line per integration for the settings screen's hub status and the add-device notices.

import { h } from './dom.js';
import { formatTime, loc, t } from './i18n.js';

const KNOWN = ['zsdp', 'ble', 'matter'];

/**
 * @typedef {{name: string, label: string, level: 'ok' | 'warn' | 'off', state: string, detail: string}} Health
 */

/** @param {string} name @param {any} status @returns {Health} */
export function integrationHealth(name, status) {
  const label = KNOWN.includes(name) ? t(`health.name.${name}`) : name;
  const message = loc(status?.message ?? null);
  if (name === 'matter' && status?.configured === false) {
    return { name, label, level: 'off', state: t('health.state.off'), detail: message || t('health.matter_off') };
  }
  if (status?.ok === false) {
    const retry = status?.retry_at ? t('health.retry_at', { time: formatTime(status.retry_at) }) : '';
    const detail = [message || status?.error || t('health.unavailable'), retry].filter(Boolean).join(' ');
    return { name, label, level: 'warn', state: t('health.state.warn'), detail };
  }
  return { name, label, level: 'ok', state: t('health.state.ok'), detail: okDetail(name, status) || message };
}

/** @param {string} name @param {any} status */
function okDetail(name, status) {
  if (typeof status?.devices !== 'number') return '';
  if (name === 'ble' && status?.radio && status.radio !== 'system') {
    return t('health.devices_virtual', { count: status.devices });
  }
  return t('health.devices', { count: status.devices });
}

/** All integrations of an /api/info answer, in a stable order. @param {any} info @returns {Health[]} */
export function healthList(info) {
  const all = info?.integrations ?? {};
  const names = Object.keys(all).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  return names.map((name) => integrationHealth(name, all[name]));
}

/** @param {string} name */
function rank(name) {
  const i = KNOWN.indexOf(name);
  return i < 0 ? KNOWN.length : i;
}

/** A list row: name, a worded badge (never colour alone) and the detail. @param {Health} item */
export function healthRow(item) {
  return h(
    'li',
    { class: `health-row health-${item.level}`, dataset: { integration: item.name, level: item.level } },
    h('span', { class: 'health-name', text: item.label }),
    h('span', { class: `badge ${item.level === 'ok' ? 'badge-ok' : item.level === 'warn' ? 'badge-warn' : ''}`, text: item.state }),
    item.detail ? h('span', { class: 'health-detail muted', text: item.detail }) : null,
  );
}
