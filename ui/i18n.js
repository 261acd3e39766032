// Translations: every user-visible string goes through t(); names from the hub come as {zh, en}.

/** @typedef {'zh-CN' | 'en'} Lang */
/** @typedef {{zh?: string, en?: string} | string | null | undefined} LocalText */

const STORAGE_KEY = 'zshub.language';

/** @type {Lang} */
let current = 'zh-CN';
/** @type {Record<string, string>} */
let dict = {};
/** @type {Map<Lang, Record<string, string>>} */
const cache = new Map();

/** @param {string | null | undefined} value @returns {Lang | null} */
export function normalizeLang(value) {
  if (!value) return null;
  const v = value.toLowerCase();
  if (v.startsWith('en')) return 'en';
  if (v.startsWith('zh')) return 'zh-CN';
  return null;
}

/** @param {Lang} lang */
async function loadDict(lang) {
  const hit = cache.get(lang);
  if (hit) return hit;
  const res = await fetch(new URL(`./i18n/${lang}.json`, import.meta.url));
  if (!res.ok) throw new Error(`i18n ${lang}: ${res.status}`);
  const data = /** @type {Record<string, string>} */ (await res.json());
  cache.set(lang, data);
  return data;
}

/** The language code the hub's API uses for a UI language ("zh" | "en"). @param {Lang} lang */
export function apiLanguage(lang) {
  return lang === 'en' ? 'en' : 'zh';
}

/** The saved choice, or null when the user never chose. @returns {Lang | null} */
export function savedLanguage() {
  try {
    return normalizeLang(localStorage.getItem(STORAGE_KEY));
  } catch {
    return null;
  }
}

/**
 * Switch language (loads the dictionary, sets <html lang>, fires `zs-language` on window).
 * @param {Lang} lang
 * @param {{save?: boolean}} [opts]
 */
export async function setLanguage(lang, { save = true } = {}) {
  dict = await loadDict(lang);
  current = lang;
  document.documentElement.lang = lang;
  if (save) {
    try {
      localStorage.setItem(STORAGE_KEY, lang);
    } catch {
      /* private mode: the choice lasts for this page only */
    }
  }
  window.dispatchEvent(new CustomEvent('zs-language', { detail: lang }));
}

/** @returns {Lang} */
export function language() {
  return current;
}

/**
 * Translate a key; `{name}` placeholders are filled from params.
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params) {
  const text = dict[key] ?? key;
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (m, name) => (name in params ? String(params[name]) : m));
}

/**
 * Pick the current language from a {zh, en} text (falls back to the other language).
 * @param {LocalText} text
 */
export function loc(text) {
  if (text === null || text === undefined) return '';
  if (typeof text === 'string') return text;
  return (current === 'en' ? text.en ?? text.zh : text.zh ?? text.en) ?? '';
}

/** @param {number} value @param {number} [digits] */
export function formatNumber(value, digits) {
  const opts = digits === undefined ? { maximumFractionDigits: 2 } : { maximumFractionDigits: digits };
  return new Intl.NumberFormat(current, opts).format(value);
}

/** Milliseconds since epoch from ISO text, epoch seconds or epoch ms. @param {any} ts */
export function toMillis(ts) {
  if (ts === null || ts === undefined || ts === '') return NaN;
  if (typeof ts === 'number') return ts < 1e12 ? ts * 1000 : ts;
  const n = Number(ts);
  if (!Number.isNaN(n)) return n < 1e12 ? n * 1000 : n;
  return Date.parse(ts);
}

/** @param {any} ts @param {{date?: boolean, seconds?: boolean}} [opts] */
export function formatTime(ts, { date = false, seconds = true } = {}) {
  const ms = toMillis(ts);
  if (Number.isNaN(ms)) return '—';
  const d = new Date(ms);
  const sameDay = new Date().toDateString() === d.toDateString();
  /** @type {Intl.DateTimeFormatOptions} */
  const opts = { hour: '2-digit', minute: '2-digit', hour12: false };
  if (seconds) opts.second = '2-digit';
  if (date || !sameDay) Object.assign(opts, { month: 'numeric', day: 'numeric' });
  return new Intl.DateTimeFormat(current, opts).format(d);
}

/** "3 minutes ago" in the current language. @param {any} ts */
export function formatAgo(ts) {
  const ms = toMillis(ts);
  if (Number.isNaN(ms)) return t('time.never');
  const rtf = new Intl.RelativeTimeFormat(current, { numeric: 'auto' });
  const secs = Math.round((ms - Date.now()) / 1000);
  const abs = Math.abs(secs);
  if (abs < 60) return rtf.format(secs, 'second');
  if (abs < 3600) return rtf.format(Math.round(secs / 60), 'minute');
  if (abs < 86400) return rtf.format(Math.round(secs / 3600), 'hour');
  return rtf.format(Math.round(secs / 86400), 'day');
}
