// <zs-gas-banner>: a gas alarm across the top of every screen, without a reload. Shown on a
// `gas_alarm` device event or a detector reporting gas_detected = true; cleared by `gas_cleared`
// or gas_detected = false. role=alert + aria-live=assertive so screen readers announce it.

import { hasCapability, propDef, valueLabel } from '../capabilities.js';
import { h } from '../dom.js';
import { formatNumber, formatTime, loc, t } from '../i18n.js';
import { icon } from '../icons.js';
import { store } from '../store.js';

class ZsGasBanner extends HTMLElement {
  connectedCallback() {
    this.classList.add('gas-banner');
    this.setAttribute('role', 'alert');
    this.setAttribute('aria-live', 'assertive');
    this.hidden = true;
    this.signature = '';
    this.offs = [
      store.on('gas', () => this.render()),
      store.on('devices', () => this.render()),
      // The shut-off valve usually closes by itself a moment after the alarm.
      store.on('state', (/** @type {{path: string}} */ d) => {
        if (store.gasAlarms.size && /\/valve\/state$/.test(d.path)) this.render();
      }),
    ];
    this.onLang = () => this.render();
    window.addEventListener('zs-language', this.onLang);
    this.render();
  }

  disconnectedCallback() {
    this.offs?.forEach((off) => off());
    if (this.onLang) window.removeEventListener('zs-language', this.onLang);
  }

  render() {
    const alarms = [...store.gasAlarms.values()];
    const signature = JSON.stringify([document.documentElement.lang, alarms, alarms.map((a) => valveText(a.device))]);
    // Re-render only when the text changes, so screen readers announce each change once.
    if (signature === this.signature) return;
    this.signature = signature;
    this.replaceChildren();
    this.hidden = alarms.length === 0;
    document.body.classList.toggle('has-gas-alarm', alarms.length > 0);
    if (!alarms.length) return;
    const items = alarms.map((alarm) => {
      const dev = store.device(alarm.device);
      const room = store.rooms.find((r) => r.id === dev?.room_id);
      const where = [loc(room?.name), loc(dev?.name) || alarm.device].filter(Boolean).join(' · ');
      const parts = [where];
      if (typeof alarm.concentration === 'number') {
        parts.push(t('gas.concentration', { value: formatNumber(alarm.concentration, 1) }));
      }
      const valve = valveText(alarm.device);
      return h(
        'li',
        { class: 'gas-item', dataset: { device: alarm.device } },
        h('span', { text: parts.join(t('list.separator')) }),
        valve ? h('span', { class: 'gas-valve', text: valve }) : null,
        h('span', { class: 'gas-since', text: t('gas.since', { time: formatTime(alarm.since) }) }),
        dev ? h('a', { href: `#/device/${encodeURIComponent(dev.id)}`, class: 'gas-link', text: t('gas.open_device') }) : null,
      );
    });
    this.append(
      h(
        'div',
        { class: 'gas-inner' },
        icon('alert', 'icon-large'),
        h(
          'div',
          { class: 'gas-text' },
          h('p', { class: 'gas-title', text: t('gas.title') }),
          h('ul', { class: 'gas-list' }, items),
          h('p', { class: 'gas-advice', text: t('gas.advice') }),
        ),
      ),
    );
  }
}

/**
 * The state of a shut-off valve on the detector itself, else one in the same room.
 * @param {string} deviceId
 */
function valveText(deviceId) {
  const dev = store.device(deviceId);
  if (!dev) return '';
  const candidates = [dev, ...[...store.devices.values()].filter((d) => d !== dev && d.room_id === dev.room_id && hasCapability(d, 'valve'))];
  for (const d of candidates) {
    for (const [path, st] of Object.entries(d.state ?? {})) {
      if (!/\/valve\/state$/.test(path)) continue;
      const def = propDef(d, path);
      const label = def ? valueLabel(def, st.value) : String(st.value);
      return t('gas.valve', { state: label });
    }
  }
  return '';
}

customElements.define('zs-gas-banner', ZsGasBanner);
