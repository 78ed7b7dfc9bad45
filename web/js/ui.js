// ui.js — small DOM helpers shared by the screens: an element builder, inline SVG icons (nothing is
// loaded from the network), toasts, a confirm dialog, field errors and number/time formatting.

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'html') el.innerHTML = v; // only ever used with our own icon strings
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const PATHS = {
  mic: '<path d="M12 3a3 3 0 0 0-3 3v6a3 3 0 0 0 6 0V6a3 3 0 0 0-3-3Z"/><path d="M19 11a7 7 0 0 1-14 0M12 18v3"/>',
  wave: '<path d="M3 12h2M7 8v8M11 5v14M15 9v6M19 11v2M21 12h0"/>',
  history: '<path d="M3 12a9 9 0 1 0 3-6.7L3 8"/><path d="M3 3v5h5M12 7v5l3 2"/>',
  server: '<rect x="3" y="4" width="18" height="7" rx="2"/><rect x="3" y="13" width="18" height="7" rx="2"/><path d="M7 7.5h.01M7 16.5h.01"/>',
  users: '<circle cx="9" cy="8" r="3.5"/><path d="M2.5 20a6.5 6.5 0 0 1 13 0M16 4.5a3.5 3.5 0 0 1 0 7M18 14a6 6 0 0 1 3.5 6"/>',
  play: '<path d="M7 4.5v15l13-7.5Z" fill="currentColor" stroke="none"/>',
  pause: '<rect x="6" y="4.5" width="4" height="15" rx="1" fill="currentColor" stroke="none"/><rect x="14" y="4.5" width="4" height="15" rx="1" fill="currentColor" stroke="none"/>',
  plus: '<path d="M12 5v14M5 12h14"/>',
  trash: '<path d="M4 7h16M9 7V4h6v3M6 7l1 13h10l1-13"/>',
  edit: '<path d="M4 20h4L19 9l-4-4L4 16v4Z"/><path d="M13.5 6.5l4 4"/>',
  download: '<path d="M12 4v11M7 10l5 5 5-5M5 20h14"/>',
  upload: '<path d="M12 20V9M7 14l5-5 5 5M5 4h14"/>',
  stop: '<rect x="6" y="6" width="12" height="12" rx="2" fill="currentColor" stroke="none"/>',
  refresh: '<path d="M20 12a8 8 0 1 1-2.3-5.7L20 8.6"/><path d="M20 3v5.6h-5.6"/>',
  reuse: '<path d="M4 12a8 8 0 0 1 13.7-5.6L20 9"/><path d="M20 4v5h-5M20 12a8 8 0 0 1-13.7 5.6L4 15"/><path d="M4 20v-5h5"/>',
  check: '<path d="M5 12.5l4.5 4.5L19 7.5"/>',
  alert: '<path d="M12 3 2 20h20L12 3Z"/><path d="M12 10v4M12 17h.01"/>',
  x: '<path d="M6 6l12 12M18 6 6 18"/>',
  search: '<circle cx="11" cy="11" r="7"/><path d="m20 20-4-4"/>',
  spark: '<path d="M12 3v4M12 17v4M3 12h4M17 12h4M6 6l2.5 2.5M15.5 15.5 18 18M6 18l2.5-2.5M15.5 8.5 18 6"/>',
  star: '<path d="M12 3.5l2.6 5.3 5.9.9-4.3 4.1 1 5.8L12 16.9l-5.2 2.7 1-5.8-4.3-4.1 5.9-.9z"/>',
  broom: '<path d="M14 4l6 6M12.5 5.5l6 6-7 7H7v-4.5l5.5-8.5Z"/>',
  logo: '<path d="M4 10v4M8 7v10M12 4v16M16 8v8M20 11v2"/>',
};

export function icon(name, size = 16) {
  return `<svg class="icon" width="${size}" height="${size}" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false">${PATHS[name] || ''}</svg>`;
}

// A button with an icon and a label (or an icon-only button with an accessible label).
export function button(label, { iconName, variant = 'secondary', onclick, iconOnly = false, type = 'button', ...rest } = {}) {
  const b = h('button', { type, class: `btn btn-${variant}${iconOnly ? ' btn-icon' : ''}`, onclick, ...rest });
  if (iconOnly) {
    b.setAttribute('aria-label', label);
    b.title = label;
  }
  b.innerHTML = (iconName ? icon(iconName) : '') + (iconOnly ? '' : `<span>${escapeHtml(label)}</span>`);
  return b;
}

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);
}

// Marks a button busy (disabled, spinner) while fn runs.
export async function busy(btn, fn) {
  btn.disabled = true;
  btn.classList.add('is-busy');
  btn.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    btn.disabled = false;
    btn.classList.remove('is-busy');
    btn.removeAttribute('aria-busy');
  }
}

export function toast(message, kind = 'info') {
  const region = document.getElementById('toasts');
  const t = h('div', { class: `toast toast-${kind}`, role: kind === 'error' ? 'alert' : 'status' });
  t.innerHTML = icon(kind === 'error' ? 'alert' : 'check');
  t.append(h('span', { text: message }));
  region.append(t);
  while (region.children.length > 3) region.firstElementChild.remove(); // the latest three are enough
  setTimeout(() => {
    t.classList.add('leaving');
    setTimeout(() => t.remove(), 250);
  }, kind === 'error' ? 7000 : 3500);
}

// A modal yes/no question on the page's <dialog id="confirm">; resolves true when confirmed.
export function confirmDialog({ title, message, confirmLabel = 'Delete', danger = true }) {
  const dlg = document.getElementById('confirm');
  dlg.querySelector('.dialog-title').textContent = title;
  dlg.querySelector('.dialog-message').textContent = message;
  const ok = dlg.querySelector('[data-ok]');
  ok.textContent = confirmLabel;
  ok.className = `btn ${danger ? 'btn-danger' : 'btn-primary'}`;
  return new Promise((resolve) => {
    const done = () => {
      dlg.removeEventListener('close', done);
      resolve(dlg.returnValue === 'ok');
    };
    dlg.returnValue = '';
    dlg.addEventListener('close', done);
    dlg.showModal();
    dlg.querySelector('[data-cancel]').focus();
  });
}

// Shows msg under the form field whose name is field (or in the form's general error slot).
export function showFieldError(form, field, msg) {
  const slot = (field && form.querySelector(`[data-error-for="${field}"]`)) || form.querySelector('[data-error-for="_form"]');
  if (!slot) return toast(msg, 'error');
  slot.textContent = humanize(msg, slot.dataset.errorFor);
  slot.hidden = false;
  const input = field && form.querySelector(`[name="${field}"]`);
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.focus();
  }
}

// Beside its field, "reference_text: must be 1 to 1000 characters" reads better as "Must be 1 to 1000 characters".
function humanize(msg, field) {
  const m = /^([a-z_]+): (.*)$/s.exec(msg);
  if (!m || (field !== m[1] && field !== '_form')) return msg;
  const rest = field === '_form' ? `${m[1].replace(/_/g, ' ')}: ${m[2]}` : m[2];
  return rest.charAt(0).toUpperCase() + rest.slice(1);
}

export function clearFieldErrors(form) {
  for (const s of form.querySelectorAll('[data-error-for]')) {
    s.textContent = '';
    s.hidden = true;
  }
  for (const i of form.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
}

// A labelled field: label, control, hint and an error slot tied to the control for screen readers.
let uid = 0;
export function field(label, control, { hint, name, extra } = {}) {
  const id = control.id || `f${++uid}`;
  control.id = id;
  const errId = `${id}-err`;
  const err = h('p', { class: 'field-error', id: errId, role: 'alert', hidden: true, dataset: { errorFor: name || control.name || '' } });
  control.setAttribute('aria-describedby', errId);
  return h('div', { class: 'field' },
    h('div', { class: 'field-label-row' }, h('label', { for: id, text: label }), extra || null),
    control, hint ? h('p', { class: 'field-hint', text: hint }) : null, err);
}

export function formatDuration(sec) {
  if (!Number.isFinite(sec)) return '—';
  const s = Math.max(0, sec);
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  const r = Math.round(s - m * 60);
  return `${m} min ${r} s`;
}

export function formatClock(sec) {
  if (!Number.isFinite(sec)) return '0:00';
  const s = Math.max(0, Math.floor(sec));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function formatDate(iso) {
  if (!iso) return '';
  const d = new Date(/Z|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatBytes(n) {
  if (!Number.isFinite(n) || n <= 0) return '0 B';
  const u = ['B', 'KB', 'MB', 'GB'];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function emptyState(iconName, title, text, action) {
  const el = h('div', { class: 'empty' });
  el.innerHTML = icon(iconName, 28);
  el.append(h('p', { class: 'empty-title', text: title }), h('p', { class: 'empty-text', text }));
  if (action) el.append(action);
  return el;
}

export function loadingState(text = 'Loading…') {
  return h('div', { class: 'loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), h('span', { text }));
}

export function errorState(message, retry) {
  const el = h('div', { class: 'error-state', role: 'alert' });
  el.innerHTML = icon('alert', 20);
  el.append(h('span', { text: message }));
  if (retry) el.append(button('Try again', { iconName: 'refresh', onclick: retry }));
  return el;
}

export function progressBar(label) {
  const bar = h('div', { class: 'progress', role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': '0' },
    h('div', { class: 'progress-fill' }));
  bar.set = (fraction) => {
    const pct = Math.max(0, Math.min(100, Math.round(fraction * 100)));
    bar.setAttribute('aria-valuenow', String(pct));
    bar.firstChild.style.width = `${pct}%`;
    bar.classList.remove('indeterminate');
  };
  bar.indeterminate = () => bar.classList.add('indeterminate');
  return bar;
}
