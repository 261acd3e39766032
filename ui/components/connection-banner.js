// <zs-connection-banner>: while the WebSocket is down the shown state may be old; say so, lock
// the controls (cards read store.stale) and tell the user when a fresh snapshot has arrived.

import { h } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';
import { socket } from '../live.js';
import { store } from '../store.js';

class ZsConnectionBanner extends HTMLElement {
  connectedCallback() {
    this.classList.add('connection-banner');
    this.setAttribute('role', 'status');
    this.setAttribute('aria-live', 'polite');
    this.wasStale = false;
    /** @type {number | undefined} */
    this.timer = undefined;
    this.offs = [store.on('connection', () => this.render())];
    this.onLang = () => {
      this.dataset.state = '';
      this.render();
    };
    window.addEventListener('zs-language', this.onLang);
    this.render();
  }

  disconnectedCallback() {
    this.offs?.forEach((off) => off());
    if (this.onLang) window.removeEventListener('zs-language', this.onLang);
  }

  render() {
    const stale = store.stale;
    document.body.classList.toggle('is-stale', stale);
    // Retries flip the socket between "connecting" and "offline": keep the same banner (and its
    // button under the user's finger) until the connection is back.
    if (stale && this.dataset.state === 'stale' && !this.hidden) return;
    this.replaceChildren();
    clearTimeout(this.timer);
    if (stale) {
      this.wasStale = true;
      this.hidden = false;
      this.dataset.state = 'stale';
      this.append(
        icon('offline'),
        h('span', { class: 'banner-text', text: t('connection.stale') }),
        h('button', { type: 'button', class: 'button button-small', text: t('connection.retry'), onclick: () => socket.reconnectNow() }),
      );
      return;
    }
    if (this.wasStale && store.connection === 'online') {
      this.wasStale = false;
      this.hidden = false;
      this.dataset.state = 'resynced';
      this.append(icon('check'), h('span', { class: 'banner-text', text: t('connection.resynced') }));
      this.timer = window.setTimeout(() => {
        this.hidden = true;
        this.replaceChildren();
      }, 4000);
      return;
    }
    this.hidden = true;
    this.dataset.state = store.connection;
  }
}

customElements.define('zs-connection-banner', ZsConnectionBanner);
