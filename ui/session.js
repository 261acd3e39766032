// Signing in and out, and the language choice (saved locally and on the user's account).

import { enc, patch, post } from './api.js';
import { apiLanguage, language, normalizeLang, savedLanguage, setLanguage } from './i18n.js';
import { refreshRooms, startLive, stopLive } from './live.js';
import { store } from './store.js';

/**
 * Use the account's language unless the user chose one on this device.
 * @param {any} user
 */
export async function adoptUserLanguage(user) {
  const fromAccount = normalizeLang(user?.language);
  if (!savedLanguage() && fromAccount && fromAccount !== language()) await setLanguage(fromAccount, { save: false });
}

/** After a successful login or set-up. @param {any} user */
export async function signedIn(user) {
  store.setUser(user);
  await adoptUserLanguage(user);
  await refreshRooms();
  startLive();
  location.hash = '#/';
}

export async function signOut() {
  try {
    await post('/api/auth/logout');
  } catch {
    /* the session may already be gone */
  }
  stopLive();
  store.setSnapshot([]);
  store.setUser(null);
  location.hash = '#/login';
}

/**
 * Switch language: the UI re-renders (app.js listens for `zs-language`), the choice is saved in
 * localStorage and sent to the hub for the signed-in user.
 * @param {'zh-CN' | 'en'} lang
 */
export async function chooseLanguage(lang) {
  await setLanguage(lang);
  const user = store.user;
  if (!user) return;
  try {
    await patch(`/api/users/${enc(user.id)}`, { language: apiLanguage(lang) });
    user.language = apiLanguage(lang);
  } catch {
    /* kept on this device; the account keeps its old default */
  }
}
