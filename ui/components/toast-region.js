// <zs-toasts>: short messages (command results, notifications). Polite for information,
// assertive (role=alert) for errors. Each toast can be dismissed and leaves by itself.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';

/** @typedef {'info' | 'success' | 'error'} ToastKind */

class ZsToasts extends HTMLElement {
  connectedCallback() {
    if (this.polite) return;
    this.classList.add('toasts');
    this.polite = h('div', { class: 'toast-stack', role: 'status', 'aria-live': 'polite' });
    this.urgent = h('div', { class: 'toast-stack', role: 'alert', 'aria-live': 'assertive' });
    this.append(this.polite, this.urgent);
  }

  /**
   * @param {string} message
   * @param {ToastKind} [kind]
   * @param {number} [ms]
   */
  show(message, kind = 'info', ms = kind === 'error' ? 8000 : 4000) {
    const region = kind === 'error' ? this.urgent : this.polite;
    if (!region) return;
    const close = h(
      'button',
      { class: 'icon-button toast-close', type: 'button', 'aria-label': t('action.dismiss') },
      icon('close'),
    );
    const el = h(
      'div',
      { class: ['toast', `toast-${kind}`], dataset: { kind } },
      icon(kind === 'error' ? 'alert' : kind === 'success' ? 'check' : 'info'),
      h('span', { class: 'toast-text', text: message }),
      close,
    );
    const remove = () => el.remove();
    close.addEventListener('click', remove);
    region.append(el);
    window.setTimeout(remove, ms);
  }
}

customElements.define('zs-toasts', ZsToasts);

/**
 * Show a toast in the page's toast region.
 * @param {string} message
 * @param {ToastKind} [kind]
 */
export function toast(message, kind = 'info') {
  const region = /** @type {ZsToasts | null} */ (document.querySelector('zs-toasts'));
  region?.show(message, kind);
}
