/* generation.h — speech generation in the studio: takes as records in a FIFO queue, the one inference worker,
 * the resident model and the voice-prompt cache.
 *
 * A take is a history row from the moment it is asked for, with a status that moves
 *   queued -> [downloading] -> [loading_model] -> generating -> completed | failed | cancelled
 * and a record here while it is queued or running. No thread waits for a take: callers hold a reference
 * (studio_gen_take) and read its state whenever they like, so any number of takes can queue and a route
 * never waits behind one. One TTS model is resident at a time; loading the other size unloads the first.
 * The requested model size is loaded BEFORE the voice prompt is looked up or made, so a prompt always
 * matches the model using it. A take whose model is not in the cache starts its download and waits for it.
 */
#ifndef VOICEBOX_GENERATION_H
#define VOICEBOX_GENERATION_H

#include "studio/models.h"
#include "studio/studio.h"

#include <jansson.h>

typedef struct studio_gen studio_gen;

/* Starts the worker and marks takes a crash left unfinished as failed. Models are found in the Hugging Face
 * cache (models.h) and downloaded through models (NULL: a missing model is refused, never fetched). */
studio_gen *studio_gen_new(studio *s, studio_models *models, studio_error *err);
/* Cancels the running job, fails the queued ones and stops the worker; later requests fail at once.
 * Idempotent. The server calls it once it accepts no new request, before waiting for those in flight. */
void studio_gen_shutdown(studio_gen *g);
/* studio_gen_shutdown, then unloads the model and frees g. NULL is fine. */
void studio_gen_free(studio_gen *g);

/* body: {profile_id, text (1-5000), language (10 codes, default "en"), seed? (>= 0; random when absent),
 * model_size? ("1.7B" default | "0.6B"), instruct? (<= 500)}. Records the take (status "queued") and queues
 * it; returns its history item. Refused at once: STUDIO_INVALID (a field, 422), STUDIO_NOT_FOUND (unknown
 * profile), STUDIO_CONFLICT (profile without samples, 400), STUDIO_NOT_READY (model not downloaded and no
 * source to fetch it: HF_HUB_OFFLINE), STUDIO_INTERNAL. A missing model's download starts here. */
json_t *studio_gen_submit(studio_gen *g, const json_t *body, studio_error *err);
/* A queued take leaves the queue as cancelled; a running one is stopped within a frame (its state says
 * when). Returns the history item. STUDIO_CONFLICT when the take is already final. */
json_t *studio_gen_cancel(studio_gen *g, const char *id, studio_error *err);
/* A failed or cancelled take queued again under its id with its settings (STUDIO_CONFLICT otherwise). */
json_t *studio_gen_retry(studio_gen *g, const char *id, studio_error *err);
/* A new take with the settings of take id and a new seed. */
json_t *studio_gen_regenerate(studio_gen *g, const char *id, studio_error *err);

/* ---- following a take ---- */

typedef struct studio_take studio_take;

#define STUDIO_TAKE_TRAIL 8 /* a take changes status at most 5 times */

typedef struct {
    char id[37];
    char status[16];        /* queued, downloading, loading_model, generating, completed, failed, cancelled */
    double progress;        /* 0-100 over the whole take */
    int position;           /* place in the queue (1 = next), 0 when not queued */
    double duration;        /* seconds once completed, else < 0 */
    studio_error err;       /* why it failed or was cancelled; kind STUDIO_OK otherwise */
    int final;              /* completed, failed or cancelled */
    unsigned long long seq; /* grows with every change of status */
    const char *trail[STUDIO_TAKE_TRAIL]; /* trail[k]: the status after change k, k <= seq (static strings) */
    char *result; /* completed: its history item as JSON text (the reader frees it); else NULL */
} studio_take_state;

/* A reference to a take that is queued or running, or NULL (unknown, or already final: read its row). */
studio_take *studio_gen_take(studio_gen *g, const char *id);
void studio_take_release(studio_gen *g, studio_take *t); /* NULL is fine */
/* Never blocks beyond a short lock: safe on a network thread. */
void studio_take_read(studio_gen *g, studio_take *t, studio_take_state *out);
/* The state of a take from its history row (final ones, or one another process runs); STUDIO_NOT_FOUND. */
int studio_gen_take_state_stored(studio_gen *g, const char *id, studio_take_state *out, studio_error *err);
/* {id, status, progress, position, duration, error} as GET /generate/{id}/status sends it. */
json_t *studio_take_state_json(const studio_take_state *st);

/* ---- streamed takes ---- */

/* A take whose audio is read as it is made (POST /generate/stream, /v1/audio/speech). body as
 * studio_gen_submit (normalize true is refused: a peak is known only at the end; the studio's normalize
 * default is ignored). It waits in the same FIFO queue as every take and runs on the same worker, so a
 * stream never runs a second model beside a take, waits its turn like one, and cannot starve the queue.
 * record 0: no history row and no file (as the Python studio's /generate/stream); 1: an ordinary take
 * besides, its stored audio the streamed one. Returns a reference (release it with studio_take_abandon)
 * and, when item is given, {id, status} (its history item when recorded); NULL with err as submit. */
studio_take *studio_gen_stream(studio_gen *g, const json_t *body, int record, json_t **item,
                               studio_error *err);
/* Up to max bytes of the take's audio as 16-bit little-endian mono PCM at 24 kHz, never blocking: the bytes
 * copied, 0 when none is ready yet, -1 at the end of a completed take, -2 when it failed or was cancelled
 * (the audio ends short). Bit for bit the stored take's samples, except that in ICL mode the stored take
 * may start with one more sample (the engine's official cut; qt.h, on_audio) and so each chunk's seam may
 * sit one sample later. */
long studio_take_read_audio(studio_take *t, void *buf, size_t max);
/* fn(arg) runs (on the worker, quickly: it must not call into the studio) when audio or the end arrives
 * after a read found none, so a reader that polls can be woken at once. */
void studio_take_audio_notify(studio_take *t, void (*fn)(void *), void *arg);
/* The reader has gone: the take is cancelled if it is not final (a queued one leaves the queue, a running
 * one stops within a frame), and the reference released. NULL is fine. */
void studio_take_abandon(studio_gen *g, studio_take *t);

/* Loads the model of that size ("1.7B" / "0.6B") at a precision ("bf16" / "int8"; NULL: the studio's
 * current one), unloading what is resident. A precision given here becomes the studio's for later takes.
 * STUDIO_INVALID (field model_size or precision) for other values, STUDIO_NOT_READY when the cache has no
 * complete snapshot. Waits for a running generation. */
int studio_gen_load_model(studio_gen *g, const char *size, const char *precision, studio_error *err);
/* The precision models load at from now on ("bf16" by default, `serve --precision`); STUDIO_INVALID. */
int studio_gen_set_precision(studio_gen *g, const char *precision, studio_error *err);
/* "bf16" / "int8" of the resident model, or NULL; copied into out (size >= 8). */
const char *studio_gen_loaded_precision(studio_gen *g, char *out, size_t size);
/* Unloads the model: now (0), or when the running take ends (1), never waiting for it. */
int studio_gen_unload_model(studio_gen *g);
/* "1.7B" / "0.6B" of the resident model, or NULL; copied into out (size >= 8). */
const char *studio_gen_loaded_size(studio_gen *g, char *out, size_t size);

/* Cancels the running take of this profile and fails its queued ones (after the profile was deleted). */
void studio_gen_cancel_profile(studio_gen *g, const char *profile_id);

/* Runs fn(ctx) while no take runs (waiting for the running one; the next queued take waits for fn): one
 * inference at a time on the cores, for work that is not a take (a transcription). Returns fn's value. */
int studio_gen_exclusive(studio_gen *g, int (*fn)(void *ctx), void *ctx);

/* Sets model_loaded, model_size, model_downloaded, backend_type... of a /health object. */
void studio_gen_health(studio_gen *g, json_t *health);
/* Array of {task_id, profile_id, text, model_size, status: queued|running, take_status (the take's own
 * status), position, frames_done, max_frames, progress} for GET /tasks/active: every queued take. */
json_t *studio_gen_active(studio_gen *g);
/* Empties the in-memory cache and deletes the .prompt files in <data>/cache: {message, files_deleted}.
 * Never waits for a running take (the prompt it uses is freed when it ends). */
json_t *studio_gen_cache_clear(studio_gen *g, studio_error *err);

#endif
