// #/settings — language, my account, hub status (integration health), users and roles (owner),
// API tokens.

import { del, enc, get, patch, post } from '../api.js';
import { confirmDialog } from '../components/dialogs.js';
import { healthList, healthRow } from '../health.js';
import { toast } from '../components/toast-region.js';
import { h, replace, uniqueId } from '../dom.js';
import { formatTime, language, loc, t } from '../i18n.js';
import { icon } from '../icons.js';
import { chooseLanguage, signOut } from '../session.js';
import { store } from '../store.js';
import { canOperate, emptyBlock, errorBlock, errorText, field, isOwner, loadingBlock, pageHeader } from './common.js';

export const title = () => t('settings.title');

const ROLES = ['owner', 'member', 'guest'];

/** @param {HTMLElement} main */
export function render(main) {
  main.append(
    pageHeader(t('settings.title')),
    h('div', { class: 'settings-grid' }, languageSection(), accountSection(), canOperate() ? hubStatusSection() : null, isOwner() ? usersSection() : null, canOperate() ? tokensSection() : null),
  );
}

function languageSection() {
  const name = uniqueId('lang');
  const options = [
    { value: 'zh-CN', label: '中文（简体）' },
    { value: 'en', label: 'English' },
  ];
  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'lang-title' },
    h('h2', { id: 'lang-title', class: 'panel-title', text: t('settings.language') }),
    h(
      'fieldset',
      { class: 'radio-list' },
      h('legend', { class: 'visually-hidden', text: t('settings.language') }),
      options.map((o) =>
        h(
          'label',
          { class: 'radio-row' },
          h('input', {
            type: 'radio',
            name,
            value: o.value,
            checked: language() === o.value,
            dataset: { focusKey: `lang-${o.value}` },
            onchange: () => chooseLanguage(/** @type {any} */ (o.value)),
          }),
          h('span', { lang: o.value, text: o.label }),
        ),
      ),
    ),
    h('p', { class: 'field-hint', text: t('settings.language_hint') }),
  );
}

function accountSection() {
  const user = store.user;
  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'account-title' },
    h('h2', { id: 'account-title', class: 'panel-title', text: t('settings.account') }),
    h(
      'dl',
      { class: 'info-list' },
      h('dt', { text: t('settings.display_name') }),
      h('dd', { text: user?.display_name || user?.username || '—' }),
      h('dt', { text: t('login.username') }),
      h('dd', { text: user?.username ?? '—' }),
      h('dt', { text: t('settings.role') }),
      h('dd', { text: t(`role.${user?.role ?? 'guest'}`) }),
    ),
    h('p', { class: 'field-hint', text: t(`role.${user?.role ?? 'guest'}.hint`) }),
    h('div', { class: 'form-actions' }, h('button', { type: 'button', class: 'button', onclick: () => signOut() }, icon('logout'), h('span', { text: t('settings.logout') }))),
  );
}

/** Version, start time, devices, profiles set aside, and each integration's health. */
function hubStatusSection() {
  const body = h('div', { 'aria-live': 'polite', 'aria-busy': 'true' }, loadingBlock());
  const refresh = /** @type {HTMLButtonElement} */ (h('button', { type: 'button', class: 'button button-small', text: t('health.refresh') }));
  const load = async () => {
    body.setAttribute('aria-busy', 'true');
    refresh.disabled = true;
    try {
      const info = await get('/api/info');
      const items = healthList(info);
      const problems = Array.isArray(info?.problems) ? info.problems.length : 0;
      replace(
        body,
        h(
          'dl',
          { class: 'info-list' },
          h('dt', { text: t('health.version') }),
          h('dd', { text: info?.version ?? '—' }),
          h('dt', { text: t('health.started') }),
          h('dd', { text: info?.started_at ? formatTime(info.started_at, { date: true }) : '—' }),
          h('dt', { text: t('health.device_count') }),
          h('dd', { text: String(info?.devices ?? '—') }),
          h('dt', { text: t('health.problems') }),
          h('dd', { text: problems ? t('health.problems_some', { count: problems }) : t('health.problems_none') }),
        ),
        h('h3', { id: 'health-integrations', class: 'panel-subtitle', text: t('health.integrations') }),
        items.length
          ? h('ul', { class: 'plain-list health-list', 'aria-labelledby': 'health-integrations' }, items.map(healthRow))
          : emptyBlock(t('health.none')),
      );
    } catch (err) {
      replace(body, errorBlock(errorText(err)));
    } finally {
      body.setAttribute('aria-busy', 'false');
      refresh.disabled = false;
    }
  };
  refresh.addEventListener('click', load);
  load();
  return h(
    'section',
    { class: 'card panel hub-status', 'aria-labelledby': 'health-title' },
    h('h2', { id: 'health-title', class: 'panel-title', text: t('health.title') }),
    body,
    h('div', { class: 'form-actions' }, refresh),
  );
}

function usersSection() {
  const list = h('div', {}, loadingBlock());
  const section = h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'users-title' },
    h('h2', { id: 'users-title', class: 'panel-title', text: t('users.title') }),
    list,
    addUserForm(() => load()),
  );
  const load = async () => {
    try {
      const data = await get('/api/users');
      const users = Array.isArray(data) ? data : data?.users ?? [];
      replace(list, users.length ? h('ul', { class: 'plain-list user-list' }, users.map((/** @type {any} */ u) => userRow(u, load))) : emptyBlock(t('users.none')));
    } catch (err) {
      replace(list, errorBlock(errorText(err)));
    }
  };
  load();
  return section;
}

/** @param {any} u @param {() => void} reload */
function userRow(u, reload) {
  const me = u.id === store.user?.id;
  const roleId = uniqueId('role');
  const roleSelect = /** @type {HTMLSelectElement} */ (
    h('select', { id: roleId, class: 'select', disabled: me }, ROLES.map((r) => h('option', { value: r, text: t(`role.${r}`), selected: u.role === r })))
  );
  roleSelect.addEventListener('change', async () => {
    try {
      await patch(`/api/users/${enc(u.id)}`, { role: roleSelect.value });
      toast(t('users.saved', { name: u.display_name || u.username }), 'success');
      reload();
    } catch (err) {
      toast(errorText(err), 'error');
      roleSelect.value = u.role;
    }
  });
  const grants = u.role === 'guest' ? grantsEditor(u) : null;
  return h(
    'li',
    { class: 'user-row', dataset: { user: u.username } },
    h('div', { class: 'user-head' }, icon('user'), h('strong', { text: u.display_name || u.username }), h('span', { class: 'muted', text: `@${u.username}` }), me ? h('span', { class: 'badge', text: t('users.you') }) : null),
    h('div', { class: 'user-controls' }, h('label', { for: roleId, class: 'field-label', text: t('settings.role') }), roleSelect,
      me ? null : h('button', {
        type: 'button',
        class: 'button button-small button-danger',
        'aria-label': t('users.remove_named', { name: u.display_name || u.username }),
        text: t('users.remove'),
        onclick: async () => {
          const ok = await confirmDialog({ title: t('users.remove_title', { name: u.display_name || u.username }), description: t('users.remove_description'), confirmLabel: t('users.remove'), danger: true });
          if (!ok) return;
          try {
            await del(`/api/users/${enc(u.id)}`);
            reload();
          } catch (err) {
            toast(errorText(err), 'error');
          }
        },
      })),
    grants,
  );
}

/** Rooms a guest may see and use. @param {any} u */
function grantsEditor(u) {
  const granted = new Set(u.grants?.rooms ?? []);
  const boxes = store.rooms.map((r) => {
    const box = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', value: r.id, checked: granted.has(r.id) }));
    return { box, el: h('label', { class: 'check-row' }, box, h('span', { text: loc(r.name) })) };
  });
  const save = h('button', {
    type: 'button',
    class: 'button button-small',
    text: t('action.save'),
    'aria-label': t('users.save_grants', { name: u.display_name || u.username }),
    onclick: async () => {
      const rooms = boxes.filter((b) => b.box.checked).map((b) => b.box.value);
      try {
        await patch(`/api/users/${enc(u.id)}`, { grants: { rooms, devices: u.grants?.devices ?? [] } });
        toast(t('users.saved', { name: u.display_name || u.username }), 'success');
      } catch (err) {
        toast(errorText(err), 'error');
      }
    },
  });
  return h(
    'fieldset',
    { class: 'grants' },
    h('legend', { class: 'field-label', text: t('users.grants') }),
    h('div', { class: 'check-list' }, boxes.map((b) => b.el)),
    h('p', { class: 'field-hint', text: t('users.guest_hint') }),
    save,
  );
}

/** @param {() => void} onAdded */
function addUserForm(onAdded) {
  const username = field(t('login.username'), { autocomplete: 'off', autocapitalize: 'off', spellcheck: 'false', required: true });
  const display = field(t('settings.display_name'), { autocomplete: 'off' });
  const password = field(t('login.password'), { type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }, { hint: t('setup.password_hint') });
  const pin = field(t('users.pin'), { type: 'password', inputmode: 'numeric', autocomplete: 'off', pattern: '[0-9]*', maxlength: 12 }, { hint: t('users.pin_hint') });
  const role = field(t('settings.role'), { class: 'select' }, { tag: 'select', children: ['member', 'guest', 'owner'].map((r) => h('option', { value: r, text: t(`role.${r}`) })) });
  const rooms = store.rooms.map((r) => {
    const box = /** @type {HTMLInputElement} */ (h('input', { type: 'checkbox', value: r.id }));
    return { box, el: h('label', { class: 'check-row' }, box, h('span', { text: loc(r.name) })) };
  });
  const grants = h('fieldset', { class: 'grants', hidden: true }, h('legend', { class: 'field-label', text: t('users.grants') }), h('div', { class: 'check-list' }, rooms.map((r) => r.el)));
  role.input.addEventListener('change', () => {
    grants.hidden = role.input.value !== 'guest';
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const form = h(
    'form',
    { class: 'subform', 'aria-labelledby': 'add-user-title', novalidate: true },
    h('h3', { id: 'add-user-title', class: 'subform-title', text: t('users.add') }),
    username.el,
    display.el,
    password.el,
    pin.el,
    role.el,
    grants,
    error,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button button-primary', text: t('users.add_submit') })),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const body = /** @type {Record<string, any>} */ ({
      username: username.input.value.trim(),
      display_name: display.input.value.trim() || username.input.value.trim(),
      password: password.input.value,
      role: role.input.value,
    });
    if (!body.username || body.password.length < 8) {
      error.textContent = t('users.missing');
      return;
    }
    if (pin.input.value.trim()) {
      if (!/^[0-9]{4,12}$/.test(pin.input.value.trim())) {
        error.textContent = t('pin.format');
        return;
      }
      body.pin = pin.input.value.trim();
    }
    if (body.role === 'guest') body.grants = { rooms: rooms.filter((r) => r.box.checked).map((r) => r.box.value), devices: [] };
    try {
      await post('/api/users', body);
      toast(t('users.added', { name: body.display_name }), 'success');
      form.reset();
      grants.hidden = true;
      onAdded();
    } catch (err) {
      error.textContent = errorText(err);
    }
  });
  return form;
}

function tokensSection() {
  const list = h('div', {}, loadingBlock());
  const created = h('div', { 'aria-live': 'polite' });
  const name = field(t('tokens.name'), { autocomplete: 'off', required: true }, { hint: t('tokens.name_hint') });
  const form = h(
    'form',
    { class: 'subform', 'aria-labelledby': 'token-add-title', novalidate: true },
    h('h3', { id: 'token-add-title', class: 'subform-title', text: t('tokens.create') }),
    name.el,
    h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'button button-primary', text: t('tokens.create_submit') })),
  );
  const load = async () => {
    try {
      const data = await get('/api/tokens');
      const tokens = (Array.isArray(data) ? data : data?.tokens ?? []).filter((/** @type {any} */ tk) => !tk.revoked_at);
      replace(
        list,
        tokens.length
          ? h(
              'ul',
              { class: 'plain-list' },
              tokens.map((/** @type {any} */ tk) =>
                h(
                  'li',
                  { class: 'token-row' },
                  icon('key'),
                  h('span', { class: 'token-name', text: tk.name ?? tk.id }),
                  h('span', { class: 'muted', text: tk.created_at ? t('tokens.created_at', { time: formatTime(tk.created_at, { date: true }) }) : '' }),
                  h('button', {
                    type: 'button',
                    class: 'button button-small button-danger',
                    text: t('tokens.revoke'),
                    'aria-label': t('tokens.revoke_named', { name: tk.name ?? tk.id }),
                    onclick: async () => {
                      const ok = await confirmDialog({ title: t('tokens.revoke_title', { name: tk.name ?? tk.id }), description: t('tokens.revoke_description'), confirmLabel: t('tokens.revoke'), danger: true });
                      if (!ok) return;
                      try {
                        await del(`/api/tokens/${enc(tk.id)}`);
                        load();
                      } catch (err) {
                        toast(errorText(err), 'error');
                      }
                    },
                  }),
                ),
              ),
            )
          : emptyBlock(t('tokens.none')),
      );
    } catch (err) {
      replace(list, errorBlock(errorText(err)));
    }
  };
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = name.input.value.trim();
    if (!value) {
      name.input.focus();
      return;
    }
    try {
      const res = await post('/api/tokens', { name: value });
      const secret = res?.token ?? res?.secret ?? '';
      const out = field(t('tokens.secret'), { value: secret, readonly: true, class: 'token-secret' }, { hint: t('tokens.secret_hint') });
      replace(created, h('div', { class: 'token-created' }, out.el));
      out.input.focus();
      out.input.select();
      name.input.value = '';
      load();
    } catch (err) {
      toast(errorText(err), 'error');
    }
  });
  load();
  return h(
    'section',
    { class: 'card panel', 'aria-labelledby': 'tokens-title' },
    h('h2', { id: 'tokens-title', class: 'panel-title', text: t('tokens.title') }),
    h('p', { class: 'field-hint', text: t('tokens.intro') }),
    list,
    form,
    created,
  );
}
