// stories.js — the Stories screen: a list of stories and, for the chosen one, a multi-track timeline of takes.
// Clips are dragged across time and tracks, trimmed by their edges, split at the playhead (S), duplicated
// (Ctrl+D) and deleted (Del); the mix plays in the browser with Web Audio and downloads as the server's WAV
// (GET /stories/{id}/export-audio). Takes are added from the history by search. Every edit goes to the server
// first and the timeline is redrawn from its answer, so what is shown is what is stored.

import { api } from './api.js';
import { h, button, toast, confirmDialog, emptyState, formatDuration } from './ui.js';

const TRACK_H = 56;
const MIN_TRACKS = 3;
const EDGE_PX = 8;
let listBox, editor, timeline, ruler, lanes, playhead, zoomLabel, addResults, addSearch, playBtn, exportLink;
let stories = [];
let story = null; // GET /stories/{id}
let selected = null; // item id
let pxPerMs = 0.1;
let playheadMs = 0;
let audioCtx = null;
const buffers = new Map(); // generation id -> AudioBuffer
let playing = null; // {sources, startedAt, fromMs, raf}

export function mount(section) {
  const body = section.querySelector('.screen-body');
  const nameInput = h('input', { name: 'name', placeholder: 'New story name', 'aria-label': 'New story name', maxlength: '100', required: true });
  const form = h('form', { class: 'story-new', 'data-testid': 'story-new' }, nameInput, button('Create', { iconName: 'plus', variant: 'primary', type: 'submit' }));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const s = await api('/stories', { method: 'POST', json: { name: nameInput.value.trim() } });
      nameInput.value = '';
      await loadList();
      await open(s.id);
    } catch (err) {
      toast(err.message, 'error');
    }
  });
  listBox = h('ul', { class: 'story-list', 'aria-label': 'Stories' });
  editor = h('div', { class: 'story-editor panel' });
  body.append(h('div', { class: 'stories-layout' }, h('div', { class: 'panel story-side' }, form, listBox), editor));
  document.addEventListener('keydown', onKey);
  renderEditor();
}

export function show() {
  loadList();
}

export function hide() {
  stop();
}

async function loadList() {
  try {
    stories = await api('/stories');
  } catch (err) {
    toast(err.message, 'error');
    return;
  }
  listBox.replaceChildren(
    ...stories.map((s) =>
      h('li', {}, h('button', {
        type: 'button', class: `story-link${story && story.id === s.id ? ' active' : ''}`, 'data-testid': 'story-link',
        onclick: () => open(s.id),
      }, h('span', { text: s.name }), h('span', { class: 'muted', text: `${s.item_count} clip${s.item_count === 1 ? '' : 's'}` })))),
  );
  if (!stories.length) listBox.replaceChildren(h('li', { class: 'muted', text: 'No stories yet.' }));
}

async function open(id) {
  stop();
  try {
    story = await api(`/stories/${encodeURIComponent(id)}`);
  } catch (err) {
    toast(err.message, 'error');
    return;
  }
  selected = null;
  playheadMs = 0;
  renderEditor();
  loadList();
}

async function reload() {
  if (!story) return;
  story = await api(`/stories/${encodeURIComponent(story.id)}`);
  if (selected && !story.items.some((i) => i.id === selected)) selected = null;
  drawTimeline();
  loadList(); // the clip counts
}

// Runs an edit, then redraws from the server's state; a refusal shows its reason and redraws too.
async function edit(fn) {
  try {
    await fn();
  } catch (err) {
    toast(err.message, 'error');
  }
  await reload().catch(() => {});
}

const visibleMs = (it) => Math.max(0, Math.floor(it.duration * 1000) - it.trim_start_ms - it.trim_end_ms);
const itemPath = (it) => `/stories/${encodeURIComponent(story.id)}/items/${encodeURIComponent(it.id)}`;

function renderEditor() {
  stop();
  if (!story) {
    editor.replaceChildren(emptyState('wave', 'No story open', 'Create a story or choose one to arrange takes on a timeline.'));
    return;
  }
  playBtn = button('Play', { iconName: 'play', variant: 'primary', onclick: togglePlay, 'data-testid': 'story-play' });
  exportLink = h('a', { class: 'btn btn-secondary', href: `/stories/${encodeURIComponent(story.id)}/export-audio`, download: '', 'data-testid': 'story-export' });
  exportLink.innerHTML = '<span>Export WAV</span>';
  zoomLabel = h('span', { class: 'muted zoom-label' });
  const tools = h('div', { class: 'toolbar story-tools' },
    playBtn,
    button('Stop', { iconName: 'stop', onclick: () => { stop(); setPlayhead(0); } }),
    button('Zoom out', { onclick: () => zoom(0.5), 'data-testid': 'zoom-out' }),
    button('Zoom in', { onclick: () => zoom(2), 'data-testid': 'zoom-in' }),
    zoomLabel,
    button('Split (S)', { onclick: splitSelected, 'data-testid': 'story-split' }),
    button('Duplicate (Ctrl+D)', { onclick: duplicateSelected }),
    button('Delete (Del)', { iconName: 'trash', onclick: deleteSelected }),
    exportLink,
    button('Delete story', { iconName: 'trash', variant: 'danger', onclick: deleteStory }),
  );
  ruler = h('div', { class: 'tl-ruler', 'data-testid': 'tl-ruler' });
  lanes = h('div', { class: 'tl-lanes' });
  playhead = h('div', { class: 'tl-playhead', 'data-testid': 'tl-playhead' });
  timeline = h('div', { class: 'timeline', 'data-testid': 'timeline', tabindex: '0', 'aria-label': 'Story timeline' }, ruler, lanes, playhead);
  ruler.addEventListener('pointerdown', (e) => setPlayhead(msAt(e.clientX)));
  lanes.addEventListener('pointerdown', (e) => {
    if (e.target === lanes || e.target.classList.contains('tl-lane')) {
      selected = null;
      setPlayhead(msAt(e.clientX));
      drawTimeline();
    }
  });
  addSearch = h('input', { type: 'search', placeholder: 'Search takes to add', 'aria-label': 'Search takes to add', 'data-testid': 'story-add-search' });
  addResults = h('ul', { class: 'story-add-results', 'data-testid': 'story-add-results' });
  let timer = 0;
  addSearch.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(searchTakes, 200);
  });
  editor.replaceChildren(
    h('h2', { class: 'story-title', text: story.name }),
    tools,
    h('div', { class: 'timeline-scroll' }, timeline),
    h('div', { class: 'story-add' }, h('h3', { text: 'Add takes' }), addSearch, addResults),
  );
  drawTimeline();
  searchTakes();
}

function msAt(clientX) {
  const r = lanes.getBoundingClientRect();
  return Math.max(0, Math.round((clientX - r.left) / pxPerMs));
}

function zoom(f) {
  pxPerMs = Math.min(2, Math.max(0.01, pxPerMs * f));
  drawTimeline();
}

function setPlayhead(ms) {
  playheadMs = Math.max(0, ms);
  if (playhead) playhead.style.left = `${playheadMs * pxPerMs}px`;
}

function drawTimeline() {
  if (!story || !lanes) return;
  const endMs = story.items.reduce((m, it) => Math.max(m, it.start_time_ms + visibleMs(it)), 0);
  const tracks = Math.max(MIN_TRACKS, story.items.reduce((m, it) => Math.max(m, it.track + 2), 0));
  const width = Math.max(800, (endMs + 3000) * pxPerMs);
  timeline.style.width = `${width}px`;
  lanes.style.height = `${tracks * TRACK_H}px`;
  zoomLabel.textContent = `${Math.round(pxPerMs * 1000)} px/s`;
  // ruler: a tick a second (every 5 s when zoomed out)
  const step = pxPerMs < 0.05 ? 5000 : 1000;
  ruler.replaceChildren(...Array.from({ length: Math.ceil(width / (step * pxPerMs)) }, (_, k) =>
    h('span', { class: 'tl-tick', style: `left:${k * step * pxPerMs}px`, text: `${(k * step) / 1000}s` })));
  lanes.replaceChildren(...Array.from({ length: tracks }, (_, t) =>
    h('div', { class: 'tl-lane', style: `top:${t * TRACK_H}px;height:${TRACK_H}px`, 'data-track': String(t) })));
  for (const it of story.items) lanes.append(clipEl(it));
  setPlayhead(playheadMs);
  exportLink.toggleAttribute('aria-disabled', story.items.length === 0);
}

function clipEl(it) {
  const el = h('div', {
    class: `tl-clip${it.id === selected ? ' selected' : ''}`, 'data-testid': 'tl-clip', 'data-item': it.id,
    'data-track': String(it.track), 'data-start': String(it.start_time_ms), title: `${it.profile_name}: ${it.text}`,
    style: `left:${it.start_time_ms * pxPerMs}px;top:${it.track * TRACK_H + 4}px;width:${Math.max(4, visibleMs(it) * pxPerMs)}px;height:${TRACK_H - 8}px`,
  },
  h('span', { class: 'tl-clip-name', text: it.profile_name }),
  h('span', { class: 'tl-clip-text', text: it.text }),
  h('span', { class: 'tl-edge tl-edge-l', 'data-testid': 'tl-edge-l' }),
  h('span', { class: 'tl-edge tl-edge-r', 'data-testid': 'tl-edge-r' }));
  el.addEventListener('pointerdown', (e) => startDrag(e, it, el));
  return el;
}

// One pointer gesture on a clip: the body moves it (time and track), an edge trims that end. The clip
// follows the pointer; on release the change goes to the server.
function startDrag(e, it, el) {
  e.preventDefault();
  e.stopPropagation();
  selected = it.id;
  for (const c of lanes.querySelectorAll('.tl-clip')) c.classList.toggle('selected', c === el);
  const r = el.getBoundingClientRect();
  const mode = e.clientX - r.left < EDGE_PX ? 'trim-l' : r.right - e.clientX < EDGE_PX ? 'trim-r' : 'move';
  const x0 = e.clientX, y0 = e.clientY;
  const full = Math.floor(it.duration * 1000);
  let dMs = 0, dTrack = 0;
  el.setPointerCapture(e.pointerId);
  const onMove = (ev) => {
    dMs = Math.round((ev.clientX - x0) / pxPerMs);
    if (mode === 'move') {
      dMs = Math.max(-it.start_time_ms, dMs);
      dTrack = Math.max(-it.track, Math.round((ev.clientY - y0) / TRACK_H));
      el.style.left = `${(it.start_time_ms + dMs) * pxPerMs}px`;
      el.style.top = `${(it.track + dTrack) * TRACK_H + 4}px`;
    } else if (mode === 'trim-l') {
      dMs = Math.min(Math.max(dMs, -it.trim_start_ms, -it.start_time_ms), full - it.trim_start_ms - it.trim_end_ms - 10);
      el.style.left = `${(it.start_time_ms + dMs) * pxPerMs}px`;
      el.style.width = `${(visibleMs(it) - dMs) * pxPerMs}px`;
    } else {
      dMs = Math.min(Math.max(dMs, -(visibleMs(it) - 10)), it.trim_end_ms);
      el.style.width = `${(visibleMs(it) + dMs) * pxPerMs}px`;
    }
  };
  const onUp = () => {
    el.removeEventListener('pointermove', onMove);
    el.removeEventListener('pointerup', onUp);
    el.removeEventListener('pointercancel', onUp);
    if (!dMs && !dTrack) return drawTimeline();
    if (mode === 'move') {
      edit(() => api(`${itemPath(it)}/move`, { method: 'PUT', json: { start_time_ms: it.start_time_ms + dMs, track: it.track + dTrack } }));
    } else if (mode === 'trim-l') {
      edit(async () => {
        await api(`${itemPath(it)}/trim`, { method: 'PUT', json: { trim_start_ms: it.trim_start_ms + dMs, trim_end_ms: it.trim_end_ms } });
        await api(`${itemPath(it)}/move`, { method: 'PUT', json: { start_time_ms: it.start_time_ms + dMs, track: it.track } });
      });
    } else {
      edit(() => api(`${itemPath(it)}/trim`, { method: 'PUT', json: { trim_start_ms: it.trim_start_ms, trim_end_ms: it.trim_end_ms - dMs } }));
    }
  };
  el.addEventListener('pointermove', onMove);
  el.addEventListener('pointerup', onUp);
  el.addEventListener('pointercancel', onUp);
}

const selectedItem = () => story && story.items.find((i) => i.id === selected);

function splitSelected() {
  const it = selectedItem();
  if (!it) return toast('Select a clip to split.', 'error');
  const at = playheadMs - it.start_time_ms;
  if (at <= 0 || at >= visibleMs(it)) return toast('Put the playhead inside the selected clip to split it there.', 'error');
  edit(() => api(`${itemPath(it)}/split`, { method: 'POST', json: { split_time_ms: at } }));
}

function duplicateSelected() {
  const it = selectedItem();
  if (!it) return toast('Select a clip to duplicate.', 'error');
  edit(async () => {
    const copy = await api(`${itemPath(it)}/duplicate`, { method: 'POST' });
    selected = copy.id;
  });
}

function deleteSelected() {
  const it = selectedItem();
  if (!it) return toast('Select a clip to delete.', 'error');
  selected = null;
  edit(() => api(itemPath(it), { method: 'DELETE' }));
}

async function deleteStory() {
  const ok = await confirmDialog({ title: 'Delete this story?', message: `"${story.name}" and its timeline go; the takes stay in the history.` });
  if (!ok) return;
  try {
    await api(`/stories/${encodeURIComponent(story.id)}`, { method: 'DELETE' });
  } catch (err) {
    return toast(err.message, 'error');
  }
  story = null;
  renderEditor();
  loadList();
}

function onKey(e) {
  if (!story || !editor.isConnected || editor.closest('.screen').hidden) return;
  if (e.target.closest && e.target.closest('input, textarea, select')) return;
  if (e.key === 's' || e.key === 'S') {
    if (e.ctrlKey || e.metaKey) return;
    e.preventDefault();
    splitSelected();
  } else if ((e.key === 'd' || e.key === 'D') && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    duplicateSelected();
  } else if (e.key === 'Delete' || e.key === 'Backspace') {
    if (selected) {
      e.preventDefault();
      deleteSelected();
    }
  } else if (e.key === ' ') {
    e.preventDefault();
    togglePlay();
  }
}

async function searchTakes() {
  const q = new URLSearchParams({ limit: '20' });
  if (addSearch.value.trim()) q.set('search', addSearch.value.trim());
  let res;
  try {
    res = await api(`/history?${q}`);
  } catch (err) {
    return toast(err.message, 'error');
  }
  const takes = res.items.filter((g) => g.audio_path && (!g.status || g.status === 'completed'));
  addResults.replaceChildren(...takes.map((g) => h('li', { class: 'story-add-row' },
    h('span', { class: 'story-add-text' }, h('strong', { text: g.profile_name }), ` ${g.text} `, h('span', { class: 'muted', text: formatDuration(g.duration) })),
    button('Add', { iconName: 'plus', 'data-testid': 'story-add', onclick: () => edit(() => api(`/stories/${encodeURIComponent(story.id)}/items`, { method: 'POST', json: { generation_id: g.id } })) }))));
  if (!takes.length) addResults.replaceChildren(h('li', { class: 'muted', text: 'No takes match.' }));
}

// ---- playback: every clip scheduled on one AudioContext from the playhead on ----

async function buffer(genId) {
  if (!buffers.has(genId)) {
    const res = await fetch(`/audio/${encodeURIComponent(genId)}`);
    if (!res.ok) throw new Error(`The audio of a take could not be loaded (${res.status}).`);
    buffers.set(genId, await audioCtx.decodeAudioData(await res.arrayBuffer()));
  }
  return buffers.get(genId);
}

async function togglePlay() {
  if (playing) return stop();
  if (!story || !story.items.length) return toast('Add takes to the story first.', 'error');
  audioCtx = audioCtx || new AudioContext();
  await audioCtx.resume();
  let bufs;
  try {
    bufs = await Promise.all(story.items.map((it) => buffer(it.generation_id)));
  } catch (err) {
    return toast(err.message, 'error');
  }
  const t0 = audioCtx.currentTime + 0.05, from = playheadMs;
  const sources = [];
  const endMs = story.items.reduce((m, it) => Math.max(m, it.start_time_ms + visibleMs(it)), 0);
  story.items.forEach((it, k) => {
    const skip = Math.max(0, from - it.start_time_ms);
    const len = visibleMs(it) - skip;
    if (len <= 0) return;
    const src = audioCtx.createBufferSource();
    src.buffer = bufs[k];
    src.connect(audioCtx.destination);
    src.start(t0 + Math.max(0, it.start_time_ms - from) / 1000, (it.trim_start_ms + skip) / 1000, len / 1000);
    sources.push(src);
  });
  playing = { sources, t0, from, endMs };
  playBtn.querySelector('span').textContent = 'Pause';
  timeline.dataset.playing = 'true';
  const tick = () => {
    if (!playing) return;
    const ms = playing.from + Math.max(0, audioCtx.currentTime - playing.t0) * 1000;
    setPlayhead(ms);
    if (ms >= playing.endMs) return stop();
    playing.raf = requestAnimationFrame(tick);
  };
  playing.raf = requestAnimationFrame(tick);
}

function stop() {
  if (!playing) return;
  cancelAnimationFrame(playing.raf);
  for (const s of playing.sources) {
    try {
      s.stop();
    } catch {
      /* already ended */
    }
  }
  playing = null;
  if (playBtn) playBtn.querySelector('span').textContent = 'Play';
  if (timeline) delete timeline.dataset.playing;
}
