// Sending device commands: the control shows "pending" until the hub's result says
// `confirmed` AND the device's state change has arrived; a refusal, failure or timeout reverts
// the control and shows the hub's message. PIN step-up and owner confirmation are asked for here.

import { sameValue } from './capabilities.js';
import { askPin, confirmDialog } from './components/dialogs.js';
import { toast } from './components/toast-region.js';
import { loc, t } from './i18n.js';
import { socket } from './live.js';
import { store } from './store.js';

/** After `confirmed`, how long to wait for a state push that may never come (same value). */
const CONFIRMED_GRACE_MS = 2000;
/** After `sent` (device acknowledged, state not yet confirmed), how long to wait for a report. */
const SENT_WAIT_MS = 10000;

/**
 * @typedef {import('./api.js').CommandResult} CommandResult
 * @typedef {{device: string, target: string, args?: Record<string, any>,
 *   expect?: {path: string, value: any, step?: number}[], label: string, action?: string,
 *   announce?: boolean}} CommandRequest
 * `label` names the control in full ("入户门锁 开锁"); `action` is the short verb for buttons ("开锁").
 */

/** @param {CommandResult} r */
const isOk = (r) => r.status === 'confirmed' || r.status === 'sent';

/**
 * @param {string} device @param {string} target @param {Record<string, any>} args
 * @param {Record<string, any>} extra
 * @returns {Promise<CommandResult>}
 */
async function send(device, target, args, extra) {
  try {
    return await socket.command(device, target, args, extra);
  } catch {
    return { status: 'failed', code: 'connection_lost', message: { zh: t('command.connection_lost'), en: t('command.connection_lost') } };
  }
}

/** @param {CommandResult} r */
function messageOf(r) {
  const text = loc(r.message ?? null);
  if (text) return text;
  return t(`command.status.${r.status}`, {});
}

/**
 * Run one command with pending state, step-up and result messages.
 * @param {CommandRequest} req
 * @returns {Promise<CommandResult | null>} null when the user cancelled a step-up
 */
export async function runCommand(req) {
  const { device, target, args = {}, expect = [], label } = req;
  for (const e of expect) store.setPending(device, e.path, e.value);
  const clearAll = () => expect.forEach((e) => store.clearPending(device, e.path));

  /** @type {Record<string, any>} */
  const extra = {};
  let result = await send(device, target, args, extra);

  if (result.needs === 'pin') {
    /** @type {CommandResult | null} */
    let last = null;
    const went = await askPin({
      title: t('pin.title', { action: label }),
      description: t('pin.description'),
      submitLabel: req.action ?? label,
      attempt: async (pin) => {
        last = await send(device, target, args, { ...extra, pin });
        // A wrong PIN, a PIN locked out after too many tries, no PIN set: say so in the dialog.
        const code = String(last.code ?? '');
        if (!isOk(last) && (code.startsWith('pin') || code === 'rate_limited' || last.needs === 'pin')) {
          return { error: loc(last.message ?? null) || t('pin.wrong') };
        }
        return undefined;
      },
    });
    if (!went || last === null) {
      clearAll();
      return null;
    }
    result = last;
  }

  if (result.needs === 'owner_confirmation' && !isOk(result)) {
    const ok = await confirmDialog({
      title: t('confirm.title', { action: label }),
      description: loc(result.message ?? null) || t('confirm.description'),
      confirmLabel: req.action ?? label,
      danger: true,
    });
    if (!ok) {
      clearAll();
      return null;
    }
    extra.owner_confirmed = true;
    result = await send(device, target, args, extra);
  }

  if (!isOk(result)) {
    clearAll();
    toast(`${label}: ${messageOf(result)}`, 'error');
    return result;
  }
  if (req.announce || expect.length === 0) toast(`${label}: ${messageOf(result)}`, 'success');
  await settle(device, expect, result.status === 'confirmed' ? CONFIRMED_GRACE_MS : SENT_WAIT_MS, result);
  return result;
}

/**
 * Wait until every expected state has been reported (or the wait runs out), then clear pending.
 * @param {string} device
 * @param {{path: string, value: any, step?: number}[]} expect
 * @param {number} waitMs
 * @param {CommandResult} result
 */
function settle(device, expect, waitMs, result) {
  const open = new Set(expect.map((e) => e.path));
  for (const e of expect) {
    const p = store.pendingFor(device, e.path);
    if (p) p.confirmed = true;
    const now = store.value(device, e.path);
    if ((p && p.stateSeen) || sameValue(now, e.value, e.step)) {
      store.clearPending(device, e.path);
      open.delete(e.path);
    }
  }
  if (!open.size) return Promise.resolve();
  return new Promise((resolve) => {
    const off = store.on('state', (/** @type {{device: string, path: string}} */ d) => {
      if (d.device !== device || !open.has(d.path)) return;
      store.clearPending(device, d.path);
      open.delete(d.path);
      if (!open.size) finish();
    });
    const timer = window.setTimeout(() => {
      for (const path of open) store.clearPending(device, path);
      if (result.status === 'sent') toast(t('command.not_reported'), 'info');
      finish();
    }, waitMs);
    function finish() {
      off();
      clearTimeout(timer);
      resolve(undefined);
    }
  });
}
