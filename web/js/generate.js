// generate.js — the Generate screen: profile, text (up to the server's limit), language, model size and an
// optional seed. A take is recorded at once (POST /generate?wait=false) and its state followed on its status
// stream (GET /generate/{id}/status): queue position, the download of a model not yet on this machine (its
// own progress stream), loading, progress; Cancel stops it, Retry runs a failed or cancelled one again. The
// generation settings panel (gen_settings.js) adds its sampling and chunking values to each take.

import { api, followProgress, followTake, rules, languageOptions, modelName } from './api.js';
import { state, on, emit, refreshProfiles, refreshHealth } from './store.js';
import { h, icon, button, field, showFieldError, clearFieldErrors, formatDuration, progressBar, formatBytes, toast } from './ui.js';
import { createPlayer } from './waveform.js';
import { createSettingsPanel, settingsBody, applySettings, revealField } from './gen_settings.js';

let form;
let profileSel;
let textArea;
let counter;
let langSel;
let seedInput;
let submitBtn;
let statusBox;
let resultBox;
let player;
let running = false;
let langTouched = false;
let MAX_TEXT; // the server's limit on a take's text (rules.maxLength)

export function mount(section) {
  const body = section.querySelector('.screen-body');
  profileSel = h('select', { name: 'profile_id', required: true });
  MAX_TEXT = rules.maxLength['GenerateRequest.text'];
  textArea = h('textarea', { name: 'text', rows: '7', maxlength: String(MAX_TEXT), required: true, placeholder: 'What should the voice say?' });
  counter = h('span', { class: 'counter', 'aria-live': 'polite', text: `0 / ${MAX_TEXT}` });
  langSel = h('select', { name: 'language' }, languageOptions().map(([c, n]) => h('option', { value: c, text: n })));
  langSel.addEventListener('change', () => { langTouched = true; });
  seedInput = h('input', { name: 'seed', type: 'number', min: '0', step: '1', inputmode: 'numeric', placeholder: 'Random' });
  const sizes = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Model size' },
    rules.modelSizes.map((s, i) => h('label', { class: 'segment' }, h('input', { type: 'radio', name: 'model_size', value: s, checked: i === 0 }), h('span', { text: s }))));
  submitBtn = button('Generate', { iconName: 'wave', variant: 'primary', type: 'submit', 'data-testid': 'generate' });
  submitBtn.classList.add('btn-lg');

  textArea.addEventListener('input', updateCounter);
  textArea.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      form.requestSubmit();
    }
  });
  profileSel.addEventListener('change', () => {
    const p = (state.profiles || []).find((x) => x.id === profileSel.value);
    if (p && !langTouched) langSel.value = p.language || 'en';
    renderProfileHint();
  });

  form = h('form', { class: 'panel form generate-form', novalidate: true, 'aria-label': 'Generate speech' },
    field('Voice profile', profileSel, { name: 'profile_id' }),
    field('Text', textArea, { extra: counter, hint: 'Ctrl+Enter generates.' }),
    h('div', { class: 'form-grid form-grid-3' },
      field('Language', langSel),
      h('div', { class: 'field' }, h('div', { class: 'field-label-row' }, h('span', { class: 'label', id: 'model-size-label', text: 'Model' })), sizes,
        h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { errorFor: 'model_size' } })),
      field('Seed (optional)', seedInput, { hint: 'Same seed, same take.' })),
    h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { errorFor: '_form' } }),
    h('div', { class: 'form-actions' }, submitBtn));
  form.insertBefore(createSettingsPanel(form), form.querySelector('[data-error-for="_form"]'));
  form.addEventListener('submit', onSubmit);

  statusBox = h('div', { class: 'gen-status', 'aria-live': 'polite' });
  player = createPlayer({ label: 'Generated speech' });
  resultBox = h('div', { class: 'panel result-panel' },
    h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Result' })), statusBox);
  body.append(h('div', { class: 'generate-layout' }, form, resultBox));
  renderIdle();

  on('profiles', fillProfiles);
  fillProfiles();
}

export function show(params) {
  refreshProfiles().catch(() => {});
  const pid = params.get('profile');
  if (pid) profileSel.dataset.want = pid;
  if (params.get('text') !== null) {
    textArea.value = params.get('text');
    updateCounter();
  }
  if (params.get('language')) {
    langSel.value = params.get('language');
    langTouched = true;
  }
  if (params.get('model_size')) {
    const r = form.querySelector(`input[name="model_size"][value="${CSS.escape(params.get('model_size'))}"]`);
    if (r) r.checked = true;
  }
  if (params.has('seed')) seedInput.value = params.get('seed');
  if (params.get('settings')) {
    try {
      applySettings(JSON.parse(params.get('settings')));
    } catch {
      // a hand-edited link: the panel keeps its values
    }
  }
  fillProfiles();
}

function updateCounter() {
  const n = textArea.value.length;
  counter.textContent = `${n.toLocaleString()} / ${MAX_TEXT.toLocaleString()}`;
  counter.classList.toggle('near', n > MAX_TEXT * 0.9);
}

function fillProfiles() {
  const profiles = state.profiles || [];
  const want = profileSel.dataset.want || profileSel.value;
  profileSel.replaceChildren();
  if (!state.profiles) profileSel.append(h('option', { value: '', text: 'Loading profiles…' }));
  else if (!profiles.length) profileSel.append(h('option', { value: '', text: 'No profiles yet — create one on the Voices screen' }));
  for (const p of profiles) {
    const samples = p.sample_count === 0 ? ' (no samples)' : '';
    profileSel.append(h('option', { value: p.id, text: `${p.name}${samples}` }));
  }
  if (profiles.some((p) => p.id === want)) {
    profileSel.value = want;
    delete profileSel.dataset.want;
  }
  const p = profiles.find((x) => x.id === profileSel.value);
  if (p && !langTouched) langSel.value = p.language || 'en';
  renderProfileHint();
}

function renderProfileHint() {
  const slot = form.querySelector('[data-error-for="profile_id"]');
  const p = (state.profiles || []).find((x) => x.id === profileSel.value);
  if (p && p.sample_count === 0) {
    slot.textContent = `${p.name} has no samples yet. Add one on the Voices screen first.`;
    slot.hidden = false;
  } else if (slot.textContent.includes('has no samples yet')) {
    slot.hidden = true;
  }
}

function chosenSize() {
  return form.querySelector('input[name="model_size"]:checked').value;
}

function renderIdle() {
  const el = h('div', { class: 'empty' });
  el.innerHTML = icon('wave', 28);
  el.append(h('p', { class: 'empty-title', text: 'Your take will appear here' }), h('p', { class: 'empty-text', text: 'Pick a voice, type some text and press Generate.' }));
  statusBox.replaceChildren(el);
}

async function onSubmit(ev) {
  ev.preventDefault();
  if (running) return;
  clearFieldErrors(form);
  renderProfileHint();
  const body = { profile_id: profileSel.value, text: textArea.value.trim(), language: langSel.value, model_size: chosenSize() };
  if (!body.profile_id) return showFieldError(form, 'profile_id', 'Choose a voice profile (create one on the Voices screen).');
  if (!body.text) return showFieldError(form, 'text', 'text: type something to say.');
  if (seedInput.value !== '') {
    const seed = Number(seedInput.value);
    if (!Number.isInteger(seed) || seed < 0) return showFieldError(form, 'seed', 'seed: a whole number of 0 or more, or leave it empty for a random one.');
    body.seed = seed;
  }
  Object.assign(body, settingsBody());
  await generate(body);
}

async function generate(body) {
  let take;
  try {
    take = await api('/generate?wait=false', { method: 'POST', json: body });
  } catch (e) {
    const p = (state.profiles || []).find((x) => x.id === body.profile_id);
    const msg = p ? e.message.replace(`Profile ${body.profile_id}`, `“${p.name}”`) : e.message; // a name reads better than an id
    statusBox.replaceChildren(errorBox(msg));
    if (e.field) {
      revealField(e.field); // a setting's error opens the settings panel
      showFieldError(form, e.field, e.message); // and beside the field it is about
    }
    return;
  }
  emit('history-changed');
  await follow(take, body);
}

// Shows a recorded take's state from its status stream until it is final: queue position, the download of
// its model (with the model's own progress stream), loading, progress; then the result, or the reason with
// a Retry button. A Cancel button stops it meanwhile.
async function follow(take, body) {
  running = true;
  submitBtn.disabled = true;
  submitBtn.querySelector('span').textContent = 'Generating…';
  const bar = progressBar('Generation progress');
  bar.indeterminate();
  const line = h('p', { class: 'gen-line', text: 'Queued…' });
  const sub = h('p', { class: 'muted gen-sub', text: `${body.model_size} model · ${body.text.length.toLocaleString()} characters` });
  const cancelBtn = button('Cancel', { iconName: 'x', variant: 'ghost', 'data-testid': 'cancel-take' });
  const box = h('div', { class: 'gen-running', 'data-state': 'running', dataset: { generationId: take.id } },
    h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('div', { class: 'gen-running-main' }, line, bar, sub, h('div', { class: 'row-actions' }, cancelBtn)));
  statusBox.replaceChildren(box);
  player.pause();
  cancelBtn.addEventListener('click', async () => {
    cancelBtn.disabled = true;
    try {
      await api(`/generate/${encodeURIComponent(take.id)}/cancel`, { method: 'POST' });
    } catch (e) {
      toast(e.message, 'error');
    }
  });
  let downloading = false;
  const last = await followTake(take.id, (ev) => {
    box.dataset.status = ev.status;
    if (ev.status === 'queued') {
      line.textContent = ev.position > 1 ? `Waiting in the queue — position ${ev.position}` : 'Next in the queue…';
      if (ev.position > 1) sub.textContent = 'Other takes are generated first; yours starts right after.';
      bar.indeterminate();
    } else if (ev.status === 'downloading') {
      line.textContent = `Downloading the ${body.model_size} model first…`;
      if (!downloading) {
        downloading = true;
        followProgress(modelName(body.model_size), (p) => {
          if (p.total) bar.set(p.current / p.total);
          sub.textContent = `${formatBytes(p.current)} of ${formatBytes(p.total)}${p.filename ? ` · ${p.filename}` : ''}`;
        }).then(() => emit('models-changed'), () => {});
      }
    } else if (ev.status === 'loading_model') {
      line.textContent = `Loading the ${body.model_size} model…`;
      bar.indeterminate();
    } else if (ev.status === 'generating') {
      line.textContent = `Generating… ${Math.round(ev.progress || 0)}%`;
      bar.set((ev.progress || 0) / 100);
      sub.textContent = `${body.model_size} model · ${body.text.length.toLocaleString()} characters`;
    }
  });
  running = false;
  submitBtn.disabled = false;
  submitBtn.querySelector('span').textContent = 'Generate';
  emit('history-changed');
  refreshHealth();
  if (last.status === 'completed') {
    try {
      showResult(await api(`/history/${encodeURIComponent(take.id)}`));
      refreshProfiles().catch(() => {});
    } catch (e) {
      statusBox.replaceChildren(errorBox(e.message));
    }
    return;
  }
  const el = last.status === 'cancelled' ? noticeBox('Take cancelled', 'It stopped before it finished; nothing was saved but its record in History.') : errorBox(last.error || `The take ended as ${last.status}.`);
  el.dataset.state = last.status;
  const retry = button('Retry', { iconName: 'wave', variant: 'secondary', 'data-testid': 'retry-take' });
  retry.addEventListener('click', async () => {
    retry.disabled = true;
    try {
      await follow(await api(`/generate/${encodeURIComponent(take.id)}/retry`, { method: 'POST' }), body);
    } catch (e) {
      toast(e.message, 'error');
      retry.disabled = false;
    }
  });
  el.querySelector('div').append(h('div', { class: 'row-actions' }, retry));
  statusBox.replaceChildren(el);
}

function noticeBox(title, text) {
  const el = h('div', { class: 'callout callout-warn', role: 'status' });
  el.innerHTML = icon('alert', 18);
  el.append(h('div', {}, h('p', { class: 'callout-title', text: title }), h('p', { text })));
  return el;
}

function errorBox(msg) {
  const el = h('div', { class: 'callout callout-error', role: 'alert' });
  el.innerHTML = icon('alert', 18);
  el.append(h('div', {}, h('p', { class: 'callout-title', text: 'Generation failed' }), h('p', { text: msg })));
  return el;
}

function showResult(gen) {
  const meta = h('dl', { class: 'meta-grid' },
    h('div', {}, h('dt', { text: 'Duration' }), h('dd', { text: formatDuration(gen.duration) })),
    h('div', {}, h('dt', { text: 'Model' }), h('dd', { text: gen.model_size || chosenSize() })),
    h('div', {}, h('dt', { text: 'Seed' }), h('dd', { class: 'mono', text: gen.seed ?? '—' })),
    h('div', {}, h('dt', { text: 'Language' }), h('dd', { text: gen.language })));
  const actions = h('div', { class: 'row-actions' },
    h('a', { class: 'btn btn-secondary', href: `/history/${encodeURIComponent(gen.id)}/export-audio`, download: `voicebox-${gen.id}.wav`, html: `${icon('download')}<span>Download WAV</span>` }),
    h('a', { class: 'btn btn-ghost', href: '#history', html: `${icon('history')}<span>Open history</span>` }));
  statusBox.replaceChildren(h('div', { class: 'gen-done', 'data-state': 'done', dataset: { generationId: gen.id } },
    h('p', { class: 'gen-text', text: `“${gen.text}”` }), player, meta, actions));
  player.load(`/audio/${encodeURIComponent(gen.id)}`).then(() => {});
  player.play();
}
