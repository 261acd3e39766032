// Inline SVG icons (24×24, stroke = currentColor). No icon fonts, nothing fetched.

import { s } from './dom.js';

/** Each icon: a list of SVG elements as [tag, attributes]. */
const ICONS = /** @type {Record<string, [string, Record<string, string | number>][]>} */ ({
  home: [['path', { d: 'M3 11 12 4l9 7' }], ['path', { d: 'M5 10v10h5v-6h4v6h5V10' }]],
  scenes: [['path', { d: 'M12 3v3M12 18v3M3 12h3M18 12h3M5.6 5.6l2.1 2.1M16.3 16.3l2.1 2.1M5.6 18.4l2.1-2.1M16.3 7.7l2.1-2.1' }], ['circle', { cx: 12, cy: 12, r: 3 }]],
  rules: [['path', { d: 'M4 6h10M4 12h7M4 18h10' }], ['path', { d: 'M17 4l3 2-3 2M15 10l3 2-3 2' }]],
  add: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M12 8v8M8 12h8' }]],
  settings: [['circle', { cx: 12, cy: 12, r: 3 }], ['path', { d: 'M12 2v3M12 19v3M4.9 4.9 7 7M17 17l2.1 2.1M2 12h3M19 12h3M4.9 19.1 7 17M17 7l2.1-2.1' }]],
  language: [['path', { d: 'M4 5h8M8 3v2M6 5c0 4 2 7 5 8M10 5c0 3-2 7-6 9' }], ['path', { d: 'M13 21l4-10 4 10M14.5 17.5h5' }]],
  close: [['path', { d: 'M6 6l12 12M18 6 6 18' }]],
  check: [['path', { d: 'M5 12.5 10 17l9-10' }]],
  info: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M12 11v6M12 7.5v.5' }]],
  alert: [['path', { d: 'M12 3 2 20h20L12 3z' }], ['path', { d: 'M12 10v4M12 17v.5' }]],
  offline: [['path', { d: 'M2 8.5a15 15 0 0 1 20 0M5 12a10 10 0 0 1 14 0M8.5 15.5a5 5 0 0 1 7 0' }], ['path', { d: 'M3 3l18 18' }]],
  sync: [['path', { d: 'M20 12a8 8 0 0 1-14 5.3M4 12a8 8 0 0 1 14-5.3' }], ['path', { d: 'M18 3v4h-4M6 21v-4h4' }]],
  clock: [['circle', { cx: 12, cy: 12, r: 9 }], ['path', { d: 'M12 7v5l3 2' }]],
  chevron: [['path', { d: 'M9 5l7 7-7 7' }]],
  back: [['path', { d: 'M15 5l-7 7 7 7' }]],
  play: [['path', { d: 'M7 4v16l13-8z' }]],
  logout: [['path', { d: 'M15 4h4v16h-4M10 8l-4 4 4 4M6 12h10' }]],
  user: [['circle', { cx: 12, cy: 8, r: 4 }], ['path', { d: 'M4 21c1-4 4-6 8-6s7 2 8 6' }]],
  key: [['circle', { cx: 8, cy: 15, r: 4 }], ['path', { d: 'M11 12l9-9M17 6l3 3M15 8l2 2' }]],
  lock: [['rect', { x: 5, y: 10, width: 14, height: 11, rx: 2 }], ['path', { d: 'M8 10V7a4 4 0 0 1 8 0v3' }], ['path', { d: 'M12 14v3' }]],
  unlock: [['rect', { x: 5, y: 10, width: 14, height: 11, rx: 2 }], ['path', { d: 'M8 10V7a4 4 0 0 1 7.5-2' }], ['path', { d: 'M12 14v3' }]],
  flame: [['path', { d: 'M12 3c1 4 6 6 6 11a6 6 0 0 1-12 0c0-3 2-4 2-7 2 1 3 3 3 5 1-2 1-6 1-9z' }]],
  // device icons (profile ui.icon names)
  'ceiling-light': [['path', { d: 'M3 8h18' }], ['path', { d: 'M5 8a7 7 0 0 0 14 0' }], ['path', { d: 'M12 18v2M7 17l-1 2M17 17l1 2' }]],
  'light-strip': [['path', { d: 'M3 16c4-8 14-8 18 0' }], ['circle', { cx: 6, cy: 12, r: 1 }], ['circle', { cx: 12, cy: 9, r: 1 }], ['circle', { cx: 18, cy: 12, r: 1 }]],
  'night-light': [['path', { d: 'M15 4a7 7 0 1 0 5 11 6 6 0 0 1-5-11z' }]],
  lamp: [['path', { d: 'M9 3h6l3 8H6z' }], ['path', { d: 'M12 11v8M8 21h8' }]],
  fan: [['circle', { cx: 12, cy: 12, r: 2 }], ['path', { d: 'M12 10c0-4 1-7 4-7 2 0 2 3 0 5l-4 2zM14 12c4 0 7 1 7 4 0 2-3 2-5 0l-2-4zM12 14c0 4-1 7-4 7-2 0-2-3 0-5l4-2zM10 12c-4 0-7-1-7-4 0-2 3-2 5 0l2 4z' }]],
  'water-heater': [['rect', { x: 6, y: 3, width: 12, height: 18, rx: 3 }], ['path', { d: 'M12 9c1 1.5 2 2.5 2 4a2 2 0 0 1-4 0c0-1.5 1-2.5 2-4z' }]],
  'range-hood': [['path', { d: 'M9 3h6v5l5 6H4l5-6z' }], ['path', { d: 'M8 18h8M10 21h4' }]],
  'rice-cooker': [['path', { d: 'M4 11h16v6a4 4 0 0 1-4 4H8a4 4 0 0 1-4-4z' }], ['path', { d: 'M5 11a7 5 0 0 1 14 0M12 6V4' }]],
  'gas-cooktop': [['rect', { x: 2, y: 7, width: 20, height: 12, rx: 2 }], ['circle', { cx: 8, cy: 13, r: 3 }], ['circle', { cx: 16, cy: 13, r: 3 }]],
  'gas-detector': [['circle', { cx: 12, cy: 12, r: 8 }], ['path', { d: 'M8 12h1M11 12h2M15 12h1M12 4v2' }]],
  'door-sensor': [['rect', { x: 4, y: 4, width: 6, height: 16, rx: 1 }], ['rect', { x: 14, y: 7, width: 5, height: 10, rx: 1 }]],
  'motion-sensor': [['circle', { cx: 12, cy: 6, r: 2 }], ['path', { d: 'M10 21l2-7 3 3v4M8 12l3-3 3 1 2 3' }]],
  'water-purifier': [['path', { d: 'M12 3s6 7 6 11a6 6 0 0 1-12 0c0-4 6-11 6-11z' }], ['path', { d: 'M9 15a3 3 0 0 0 3 3' }]],
  'door-lock': [['rect', { x: 6, y: 3, width: 12, height: 18, rx: 2 }], ['circle', { cx: 12, cy: 11, r: 2 }], ['path', { d: 'M12 13v3' }]],
  device: [['rect', { x: 4, y: 4, width: 16, height: 16, rx: 3 }], ['circle', { cx: 12, cy: 12, r: 3 }]],
});

/** Map a profile category to an icon when the profile names none. */
const BY_CATEGORY = /** @type {[string, string][]} */ ([
  ['light.strip', 'light-strip'],
  ['light.night', 'night-light'],
  ['light', 'ceiling-light'],
  ['lock', 'door-lock'],
  ['kitchen.range_hood', 'range-hood'],
  ['kitchen.gas_cooktop', 'gas-cooktop'],
  ['kitchen.rice_cooker', 'rice-cooker'],
  ['kitchen.water_purifier', 'water-purifier'],
  ['kitchen.gas_water_heater', 'water-heater'],
  ['safety.gas', 'gas-detector'],
  ['sensor.contact', 'door-sensor'],
  ['sensor.motion', 'motion-sensor'],
  ['climate.fan', 'fan'],
]);

/**
 * An <svg> icon, hidden from assistive technology (the control around it carries the name).
 * @param {string} name
 * @param {string} [extraClass]
 */
export function icon(name, extraClass) {
  const parts = ICONS[name] ?? ICONS.device;
  return s(
    'svg',
    {
      class: extraClass ? `icon ${extraClass}` : 'icon',
      viewBox: '0 0 24 24',
      width: 24,
      height: 24,
      fill: 'none',
      stroke: 'currentColor',
      'stroke-width': 1.8,
      'stroke-linecap': 'round',
      'stroke-linejoin': 'round',
      'aria-hidden': 'true',
      focusable: 'false',
    },
    parts.map(([tag, attrs]) => s(tag, attrs)),
  );
}

/** @param {any} device */
export function deviceIcon(device) {
  const named = device?.profile?.ui?.icon;
  if (named && ICONS[named]) return icon(named);
  const category = String(device?.profile?.category ?? '');
  const hit = BY_CATEGORY.find(([prefix]) => category.startsWith(prefix));
  return icon(hit ? hit[1] : 'device');
}
