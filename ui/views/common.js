// Small pieces the views share: page headers, field rows, error texts, room names.

import { h, uniqueId } from '../dom.js';
import { loc, t } from '../i18n.js';
import { icon } from '../icons.js';
import { store } from '../store.js';

/**
 * @param {string} title
 * @param {{back?: {href: string, label: string}, subtitle?: string, actions?: (HTMLElement | null)[]}} [opts]
 */
export function pageHeader(title, opts = {}) {
  return h(
    'div',
    { class: 'page-header' },
    opts.back ? h('a', { href: opts.back.href, class: 'back-link' }, icon('back'), h('span', { text: opts.back.label })) : null,
    h('div', { class: 'page-title-row' }, h('h1', { class: 'page-title', text: title }), ...(opts.actions ?? [])),
    opts.subtitle ? h('p', { class: 'page-subtitle', text: opts.subtitle }) : null,
  );
}

/**
 * A labelled form field.
 * @param {string} label
 * @param {Record<string, any>} inputProps
 * @param {{hint?: string, tag?: string, children?: HTMLElement[]}} [opts]
 */
export function field(label, inputProps, opts = {}) {
  const id = inputProps.id ?? uniqueId('f');
  const hintId = opts.hint ? uniqueId('hint') : null;
  const input = h(opts.tag ?? 'input', { ...inputProps, id, 'aria-describedby': hintId }, ...(opts.children ?? []));
  return {
    input: /** @type {HTMLInputElement} */ (input),
    el: h(
      'div',
      { class: 'field' },
      h('label', { for: id, class: 'field-label', text: label }),
      input,
      opts.hint ? h('p', { id: hintId, class: 'field-hint', text: opts.hint }) : null,
    ),
  };
}

/** A user-facing message for a failed API call. @param {any} err */
export function errorText(err) {
  const text = loc(err?.text ?? null);
  if (text) return text;
  if (err?.status === 0) return t('error.network');
  if (err?.status === 401) return t('error.unauthorized');
  if (err?.status === 403) return t('error.forbidden');
  if (err?.status === 404) return t('error.not_found');
  return t('error.generic', { code: err?.code ?? String(err) });
}

/** @param {string | null | undefined} id */
export function roomName(id) {
  if (!id) return t('room.unassigned');
  const room = store.rooms.find((r) => r.id === id);
  return room ? loc(room.name) || room.id : id;
}

/** @param {string} text */
export function loadingBlock(text = t('state.loading')) {
  return h('p', { class: 'muted loading', role: 'status', text });
}

/** @param {string} text */
export function emptyBlock(text) {
  return h('p', { class: 'muted empty', text });
}

/** @param {string} text */
export function errorBlock(text) {
  return h('p', { class: 'form-error', role: 'alert', text });
}

/** Can this user change things (members and owners)? */
export function canOperate() {
  return store.user?.role === 'owner' || store.user?.role === 'member';
}

export function isOwner() {
  return store.user?.role === 'owner';
}
