// api.js — the one way the UI talks to the voicebox server: fetch with JSON in and out, errors turned into
// ApiError with a sentence a person can read, and server-sent events for download progress.
// It never builds URLs from anything but the documented routes.

// field: the request field the error is about, as the server names it in {"detail", "field"} (a form shows
// the error beside the control of that name), or null when the error is about no one field.
export class ApiError extends Error {
  constructor(status, detail, field = null) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.field = field;
  }
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
  if (!res.ok) {
    const field = body && typeof body.field === 'string' && body.field ? body.field : null;
    throw new ApiError(res.status, describe(res.status, body, res.statusText), field);
  }
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

// The API's rules as the server states them in GET /openapi.json (generated there from the studio's one
// table of each): the languages, the model sizes and names, the default size, and each text field's
// maxLength by schema ("GenerateRequest.text"), and each number field's {min, max, def, integer} by schema
// ("GenerateRequest.temperature"). loadRules() fills it once, before the first screen shows.
export const rules = { languages: [], defaultLanguage: 'en', modelSizes: [], modelNames: [], maxLength: {}, numbers: {} };

export async function loadRules() {
  const schemas = (await api('/openapi.json')).components.schemas;
  rules.languages = schemas.Language.enum;
  rules.defaultLanguage = schemas.Language.default;
  rules.modelSizes = schemas.ModelSize.enum; // the default size first
  rules.modelNames = schemas.ModelName.enum; // in the same order as the sizes (one table on the server)
  for (const [name, schema] of Object.entries(schemas)) {
    for (const [prop, p] of Object.entries(schema.properties || {})) {
      if (p.maxLength) rules.maxLength[`${name}.${prop}`] = p.maxLength;
      if (p.type === 'number' || p.type === 'integer') {
        rules.numbers[`${name}.${prop}`] = { min: p.minimum, max: p.maximum, def: p.default, integer: p.type === 'integer' };
      }
    }
  }
}

// What a person reads for a language code; the codes themselves come from rules.languages.
const LANGUAGE_NAMES = { en: 'English', zh: 'Chinese', ja: 'Japanese', ko: 'Korean', de: 'German', fr: 'French',
  ru: 'Russian', pt: 'Portuguese', es: 'Spanish', it: 'Italian' };
export const languageName = (code) => LANGUAGE_NAMES[code] || code || '—';
// [code, name] pairs for a <select>, the default language first.
const first = (d) => (a, b) => (b === d) - (a === d);
export const languageOptions = () => [...rules.languages].sort(first(rules.defaultLanguage)).map((c) => [c, languageName(c)]);
export const modelName = (size) => rules.modelNames[rules.modelSizes.indexOf(size)] || size;

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
