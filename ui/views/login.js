// #/login — username and password; the hub sets an HttpOnly session cookie.

import { get, post } from '../api.js';
import { h } from '../dom.js';
import { t } from '../i18n.js';
import { signedIn } from '../session.js';
import { store } from '../store.js';
import { errorText, field } from './common.js';

export const isPublic = true;
export const title = () => t('login.title');

/** @param {HTMLElement} main */
export function render(main) {
  if (store.user) {
    location.hash = '#/';
    return;
  }
  const username = field(t('login.username'), { name: 'username', autocomplete: 'username', required: true, autocapitalize: 'off', spellcheck: 'false' });
  const password = field(t('login.password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button button-primary button-wide', text: t('login.submit') }));
  const form = h(
    'form',
    { class: 'card form-card', novalidate: true, 'aria-labelledby': 'login-title' },
    h('h1', { id: 'login-title', class: 'page-title', text: t('login.title') }),
    h('p', { class: 'muted', text: t('login.intro') }),
    username.el,
    password.el,
    error,
    submit,
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    if (!username.input.value.trim() || !password.input.value) {
      error.textContent = t('login.missing');
      (username.input.value.trim() ? password.input : username.input).focus();
      return;
    }
    submit.disabled = true;
    try {
      const res = await post('/api/auth/login', { username: username.input.value.trim(), password: password.input.value });
      const user = res?.user ?? (await get('/api/auth/me')).user;
      await signedIn(user);
    } catch (err) {
      error.textContent = /** @type {any} */ (err).status === 401 ? t('login.failed') : errorText(err);
      password.input.value = '';
      password.input.focus();
    } finally {
      submit.disabled = false;
    }
  });
  main.append(h('div', { class: 'narrow' }, form));
  username.input.focus();
}
