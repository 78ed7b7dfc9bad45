// waveform.js — an audio player with the waveform of a WAV drawn on a canvas. Click (or drag, or use the
// arrow keys on) the waveform to seek. The WAV is parsed here (PCM 8/16/24/32-bit or float), so no
// AudioContext is needed; other formats fall back to decodeAudioData on an OfflineAudioContext.

import { h, icon, formatClock } from './ui.js';

// Returns {peaks: Float32Array of max |x| per bucket, duration} for a WAV (or any decodable) file.
async function loadPeaks(buf, buckets) {
  const samples = parseWav(buf) || (await decodeOther(buf));
  if (!samples) return null;
  const { data, rate } = samples;
  const peaks = new Float32Array(buckets);
  const per = data.length / buckets;
  for (let b = 0; b < buckets; b++) {
    let m = 0;
    const end = Math.min(data.length, Math.floor((b + 1) * per));
    for (let i = Math.floor(b * per); i < end; i++) {
      const v = Math.abs(data[i]);
      if (v > m) m = v;
    }
    peaks[b] = m;
  }
  return { peaks, duration: data.length / rate };
}

// The first channel of a RIFF/WAVE file as floats in [-1, 1], or null if it is not one we can read.
export function parseWav(buf) {
  const v = new DataView(buf);
  if (buf.byteLength < 12 || v.getUint32(0, false) !== 0x52494646 || v.getUint32(8, false) !== 0x57415645) return null;
  let fmt = null;
  let off = 12;
  while (off + 8 <= buf.byteLength) {
    const id = v.getUint32(off, false);
    let size = v.getUint32(off + 4, true);
    const body = off + 8;
    if (id === 0x666d7420) { // "fmt "
      let tag = v.getUint16(body, true);
      if (tag === 0xfffe && size >= 40) tag = v.getUint16(body + 24, true);
      fmt = { tag, channels: v.getUint16(body + 2, true), rate: v.getUint32(body + 4, true), bits: v.getUint16(body + 14, true) };
    } else if (id === 0x64617461 && fmt) { // "data"
      size = Math.min(size, buf.byteLength - body);
      const bytes = fmt.bits / 8;
      const frame = bytes * fmt.channels;
      if (!frame || !fmt.rate) return null;
      const n = Math.floor(size / frame);
      const out = new Float32Array(n);
      for (let i = 0, p = body; i < n; i++, p += frame) {
        if (fmt.tag === 3 && fmt.bits === 32) out[i] = v.getFloat32(p, true);
        else if (fmt.tag !== 1) return null;
        else if (fmt.bits === 16) out[i] = v.getInt16(p, true) / 32768;
        else if (fmt.bits === 8) out[i] = (v.getUint8(p) - 128) / 128;
        else if (fmt.bits === 24) out[i] = ((v.getUint8(p + 2) << 24) | (v.getUint8(p + 1) << 16) | (v.getUint8(p) << 8)) / 2147483648;
        else if (fmt.bits === 32) out[i] = v.getInt32(p, true) / 2147483648;
        else return null;
      }
      return { data: out, rate: fmt.rate };
    }
    off = body + size + (size & 1);
  }
  return null;
}

async function decodeOther(buf) {
  try {
    const ctx = new OfflineAudioContext(1, 1, 24000);
    const audio = await ctx.decodeAudioData(buf.slice(0));
    return { data: audio.getChannelData(0), rate: audio.sampleRate };
  } catch {
    return null;
  }
}

function cssVar(el, name) {
  return getComputedStyle(el).getPropertyValue(name).trim();
}

// createPlayer() -> element with .load(url), .play(), .pause(), .audio and .clear().
export function createPlayer({ label = 'Audio', compact = false } = {}) {
  const audio = h('audio', { preload: 'auto' });
  const playBtn = h('button', { type: 'button', class: 'btn btn-primary btn-icon player-play', 'aria-label': 'Play', title: 'Play', disabled: true });
  playBtn.innerHTML = icon('play');
  const canvas = h('canvas', { class: 'wave-canvas', 'aria-hidden': 'true' });
  const wave = h('div', { class: 'wave', role: 'slider', tabindex: '0', 'aria-label': `${label}: position`, 'aria-valuemin': '0', 'aria-valuemax': '0', 'aria-valuenow': '0', 'aria-valuetext': '0:00' }, canvas);
  const time = h('span', { class: 'player-time', text: '0:00 / 0:00' });
  const status = h('span', { class: 'player-status' });
  const el = h('div', { class: `player${compact ? ' player-compact' : ''}` }, playBtn, h('div', { class: 'player-main' }, wave, h('div', { class: 'player-meta' }, time, status)), audio);

  let peaks = null;
  let duration = 0;
  let raf = 0;
  let loadToken = 0;

  const dur = () => (Number.isFinite(audio.duration) && audio.duration > 0 ? audio.duration : duration);

  function draw() {
    const dpr = window.devicePixelRatio || 1;
    const w = Math.max(1, wave.clientWidth);
    const hgt = Math.max(1, wave.clientHeight);
    if (canvas.width !== Math.round(w * dpr) || canvas.height !== Math.round(hgt * dpr)) {
      canvas.width = Math.round(w * dpr);
      canvas.height = Math.round(hgt * dpr);
      canvas.style.width = `${w}px`;
      canvas.style.height = `${hgt}px`;
    }
    const g = canvas.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    const d = dur();
    const frac = d ? Math.min(1, audio.currentTime / d) : 0;
    const played = cssVar(el, '--accent') || '#5b5bd6';
    const rest = cssVar(el, '--wave-rest') || '#c4c4cc';
    const bar = 2;
    const gap = 1;
    const n = Math.floor(w / (bar + gap));
    const mid = hgt / 2;
    for (let i = 0; i < n; i++) {
      let p = 0.02;
      if (peaks) {
        const a = Math.floor((i / n) * peaks.length);
        const b = Math.max(a + 1, Math.floor(((i + 1) / n) * peaks.length));
        for (let k = a; k < b; k++) p = Math.max(p, peaks[k]);
      }
      const bh = Math.max(2, Math.min(1, p * 1.15) * (hgt - 4));
      g.fillStyle = (i + 0.5) / n <= frac ? played : rest;
      g.fillRect(i * (bar + gap), mid - bh / 2, bar, bh);
    }
    if (d) {
      g.fillStyle = played;
      g.fillRect(Math.min(w - 1, frac * w), 0, 1, hgt);
    }
    time.textContent = `${formatClock(audio.currentTime)} / ${formatClock(Math.round(d))}`;
    wave.setAttribute('aria-valuemax', String(Math.round(d * 10) / 10));
    wave.setAttribute('aria-valuenow', String(Math.round(audio.currentTime * 10) / 10));
    wave.setAttribute('aria-valuetext', formatClock(audio.currentTime));
  }

  function tick() {
    draw();
    raf = audio.paused ? 0 : requestAnimationFrame(tick);
  }

  function seekTo(t) {
    const d = dur();
    if (!d) return;
    audio.currentTime = Math.max(0, Math.min(d, t));
    draw();
  }

  function seekFromEvent(ev) {
    const r = wave.getBoundingClientRect();
    seekTo(((ev.clientX - r.left) / r.width) * dur());
  }

  wave.addEventListener('pointerdown', (ev) => {
    if (!dur()) return;
    wave.setPointerCapture(ev.pointerId);
    seekFromEvent(ev);
    const move = (e) => seekFromEvent(e);
    const up = () => {
      wave.removeEventListener('pointermove', move);
      wave.removeEventListener('pointerup', up);
    };
    wave.addEventListener('pointermove', move);
    wave.addEventListener('pointerup', up);
  });
  wave.addEventListener('keydown', (ev) => {
    const d = dur();
    const step = { ArrowLeft: -1, ArrowRight: 1, PageDown: -5, PageUp: 5 }[ev.key];
    if (step) seekTo(audio.currentTime + step);
    else if (ev.key === 'Home') seekTo(0);
    else if (ev.key === 'End') seekTo(d);
    else if (ev.key === ' ' || ev.key === 'Enter') togglePlay();
    else return;
    ev.preventDefault();
  });

  function setPlayIcon() {
    const playing = !audio.paused;
    playBtn.innerHTML = icon(playing ? 'pause' : 'play');
    playBtn.setAttribute('aria-label', playing ? 'Pause' : 'Play');
    playBtn.title = playing ? 'Pause' : 'Play';
  }

  function togglePlay() {
    if (audio.paused) el.play();
    else audio.pause();
  }

  playBtn.addEventListener('click', togglePlay);
  audio.addEventListener('play', () => {
    setPlayIcon();
    // One player at a time across the page.
    for (const other of document.querySelectorAll('audio')) if (other !== audio && !other.paused) other.pause();
    if (!raf) raf = requestAnimationFrame(tick);
  });
  audio.addEventListener('pause', setPlayIcon);
  audio.addEventListener('ended', () => {
    setPlayIcon();
    draw();
  });
  audio.addEventListener('loadedmetadata', draw);
  audio.addEventListener('timeupdate', () => {
    if (!raf) draw();
  });
  audio.addEventListener('error', () => {
    if (audio.getAttribute('src')) status.textContent = 'This audio cannot be played.';
  });
  new ResizeObserver(() => draw()).observe(wave);

  el.audio = audio;
  el.load = async (url) => {
    const token = ++loadToken;
    audio.pause();
    audio.src = url;
    playBtn.disabled = false;
    peaks = null;
    duration = 0;
    status.textContent = '';
    el.classList.add('is-loading');
    draw();
    try {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const result = await loadPeaks(await res.arrayBuffer(), 600);
      if (token !== loadToken) return;
      if (result) {
        peaks = result.peaks;
        duration = result.duration;
      } else status.textContent = 'No waveform for this file.';
    } catch {
      if (token === loadToken) status.textContent = 'The waveform could not be loaded.';
    } finally {
      if (token === loadToken) el.classList.remove('is-loading');
      draw();
    }
  };
  el.play = async () => {
    try {
      await audio.play();
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = 'Playback was blocked by the browser; press play.';
    }
  };
  el.pause = () => audio.pause();
  el.clear = () => {
    loadToken++;
    audio.pause();
    audio.removeAttribute('src');
    audio.load();
    peaks = null;
    duration = 0;
    playBtn.disabled = true;
    draw();
  };
  el.redraw = draw;
  return el;
}
