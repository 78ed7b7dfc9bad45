// server.js — the Server screen: status (model loaded, size, backend, version), load/unload a model size,
// each model's download state with Download/Delete and a live progress bar (the speech models, then the
// Whisper models for transcription with the setting of which one the Transcribe button uses), clearing the
// voice-prompt cache, and the last lines of the server log (GET /logs/tail). The precision choice (bf16 /
// int8) is remembered in this browser and sent with every load.

import { api, startDownload, rules, modelName } from './api.js';
import { state, on, emit, refreshHealth, whisperModel, setWhisperModel } from './store.js';
import { h, button, busy, toast, confirmDialog, loadingState, errorState, progressBar, formatBytes } from './ui.js';

let statusGrid;
let modelsBox;
let sizeSel;
let precSel;
let loadBtn;
let unloadBtn;
let cacheResult;
let logPre;
let logMeta;
let showGets;
let version = null;
let timer = 0;
const downloading = new Map(); // model name -> {bar, text} while this page follows a download
const PRECISION_KEY = 'voicebox.precision';
const PRECISIONS = [['bf16', 'bf16 (exact)'], ['int8', 'int8 (fast)']];

function savedPrecision() {
  try {
    const v = localStorage.getItem(PRECISION_KEY);
    return PRECISIONS.some(([p]) => p === v) ? v : 'bf16';
  } catch {
    return 'bf16';
  }
}

export function mount(section) {
  const body = section.querySelector('.screen-body');
  statusGrid = h('dl', { class: 'stat-grid' });
  sizeSel = h('select', { name: 'model_size', 'aria-label': 'Model size to load' }, rules.modelSizes.map((s) => h('option', { value: s, text: `Qwen3-TTS ${s}` })));
  precSel = h('select', { name: 'precision', 'aria-label': 'Precision to load the model at' }, PRECISIONS.map(([v, t]) => h('option', { value: v, text: t })));
  precSel.value = savedPrecision();
  precSel.addEventListener('change', () => {
    try { localStorage.setItem(PRECISION_KEY, precSel.value); } catch { /* private mode: not remembered */ }
  });
  loadBtn = button('Load model', { iconName: 'upload', variant: 'primary', onclick: loadModel });
  unloadBtn = button('Unload', { onclick: unloadModel });
  const statusPanel = h('div', { class: 'panel' },
    h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Status' }), button('Refresh', { iconName: 'refresh', iconOnly: true, variant: 'ghost', onclick: refreshAll })),
    statusGrid,
    h('div', { class: 'load-row' }, h('label', { class: 'label', for: 'srv-size', text: 'Resident model' }), sizeSel, precSel, loadBtn, unloadBtn));
  sizeSel.id = 'srv-size';

  modelsBox = h('div', { class: 'models' }, loadingState('Loading models…'));
  const modelsPanel = h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Models' })),
    h('p', { class: 'muted panel-sub', text: 'Downloaded into the Hugging Face cache on this machine; nothing is sent anywhere.' }), modelsBox);

  cacheResult = h('p', { class: 'muted cache-result', 'aria-live': 'polite', text: 'Voice prompts are cached per profile and model size so repeat takes start faster.' });
  const clearBtn = button('Clear voice-prompt cache', { iconName: 'broom', onclick: () => clearCache(clearBtn) });
  const cachePanel = h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Voice-prompt cache' })), cacheResult, h('div', { class: 'row-actions' }, clearBtn));

  logPre = h('pre', { class: 'log', tabindex: '0', 'aria-label': 'Server log' });
  logMeta = h('span', { class: 'muted log-meta' });
  showGets = h('input', { type: 'checkbox', name: 'show_gets' });
  showGets.addEventListener('change', loadLog);
  const logPanel = h('div', { class: 'panel log-panel' },
    h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Server log' }), button('Refresh log', { iconName: 'refresh', iconOnly: true, variant: 'ghost', onclick: loadLog })),
    logPre,
    h('div', { class: 'log-foot' }, h('label', { class: 'log-filter' }, showGets, 'Show successful GET requests'), logMeta));

  body.append(h('div', { class: 'server-grid' }, h('div', { class: 'server-col' }, statusPanel, modelsPanel, cachePanel), logPanel));
  on('health', renderStatus);
  on('models-changed', loadModels);
}

export function show() {
  refreshAll();
  clearInterval(timer);
  timer = setInterval(() => {
    if (!document.hidden) {
      loadLog();
      if (!downloading.size) loadModels();
    }
  }, 4000);
}

export function hide() {
  clearInterval(timer);
}

async function refreshAll() {
  if (version === null) api('/openapi.json').then((r) => { version = (r && r.info && r.info.version) || '—'; renderStatus(state.health); }, () => {});
  refreshHealth();
  loadModels();
  loadLog();
}

function renderStatus(hl) {
  if (!statusGrid) return;
  if (!hl) {
    statusGrid.replaceChildren(loadingState());
    return;
  }
  if (hl.error) {
    statusGrid.replaceChildren(errorState(hl.error, refreshAll));
    return;
  }
  const item = (k, v, cls) => h('div', { class: 'stat' }, h('dt', { text: k }), h('dd', { class: cls || '', text: v }));
  statusGrid.replaceChildren(
    item('Model', hl.model_loaded ? 'Loaded' : 'Not loaded', hl.model_loaded ? 'ok' : 'muted'),
    item('Size', hl.model_size || '—'),
    item('Precision', hl.model_precision || '—'),
    item('Backend', hl.backend_type || '—'),
    item('Version', version || '…'));
  statusGrid.dataset.modelLoaded = String(!!hl.model_loaded);
  statusGrid.dataset.modelSize = hl.model_size || '';
  statusGrid.dataset.modelPrecision = hl.model_precision || '';
  unloadBtn.disabled = !hl.model_loaded;
  if (hl.model_size && document.activeElement !== sizeSel) sizeSel.value = hl.model_size;
}

async function loadModel() {
  const size = sizeSel.value;
  const precision = precSel.value;
  await busy(loadBtn, async () => {
    try {
      await api(`/models/load?model_size=${encodeURIComponent(size)}&precision=${encodeURIComponent(precision)}`, { method: 'POST' });
      toast(`The ${size} model is loaded (${precision}).`, 'success');
    } catch (e) {
      toast(e.status === 409 ? `The ${size} model is not downloaded yet. Download it below first.` : e.message, 'error');
    }
    await refreshHealth();
    loadModels();
    loadLog();
  });
}

async function unloadModel() {
  await busy(unloadBtn, async () => {
    try {
      await api('/models/unload', { method: 'POST' });
      toast('Model unloaded.', 'success');
    } catch (e) {
      toast(e.message, 'error');
    }
    await refreshHealth();
    loadModels();
  });
}

async function loadModels() {
  let res;
  try {
    res = await api('/models/status');
  } catch (e) {
    modelsBox.replaceChildren(errorState(`The model list could not be loaded: ${e.message}`, loadModels));
    return;
  }
  const models = Array.isArray(res) ? res : res.models || [];
  const isWhisper = (m) => (m.model_name || '').startsWith('whisper-');
  const ul = h('ul', { class: 'model-list' });
  for (const m of models.filter((x) => !isWhisper(x))) ul.append(modelRow(m));
  const whisper = models.filter(isWhisper);
  const wl = h('ul', { class: 'model-list', 'aria-label': 'Whisper models' });
  for (const m of whisper) wl.append(modelRow(m));
  const sel = h('select', { name: 'whisper_model', id: 'srv-whisper', 'data-testid': 'whisper-model' },
    whisper.map((m) => h('option', { value: m.model_name, text: m.display_name || m.model_name, selected: m.model_name === whisperModel() })));
  sel.addEventListener('change', () => {
    setWhisperModel(sel.value);
    toast(`The Transcribe button now uses ${sel.options[sel.selectedIndex].text}.`, 'success');
  });
  modelsBox.replaceChildren(ul,
    h('h3', { class: 'panel-title models-sub', text: 'Transcription (Whisper)' }),
    h('p', { class: 'muted panel-sub', text: 'Fills a sample\'s transcript from its audio (the Transcribe button on the Voices screen).' }),
    h('div', { class: 'load-row' }, h('label', { class: 'label', for: 'srv-whisper', text: 'Transcription model' }), sel),
    wl);
}

function modelRow(m) {
  const name = m.model_name || modelName(m.model_size);
  const following = downloading.get(name);
  let stateText;
  if (m.damaged) stateText = 'Damaged — re-download';
  else if (m.loaded) stateText = 'Downloaded · loaded';
  else if (m.downloaded) stateText = 'Downloaded';
  else if (m.downloading || following) stateText = 'Downloading…';
  else stateText = 'Not downloaded';
  const badge = h('span', { class: `badge ${m.damaged ? 'badge-danger' : m.downloaded ? 'badge-ok' : m.downloading || following ? 'badge-accent' : ''}`, text: stateText, title: m.damaged ? m.error || '' : '' });
  const sizeText = m.size_mb > 0 ? formatBytes(m.size_mb * 1024 * 1024) : '';
  const bar = following ? following.bar : progressBar(`Download of ${name}`);
  const line = following ? following.text : h('p', { class: 'muted dl-line' });
  if (!following) {
    bar.hidden = true;
    line.hidden = true;
  }
  const actions = h('div', { class: 'row-actions' });
  if (m.damaged && !following) { // what is wrong, until a download repairs it (it checks every file's checksum)
    line.hidden = false;
    line.classList.add('field-error');
    line.textContent = `${m.error} — download it again to repair it.`;
  }
  if (!m.downloaded || m.damaged) {
    const dl = button(m.damaged ? 'Re-download' : 'Download', { iconName: 'download', variant: 'primary', onclick: () => download(name, dl, bar, line), 'data-testid': `download-${name}` });
    if (following || m.downloading) dl.disabled = true;
    actions.append(dl);
    if (m.downloading && !following) download(name, dl, bar, line, true);
  }
  if (m.downloaded) {
    actions.append(button('Delete', { iconName: 'trash', variant: 'ghost-danger', onclick: () => removeModel(m, name), 'data-testid': `delete-${name}` }));
  }
  return h('li', { class: 'model', dataset: { modelName: name, downloaded: String(!!m.downloaded), damaged: String(!!m.damaged) } },
    h('div', { class: 'model-main' },
      h('p', { class: 'model-name', text: m.display_name || name }),
      h('p', { class: 'muted model-sub', text: [m.repo_id, sizeText].filter(Boolean).join(' · ') }),
      badge),
    actions, bar, line);
}

async function download(name, btn, bar, line, resume = false) {
  btn.disabled = true;
  bar.hidden = false;
  line.hidden = false;
  bar.indeterminate();
  line.classList.remove('field-error');
  line.textContent = resume ? 'Following the download in progress…' : 'Starting…';
  downloading.set(name, { bar, text: line });
  try {
    await startDownload(name, (ev) => {
      if (ev.total) bar.set(ev.current / ev.total);
      line.textContent = ev.status === 'complete' ? 'Download complete.' : `${formatBytes(ev.current)} of ${formatBytes(ev.total)}${ev.filename ? ` · ${ev.filename}` : ''}`;
    });
    bar.set(1);
    line.textContent = 'Download complete.';
    toast(`${name} is downloaded.`, 'success');
    // Let the full bar be seen for a moment before the row turns into "Downloaded".
    await new Promise((r) => setTimeout(r, 1200));
  } catch (e) {
    line.textContent = e.message;
    line.classList.add('field-error');
    toast(e.message, 'error');
    await new Promise((r) => setTimeout(r, 3000));
  } finally {
    downloading.delete(name);
    emit('models-changed');
    refreshHealth();
  }
}

async function removeModel(m, name) {
  const ok = await confirmDialog({ title: `Delete ${m.display_name || name}?`, message: 'Its files are removed from the Hugging Face cache on this machine. You can download it again later.', confirmLabel: 'Delete model' });
  if (!ok) return;
  try {
    await api(`/models/${encodeURIComponent(name)}`, { method: 'DELETE' });
    toast(`${name} deleted.`, 'success');
  } catch (e) {
    toast(e.message, 'error');
  }
  loadModels();
  refreshHealth();
}

async function clearCache(btn) {
  await busy(btn, async () => {
    try {
      const r = await api('/cache/clear', { method: 'POST' });
      const n = r.files_deleted ?? 0;
      cacheResult.textContent = `Cache cleared: ${n} ${n === 1 ? 'file' : 'files'} deleted.`;
      cacheResult.classList.remove('muted');
      toast(cacheResult.textContent, 'success');
      loadLog();
    } catch (e) {
      cacheResult.textContent = e.message;
      toast(e.message, 'error');
    }
  });
}

async function loadLog() {
  try {
    const r = await api('/logs/tail?lines=400');
    // The page's own polling fills the log with "GET ... 200" lines; they are hidden unless asked for.
    const routine = /^\S+ \S+ INFO GET \S+ 2\d\d /;
    r.lines = (r.lines || []).filter((l) => showGets.checked || !routine.test(l)).slice(-120);
    const atBottom = logPre.scrollHeight - logPre.scrollTop - logPre.clientHeight < 24;
    logPre.replaceChildren(...(r.lines || []).map((l) => {
      const m = /^(\S+ \S+) (INFO|WARNING|ERROR) (.*)$/.exec(l);
      if (!m) return h('span', { class: 'log-line', text: `${l}\n` });
      return h('span', { class: `log-line log-${m[2].toLowerCase()}` }, h('span', { class: 'log-time', text: m[1].slice(11, 19) }), ` ${m[2] === 'INFO' ? '' : `${m[2]} `}${m[3]}\n`);
    }));
    if (!r.lines || !r.lines.length) logPre.textContent = r.log_file ? 'The log is empty.' : 'This server was started without a log file.';
    logMeta.textContent = r.log_file ? r.log_file.split('/').slice(-2).join('/') : '';
    if (atBottom) logPre.scrollTop = logPre.scrollHeight;
  } catch (e) {
    logPre.textContent = `The log could not be read: ${e.message}`;
  }
}
