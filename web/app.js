// app.js — starts the studio UI: hash routing between the screens, the server status pill in the
// header, and the first load of shared data. Each screen lives in js/<screen>.js and exposes
// mount(section) (once) and show(params) (each time it becomes visible).

import { state, on, refreshHealth, refreshProfiles } from './js/store.js';
import { loadRules } from './js/api.js';
import * as voices from './js/voices.js';
import * as generate from './js/generate.js';
import * as history from './js/history.js';
import * as server from './js/server.js';
import * as stories from './js/stories.js';

const screens = { voices, generate, history, stories, server };
const mounted = new Set();
let current = null;

function parseHash() {
  const [name, query] = location.hash.replace(/^#/, '').split('?');
  return { name: screens[name] ? name : 'voices', params: new URLSearchParams(query || '') };
}

function route() {
  const { name, params } = parseHash();
  for (const sec of document.querySelectorAll('.screen')) sec.hidden = sec.dataset.screen !== name;
  for (const tab of document.querySelectorAll('.tab')) {
    if (tab.dataset.tab === name) tab.setAttribute('aria-current', 'page');
    else tab.removeAttribute('aria-current');
  }
  const section = document.querySelector(`[data-screen="${name}"]`);
  if (!mounted.has(name)) {
    screens[name].mount(section);
    mounted.add(name);
  }
  if (current && current !== name && screens[current].hide) screens[current].hide();
  current = name;
  screens[name].show(params);
  document.title = `${section.querySelector('h1').textContent} · voicebox`;
}

function renderPill(h) {
  const pill = document.getElementById('server-pill');
  const text = pill.querySelector('.server-pill-text');
  pill.classList.remove('ok', 'idle', 'down');
  if (!h || h.error) {
    pill.classList.add('down');
    text.textContent = 'Server offline';
  } else if (h.model_loaded) {
    pill.classList.add('ok');
    text.textContent = `${h.model_size || ''} loaded`.trim();
  } else {
    pill.classList.add('idle');
    text.textContent = 'No model loaded';
  }
}

on('health', renderPill);
window.addEventListener('hashchange', route);
// The forms take their limits and choices from the server's rules, so the first screen waits for them; a
// server that cannot be reached shows the screens all the same (empty choices, the pill says offline).
await loadRules().catch(() => {});
route();
refreshHealth();
setInterval(() => {
  if (!document.hidden) refreshHealth();
}, 10000);
if (!state.profiles) refreshProfiles().catch(() => {});
