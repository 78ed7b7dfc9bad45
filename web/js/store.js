// store.js — what the screens share: the profile list (with sample and generation counts), the server's
// health, and a tiny event bus so one screen can tell the others that something changed.

import { api } from './api.js';

const listeners = new Map();

export function on(event, fn) {
  if (!listeners.has(event)) listeners.set(event, new Set());
  listeners.get(event).add(fn);
}

export function emit(event, data) {
  for (const fn of listeners.get(event) || []) fn(data);
}

export const state = {
  profiles: null, // [{...profile, sample_count, generation_count}] once loaded
  health: null,
};

// Loads every profile with its counts: GET /profiles, /history/stats and each profile's samples.
export async function refreshProfiles() {
  const [profiles, stats] = await Promise.all([api('/profiles'), api('/history/stats')]);
  const byProfile = (stats && stats.generations_by_profile) || {};
  const counts = await Promise.all(profiles.map((p) => api(`/profiles/${encodeURIComponent(p.id)}/samples`).then((s) => s.length, () => null)));
  state.profiles = profiles.map((p, i) => ({ ...p, sample_count: counts[i], generation_count: byProfile[p.id] || 0 }));
  emit('profiles', state.profiles);
  return state.profiles;
}

// The Whisper model the Transcribe button uses (a setting kept in this browser; the Server screen sets it).
const WHISPER_KEY = 'voicebox.whisperModel';
export function whisperModel() {
  try {
    return localStorage.getItem(WHISPER_KEY) || 'whisper-base';
  } catch {
    return 'whisper-base';
  }
}
export function setWhisperModel(name) {
  try {
    localStorage.setItem(WHISPER_KEY, name);
  } catch {
    // storage refused (private mode): the choice lasts until the page reloads
  }
  emit('whisper-model', name);
}

export async function refreshHealth() {
  try {
    state.health = await api('/health');
  } catch (e) {
    state.health = { error: e.message };
  }
  emit('health', state.health);
  return state.health;
}
