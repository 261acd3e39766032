// #/rules — automation rules: enable/disable (members and owners), link to each rule's runs.

import { enc, get, patch } from '../api.js';
import { toast } from '../components/toast-region.js';
import { h, replace } from '../dom.js';
import { loc, t } from '../i18n.js';
import { icon } from '../icons.js';
import { canOperate, emptyBlock, errorBlock, errorText, loadingBlock, pageHeader } from './common.js';

export const roles = ['owner', 'member'];
export const title = () => t('rules.title');

/** @param {HTMLElement} main */
export async function render(main) {
  const list = h('div', { class: 'rule-list' }, loadingBlock());
  main.append(pageHeader(t('rules.title'), { subtitle: t('rules.intro') }), list);
  let rules = [];
  try {
    const data = await get('/api/rules');
    rules = Array.isArray(data) ? data : data?.rules ?? [];
  } catch (err) {
    replace(list, errorBlock(errorText(err)));
    return;
  }
  if (!rules.length) {
    replace(list, emptyBlock(t('rules.empty')));
    return;
  }
  replace(list, h('ul', { class: 'plain-list' }, rules.map((r) => h('li', {}, ruleRow(r)))));
}

/** @param {any} rule */
function ruleRow(rule) {
  const name = loc(rule.name) || rule.id;
  let enabled = rule.enabled !== false;
  const stateText = h('span', { class: 'switch-state' });
  const toggle = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', role: 'switch', class: 'switch', 'aria-label': t('rules.enable_named', { name }) }, h('span', { class: 'switch-track', 'aria-hidden': 'true' }, h('span', { class: 'switch-thumb' })))
  );
  const draw = () => {
    toggle.setAttribute('aria-checked', enabled ? 'true' : 'false');
    stateText.textContent = enabled ? t('rules.enabled') : t('rules.disabled');
  };
  draw();
  if (!canOperate() || rule.safety) toggle.disabled = true;
  toggle.addEventListener('click', async () => {
    const next = !enabled;
    toggle.disabled = true;
    toggle.setAttribute('aria-busy', 'true');
    try {
      const res = await patch(`/api/rules/${enc(rule.id)}`, { enabled: next });
      enabled = res?.enabled ?? res?.rule?.enabled ?? next;
      toast(enabled ? t('rules.now_enabled', { name }) : t('rules.now_disabled', { name }), 'success');
    } catch (err) {
      toast(errorText(err), 'error');
    } finally {
      toggle.disabled = false;
      toggle.removeAttribute('aria-busy');
      draw();
    }
  });
  const desc = loc(rule.description);
  return h(
    'article',
    { class: 'card rule', dataset: { rule: rule.id } },
    h(
      'div',
      { class: 'rule-head' },
      h('h2', { class: 'panel-title' }, h('a', { href: `#/rules/${enc(rule.id)}`, text: name })),
      h('span', { class: 'widget-control' }, stateText, toggle),
    ),
    desc ? h('p', { class: 'muted', text: desc }) : null,
    h(
      'p',
      { class: 'rule-meta' },
      rule.safety ? h('span', { class: 'badge badge-warn' }, icon('alert', 'icon-small'), t('rules.safety')) : null,
      rule.mode ? h('span', { class: 'badge', text: t('rules.mode', { mode: t(`rules.modes.${rule.mode}`) }) }) : null,
      h('a', { href: `#/rules/${enc(rule.id)}`, class: 'link-inline', text: t('rules.traces') }),
    ),
  );
}
