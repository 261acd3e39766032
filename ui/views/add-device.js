// #/add — devices the hub has discovered but not added: pick the profile, enter the pairing
// code from the device's label (an encrypted BTHome sensor: its 32-digit bind key; other
// Bluetooth devices need none), name it in Chinese and English and choose a room. A Matter code
// can be entered directly once the Matter integration is running. A quiet notice says when
// Bluetooth or Matter cannot be used right now (GET /api/info, integration health).

import { get, post } from '../api.js';
import { toast } from '../components/toast-region.js';
import { h, replace } from '../dom.js';
import { formatAgo, loc, t } from '../i18n.js';
import { integrationHealth } from '../health.js';
import { icon } from '../icons.js';
import { store } from '../store.js';
import { emptyBlock, errorBlock, errorText, field, loadingBlock, pageHeader } from './common.js';

export const title = () => t('add.title');
export const roles = ['owner', 'member'];

const POLL_MS = 5000;
const BTHOME_UUID = '0000fcd2-0000-1000-8000-00805f9b34fb';

/** @param {HTMLElement} main */
export function render(main) {
  const list = h('div', { class: 'discovery-list', 'aria-live': 'polite', 'aria-busy': 'true' }, loadingBlock(t('add.searching')));
  const matter = h('div');
  const notices = h('div', { class: 'add-notices' });
  main.append(pageHeader(t('add.title'), { subtitle: t('add.intro') }), notices, list, matter);
  /** @type {Map<string, any>} profile id → summary */
  let profiles = new Map();
  /** @type {string | null} */
  let shownKeys = null;
  let stopped = false;

  const load = async () => {
    try {
      const data = await get('/api/discoveries');
      const items = Array.isArray(data) ? data : data?.discoveries ?? [];
      list.setAttribute('aria-busy', 'false');
      const keys = items.map((/** @type {any} */ d) => `${d.integration}/${d.key}`).join(',');
      if (keys === shownKeys && list.childElementCount) return; // don't wipe a form being filled in
      shownKeys = keys;
      replace(list, items.length ? items.map((/** @type {any} */ d) => discoveryCard(d, profiles)) : emptyBlock(t('add.none')));
    } catch (err) {
      replace(list, errorBlock(errorText(err)));
    }
  };
  (async () => {
    try {
      const data = await get('/api/profiles');
      profiles = new Map((data?.profiles ?? []).map((/** @type {any} */ p) => [p.id, p]));
    } catch {
      /* names fall back to profile ids */
    }
    await load();
    try {
      const info = await get('/api/info');
      replace(notices, unavailableNotices(info));
      if (info?.integrations && 'matter' in info.integrations) replace(matter, matterForm());
    } catch {
      /* no Matter section */
    }
  })();
  const timer = window.setInterval(() => {
    if (!stopped && !list.contains(document.activeElement)) load();
  }, POLL_MS);
  return () => {
    stopped = true;
    clearInterval(timer);
  };
}

/** @param {any} d @param {Map<string, any>} profiles */
function discoveryCard(d, profiles) {
  const candidates = d.match?.candidates ?? [];
  const best = d.match?.best ?? (candidates.length === 1 ? candidates[0].profile_id : null);
  const profileName = (/** @type {string} */ id) => loc(profiles.get(id)?.name) || id;
  const bestProfile = best ? profiles.get(best) : null;
  const headingId = `disc-${d.integration}-${d.key}`.replace(/[^a-zA-Z0-9_-]/g, '_');

  const profileField = candidates.length > 1
    ? field(t('add.profile'), { class: 'select', required: true }, {
        tag: 'select',
        hint: d.match?.ambiguous ? t('add.ambiguous') : undefined,
        children: candidates.map((/** @type {any} */ c) => h('option', { value: c.profile_id, text: profileName(c.profile_id), selected: c.profile_id === best })),
      })
    : null;
  const isMatter = d.integration === 'matter' || d.transport === 'matter';
  const secret = secretKind(d);
  const code = secret === 'none'
    ? null
    : secret === 'bindkey'
      ? field(t('add.bindkey'), { autocomplete: 'off', required: true, spellcheck: 'false', autocapitalize: 'off', maxlength: 64, dataset: { secret: 'bthome_bindkey' } }, { hint: t('add.bindkey_hint') })
      : field(isMatter ? t('add.matter_code') : t('add.pairing_code'), {
          inputmode: isMatter ? 'text' : 'numeric',
          autocomplete: 'off',
          required: true,
          spellcheck: 'false',
        }, { hint: isMatter ? t('add.matter_code_hint') : t('add.pairing_code_hint') });
  const nameZh = field(t('device.name_zh'), { lang: 'zh-CN', required: true, value: bestProfile?.name?.zh ?? d.name ?? '' });
  const nameEn = field(t('device.name_en'), { lang: 'en', required: true, value: bestProfile?.name?.en ?? d.name ?? '' });
  const room = field(t('device.room'), { class: 'select' }, {
    tag: 'select',
    children: [h('option', { value: '', text: t('room.unassigned') }), ...store.rooms.map((r) => h('option', { value: r.id, text: loc(r.name) }))],
  });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button button-primary', text: t('add.submit') }));
  const form = h(
    'form',
    { class: 'card discovery', 'aria-labelledby': headingId, novalidate: true, dataset: { key: d.key, integration: d.integration } },
    h('h2', { id: headingId, class: 'panel-title' }, icon(isMatter ? 'add' : 'device'), h('span', { text: bestProfile ? profileName(best) : d.name || d.key })),
    h('p', { class: 'muted', text: [t(`transport.${d.transport}`), d.address, d.key, d.seen_at ? t('add.seen', { ago: formatAgo(d.seen_at) }) : ''].filter(Boolean).join(' · ') }),
    candidates.length === 0 ? h('p', { class: 'warning warning-warn', text: t('add.no_profile') }) : null,
    profileField?.el ?? null,
    code ? code.el : h('p', { class: 'field-hint', text: t('add.no_code') }),
    nameZh.el,
    nameEn.el,
    room.el,
    error,
    h('div', { class: 'form-actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    error.textContent = '';
    code?.input.removeAttribute('aria-invalid');
    const pairing = code ? code.input.value.trim() : '';
    if ((code && !pairing) || !nameZh.input.value.trim() || !nameEn.input.value.trim()) {
      error.textContent = t(secret === 'bindkey' ? 'add.missing_bindkey' : code ? 'add.missing' : 'add.missing_names');
      return;
    }
    const bindkey = secret === 'bindkey' ? pairing.replace(/[\s:-]/g, '') : '';
    if (code && secret === 'bindkey' && !/^[0-9a-fA-F]{32}$/.test(bindkey)) {
      error.textContent = t('add.bindkey_invalid');
      code.input.setAttribute('aria-invalid', 'true');
      code.input.focus();
      return;
    }
    /** @type {Record<string, any>} */
    const secrets = secret === 'bindkey' ? { secrets: { bthome_bindkey: bindkey.toLowerCase() } } : secret === 'code' ? { pairing_code: pairing } : {};
    submit.disabled = true;
    submit.setAttribute('aria-busy', 'true');
    try {
      const device = await post('/api/devices', {
        integration: d.integration,
        key: d.key,
        ...secrets,
        name: { zh: nameZh.input.value.trim(), en: nameEn.input.value.trim() },
        room_id: room.input.value || undefined,
        profile_id: profileField ? profileField.input.value : best ?? undefined,
      });
      toast(t('add.added', { name: loc(device?.name) || nameZh.input.value }), 'success');
      location.hash = device?.id ? `#/device/${encodeURIComponent(device.id)}` : '#/';
    } catch (err) {
      const failure = /** @type {any} */ (err)?.code;
      const keyProblem = failure === 'ble_bindkey_wrong' || failure === 'ble_bindkey_invalid' || failure === 'ble_bindkey_missing';
      error.textContent = failure === 'ble_bindkey_wrong' ? t('add.bindkey_wrong') : errorText(err);
      if (code && (keyProblem || secret === 'code')) {
        if (keyProblem) code.input.setAttribute('aria-invalid', 'true');
        code.input.focus();
      }
    } finally {
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
    }
  });
  return form;
}

/**
 * What the device needs to be added: a pairing code (ZS-DP, Matter), the BTHome bind key (a
 * sensor whose advertisements say they are encrypted), or nothing (other Bluetooth devices).
 * @param {any} d a discovery
 * @returns {'code' | 'bindkey' | 'none'}
 */
function secretKind(d) {
  if (d.integration !== 'ble') return 'code';
  const data = d.identity?.service_data?.[BTHOME_UUID];
  if (typeof data !== 'string' || data.length < 2) return 'none';
  const info = parseInt(data.slice(0, 2), 16);
  return Number.isNaN(info) || (info & 0x01) === 0 ? 'none' : 'bindkey'; // bit 0: encrypted
}

/** Quiet notices when Bluetooth or Matter cannot be used now. @param {any} info */
function unavailableNotices(info) {
  const all = info?.integrations ?? {};
  return ['ble', 'matter']
    .filter((name) => name in all)
    .map((name) => integrationHealth(name, all[name]))
    .filter((item) => item.level !== 'ok')
    .map((item) =>
      h(
        'p',
        { class: 'notice', role: 'status', dataset: { integration: item.name } },
        h('strong', { text: t(`add.unavailable.${item.name}`) }),
        ' ',
        h('span', { text: item.detail }),
      ),
    );
}

/** Manual Matter code entry (11/21-digit manual pairing code or an MT: QR payload). */
function matterForm() {
  const code = field(t('add.matter_code'), { autocomplete: 'off', spellcheck: 'false', required: true }, { hint: t('add.matter_code_hint') });
  const error = h('p', { class: 'form-error', role: 'alert' });
  const submit = /** @type {HTMLButtonElement} */ (h('button', { type: 'submit', class: 'button button-primary', text: t('add.matter_submit') }));
  const form = h(
    'form',
    { class: 'card panel', 'aria-labelledby': 'matter-title', novalidate: true },
    h('h2', { id: 'matter-title', class: 'panel-title', text: t('add.matter_title') }),
    h('p', { class: 'muted', text: t('add.matter_intro') }),
    code.el,
    error,
    h('div', { class: 'form-actions' }, submit),
  );
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const value = code.input.value.replace(/[\s-]/g, '');
    if (!/^(\d{11}|\d{21}|MT:[0-9A-Z.\-]+)$/.test(value)) {
      error.textContent = t('add.matter_invalid');
      code.input.focus();
      return;
    }
    error.textContent = '';
    submit.disabled = true;
    // The hub answers once the device is commissioned and interviewed: seconds, not a moment.
    submit.textContent = t('add.matter_pairing');
    form.setAttribute('aria-busy', 'true');
    try {
      await post('/api/matter/commission', { code: value });
      toast(t('add.matter_added'), 'success');
      code.input.value = '';
    } catch (err) {
      error.textContent = errorText(err);
    } finally {
      submit.disabled = false;
      submit.textContent = t('add.matter_submit');
      form.setAttribute('aria-busy', 'false');
    }
  });
  return form;
}
