// Modal dialogs on the native <dialog> element (focus is kept inside, Esc cancels): the PIN
// step-up for restricted commands and a plain confirmation.

import { h, uniqueId } from '../dom.js';
import { t } from '../i18n.js';
import { icon } from '../icons.js';

/**
 * Open a modal <dialog>; returns it with a `finish` helper that closes it and restores focus.
 * @param {string} className
 * @param {string} titleText
 * @param {string} description
 * @param {(HTMLElement | null)[]} body
 */
function openDialog(className, titleText, description, body) {
  const titleId = uniqueId('dlg-title');
  const descId = uniqueId('dlg-desc');
  const opener = /** @type {HTMLElement | null} */ (document.activeElement);
  const dialog = /** @type {HTMLDialogElement} */ (
    h(
      'dialog',
      { class: ['dialog', className], 'aria-labelledby': titleId, 'aria-describedby': descId },
      h('h2', { id: titleId, class: 'dialog-title', text: titleText }),
      h('p', { id: descId, class: 'dialog-desc', text: description }),
      ...body,
    )
  );
  document.body.append(dialog);
  dialog.showModal();
  const finish = () => {
    if (dialog.open) dialog.close();
    dialog.remove();
    if (opener && opener.isConnected) opener.focus();
  };
  return { dialog, finish };
}

/**
 * Ask for the user's PIN. `attempt(pin)` sends the command; when it returns `{error}` the dialog
 * stays open and shows the error (a wrong PIN), otherwise it closes.
 * Resolves to true when an attempt went through, false when the user cancelled.
 * @param {{title: string, description: string, submitLabel: string,
 *   attempt: (pin: string) => Promise<{error?: string} | void>}} opts
 * @returns {Promise<boolean>}
 */
export function askPin({ title, description, submitLabel, attempt }) {
  return new Promise((resolve) => {
    const inputId = uniqueId('pin');
    const errorId = uniqueId('pin-err');
    const input = /** @type {HTMLInputElement} */ (
      h('input', {
        id: inputId,
        class: 'pin-input',
        type: 'password',
        inputmode: 'numeric',
        autocomplete: 'off',
        pattern: '[0-9]*',
        minlength: 4,
        maxlength: 12,
        required: true,
        'aria-describedby': errorId,
      })
    );
    const error = h('p', { id: errorId, class: 'form-error', role: 'alert' });
    const submit = /** @type {HTMLButtonElement} */ (
      h('button', { type: 'submit', class: 'button button-primary' }, icon('unlock'), h('span', { text: submitLabel }))
    );
    const cancel = h('button', { type: 'button', class: 'button', text: t('action.cancel') });
    const form = h(
      'form',
      { class: 'dialog-form', method: 'dialog', novalidate: true },
      h('label', { for: inputId, class: 'field-label', text: t('pin.label') }),
      input,
      error,
      h('div', { class: 'dialog-actions' }, cancel, submit),
    );
    const { dialog, finish } = openDialog('pin-dialog', title, description, [form]);
    let busy = false;
    const done = (/** @type {boolean} */ ok) => {
      finish();
      resolve(ok);
    };
    cancel.addEventListener('click', () => done(false));
    dialog.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      if (!busy) done(false);
    });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      if (busy) return;
      const pin = input.value.trim();
      if (!/^[0-9]{4,12}$/.test(pin)) {
        error.textContent = t('pin.format');
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      busy = true;
      submit.disabled = true;
      submit.setAttribute('aria-busy', 'true');
      error.textContent = '';
      const outcome = await attempt(pin);
      busy = false;
      submit.disabled = false;
      submit.removeAttribute('aria-busy');
      if (outcome && outcome.error) {
        error.textContent = outcome.error;
        input.value = '';
        input.setAttribute('aria-invalid', 'true');
        input.focus();
        return;
      }
      done(true);
    });
    input.focus();
  });
}

/**
 * Ask the user to confirm an action. Resolves true when confirmed.
 * @param {{title: string, description: string, confirmLabel: string, danger?: boolean}} opts
 * @returns {Promise<boolean>}
 */
export function confirmDialog({ title, description, confirmLabel, danger = false }) {
  return new Promise((resolve) => {
    const ok = h('button', { type: 'button', class: ['button', danger ? 'button-danger' : 'button-primary'], text: confirmLabel });
    const cancel = h('button', { type: 'button', class: 'button', text: t('action.cancel') });
    const { dialog, finish } = openDialog('confirm-dialog', title, description, [
      h('div', { class: 'dialog-actions' }, cancel, ok),
    ]);
    const done = (/** @type {boolean} */ value) => {
      finish();
      resolve(value);
    };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dialog.addEventListener('cancel', (ev) => {
      ev.preventDefault();
      done(false);
    });
    cancel.focus();
  });
}
