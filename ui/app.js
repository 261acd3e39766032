// zshub web UI entry: language, session, the app shell and a router on location.hash.
// Routes: #/login, #/setup?token=, #/, #/room/<id>, #/device/<id>, #/scenes, #/rules,
// #/rules/<id>, #/add, #/settings.

import { get } from './api.js';
import './components/connection-banner.js';
import './components/device-card.js';
import './components/gas-banner.js';
import './components/history-chart.js';
import { toast } from './components/toast-region.js';
import { h, replace } from './dom.js';
import { language, loc, savedLanguage, setLanguage, t } from './i18n.js';
import { icon } from './icons.js';
import { refreshRooms, startLive } from './live.js';
import { adoptUserLanguage, chooseLanguage } from './session.js';
import { store } from './store.js';
import * as addView from './views/add-device.js';
import * as deviceView from './views/device.js';
import * as homeView from './views/home.js';
import * as loginView from './views/login.js';
import * as roomView from './views/room.js';
import * as ruleView from './views/rule-detail.js';
import * as rulesView from './views/rules.js';
import * as scenesView from './views/scenes.js';
import * as settingsView from './views/settings.js';
import * as setupView from './views/setup.js';

/**
 * @typedef {{params: Record<string, string>, query: URLSearchParams}} RouteArgs
 * @typedef {{render: (main: HTMLElement, args: RouteArgs) => (void | (() => void) | Promise<void | (() => void)>),
 *   title: () => string, isPublic?: boolean, roles?: string[]}} View
 */

/** @type {[RegExp, View, string[]][]} pattern, view, parameter names */
const ROUTES = [
  [/^\/login$/, loginView, []],
  [/^\/setup$/, setupView, []],
  [/^\/?$/, homeView, []],
  [/^\/room\/([^/]+)$/, roomView, ['id']],
  [/^\/device\/([^/]+)$/, deviceView, ['id']],
  [/^\/scenes$/, scenesView, []],
  [/^\/rules$/, rulesView, []],
  [/^\/rules\/([^/]+)$/, ruleView, ['id']],
  [/^\/add$/, addView, []],
  [/^\/settings$/, settingsView, []],
];

const NAV = [
  { href: '#/', key: 'nav.home', icon: 'home', match: /^\/?$|^\/room\/|^\/device\// },
  { href: '#/scenes', key: 'nav.scenes', icon: 'scenes', match: /^\/scenes/, roles: ['owner', 'member'] },
  { href: '#/rules', key: 'nav.rules', icon: 'rules', match: /^\/rules/, roles: ['owner', 'member'] },
  { href: '#/add', key: 'nav.add', icon: 'add', match: /^\/add/, roles: ['owner', 'member'] },
  { href: '#/settings', key: 'nav.settings', icon: 'settings', match: /^\/settings/ },
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
/** @type {(() => void) | null} */
let cleanup = null;
let renderSeq = 0;
let routedOnce = false;

/** @returns {{path: string, query: URLSearchParams}} */
function parseHash() {
  const raw = location.hash.startsWith('#/') ? location.hash.slice(1) : '/';
  const q = raw.indexOf('?');
  return q < 0 ? { path: raw, query: new URLSearchParams() } : { path: raw.slice(0, q), query: new URLSearchParams(raw.slice(q + 1)) };
}

/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function route() {
  if (location.hash && !location.hash.startsWith('#/')) return; // in-page anchors
  const { path, query } = parseHash();
  let match = null;
  for (const [re, view, names] of ROUTES) {
    const m = path.match(re);
    if (m) {
      /** @type {Record<string, string>} */
      const params = {};
      names.forEach((n, i) => (params[n] = decodeURIComponent(m[i + 1])));
      match = { view, params };
      break;
    }
  }
  if (!match) {
    navigate('#/');
    return;
  }
  const view = /** @type {View} */ (match.view);
  if (!view.isPublic && !store.user) {
    navigate('#/login');
    return;
  }
  if (view.roles && store.user && !view.roles.includes(store.user.role)) {
    navigate('#/');
    return;
  }
  const seq = ++renderSeq;
  const focusKey = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.focusKey;
  if (cleanup) cleanup();
  cleanup = null;
  replace(main);
  renderShell();
  const result = await view.render(main, { params: match.params, query });
  if (seq !== renderSeq) {
    if (typeof result === 'function') result();
    return;
  }
  cleanup = typeof result === 'function' ? result : null;
  document.title = `${view.title()} · ${t('app.name')}`;
  const keep = focusKey ? /** @type {HTMLElement | null} */ (document.querySelector(`[data-focus-key="${focusKey}"]`)) : null;
  if (keep) {
    keep.focus();
    return;
  }
  // Move focus to the new page's heading so screen readers announce the change of page.
  const heading = /** @type {HTMLElement | null} */ (main.querySelector('h1'));
  if (heading && routedOnce) {
    heading.tabIndex = -1;
    heading.focus({ preventScroll: true });
  }
  routedOnce = true;
}

/** Header (brand, connection, language) and navigation. */
function renderShell() {
  const header = /** @type {HTMLElement} */ (document.getElementById('app-header'));
  const nav = /** @type {HTMLElement} */ (document.getElementById('app-nav'));
  const skip = /** @type {HTMLAnchorElement} */ (document.getElementById('skip-link'));
  skip.textContent = t('app.skip');
  const other = language() === 'en' ? 'zh-CN' : 'en';
  const langButton = h(
    'button',
    {
      type: 'button',
      class: 'button button-small lang-button',
      'aria-label': t('lang.switch_to'),
      dataset: { lang: other, focusKey: 'lang-button' },
      onclick: () => chooseLanguage(/** @type {any} */ (other)),
    },
    icon('language'),
    h('span', { lang: other, text: other === 'en' ? 'English' : '中文' }),
  );
  replace(
    header,
    h('a', { href: '#/', class: 'brand' }, icon('home'), h('span', { text: t('app.name') })),
    h('span', { class: 'header-spacer' }),
    store.user ? h('span', { class: 'user-chip', text: store.user.display_name || store.user.username }) : null,
    langButton,
  );
  const { path } = parseHash();
  if (!store.user) {
    replace(nav);
    nav.hidden = true;
    return;
  }
  nav.hidden = false;
  nav.setAttribute('aria-label', t('nav.label'));
  replace(
    nav,
    h(
      'ul',
      { class: 'nav-list' },
      NAV.filter((n) => !n.roles || n.roles.includes(store.user?.role ?? '')).map((n) =>
        h(
          'li',
          {},
          h(
            'a',
            { href: n.href, class: 'nav-link', 'aria-current': n.match.test(path) ? 'page' : null },
            icon(n.icon),
            h('span', { text: t(n.key) }),
          ),
        ),
      ),
    ),
  );
}

async function boot() {
  await setLanguage(savedLanguage() ?? 'zh-CN', { save: false });
  try {
    const me = await get('/api/auth/me');
    const user = me?.user ?? null;
    if (user) {
      store.setUser(user);
      await adoptUserLanguage(user);
      await refreshRooms();
      startLive();
    }
  } catch {
    store.setUser(null);
  }
  store.on('notification', (/** @type {any} */ n) => {
    const title = loc(n?.title ?? null);
    const text = loc(n?.text ?? n?.message ?? null);
    if (!title && !text) return;
    const urgent = n?.priority === 'critical' || n?.priority === 'alert';
    toast(title && text ? t('label.value', { label: title, value: text }) : title || text, urgent ? 'error' : 'info');
  });
  store.on('user', (user) => {
    if (!user && !/^#\/(login|setup)/.test(location.hash)) navigate('#/login');
  });
  document.getElementById('skip-link')?.addEventListener('click', (ev) => {
    ev.preventDefault();
    main.focus();
  });
  window.addEventListener('hashchange', route);
  window.addEventListener('zs-language', () => route());
  await route();
  document.body.dataset.ready = 'true';
}

boot();
