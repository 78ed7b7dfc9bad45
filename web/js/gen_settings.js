// gen_settings.js — the generation settings panel of the Generate screen: sampling (temperature, top_k,
// top_p, repetition_penalty and the code predictor's), chunking of long texts (chunk size, crossfade) and
// normalize. Limits come from openapi.json (GenerateRequest), starting values from GET /settings/generation;
// "Save as defaults" writes them there (PUT), so every later take, from any client, starts from them.

import { api, rules } from './api.js';
import { h, button, field, showFieldError, toast } from './ui.js';

// [API name, label, hint]; the take's body and /settings/generation use the same names, but for normalize.
const NUMBERS = [
  ['temperature', 'Temperature', 'Higher: livelier, less predictable.'],
  ['top_k', 'Top-k', '0 turns it off.'],
  ['top_p', 'Top-p', '1 turns it off.'],
  ['repetition_penalty', 'Repetition penalty', 'Above 1 discourages repeats.'],
  ['subtalker_temperature', 'Code predictor temperature', null],
  ['subtalker_top_k', 'Code predictor top-k', null],
  ['subtalker_top_p', 'Code predictor top-p', null],
  ['max_chunk_chars', 'Chunk size (characters)', 'Long texts are spoken in chunks split at sentence ends.'],
  ['crossfade_ms', 'Crossfade (ms)', 'How the chunks are joined.'],
];

let panel;
let inputs = {};
let normalizeBox;

export function createSettingsPanel(form) {
  inputs = {};
  const fields = NUMBERS.map(([name, label, hint]) => {
    const r = rules.numbers[`GenerateRequest.${name}`] || {};
    const input = h('input', { name, type: 'number', inputmode: r.integer ? 'numeric' : 'decimal', step: r.integer ? '1' : 'any' });
    if (r.min !== undefined) input.min = String(r.min);
    if (r.max !== undefined) input.max = String(r.max);
    if (r.def !== undefined) input.value = String(r.def);
    inputs[name] = input;
    const range = r.min !== undefined && r.max !== undefined ? `${r.min} to ${r.max}` : null;
    return field(label, input, { hint: [hint, range].filter(Boolean).join(' ') || undefined });
  });
  normalizeBox = h('input', { type: 'checkbox', name: 'normalize' });
  const normalize = h('div', { class: 'field' },
    h('label', { class: 'check' }, normalizeBox, h('span', { text: 'Normalize the take (peak at -1 dBFS)' })),
    h('p', { class: 'field-error', hidden: true, role: 'alert', dataset: { errorFor: 'normalize' } }));
  const save = button('Save as defaults', { iconName: 'check', variant: 'secondary', 'data-testid': 'save-settings-defaults' });
  save.type = 'button';
  save.addEventListener('click', () => saveDefaults(form, save));
  const reset = button('Reset', { variant: 'ghost', 'data-testid': 'reset-settings' });
  reset.type = 'button';
  reset.addEventListener('click', () => loadDefaults());
  panel = h('details', { class: 'gen-settings', 'data-testid': 'generation-settings' },
    h('summary', { text: 'Generation settings' }),
    h('div', { class: 'form-grid gen-settings-grid' }, ...fields), normalize,
    h('div', { class: 'row-actions' }, save, reset));
  loadDefaults();
  return panel;
}

// The saved defaults into the panel (the engine's where the server has none).
export async function loadDefaults() {
  try {
    const d = await api('/settings/generation');
    for (const [name, input] of Object.entries(inputs)) if (d[name] !== undefined) input.value = String(d[name]);
    normalizeBox.checked = !!d.normalize_audio;
  } catch (e) {
    toast(`Generation settings: ${e.message}`, 'error');
  }
}

// The panel's values as members of a take's body; a field left empty is left out (the server's default).
export function settingsBody() {
  const body = {};
  for (const [name, input] of Object.entries(inputs)) if (input.value.trim() !== '') body[name] = Number(input.value);
  body.normalize = normalizeBox.checked;
  return body;
}

// A take's stored settings (History's "Reuse settings") into the panel.
export function applySettings(settings) {
  for (const [name, input] of Object.entries(inputs)) if (settings[name] !== undefined) input.value = String(settings[name]);
  if (settings.normalize !== undefined) normalizeBox.checked = !!settings.normalize;
}

// An error about one of the panel's fields opens the panel, so it is seen beside its field.
export function revealField(name) {
  if (panel && (inputs[name] || name === 'normalize')) panel.open = true;
}

async function saveDefaults(form, btn) {
  const body = settingsBody();
  body.normalize_audio = body.normalize;
  delete body.normalize;
  btn.disabled = true;
  try {
    await api('/settings/generation', { method: 'PUT', json: body });
    for (const slot of panel.querySelectorAll('.field-error')) slot.hidden = true; // what was refused before is not now
    for (const input of panel.querySelectorAll('[aria-invalid]')) input.removeAttribute('aria-invalid');
    toast('Saved: new takes start from these settings.', 'success');
  } catch (e) {
    const f = e.field === 'normalize_audio' ? 'normalize' : e.field;
    revealField(f);
    showFieldError(form, f, e.message);
  } finally {
    btn.disabled = false;
  }
}
