// voices.js — the Voices screen: the profile list (name, language, samples, generations), a profile's
// details with create/edit/delete, its samples (play, edit transcript, delete) and adding a sample by
// upload or by recording in the browser, with a Transcribe button that fills the transcript from the audio
// (POST /transcribe, Whisper) for the user to correct. Server validation errors are shown beside the field
// they name.

import { api, rules, languageOptions, languageName } from './api.js';
import { state, on, emit, refreshProfiles, whisperModel } from './store.js';
import { h, icon, button, busy, toast, confirmDialog, field, showFieldError, clearFieldErrors, emptyState, loadingState, errorState, formatDuration } from './ui.js';
import { createPlayer } from './waveform.js';
import { createRecorder, recordingSupported, MAX_SECONDS } from './recorder.js';

let root;
let listEl;
let detailEl;
let selectedId = null;
let mode = 'view'; // 'view' | 'create' | 'edit'
let loadError = null;

export function mount(section) {
  root = section.querySelector('.screen-body');
  listEl = h('div', { class: 'panel profile-panel' });
  detailEl = h('div', { class: 'detail' });
  root.append(h('div', { class: 'split' }, listEl, detailEl));
  on('profiles', () => {
    loadError = null;
    renderList();
    if (mode === 'view') renderDetail();
  });
  renderList();
  renderDetail();
}

export function show() {
  reload();
}

async function reload() {
  try {
    await refreshProfiles();
  } catch (e) {
    loadError = e.message;
    renderList();
  }
}

function selected() {
  return (state.profiles || []).find((p) => p.id === selectedId) || null;
}

function countText(n, one, many) {
  if (n === null || n === undefined) return `? ${many}`;
  return `${n} ${n === 1 ? one : many}`;
}

function renderList() {
  const head = h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: 'Profiles' }),
    h('div', { class: 'profile-io' }, importButton(),
      button('New profile', { iconName: 'plus', variant: 'primary', onclick: startCreate, 'data-testid': 'new-profile' })));
  listEl.replaceChildren(head);
  if (loadError) {
    listEl.append(errorState(`The profiles could not be loaded: ${loadError}`, reload));
    return;
  }
  if (!state.profiles) {
    listEl.append(loadingState('Loading profiles…'));
    return;
  }
  if (!state.profiles.length) {
    listEl.append(h('p', { class: 'list-empty', text: 'No voice profiles yet.' }));
    return;
  }
  if (!selected() && mode === 'view') selectedId = state.profiles[0].id;
  const ul = h('ul', { class: 'profile-list', 'aria-label': 'Voice profiles' });
  for (const p of state.profiles) {
    const active = p.id === selectedId && mode !== 'create';
    const b = h('button', { type: 'button', class: `profile-item${active ? ' is-active' : ''}`, 'aria-pressed': active ? 'true' : 'false', dataset: { profileId: p.id },
      onclick: () => {
        selectedId = p.id;
        mode = 'view';
        renderList();
        renderDetail();
        // stacked layout: the details are below the list, so bring them into view
        if (window.matchMedia('(max-width: 900px)').matches) detailEl.scrollIntoView({ block: 'start' });
      } },
    avatarEl(p, 'avatar'),
    h('span', { class: 'profile-item-main' },
      h('span', { class: 'profile-item-name', text: p.name }),
      h('span', { class: 'profile-item-meta' },
        h('span', { class: 'badge', text: p.language || '—', title: languageName(p.language) }),
        h('span', { class: 'sample-count', text: countText(p.sample_count, 'sample', 'samples') }),
        h('span', { 'aria-hidden': 'true', text: '·' }),
        h('span', { class: 'generation-count', text: countText(p.generation_count, 'take', 'takes') }))));
    ul.append(h('li', {}, b));
  }
  listEl.append(ul);
}

// The profile's picture when it has one (the URL changes with updated_at, so a new picture is fetched),
// else its initials.
function avatarEl(p, cls) {
  if (p.avatar_path)
    return h('img', { class: `${cls} avatar-img`, alt: '', src: `/profiles/${encodeURIComponent(p.id)}/avatar?v=${encodeURIComponent(p.updated_at || '')}`, 'data-testid': 'avatar-img' });
  return h('span', { class: cls, 'aria-hidden': 'true', text: initials(p.name) });
}

// A button that opens a file chooser and hands the chosen file to onFile.
function fileButton(label, accept, onFile, attrs = {}) {
  const input = h('input', { type: 'file', accept, hidden: true, ...attrs });
  input.addEventListener('change', async () => {
    const f = input.files && input.files[0];
    input.value = '';
    if (f) await onFile(f);
  });
  const b = button(label, { iconName: 'upload', onclick: () => input.click() });
  return h('span', {}, b, input);
}

function pictureButton(p) {
  return fileButton(p.avatar_path ? 'Change picture' : 'Add picture', 'image/png,image/jpeg,image/webp', async (f) => {
    const form = new FormData();
    form.append('file', f);
    try {
      await api(`/profiles/${encodeURIComponent(p.id)}/avatar`, { method: 'POST', form });
      toast('Picture saved.', 'success');
    } catch (e) {
      toast(e.message, 'error');
    }
    await reload();
  }, { 'data-testid': 'avatar-input', 'aria-label': 'Profile picture' });
}

async function removePicture(p) {
  try {
    await api(`/profiles/${encodeURIComponent(p.id)}/avatar`, { method: 'DELETE' });
  } catch (e) {
    toast(e.message, 'error');
  }
  await reload();
}

function exportLink(p) {
  const a = h('a', { class: 'btn btn-secondary', href: `/profiles/${encodeURIComponent(p.id)}/export`, download: '', 'data-testid': 'profile-export' });
  a.innerHTML = `${icon('download')}<span>Export</span>`;
  return a;
}

function importButton() {
  return fileButton('Import', '.zip,application/zip', async (f) => {
    const form = new FormData();
    form.append('file', f);
    try {
      const p = await api('/profiles/import', { method: 'POST', form });
      selectedId = p.id;
      mode = 'view';
      toast(`Imported "${p.name}".`, 'success');
    } catch (e) {
      toast(e.message, 'error');
    }
    await reload();
  }, { 'data-testid': 'profile-import-input', 'aria-label': 'Import a profile package' });
}

function initials(name) {
  // the first letter of the first two words that start with a letter ("Ada Lovelace" -> "AL")
  const words = String(name).trim().split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  const first = (w) => (w ? [...w][0] : '');
  return (first(words[0]) + first(words[1])).toUpperCase() || '?';
}

function startCreate() {
  mode = 'create';
  renderList();
  renderDetail();
}

function renderDetail() {
  if (mode === 'create' || mode === 'edit') {
    detailEl.replaceChildren(profileForm(mode === 'edit' ? selected() : null));
    detailEl.querySelector('input[name="name"]').focus();
    return;
  }
  const p = selected();
  if (!state.profiles) {
    detailEl.replaceChildren(h('div', { class: 'panel' }, loadingState()));
    return;
  }
  if (!p) {
    detailEl.replaceChildren(h('div', { class: 'panel' }, emptyState('mic', 'Create your first voice', 'Record or upload 2 to 30 seconds of clear speech, type what is said, and voicebox can speak any text in that voice.',
      button('New profile', { iconName: 'plus', variant: 'primary', onclick: startCreate }))));
    return;
  }
  const header = h('div', { class: 'panel profile-header' },
    h('div', { class: 'profile-header-main' },
      avatarEl(p, 'avatar avatar-lg'),
      h('div', {},
        h('h2', { class: 'profile-name', text: p.name }),
        h('p', { class: 'muted', text: [languageName(p.language), countText(p.sample_count, 'sample', 'samples'), countText(p.generation_count, 'take', 'takes')].join(' · ') }),
        p.description ? h('p', { class: 'profile-description', text: p.description }) : null)),
    h('div', { class: 'row-actions' },
      button('Generate', { iconName: 'wave', variant: 'primary', onclick: () => { location.hash = `#generate?profile=${encodeURIComponent(p.id)}`; } }),
      button('Edit', { iconName: 'edit', onclick: () => { mode = 'edit'; renderDetail(); } }),
      pictureButton(p),
      p.avatar_path ? button('Remove picture', { iconName: 'x', onclick: () => removePicture(p), 'data-testid': 'avatar-remove' }) : null,
      exportLink(p),
      button('Delete profile', { iconName: 'trash', variant: 'ghost-danger', onclick: () => deleteProfile(p) })));
  const samplesPanel = h('div', { class: 'panel' }, h('div', { class: 'panel-head' }, h('h3', { class: 'panel-title', text: 'Reference samples' })), h('div', { class: 'samples' }, loadingState('Loading samples…')));
  detailEl.replaceChildren(header, samplesPanel, addSamplePanel(p));
  loadSamples(p, samplesPanel.querySelector('.samples'));
}

function profileForm(p) {
  const name = h('input', { name: 'name', type: 'text', required: true, maxlength: String(rules.maxLength['ProfileCreate.name']), autocomplete: 'off', value: p ? p.name : '' });
  const language = h('select', { name: 'language' }, languageOptions().map(([c, n]) => h('option', { value: c, selected: p ? p.language === c : c === rules.defaultLanguage, text: n })));
  const description = h('textarea', { name: 'description', rows: '3', maxlength: String(rules.maxLength['ProfileCreate.description']) });
  description.value = p && p.description ? p.description : '';
  const save = button(p ? 'Save changes' : 'Create profile', { variant: 'primary', type: 'submit' });
  const form = h('form', { class: 'panel form', novalidate: true, 'aria-label': p ? 'Edit profile' : 'New profile' },
    h('div', { class: 'panel-head' }, h('h2', { class: 'panel-title', text: p ? `Edit ${p.name}` : 'New voice profile' })),
    h('div', { class: 'form-grid' },
      field('Name', name),
      field('Language', language, { hint: 'The language the samples are spoken in.' })),
    field('Description (optional)', description),
    h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { errorFor: '_form' } }),
    h('div', { class: 'form-actions' }, button('Cancel', { onclick: () => { mode = 'view'; renderList(); renderDetail(); } }), save));
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    const body = { name: name.value.trim(), language: language.value, description: description.value.trim() || null };
    if (!body.name) return showFieldError(form, 'name', 'name: enter a name for the profile.');
    await busy(save, async () => {
      try {
        const saved = await api(p ? `/profiles/${encodeURIComponent(p.id)}` : '/profiles', { method: p ? 'PUT' : 'POST', json: body });
        selectedId = saved.id;
        mode = 'view';
        toast(p ? 'Profile saved.' : `Profile “${saved.name}” created. Add a sample next.`, 'success');
        await refreshProfiles();
        renderList();
        renderDetail();
      } catch (e) {
        showFieldError(form, e.field, e.message);
      }
    });
  });
  return form;
}

async function deleteProfile(p) {
  const ok = await confirmDialog({ title: `Delete “${p.name}”?`, message: `Its ${countText(p.sample_count, 'sample', 'samples')} and ${countText(p.generation_count, 'take', 'takes')} are deleted with it. This cannot be undone.`, confirmLabel: 'Delete profile' });
  if (!ok) return;
  try {
    await api(`/profiles/${encodeURIComponent(p.id)}`, { method: 'DELETE' });
    toast(`Deleted “${p.name}”.`, 'success');
    selectedId = null;
    emit('history-changed');
    await refreshProfiles();
  } catch (e) {
    toast(e.message, 'error');
  }
}

async function loadSamples(p, box) {
  let samples;
  try {
    samples = await api(`/profiles/${encodeURIComponent(p.id)}/samples`);
  } catch (e) {
    box.replaceChildren(errorState(`The samples could not be loaded: ${e.message}`, () => loadSamples(p, box)));
    return;
  }
  if (!samples.length) {
    box.replaceChildren(emptyState('mic', 'No samples yet', 'Add one below: 2 to 30 seconds of clear speech and its exact transcript.'));
    return;
  }
  const ul = h('ul', { class: 'sample-list', 'aria-label': 'Samples' });
  samples.forEach((s, i) => ul.append(sampleRow(p, s, i)));
  box.replaceChildren(ul);
}

function sampleRow(p, s, i) {
  const player = createPlayer({ label: `Sample ${i + 1}`, compact: true });
  player.load(`/samples/${encodeURIComponent(s.id)}`);
  const text = h('p', { class: 'sample-text', text: s.reference_text });
  const li = h('li', { class: 'sample', dataset: { sampleId: s.id } });
  const actions = h('div', { class: 'row-actions' },
    button('Edit transcript', { iconName: 'edit', iconOnly: true, variant: 'ghost', onclick: () => editTranscript() }),
    button('Delete sample', { iconName: 'trash', iconOnly: true, variant: 'ghost-danger', onclick: () => deleteSample() }));
  const body = h('div', { class: 'sample-body' }, h('div', { class: 'sample-top' }, h('span', { class: 'sample-label', text: `Sample ${i + 1} · ${formatDuration(s.duration)}` }), s.missing ? h('span', { class: 'chip chip-error', text: 'file missing', title: 'Its audio file was not found when the server started; the sample is kept until the file is back or you delete it.' }) : null, actions), text);
  li.append(player, body);

  function editTranscript() {
    const ta = h('textarea', { name: 'reference_text', rows: '3', maxlength: String(rules.maxLength['SampleUpdate.reference_text']), required: true });
    ta.value = s.reference_text;
    const save = button('Save', { variant: 'primary', type: 'submit' });
    const form = h('form', { class: 'inline-form', novalidate: true },
      field('Transcript', ta),
      h('div', { class: 'form-actions' }, button('Cancel', { onclick: () => form.replaceWith(text) }), save));
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      clearFieldErrors(form);
      await busy(save, async () => {
        try {
          const upd = await api(`/profiles/samples/${encodeURIComponent(s.id)}`, { method: 'PUT', json: { reference_text: ta.value.trim() } });
          s.reference_text = upd.reference_text;
          text.textContent = upd.reference_text;
          form.replaceWith(text);
          toast('Transcript saved.', 'success');
        } catch (e) {
          showFieldError(form, e.field, e.message);
        }
      });
    });
    text.replaceWith(form);
    ta.focus();
  }

  async function deleteSample() {
    const ok = await confirmDialog({ title: 'Delete this sample?', message: `“${s.reference_text.slice(0, 120)}” and its recording are deleted.`, confirmLabel: 'Delete sample' });
    if (!ok) return;
    try {
      await api(`/profiles/samples/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      toast('Sample deleted.', 'success');
      await refreshProfiles();
    } catch (e) {
      toast(e.message, 'error');
    }
  }
  return li;
}

function addSamplePanel(p) {
  let chosen = null; // {blob, name} from upload or recording
  const fileInput = h('input', { type: 'file', name: 'file', accept: 'audio/*,.wav,.flac,.ogg,.opus,.mp3', class: 'file-input' });
  const transcript = h('textarea', { name: 'reference_text', rows: '3', maxlength: String(rules.maxLength['SampleUpload.reference_text']), required: true, placeholder: 'Exactly what is said in the recording' });
  const preview = createPlayer({ label: 'New sample', compact: true });
  preview.hidden = true;
  const submit = button('Add sample', { iconName: 'plus', variant: 'primary', type: 'submit' });
  const transcribeBtn = button('Transcribe', { iconName: 'wave', variant: 'ghost', 'data-testid': 'transcribe', onclick: () => transcribeChosen() });

  const setChosen = (blob, name) => {
    chosen = blob ? { blob, name } : null;
    preview.hidden = !blob;
    if (blob) preview.load(URL.createObjectURL(blob));
  };
  fileInput.addEventListener('change', () => {
    const f = fileInput.files[0];
    setChosen(f || null, f ? f.name : null);
  });

  // Upload | Record switch (a radio group styled as a segmented control)
  const sourceName = `source-${p.id}`;
  const seg = h('div', { class: 'segmented', role: 'radiogroup', 'aria-label': 'Sample source' });
  const uploadPane = h('div', { class: 'source-pane' }, field('Audio file', fileInput, { hint: 'WAV, FLAC, OGG or MP3 · 2 to 30 s of speech · up to 50 MB', name: 'file' }));
  const recordPane = recordingPane((blob, secs) => setChosen(blob, `recording-${Math.round(secs)}s.wav`));
  recordPane.hidden = true;
  for (const [value, label] of [['upload', 'Upload a file'], ['record', 'Record']]) {
    const input = h('input', { type: 'radio', name: sourceName, value, checked: value === 'upload' });
    input.addEventListener('change', () => {
      uploadPane.hidden = value !== 'upload';
      recordPane.hidden = value !== 'record';
      setChosen(null);
      fileInput.value = '';
    });
    seg.append(h('label', { class: 'segment' }, input, h('span', { text: label })));
  }

  const form = h('form', { class: 'panel form', novalidate: true, 'aria-label': 'Add a sample' },
    h('div', { class: 'panel-head' }, h('h3', { class: 'panel-title', text: 'Add a sample' })),
    seg, uploadPane, recordPane, preview,
    field('Transcript', transcript, { hint: 'Required. The words as spoken, so the model can align voice and text. Transcribe fills it in from the audio for you to check.', extra: transcribeBtn }),
    h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { errorFor: '_form' } }),
    h('div', { class: 'form-actions' }, submit));

  // Whisper writes the words; the user corrects them before adding the sample.
  async function transcribeChosen() {
    clearFieldErrors(form);
    if (!chosen) return showFieldError(form, recordPane.hidden ? 'file' : '_form', 'file: choose or record the audio first, then transcribe it.');
    const fd = new FormData();
    fd.append('file', chosen.blob, chosen.name || 'sample.wav');
    fd.append('model', whisperModel());
    if (p.language) fd.append('language', p.language);
    await busy(transcribeBtn, async () => {
      try {
        const res = await api('/transcribe', { method: 'POST', form: fd });
        transcript.value = res.text;
        transcript.focus();
        toast('Transcribed. Check the words and correct them before adding the sample.', 'success');
      } catch (e) {
        const where = e.field === 'file' ? (recordPane.hidden ? 'file' : '_form') : 'reference_text';
        showFieldError(form, where, e.status === 409 ? `${e.message} (Server screen, Models)` : e.message);
      }
    });
  }

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearFieldErrors(form);
    if (!chosen) return showFieldError(form, 'file', recordPane.hidden ? 'file: choose an audio file first.' : 'file: record something first.');
    if (!transcript.value.trim()) return showFieldError(form, 'reference_text', 'reference_text: type what the recording says.');
    const fd = new FormData();
    fd.append('file', chosen.blob, chosen.name || 'sample.wav');
    fd.append('reference_text', transcript.value.trim());
    await busy(submit, async () => {
      try {
        await api(`/profiles/${encodeURIComponent(p.id)}/samples`, { method: 'POST', form: fd });
        toast('Sample added.', 'success');
        await refreshProfiles();
      } catch (e) {
        // File problems (too short, silent, undecodable, too large) go next to the file control, or below the
        // form while recording (the file control is hidden then).
        const f = e.field;
        showFieldError(form, f === 'file' && !recordPane.hidden ? '_form' : f, e.message);
      }
    });
  });
  return form;
}

function recordingPane(onRecorded) {
  const pane = h('div', { class: 'source-pane record-pane' });
  if (!recordingSupported()) {
    pane.append(h('p', { class: 'muted', text: 'Recording needs microphone access, which this browser does not offer here. Upload a file instead.' }));
    return pane;
  }
  const timer = h('span', { class: 'rec-timer', text: `0.0 s / ${MAX_SECONDS} s` });
  const meter = h('div', { class: 'rec-meter', 'aria-hidden': 'true' }, h('div', { class: 'rec-meter-fill' }));
  const err = h('p', { class: 'field-error', hidden: true, role: 'alert' });
  const btn = button('Start recording', { iconName: 'mic', variant: 'secondary' });
  const rec = createRecorder({
    onTick: (secs, peak) => {
      timer.textContent = `${secs.toFixed(1)} s / ${MAX_SECONDS} s`;
      meter.firstChild.style.width = `${Math.min(100, peak * 140)}%`;
    },
    onStop: (blob, secs) => {
      pane.classList.remove('is-recording');
      btn.innerHTML = `${icon('mic')}<span>Record again</span>`;
      meter.firstChild.style.width = '0';
      timer.textContent = `${secs.toFixed(1)} s recorded${secs >= MAX_SECONDS - 0.05 ? ' (stopped at the limit)' : ''}`;
      onRecorded(blob, secs);
    },
  });
  btn.addEventListener('click', async () => {
    err.hidden = true;
    if (rec.recording) {
      rec.stop();
      return;
    }
    try {
      await rec.start();
      pane.classList.add('is-recording');
      btn.innerHTML = `${icon('stop')}<span>Stop</span>`;
    } catch (e) {
      err.textContent = e.message;
      err.hidden = false;
    }
  });
  pane.append(h('div', { class: 'rec-row' }, btn, h('div', { class: 'rec-info' }, timer, meter)), err,
    h('p', { class: 'field-hint', text: `Speak clearly for a few seconds; recording stops by itself at ${MAX_SECONDS} s.` }));
  return pane;
}
