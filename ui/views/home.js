// #/ — the home by room: one section per room, a card per device rendered from capabilities.

import { h, replace } from '../dom.js';
import { loc, t } from '../i18n.js';
import { store } from '../store.js';
import { emptyBlock, loadingBlock, pageHeader, roomName } from './common.js';

export const title = () => t('home.title');

/**
 * Device cards grouped by room (rooms in their order; devices without a room last).
 * @param {string | null} onlyRoom
 */
export function roomSections(onlyRoom) {
  const devices = [...store.devices.values()].sort((a, b) => loc(a.name).localeCompare(loc(b.name), 'zh-CN'));
  const roomIds = [...store.rooms.map((r) => r.id), null];
  const extra = new Set(devices.map((d) => d.room_id).filter((id) => id && !roomIds.includes(id)));
  const sections = [];
  for (const roomId of [...roomIds.slice(0, -1), ...extra, null]) {
    if (onlyRoom !== null && roomId !== onlyRoom) continue;
    const list = devices.filter((d) => (d.room_id ?? null) === roomId);
    if (!list.length) continue;
    const headingId = `room-${roomId ?? 'none'}`;
    sections.push(
      h(
        'section',
        { class: 'room', 'aria-labelledby': headingId, dataset: { room: roomId ?? '' } },
        onlyRoom === null
          ? h(
              'h2',
              { id: headingId, class: 'room-title' },
              roomId ? h('a', { href: `#/room/${encodeURIComponent(roomId)}`, text: roomName(roomId) }) : roomName(roomId),
              h('span', { class: 'room-count', text: t('home.device_count', { n: list.length }) }),
            )
          : h('h2', { id: headingId, class: 'visually-hidden', text: roomName(roomId) }),
        h(
          'div',
          { class: 'card-grid' },
          list.map((d) => h('zs-device-card', { 'device-id': d.id })),
        ),
      ),
    );
  }
  return sections;
}

/** Signature of what the list shows: rebuild only when devices or rooms come or go. */
export function layoutKey() {
  const devs = [...store.devices.values()].map((d) => `${d.id}:${d.room_id}`).sort();
  return `${store.rooms.map((r) => r.id).join(',')}|${devs.join(',')}|${store.connection === 'online' || store.everConnected}`;
}

/** @param {HTMLElement} main */
export function render(main) {
  const list = h('div', { class: 'rooms' });
  main.append(pageHeader(t('home.title'), { subtitle: store.user ? t('home.greeting', { name: store.user.display_name || store.user.username }) : undefined }), list);
  let key = '';
  const draw = () => {
    const next = layoutKey();
    if (next === key) return;
    key = next;
    if (!store.everConnected && !store.devices.size) {
      replace(list, loadingBlock());
      return;
    }
    const sections = roomSections(null);
    replace(list, sections.length ? sections : emptyBlock(t('home.empty')));
  };
  draw();
  const offs = [store.on('devices', draw), store.on('rooms', () => ((key = ''), draw())), store.on('connection', draw)];
  return () => offs.forEach((off) => off());
}
