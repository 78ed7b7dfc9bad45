// history.js — the History screen: every take newest first, searchable by text and filtered by profile,
// played in one seekable waveform player; download the WAV, reuse its settings, delete it (confirmed).
// Seed, model size and the generation settings are shown so a take can be reproduced.

import { api, languageName } from './api.js';
import { state, on, refreshProfiles } from './store.js';
import { h, icon, button, toast, confirmDialog, emptyState, loadingState, errorState, formatDuration, formatDate } from './ui.js';
import { createPlayer } from './waveform.js';

const PAGE = 50;
let listBox;
let searchInput;
let profileFilter;
let countLabel;
let player;
let nowTitle;
let nowMeta;
let items = [];
let total = 0;
let currentId = null;
let loadToken = 0;
let stale = true;
let nowPanel;

export function mount(section) {
  const body = section.querySelector('.screen-body');
  searchInput = h('input', { type: 'search', name: 'search', placeholder: 'Search the text of your takes', 'aria-label': 'Search history', autocomplete: 'off' });
  profileFilter = h('select', { name: 'profile_id', 'aria-label': 'Filter by profile' });
  countLabel = h('span', { class: 'muted count-label', 'aria-live': 'polite' });
  let timer = 0;
  searchInput.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => load(), 250);
  });
  profileFilter.addEventListener('change', () => load());
  const searchWrap = h('div', { class: 'search' });
  searchWrap.innerHTML = icon('search');
  searchWrap.append(searchInput);

  player = createPlayer({ label: 'Take' });
  nowTitle = h('p', { class: 'now-title', text: 'Nothing selected' });
  nowMeta = h('p', { class: 'muted now-meta', text: 'Choose a take below to play it.' });
  nowPanel = h('div', { class: 'panel now-playing' }, h('div', { class: 'now-head' }, h('div', {}, nowTitle, nowMeta)), player);

  listBox = h('div', { class: 'history-list-box' });
  const importInput = h('input', { type: 'file', accept: '.zip,application/zip', hidden: true, 'data-testid': 'take-import-input', 'aria-label': 'Import a take package' });
  importInput.addEventListener('change', async () => {
    const f = importInput.files && importInput.files[0];
    importInput.value = '';
    if (!f) return;
    const form = new FormData();
    form.append('file', f);
    try {
      const g = await api('/history/import', { method: 'POST', form });
      toast(g.message || 'Take imported.', 'success');
      load();
    } catch (e) {
      toast(e.message, 'error');
    }
  });
  const importBtn = button('Import take', { iconName: 'upload', onclick: () => importInput.click() });
  const clearBtn = button('Clear failed', { iconName: 'broom', variant: 'ghost', 'data-testid': 'clear-failed', onclick: clearFailed });
  body.append(nowPanel, h('div', { class: 'toolbar' }, searchWrap, profileFilter, countLabel, importBtn, clearBtn, importInput), h('div', { class: 'panel panel-flush' }, listBox));

  on('profiles', fillFilter);
  on('history-changed', () => { stale = true; });
  fillFilter();
}

export function show(params) {
  refreshProfiles().catch(() => {});
  if (params.get('profile')) profileFilter.dataset.want = params.get('profile');
  fillFilter();
  if (stale || params.get('profile')) load();
}

export function hide() {
  player.pause();
}

function fillFilter() {
  const want = profileFilter.dataset.want || profileFilter.value;
  profileFilter.replaceChildren(h('option', { value: '', text: 'All profiles' }), ...(state.profiles || []).map((p) => h('option', { value: p.id, text: p.name })));
  if ([...profileFilter.options].some((o) => o.value === want)) {
    profileFilter.value = want;
    delete profileFilter.dataset.want;
  }
}

async function load(append = false) {
  const token = ++loadToken;
  stale = false;
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(append ? items.length : 0) });
  if (searchInput.value.trim()) q.set('search', searchInput.value.trim());
  if (profileFilter.value) q.set('profile_id', profileFilter.value);
  if (!append) listBox.replaceChildren(loadingState('Loading history…'));
  try {
    const res = await api(`/history?${q}`);
    if (token !== loadToken) return;
    items = append ? items.concat(res.items) : res.items;
    total = res.total;
    render();
  } catch (e) {
    if (token !== loadToken) return;
    countLabel.textContent = '';
    listBox.replaceChildren(errorState(`The history could not be loaded: ${e.message}`, () => load()));
  }
}

function render() {
  const filtered = searchInput.value.trim() || profileFilter.value;
  nowPanel.hidden = !items.length && !filtered;
  countLabel.textContent = total ? `${total} ${total === 1 ? 'take' : 'takes'}` : '';
  if (!items.length) {
    listBox.replaceChildren(filtered
      ? emptyState('search', 'No takes match', 'Try other words or another profile.')
      : emptyState('history', 'No takes yet', 'Generated speech appears here, newest first.', h('a', { class: 'btn btn-primary', href: '#generate', html: `${icon('wave')}<span>Generate speech</span>` })));
    return;
  }
  const ul = h('ul', { class: 'history-list', 'aria-label': 'Takes' });
  for (const g of items) ul.append(row(g));
  listBox.replaceChildren(ul);
  if (items.length < total) listBox.append(h('div', { class: 'load-more' }, button(`Show more (${total - items.length} left)`, { onclick: () => load(true) })));
  if (currentId && !items.some((g) => g.id === currentId)) {
    currentId = null;
    player.clear();
  }
  if (!currentId) select(items[0], false); // the newest take is ready in the player
}

function metaText(g) {
  return [g.profile_name, languageName(g.language), g.model_size ? `${g.model_size} model` : null, `seed ${g.seed ?? '—'}`, formatDuration(g.duration), formatDate(g.created_at)].filter(Boolean).join(' · ');
}

// The settings a take was made with (sampling, chunking), folded away under its text.
const SETTING_LABELS = [['temperature', 'temperature'], ['top_k', 'top-k'], ['top_p', 'top-p'], ['repetition_penalty', 'repetition penalty'],
  ['subtalker_temperature', 'code predictor temperature'], ['subtalker_top_k', 'code predictor top-k'], ['subtalker_top_p', 'code predictor top-p'],
  ['max_chunk_chars', 'chunk size'], ['crossfade_ms', 'crossfade ms'], ['max_frames', 'max frames'], ['normalize', 'normalize']];

function settingsList(settings) {
  if (!settings || typeof settings !== 'object') return null;
  const items = SETTING_LABELS.filter(([k]) => settings[k] !== undefined).map(([k, label]) =>
    h('div', { dataset: { setting: k } }, h('dt', { text: label }), h('dd', { class: 'mono', text: typeof settings[k] === 'boolean' ? (settings[k] ? 'yes' : 'no') : String(settings[k]) })));
  if (!items.length) return null;
  return h('details', { class: 'take-settings', 'data-testid': 'take-settings' }, h('summary', { text: 'Settings' }), h('dl', { class: 'settings-list' }, ...items));
}

function row(g) {
  const ok = !g.status || g.status === 'completed' || g.status === 'complete' || g.status === 'done';
  const playBtn = button(`Play “${g.text.slice(0, 40)}”`, { iconName: 'play', iconOnly: true, variant: currentId === g.id ? 'primary' : 'secondary', onclick: () => select(g, true), disabled: !ok || !g.audio_path ? true : undefined });
  playBtn.classList.add('row-play');
  const chips = h('div', { class: 'chips' },
    h('span', { class: 'chip', text: g.profile_name || 'Unknown profile' }),
    h('span', { class: 'chip', text: g.language }),
    g.model_size ? h('span', { class: 'chip chip-accent', title: 'Model size', text: g.model_size }) : null,
    h('span', { class: 'chip mono', title: 'Seed', text: `seed ${g.seed ?? '—'}` }),
    h('span', { class: 'chip', text: formatDuration(g.duration) }),
    !ok ? h('span', { class: 'chip chip-error', text: g.status, title: g.error || '' }) : null,
    g.missing ? h('span', { class: 'chip chip-error', text: 'file missing', title: 'Its audio file was not found when the server started; the take is kept until the file is back or you delete it.' }) : null);
  const fav = button(g.is_favorited ? 'Remove from favourites' : 'Add to favourites', { iconName: 'star', iconOnly: true, variant: g.is_favorited ? 'primary' : 'ghost', 'aria-pressed': g.is_favorited ? 'true' : 'false', 'data-testid': 'take-favorite', onclick: () => favorite(g) });
  const retry = g.status === 'failed' || g.status === 'cancelled' ? button('Retry take', { iconName: 'refresh', iconOnly: true, variant: 'ghost', 'data-testid': 'take-retry', onclick: () => retryTake(g) }) : null;
  const actions = h('div', { class: 'row-actions' }, fav, retry,
    button('Reuse settings', { iconName: 'reuse', iconOnly: true, variant: 'ghost', onclick: () => reuse(g) }),
    h('a', { class: 'btn btn-ghost btn-icon', href: `/history/${encodeURIComponent(g.id)}/export-audio`, download: `voicebox-${g.id}.wav`, 'aria-label': 'Download WAV', title: 'Download WAV', html: icon('download') }),
    // no download attribute: the server names the file (Content-Disposition: attachment), and the WAV link
    // above stays the row's one a[download]
    h('a', { class: 'btn btn-ghost btn-icon', href: `/history/${encodeURIComponent(g.id)}/export`, 'aria-label': 'Export the take (.voicebox.zip)', title: 'Export the take (.voicebox.zip)', html: icon('upload'), 'data-testid': 'take-export' }),
    button('Delete take', { iconName: 'trash', iconOnly: true, variant: 'ghost-danger', onclick: () => remove(g) }));
  return h('li', { class: `history-item${currentId === g.id ? ' is-current' : ''}`, dataset: { generationId: g.id } },
    playBtn,
    h('div', { class: 'history-main' }, h('p', { class: 'history-text', text: g.text }), chips,
      g.error && !ok ? h('p', { class: 'field-error history-error', text: g.error }) : null,
      settingsList(g.settings),
      h('p', { class: 'muted history-date', text: formatDate(g.created_at) })),
    actions);
}

function select(g, play) {
  currentId = g.id;
  nowTitle.textContent = g.text;
  nowMeta.textContent = metaText(g);
  for (const li of listBox.querySelectorAll('.history-item')) {
    const cur = li.dataset.generationId === g.id;
    li.classList.toggle('is-current', cur);
    const b = li.querySelector('.row-play');
    b.className = `btn btn-icon row-play ${cur ? 'btn-primary' : 'btn-secondary'}`;
  }
  player.load(`/audio/${encodeURIComponent(g.id)}`);
  if (play) player.play();
}

async function favorite(g) {
  try {
    await api(`/history/${encodeURIComponent(g.id)}/favorite`, { method: 'POST' });
    await load();
  } catch (e) {
    toast(e.message, 'error');
  }
}

// A failed or cancelled take runs again under its id with its settings; the list shows its new status.
async function retryTake(g) {
  try {
    await api(`/generate/${encodeURIComponent(g.id)}/retry`, { method: 'POST' });
    toast('The take is queued again.', 'success');
    await load();
  } catch (e) {
    toast(e.message, 'error');
  }
}

async function clearFailed() {
  try {
    const r = await api('/history/failed', { method: 'DELETE' });
    toast(r.message, 'success');
    await load();
  } catch (e) {
    toast(e.message, 'error');
  }
}

function reuse(g) {
  const q = new URLSearchParams({ profile: g.profile_id, text: g.text, language: g.language || 'en' });
  if (g.model_size) q.set('model_size', g.model_size);
  if (g.seed !== null && g.seed !== undefined) q.set('seed', String(g.seed));
  if (g.settings) q.set('settings', JSON.stringify(g.settings));
  location.hash = `#generate?${q}`;
}

async function remove(g) {
  const ok = await confirmDialog({ title: 'Delete this take?', message: `“${g.text.slice(0, 140)}” and its audio are deleted. This cannot be undone.`, confirmLabel: 'Delete take' });
  if (!ok) return;
  try {
    await api(`/history/${encodeURIComponent(g.id)}`, { method: 'DELETE' });
    toast('Take deleted.', 'success');
    if (currentId === g.id) {
      currentId = null;
      player.clear();
      nowTitle.textContent = 'Nothing selected';
      nowMeta.textContent = 'Choose a take below to play it.';
    }
    await load();
    refreshProfiles().catch(() => {});
  } catch (e) {
    toast(e.message, 'error');
  }
}
