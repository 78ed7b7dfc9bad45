// recorder.js — records the microphone in the browser and hands back a 16-bit mono WAV Blob, so the
// server gets a format it decodes without a browser codec in between. Recording stops itself at
// MAX_SECONDS (the server's upper limit for a sample). Samples are taken by an AudioWorklet (loaded from a
// Blob URL, so there is no extra file) and posted to this thread in blocks.

export const MAX_SECONDS = 30;

const WORKLET = `
class VoiceboxTap extends AudioWorkletProcessor {
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (ch) this.port.postMessage(ch.slice(0));
    return true;
  }
}
registerProcessor('voicebox-tap', VoiceboxTap);
`;

export function recordingSupported() {
  return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia && window.AudioWorkletNode);
}

// Float32 blocks at rate -> a RIFF/WAVE Blob, 16-bit PCM mono.
export function encodeWav(blocks, rate) {
  const n = blocks.reduce((s, b) => s + b.length, 0);
  const buf = new ArrayBuffer(44 + n * 2);
  const v = new DataView(buf);
  const str = (off, s) => [...s].forEach((c, i) => v.setUint8(off + i, c.charCodeAt(0)));
  str(0, 'RIFF');
  v.setUint32(4, 36 + n * 2, true);
  str(8, 'WAVE');
  str(12, 'fmt ');
  v.setUint32(16, 16, true);
  v.setUint16(20, 1, true); // PCM
  v.setUint16(22, 1, true); // mono
  v.setUint32(24, rate, true);
  v.setUint32(28, rate * 2, true);
  v.setUint16(32, 2, true);
  v.setUint16(34, 16, true);
  str(36, 'data');
  v.setUint32(40, n * 2, true);
  let off = 44;
  for (const b of blocks) {
    for (let i = 0; i < b.length; i++, off += 2) {
      const s = Math.max(-1, Math.min(1, b[i]));
      v.setInt16(off, s < 0 ? Math.round(s * 32768) : Math.round(s * 32767), true);
    }
  }
  return new Blob([buf], { type: 'audio/wav' });
}

// createRecorder({onTick(seconds, level), onStop(blob, seconds)}) -> {start(), stop(), get recording()}.
// start() rejects with an Error whose message says why (permission refused, no microphone).
export function createRecorder({ onTick, onStop }) {
  let ctx = null;
  let stream = null;
  let node = null;
  let blocks = [];
  let count = 0;
  let recording = false;

  async function start() {
    if (recording) return;
    if (!recordingSupported()) throw new Error('This browser cannot record audio here (it needs a secure origin such as http://127.0.0.1).');
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: true } });
    } catch (e) {
      throw new Error(e.name === 'NotAllowedError' ? 'Microphone access was refused. Allow it in the browser to record.' : `No microphone is available (${e.message || e.name}).`);
    }
    ctx = new AudioContext();
    const url = URL.createObjectURL(new Blob([WORKLET], { type: 'text/javascript' }));
    try {
      await ctx.audioWorklet.addModule(url);
    } finally {
      URL.revokeObjectURL(url);
    }
    const src = ctx.createMediaStreamSource(stream);
    node = new AudioWorkletNode(ctx, 'voicebox-tap');
    blocks = [];
    count = 0;
    recording = true;
    const max = MAX_SECONDS * ctx.sampleRate;
    node.port.onmessage = (ev) => {
      if (!recording) return;
      let b = ev.data;
      if (count + b.length > max) b = b.subarray(0, max - count);
      blocks.push(b);
      count += b.length;
      let peak = 0;
      for (let i = 0; i < b.length; i++) peak = Math.max(peak, Math.abs(b[i]));
      if (onTick) onTick(count / ctx.sampleRate, peak);
      if (count >= max) stop();
    };
    src.connect(node);
    // The tap must be pulled by the graph to run; a muted gain keeps the speakers silent.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    node.connect(mute).connect(ctx.destination);
  }

  function stop() {
    if (!recording) return;
    recording = false;
    const rate = ctx.sampleRate;
    for (const t of stream.getTracks()) t.stop();
    node.port.onmessage = null;
    ctx.close();
    const blob = encodeWav(blocks, rate);
    const seconds = count / rate;
    blocks = [];
    if (onStop) onStop(blob, seconds);
  }

  return {
    start,
    stop,
    get recording() {
      return recording;
    },
  };
}
