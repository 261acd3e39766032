// #/device/<id> — everything about one device: all its capabilities, a state history chart,
// recent events, and (for the owner) name, room and removal.

import { del, enc, get, patch } from '../api.js';
import { capabilitiesOf, eventInfo, valueLabel } from '../capabilities.js';
import { confirmDialog } from '../components/dialogs.js';
import { toast } from '../components/toast-region.js';
import { h, replace, uniqueId } from '../dom.js';
import { formatAgo, formatTime, loc, t } from '../i18n.js';
import { store } from '../store.js';
import { emptyBlock, errorBlock, errorText, field, isOwner, loadingBlock, pageHeader, roomName } from './common.js';

let currentName = '';
export const title = () => currentName || t('device.title');

const RANGES = [
  { id: '1h', ms: 3600e3 },
  { id: '24h', ms: 24 * 3600e3 },
  { id: '7d', ms: 7 * 24 * 3600e3 },
];

/** @param {HTMLElement} main @param {{params: Record<string, string>}} args */
export function render(main, { params }) {
  const id = params.id;
  const header = h('div');
  const body = h('div', { class: 'device-page' });
  main.append(header, body);
  /** @type {(() => void)[]} */
  const offs = [];
  let built = false;

  const drawHeader = () => {
    const dev = store.device(id);
    currentName = dev ? loc(dev.name) || dev.id : id;
    const back = dev?.room_id ? { href: `#/room/${enc(dev.room_id)}`, label: roomName(dev.room_id) } : { href: '#/', label: t('nav.home') };
    replace(header, pageHeader(currentName, { back }));
  };

  const build = () => {
    const dev = store.device(id);
    drawHeader();
    if (!dev) {
      replace(body, store.everConnected ? emptyBlock(t('device.missing')) : loadingBlock());
      built = false;
      return;
    }
    if (built) return;
    built = true;
    replace(
      body,
      h('div', { class: 'device-main' }, h('zs-device-card', { 'device-id': id, mode: 'full' })),
      h('div', { class: 'device-side' }, historySection(id, offs), eventsSection(id, offs), infoSection(id), isOwner() ? ownerSection(id) : null),
    );
  };
  build();
  offs.push(store.on('devices', build), store.on('rooms', drawHeader));
  return () => offs.forEach((off) => off());
}

/** @param {string} id */
function infoSection(id) {
  const dev = /** @type {any} */ (store.device(id));
  const p = dev.profile ?? {};
  /** @type {[string, string][]} */
  const rows = [
    [t('device.room'), roomName(dev.room_id)],
    [t('device.product'), loc(p.name) || dev.profile_id || '—'],
    [t('device.manufacturer'), loc(p.manufacturer?.name) || '—'],
    [t('device.model'), p.model || '—'],
    [t('device.transport'), t(`transport.${dev.transport}`) === `transport.${dev.transport}` ? String(dev.transport ?? '—') : t(`transport.${dev.transport}`)],
    [t('device.availability'), t(`availability.${dev.availability ?? 'unknown'}`)],
    [t('device.last_seen'), dev.last_seen ? formatAgo(dev.last_seen) : t('time.never')],
  ];
  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'info-title' },
    h('h2', { id: 'info-title', class: 'panel-title', text: t('device.info') }),
    h('dl', { class: 'info-list' }, rows.map(([k, v]) => [h('dt', { text: k }), h('dd', { text: v })])),
  );
}

/** Properties worth charting: numbers, bools and enums (not sets, strings or secrets). @param {string} id */
function chartable(id) {
  const dev = store.device(id);
  const out = [];
  const primary = String(dev?.profile?.ui?.primary ?? '');
  for (const cap of capabilitiesOf(dev, store.user)) {
    for (const prop of cap.properties) {
      if (!['number', 'int', 'bool', 'enum'].includes(prop.def.type)) continue;
      const label = `${cap.compLabel && cap.comp !== 'main' ? `${cap.compLabel} · ` : ''}${loc(prop.def.title) || prop.name}`;
      out.push({
        path: prop.path,
        def: prop.def,
        label,
        primary: primary === `${cap.comp}/${cap.cap}`,
        hasValue: store.value(id, prop.path) !== undefined,
      });
    }
  }
  // Default: a reported value of the profile's primary capability (listed first), else a number.
  const score = (/** @type {any} */ o) =>
    (o.hasValue ? 0 : 2) + (o.primary || o.def.type === 'number' || o.def.type === 'int' ? 0 : 1);
  return out.map((o, i) => ({ o, i })).sort((a, b) => score(a.o) - score(b.o) || a.i - b.i).map(({ o }) => o);
}

/** @param {string} id @param {(() => void)[]} offs cleanup list of the view */
function historySection(id, offs) {
  const options = chartable(id);
  const chart = /** @type {any} */ (h('zs-history-chart'));
  const status = h('div', { class: 'chart-status' });
  const section = h('section', { class: 'card panel', 'aria-labelledby': 'history-title' }, h('h2', { id: 'history-title', class: 'panel-title', text: t('history.title') }));
  if (!options.length) {
    section.append(emptyBlock(t('history.none')));
    return section;
  }
  const propField = field(
    t('history.property'),
    { class: 'select', name: 'path' },
    { tag: 'select', children: options.map((o) => h('option', { value: o.path, text: o.label })) },
  );
  const rangeId = uniqueId('range');
  const rangeSelect = /** @type {HTMLSelectElement} */ (
    h('select', { id: rangeId, class: 'select', name: 'range' }, RANGES.map((r) => h('option', { value: r.id, text: t(`history.range.${r.id}`), selected: r.id === '24h' })))
  );
  /** @type {[any, any][]} */
  let points = [];
  let since = 0;
  let seq = 0;
  const current = () => options.find((o) => o.path === propField.input.value) ?? options[0];
  const load = async () => {
    const opt = current();
    const range = RANGES.find((r) => r.id === rangeSelect.value) ?? RANGES[1];
    since = Date.now() - range.ms;
    const mine = ++seq;
    replace(status, loadingBlock());
    try {
      const q = new URLSearchParams({ path: opt.path, since: new Date(since).toISOString(), limit: '2000' });
      const data = await get(`/api/devices/${enc(id)}/history?${q}`);
      if (mine !== seq) return;
      points = Array.isArray(data?.points) ? data.points : [];
      replace(status);
    } catch (err) {
      if (mine !== seq) return;
      points = [];
      replace(status, errorBlock(errorText(err)));
    }
    chart.setData({ points, def: opt.def, label: opt.label, since });
  };
  propField.input.addEventListener('change', load);
  rangeSelect.addEventListener('change', load);
  section.append(
    h('div', { class: 'chart-controls' }, propField.el, h('div', { class: 'field' }, h('label', { for: rangeId, class: 'field-label', text: t('history.range') }), rangeSelect)),
    status,
    chart,
  );
  const off = store.on('state', (/** @type {any} */ d) => {
    if (d.device !== id || d.path !== current().path || d.value === undefined) return;
    points = [...points, [Date.now(), d.value]];
    chart.setData({ points, def: current().def, label: current().label, since });
  });
  offs.push(off);
  queueMicrotask(load);
  return section;
}

/** @param {string} id @param {(() => void)[]} offs cleanup list of the view */
function eventsSection(id, offs) {
  const list = h('ol', { class: 'event-list' });
  const section = h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'events-title' },
    h('h2', { id: 'events-title', class: 'panel-title', text: t('events.title') }),
    list,
  );
  /** @type {any[]} */
  let events = [];
  const draw = () => {
    const dev = store.device(id);
    if (!events.length) {
      replace(list, h('li', { class: 'muted', text: t('events.none') }));
      return;
    }
    replace(
      list,
      events.slice(0, 30).map((ev) => {
        const info = eventInfo(dev, ev.path ?? '');
        const fields = Object.entries(ev.fields ?? {})
          .filter(([, v]) => v !== null && v !== undefined && v !== '')
          .map(([k, v]) => {
            const fdef = info.fields[k];
            return `${fdef ? loc(fdef.title) : k}: ${fdef ? valueLabel(fdef, v) : String(v)}`;
          });
        const priority = ev.priority ?? info.priority;
        return h(
          'li',
          { class: ['event', `event-${priority}`] },
          h('time', { class: 'event-time', text: formatTime(ev.time, { date: true }) }),
          h('span', { class: 'event-title', text: info.compLabel && !/^main\//.test(ev.path ?? '') ? `${info.compLabel} · ${info.title}` : info.title }),
          fields.length ? h('span', { class: 'event-fields', text: fields.join(t('list.separator')) }) : null,
        );
      }),
    );
  };
  replace(list, h('li', {}, loadingBlock()));
  get(`/api/devices/${enc(id)}/events?limit=30`)
    .then((data) => {
      const fetched = Array.isArray(data) ? data : data?.events ?? [];
      const pushed = store.events.get(id) ?? [];
      const seen = new Set(fetched.map((/** @type {any} */ e) => `${e.path}|${e.time}`));
      events = [...pushed.filter((e) => !seen.has(`${e.path}|${e.time}`)), ...fetched];
      draw();
    })
    .catch((err) => replace(list, h('li', {}, errorBlock(errorText(err)))));
  const off = store.on('event', (/** @type {any} */ ev) => {
    if (ev.device !== id) return;
    events = [ev, ...events];
    draw();
  });
  offs.push(off);
  return section;
}

/** @param {string} id */
function ownerSection(id) {
  const dev = /** @type {any} */ (store.device(id));
  const zh = field(t('device.name_zh'), { value: dev.name?.zh ?? '', lang: 'zh-CN', required: true });
  const en = field(t('device.name_en'), { value: dev.name?.en ?? '', lang: 'en', required: true });
  const room = field(
    t('device.room'),
    { class: 'select' },
    {
      tag: 'select',
      children: [
        h('option', { value: '', text: t('room.unassigned') }),
        ...store.rooms.map((r) => h('option', { value: r.id, text: loc(r.name), selected: r.id === dev.room_id })),
      ],
    },
  );
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'card panel', 'aria-labelledby': 'edit-title', novalidate: true },
    h('h2', { id: 'edit-title', class: 'panel-title', text: t('device.edit') }),
    zh.el,
    en.el,
    room.el,
    error,
    h(
      'div',
      { class: 'form-actions' },
      h('button', { type: 'submit', class: 'button button-primary', text: t('action.save') }),
      h('button', { type: 'button', class: 'button button-danger', text: t('device.remove'), onclick: () => removeDevice(id) }),
    ),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    if (!zh.input.value.trim() || !en.input.value.trim()) {
      error.textContent = t('device.name_required');
      return;
    }
    try {
      const updated = await patch(`/api/devices/${enc(id)}`, {
        name: { zh: zh.input.value.trim(), en: en.input.value.trim() },
        room_id: room.input.value || null,
      });
      const d = store.device(id);
      if (d && updated) Object.assign(d, { name: updated.name ?? d.name, room_id: updated.room_id ?? null });
      store.emit('devices', store.devices);
      toast(t('device.saved'), 'success');
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  return form;
}

/** @param {string} id */
async function removeDevice(id) {
  const dev = store.device(id);
  const ok = await confirmDialog({
    title: t('device.remove_title', { name: loc(dev?.name) || id }),
    description: t('device.remove_description'),
    confirmLabel: t('device.remove'),
    danger: true,
  });
  if (!ok) return;
  try {
    await del(`/api/devices/${enc(id)}`);
    store.devices.delete(id);
    store.emit('devices', store.devices);
    toast(t('device.removed'), 'success');
    location.hash = '#/';
  } catch (err) {
    toast(errorText(err), 'error');
  }
}
