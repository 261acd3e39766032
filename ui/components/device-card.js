// <zs-device-card device-id="…" mode="card|full">: a device rendered from its capabilities.
// The structure is built once; pushed state and pending changes only update the widgets.

import { capabilitiesOf, controlsOf, isDetailOnly } from '../capabilities.js';
import { h } from '../dom.js';
import { formatAgo, loc, t } from '../i18n.js';
import { deviceIcon, icon } from '../icons.js';
import { store } from '../store.js';
import { lockPanel } from './lock-panel.js';
import { commandButton, propertyWidget } from './widgets.js';

/** @typedef {import('./widgets.js').Widget} Widget */

/** Commands shown prominently (safety actions). */
const PRIMARY_COMMANDS = new Set(['burner.off', 'valve.close']);

class ZsDeviceCard extends HTMLElement {
  constructor() {
    super();
    /** @type {Widget[]} */
    this.widgets = [];
    /** @type {(() => void)[]} */
    this.offs = [];
    /** @type {string} profile id + role the structure was built for */
    this.builtFor = '';
  }

  static get observedAttributes() {
    return ['device-id', 'mode'];
  }

  get deviceId() {
    return this.getAttribute('device-id') ?? '';
  }

  get full() {
    return this.getAttribute('mode') === 'full';
  }

  connectedCallback() {
    this.build();
    this.offs.push(
      store.on('device', (id) => {
        if (id === this.deviceId) this.refresh();
      }),
      store.on('devices', () => this.refresh()),
      store.on('connection', () => this.refresh()),
    );
  }

  disconnectedCallback() {
    this.offs.forEach((off) => off());
    this.offs = [];
  }

  attributeChangedCallback() {
    if (this.isConnected) this.build();
  }

  refresh() {
    const dev = store.device(this.deviceId);
    const key = dev ? `${dev.profile?.id}|${dev.profile?.version}|${store.user?.role}|${dev.room_id}` : '';
    if (key !== this.builtFor) {
      this.build();
      return;
    }
    this.updateHeader();
    this.widgets.forEach((w) => w.update());
  }

  build() {
    const dev = store.device(this.deviceId);
    this.replaceChildren();
    this.widgets = [];
    this.classList.add('device-card');
    this.classList.toggle('device-card-full', this.full);
    if (!dev) {
      this.builtFor = '';
      this.append(h('p', { class: 'muted', text: t('device.missing') }));
      return;
    }
    this.builtFor = `${dev.profile?.id}|${dev.profile?.version}|${store.user?.role}|${dev.room_id}`;
    const name = loc(dev.name) || dev.id;
    const headingId = `card-${dev.id}`;
    this.setAttribute('role', 'article');
    this.setAttribute('aria-labelledby', headingId);
    this.dataset.deviceId = dev.id;
    this.dataset.category = String(dev.profile?.category ?? '');

    this.availability = h('span', { class: 'availability' });
    // On the device page the page's h1 already names the device; the card names the product.
    const title = this.full
      ? h('h2', { id: headingId, class: 'card-title', text: loc(dev.profile?.name) || name })
      : h('h3', { id: headingId, class: 'card-title' }, h('a', { href: `#/device/${encodeURIComponent(dev.id)}`, class: 'card-link', text: name }));
    this.append(
      h(
        'header',
        { class: 'card-header' },
        h('span', { class: 'card-icon' }, deviceIcon(dev)),
        h('div', { class: 'card-heading' }, title, this.availability),
      ),
    );

    const body = h('div', { class: 'card-body' });
    const caps = capabilitiesOf(dev, store.user);
    if (!caps.length) body.append(h('p', { class: 'muted', text: t('device.no_capabilities') }));
    let lastComp = '';
    const ambiguous = ambiguousTitles(caps);
    const multiComponent = new Set(caps.map((c) => c.comp)).size > 1;
    for (const cap of caps) {
      if (!this.full && isDetailOnly(cap)) continue;
      const ctx = { deviceId: dev.id, deviceName: name, cap };
      const section = h('div', { class: 'cap', dataset: { cap: cap.cap, comp: cap.comp } });
      if (multiComponent && cap.comp !== lastComp) {
        body.append(h('h4', { class: 'comp-title', text: cap.compLabel || cap.comp }));
        lastComp = cap.comp;
      }
      const before = this.widgets.length;
      if (cap.cap === 'lock') {
        const panel = lockPanel(ctx);
        this.widgets.push(panel);
        section.append(panel.el);
        if (this.full) {
          for (const prop of cap.properties) {
            if (prop.name === 'lock_state' || prop.name === 'door_state') continue;
            const w = propertyWidget(ctx, prop, controlsOf(cap), true);
            if (w) {
              this.widgets.push(w);
              section.append(w.el);
            }
          }
        }
      } else {
        const controls = controlsOf(cap);
        for (const prop of cap.properties) {
          const w = propertyWidget(ctx, prop, controls, true);
          if (w) {
            this.widgets.push(w);
            section.append(w.el);
          }
        }
        // Managing a lock's users and the like is for the owner (the hub refuses it to others).
        const allowed = controls.buttons.filter(
          (cmd) => store.user?.role === 'owner' || !cmd.def.privilege || cmd.def.privilege === 'operate',
        );
        const buttons = allowed.map((cmd) =>
          commandButton(ctx, cmd, {
            primary: PRIMARY_COMMANDS.has(`${cap.cap}.${cmd.name}`),
            iconName: cap.cap === 'burner' ? 'flame' : undefined,
            qualify: ambiguous.has(`${cap.comp}|${loc(cmd.def.title)}`),
          }),
        );
        if (buttons.length) {
          this.widgets.push(...buttons);
          section.append(h('div', { class: 'command-row' }, buttons.map((b) => b.el)));
        }
      }
      // A capability heading helps on the device page when it groups several widgets.
      if (this.full && this.widgets.length - before > 1) section.prepend(h('h3', { class: 'cap-title', text: cap.title }));
      if (section.childElementCount) body.append(section);
    }
    this.append(body);
    this.updateHeader();
  }

  updateHeader() {
    const dev = store.device(this.deviceId);
    if (!dev || !this.availability) return;
    const offline = dev.availability === 'offline';
    this.classList.toggle('is-offline', offline);
    this.classList.toggle('is-stale', store.stale);
    this.availability.replaceChildren();
    if (offline) {
      this.availability.append(icon('offline', 'icon-small'), t('device.offline', { ago: formatAgo(dev.last_seen) }));
    } else if (store.stale) {
      this.availability.append(icon('sync', 'icon-small'), t('device.stale'));
    } else if (this.full) {
      this.availability.append(t(`availability.${dev.availability ?? 'unknown'}`));
    }
  }
}

/**
 * Command titles used by more than one capability of a component ("comp|title").
 * @param {import('../capabilities.js').CapView[]} caps
 */
function ambiguousTitles(caps) {
  /** @type {Map<string, number>} */
  const seen = new Map();
  for (const cap of caps) {
    for (const cmd of cap.commands) {
      const key = `${cap.comp}|${loc(cmd.def.title)}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
  }
  return new Set([...seen].filter(([, n]) => n > 1).map(([key]) => key));
}

customElements.define('zs-device-card', ZsDeviceCard);
