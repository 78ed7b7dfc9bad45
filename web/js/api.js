// api.js — the one way the UI talks to the voicebox server: fetch with JSON in and out, errors turned into
// ApiError with a sentence a person can read, and server-sent events for download progress.
// It never builds URLs from anything but the documented routes.

export class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.field = fieldOf(detail);
  }
}

// The server's validation errors start with the field they are about ("name: must be 1 to 100 characters")
// or, for a duplicate profile name, mention it; this finds the field so a form can show the error beside it.
const FIELDS = ['name', 'description', 'language', 'reference_text', 'file', 'text', 'seed', 'model_size',
  'profile_id', 'instruct', 'lines'];
function fieldOf(detail) {
  if (typeof detail !== 'string') return null;
  const m = /^([a-z_]+):\s/.exec(detail);
  if (m && FIELDS.includes(m[1])) return m[1];
  if (/profile with name .* already exists/i.test(detail)) return 'name';
  return null;
}

function describe(status, body, statusText) {
  if (body && typeof body === 'object' && 'detail' in body) {
    const d = body.detail;
    if (typeof d === 'string') return d;
    // FastAPI-style lists of {loc, msg}
    if (Array.isArray(d)) return d.map((e) => (e.loc ? `${e.loc[e.loc.length - 1]}: ` : '') + (e.msg || '')).join('; ');
    return JSON.stringify(d);
  }
  if (status === 413) return 'The upload is too large (the server accepts up to 50 MB).';
  if (status === 0) return 'The server cannot be reached. Is `voicebox serve` running?';
  return `The server answered ${status} ${statusText || ''}`.trim();
}

// api('/profiles', {method: 'POST', json: {...}}) -> parsed JSON (or null for an empty body).
// options.form: a FormData to send as multipart. options.signal: an AbortSignal.
export async function api(path, options = {}) {
  const init = { method: options.method || 'GET', headers: {}, signal: options.signal };
  if (options.json !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.json);
  } else if (options.form) {
    init.body = options.form;
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, describe(0));
  }
  const text = await res.text();
  let body = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  if (!res.ok) throw new ApiError(res.status, describe(res.status, body, res.statusText));
  return body;
}

// Follows GET /models/progress/{name}. onEvent gets each parsed data object; the promise settles when the
// status is complete (resolve) or error (reject), or the stream fails before either.
export function followProgress(modelName, onEvent) {
  return new Promise((resolve, reject) => {
    const es = new EventSource(`/models/progress/${encodeURIComponent(modelName)}`);
    let done = false;
    const finish = (fn, value) => {
      if (done) return;
      done = true;
      es.close();
      fn(value);
    };
    es.onmessage = (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return; // heartbeats and comments
      }
      onEvent(data);
      if (data.status === 'complete') finish(resolve, data);
      else if (data.status === 'error') finish(reject, new ApiError(500, data.error || data.message || `Downloading ${modelName} failed.`));
    };
    es.onerror = () => {
      // The server ends the stream after the last event; that is only an error if no end was seen.
      finish(reject, new ApiError(0, `The progress stream for ${modelName} ended before the download finished.`));
    };
  });
}

// Starts the download of a model (a no-op when it already runs) and follows its progress to the end. The
// POST comes first so the stream never reports the end of an earlier download of the same model.
export async function startDownload(name, onEvent) {
  await api('/models/download', { method: 'POST', json: { model_name: name } });
  return followProgress(name, onEvent);
}

export const LANGUAGES = [
  ['en', 'English'], ['zh', 'Chinese'], ['ja', 'Japanese'], ['ko', 'Korean'], ['de', 'German'],
  ['fr', 'French'], ['ru', 'Russian'], ['pt', 'Portuguese'], ['es', 'Spanish'], ['it', 'Italian'],
];
export const languageName = (code) => (LANGUAGES.find(([c]) => c === code) || [code, code || '—'])[1];
export const MODEL_SIZES = ['1.7B', '0.6B'];
export const modelName = (size) => `qwen-tts-${size}`;

// Follows GET /generate/{id}/status. onEvent gets each {id, status, progress, position, duration, error}; the
// promise resolves with the last event once the take is final (completed, failed, cancelled, not_found).
// The stream reconnects by itself if the connection drops before that (EventSource does).
export function followTake(id, onEvent) {
  const FINAL = ['completed', 'failed', 'cancelled', 'not_found'];
  return new Promise((resolve) => {
    const es = new EventSource(`/generate/${encodeURIComponent(id)}/status`);
    es.onmessage = (ev) => {
      let data;
      try {
        data = JSON.parse(ev.data);
      } catch {
        return;
      }
      onEvent(data);
      if (FINAL.includes(data.status)) {
        es.close();
        resolve(data);
      }
    };
  });
}
