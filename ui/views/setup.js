// #/setup?token=… — first run: create the owner with the one-time token the hub printed.

import { get, post } from '../api.js';
import { h } from '../dom.js';
import { apiLanguage, language, t } from '../i18n.js';
import { signedIn } from '../session.js';
import { errorText, field } from './common.js';

export const isPublic = true;
export const title = () => t('setup.title');

/** @param {HTMLElement} main @param {{query: URLSearchParams}} args */
export function render(main, { query }) {
  const token = query.get('token') ?? '';
  const tokenField = field(t('setup.token'), { name: 'token', value: token, required: true, autocomplete: 'off' });
  const username = field(t('login.username'), { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const display = field(t('setup.display_name'), { name: 'display_name', autocomplete: 'name' });
  const password = field(t('login.password'), { name: 'password', type: 'password', autocomplete: 'new-password', required: true, minlength: 8 }, { hint: t('setup.password_hint') });
  const pin = field(t('setup.pin'), { name: 'pin', type: 'password', inputmode: 'numeric', autocomplete: 'off', required: true, pattern: '[0-9]*', minlength: 4, maxlength: 12 }, { hint: t('setup.pin_hint') });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button button-primary button-wide', text: t('setup.submit') }));
  const form = h(
    'form',
    { class: 'card form-card', novalidate: true, 'aria-labelledby': 'setup-title' },
    h('h1', { id: 'setup-title', class: 'page-title', text: t('setup.title') }),
    h('p', { class: 'muted', text: t('setup.intro') }),
    token ? null : tokenField.el,
    username.el,
    display.el,
    password.el,
    pin.el,
    error,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    const body = {
      token: tokenField.input.value.trim(),
      username: username.input.value.trim(),
      display_name: display.input.value.trim() || username.input.value.trim(),
      password: password.input.value,
      pin: pin.input.value.trim(),
      language: apiLanguage(language()),
    };
    if (!body.token || !body.username || !body.password || !body.pin) {
      error.textContent = t('setup.missing');
      return;
    }
    if (body.password.length < 8) {
      error.textContent = t('setup.password_hint');
      password.input.focus();
      return;
    }
    if (!/^[0-9]{4,12}$/.test(body.pin)) {
      error.textContent = t('pin.format');
      pin.input.focus();
      return;
    }
    submit.disabled = true;
    try {
      await post('/api/auth/setup', body);
      let me;
      try {
        me = (await get('/api/auth/me')).user;
      } catch {
        await post('/api/auth/login', { username: body.username, password: body.password });
        me = (await get('/api/auth/me')).user;
      }
      await signedIn(me);
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h('div', { class: 'narrow' }, form));
  (token ? username.input : tokenField.input).focus();
}
