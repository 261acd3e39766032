// #/room/<id> — one room's devices.

import { h, replace } from '../dom.js';
import { t } from '../i18n.js';
import { store } from '../store.js';
import { emptyBlock, pageHeader, roomName } from './common.js';
import { layoutKey, roomSections } from './home.js';

let current = '';
export const title = () => roomName(current);

/** @param {HTMLElement} main @param {{params: Record<string, string>}} args */
export function render(main, { params }) {
  current = params.id;
  const header = h('div');
  const list = h('div', { class: 'rooms' });
  main.append(header, list);
  let key = '';
  const drawHeader = () => replace(header, pageHeader(roomName(current), { back: { href: '#/', label: t('nav.home') } }));
  const draw = () => {
    const next = layoutKey();
    if (next === key) return;
    key = next;
    const sections = roomSections(current);
    replace(list, sections.length ? sections : emptyBlock(t('room.empty')));
  };
  drawHeader();
  draw();
  const offs = [
    store.on('devices', draw),
    store.on('rooms', () => {
      key = '';
      drawHeader();
      draw();
    }),
  ];
  return () => offs.forEach((off) => off());
}
