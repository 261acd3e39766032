// #/scenes — run a scene and see the result for every device it touched.

import { enc, get, post } from '../api.js';
import { toast } from '../components/toast-region.js';
import { h, replace } from '../dom.js';
import { formatNumber, loc, t } from '../i18n.js';
import { icon } from '../icons.js';
import { store } from '../store.js';
import { emptyBlock, errorBlock, errorText, loadingBlock, pageHeader } from './common.js';

export const roles = ['owner', 'member'];
export const title = () => t('scenes.title');

/** @param {HTMLElement} main */
export async function render(main) {
  const list = h('div', { class: 'scene-list' }, loadingBlock());
  main.append(pageHeader(t('scenes.title'), { subtitle: t('scenes.intro') }), list);
  let scenes = [];
  try {
    const data = await get('/api/scenes');
    scenes = Array.isArray(data) ? data : data?.scenes ?? [];
  } catch (err) {
    replace(list, errorBlock(errorText(err)));
    return;
  }
  if (!scenes.length) {
    replace(list, emptyBlock(t('scenes.empty')));
    return;
  }
  replace(list, scenes.map(sceneCard));
}

/** @param {any} scene */
function sceneCard(scene) {
  const name = loc(scene.name) || scene.id;
  const headingId = `scene-${scene.id}`;
  const result = h('div', { class: 'scene-result', role: 'status', 'aria-live': 'polite' });
  const button = /** @type {HTMLButtonElement} */ (
    h('button', { type: 'button', class: 'button button-primary', 'aria-label': t('scenes.run_named', { name }) }, icon('play'), h('span', { text: t('scenes.run') }))
  );
  button.addEventListener('click', async () => {
    button.disabled = true;
    button.setAttribute('aria-busy', 'true');
    replace(result, loadingBlock(t('scenes.running')));
    try {
      const data = await post(`/api/scenes/${enc(scene.id)}/run`, {});
      const res = data?.result ?? data;
      replace(result, resultView(res));
      toast(res?.ok === false ? t('scenes.partial', { name }) : t('scenes.done', { name }), res?.ok === false ? 'error' : 'success');
    } catch (err) {
      const res = /** @type {any} */ (err).body?.result;
      replace(result, res ? resultView(res) : errorBlock(errorText(err)));
    } finally {
      button.disabled = false;
      button.removeAttribute('aria-busy');
    }
  });
  const desc = loc(scene.description ?? scene.scene?.description);
  return h(
    'section',
    { class: 'card scene', 'aria-labelledby': headingId, dataset: { scene: scene.id } },
    h('div', { class: 'scene-head' }, h('h2', { id: headingId, class: 'panel-title', text: name }), button),
    desc ? h('p', { class: 'muted', text: desc }) : null,
    (scene.opt_in ?? []).length ? h('p', { class: 'field-hint', text: t('scenes.opt_in', { list: scene.opt_in.join(t('list.separator')) }) }) : null,
    result,
  );
}

/** Per-device outcome of a scene run. @param {any} res */
function resultView(res) {
  const devices = res?.devices ?? [];
  const notes = (res?.notes ?? []).map((/** @type {any} */ n) => loc(n) || n.code);
  return h(
    'div',
    { class: 'scene-outcome' },
    h('p', { class: 'scene-summary', text: t('scenes.summary', { n: devices.length, ms: formatNumber(res?.duration_ms ?? 0, 0) }) }),
    h(
      'ul',
      { class: 'outcome-list' },
      devices.map((/** @type {any} */ d) => {
        const dev = store.device(d.device ?? d.device_id);
        const status = String(d.status ?? 'unknown');
        return h(
          'li',
          { class: ['outcome', `outcome-${status}`], dataset: { status } },
          h('span', { class: 'outcome-device', text: loc(dev?.name) || d.device }),
          h('span', { class: ['badge', status === 'ok' ? 'badge-ok' : status === 'skipped' ? '' : 'badge-danger'], text: t(`scenes.status.${status}`) }),
          (d.notes ?? []).length ? h('span', { class: 'outcome-notes', text: d.notes.map((/** @type {any} */ n) => loc(n) || n.code).join(t('list.separator')) }) : null,
        );
      }),
    ),
    notes.length ? h('p', { class: 'field-hint', text: notes.join(t('list.separator')) }) : null,
  );
}
