// #/rules/<id> — one rule and the trace of each run: trigger, conditions, every step and its
// result, and the near misses ("why didn't it fire?").

import { enc, get } from '../api.js';
import { h, replace } from '../dom.js';
import { formatNumber, formatTime, loc, t } from '../i18n.js';
import { emptyBlock, errorBlock, errorText, loadingBlock, pageHeader } from './common.js';

let currentName = '';
export const roles = ['owner', 'member'];
export const title = () => currentName || t('rules.title');

/** @param {HTMLElement} main @param {{params: Record<string, string>}} args */
export async function render(main, { params }) {
  const id = params.id;
  currentName = id;
  const header = h('div', {}, pageHeader(id, { back: { href: '#/rules', label: t('rules.title') } }));
  const body = h('div', { class: 'trace-page' }, loadingBlock());
  main.append(header, body);
  try {
    const [rulesData, traceData] = await Promise.all([get('/api/rules'), get(`/api/rules/${enc(id)}/traces`)]);
    const rules = Array.isArray(rulesData) ? rulesData : rulesData?.rules ?? [];
    const rule = rules.find((/** @type {any} */ r) => r.id === id);
    currentName = rule ? loc(rule.name) || id : id;
    document.title = `${currentName} · ${t('app.name')}`;
    replace(header, pageHeader(currentName, { back: { href: '#/rules', label: t('rules.title') }, subtitle: loc(rule?.description) || undefined }));
    const all = Array.isArray(traceData) ? traceData : traceData?.traces ?? [];
    const runs = all.filter((/** @type {any} */ tr) => tr.status !== 'not_fired');
    const misses = [...all.filter((/** @type {any} */ tr) => tr.status === 'not_fired'), ...(traceData?.not_fired ?? [])];
    replace(
      body,
      h(
        'section',
        { class: 'card panel', 'aria-labelledby': 'runs-title' },
        h('h2', { id: 'runs-title', class: 'panel-title', text: t('traces.runs') }),
        runs.length ? h('ol', { class: 'trace-list' }, runs.map(traceItem)) : emptyBlock(t('traces.none')),
      ),
      h(
        'section',
        { class: 'card panel', 'aria-labelledby': 'misses-title' },
        h('h2', { id: 'misses-title', class: 'panel-title', text: t('traces.not_fired') }),
        h('p', { class: 'field-hint', text: t('traces.not_fired_hint') }),
        misses.length ? h('ol', { class: 'trace-list' }, misses.map(traceItem)) : emptyBlock(t('traces.no_misses')),
      ),
    );
  } catch (err) {
    replace(body, errorBlock(errorText(err)));
  }
}

/** @param {any} tr */
function traceItem(tr) {
  const status = String(tr.status ?? 'unknown');
  const when = tr.started_at ?? tr.created_at;
  const notes = (tr.notes ?? []).map((/** @type {any} */ n) => loc(n) || n.code);
  return h(
    'li',
    { class: 'trace', dataset: { status } },
    h(
      'details',
      {},
      h(
        'summary',
        { class: 'trace-summary' },
        h('span', { class: ['badge', status === 'finished' ? 'badge-ok' : status === 'failed' ? 'badge-danger' : ''], text: t(`traces.status.${status}`) }),
        h('time', { text: formatTime(when, { date: true }) }),
        h('span', { class: 'trace-trigger', text: describe(tr.trigger) }),
      ),
      h(
        'div',
        { class: 'trace-body' },
        block(t('traces.trigger'), kv(tr.trigger)),
        (tr.conditions ?? []).length
          ? block(
              t('traces.conditions'),
              h(
                'ul',
                { class: 'plain-list' },
                tr.conditions.map((/** @type {any} */ c) =>
                  h('li', { class: c.result === false || c.passed === false ? 'cond-fail' : 'cond-pass' }, h('span', { class: 'badge', text: c.result === false || c.passed === false ? t('traces.failed') : t('traces.passed') }), ' ', describe(c)),
                ),
              ),
            )
          : null,
        (tr.steps ?? []).length
          ? block(
              t('traces.steps'),
              h(
                'ol',
                { class: 'step-list' },
                tr.steps.map((/** @type {any} */ st) =>
                  h(
                    'li',
                    { class: 'step' },
                    h('code', { text: st.path }),
                    ' ',
                    h('strong', { text: st.kind }),
                    st.wall_ms !== undefined ? h('span', { class: 'muted', text: ` ${formatNumber(st.wall_ms, 0)} ms` }) : null,
                    st.result && Object.keys(st.result).length ? h('div', { class: 'step-result' }, kv(st.result)) : null,
                    (st.notes ?? []).length ? h('p', { class: 'field-hint', text: st.notes.map((/** @type {any} */ n) => loc(n) || n.code).join(t('list.separator')) }) : null,
                    st.error ? h('p', { class: 'form-error', text: st.error }) : null,
                  ),
                ),
              ),
            )
          : null,
        notes.length ? block(t('traces.notes'), h('p', { text: notes.join(t('list.separator')) })) : null,
        tr.error ? block(t('traces.error'), h('p', { class: 'form-error', text: tr.error })) : null,
        (tr.context ?? []).length
          ? block(t('traces.context'), h('p', { class: 'muted', text: tr.context.map((/** @type {any} */ c) => `${c.origin}${c.actor ? `:${c.actor}` : ''}`).join(' ← ') }))
          : null,
      ),
    ),
  );
}

/** @param {string} label @param {HTMLElement} content */
function block(label, content) {
  return h('div', { class: 'trace-block' }, h('h3', { class: 'trace-block-title', text: label }), content);
}

/** One-line text for a trigger or condition object. @param {any} obj */
function describe(obj) {
  if (!obj || typeof obj !== 'object') return obj === undefined || obj === null ? '' : String(obj);
  const text = loc(obj.note ?? obj.message ?? null);
  if (text) return text;
  return Object.entries(obj)
    .filter(([k, v]) => v !== null && v !== undefined && typeof v !== 'object' && k !== 'id')
    .map(([k, v]) => `${k}=${v}`)
    .join(' · ');
}

/** Key/value list of a JSON object (nested values as JSON). @param {any} obj */
function kv(obj) {
  if (!obj || typeof obj !== 'object') return h('p', { text: obj === undefined ? '—' : String(obj) });
  return h(
    'dl',
    { class: 'kv' },
    Object.entries(obj).map(([k, v]) => [h('dt', { text: k }), h('dd', { text: typeof v === 'object' && v !== null ? loc(v) || JSON.stringify(v) : String(v) })]),
  );
}
