/* generation.h — speech generation in the studio: the resident model, the voice-prompt cache and the one
 * inference worker with its FIFO queue.
 *
 * One TTS model is resident at a time; loading the other size unloads the first. Requests are queued and
 * run one by one on the worker thread; a caller of studio_gen_generate waits for its own job, so HTTP
 * threads serving /health, history and profiles are never blocked by inference. The requested model size
 * is loaded BEFORE the voice prompt is looked up or made, so a prompt always matches the model using it.
 */
#ifndef VOICEBOX_GENERATION_H
#define VOICEBOX_GENERATION_H

#include "studio/studio.h"

#include <jansson.h>

typedef struct studio_gen studio_gen;

/* Starts the worker. Models are found in the Hugging Face cache (models.h). */
studio_gen *studio_gen_new(studio *s, studio_error *err);
/* Cancels the running job, fails the queued ones and stops the worker; later requests fail at once.
 * Idempotent. The server calls it once it accepts no new request, before waiting for those in flight. */
void studio_gen_shutdown(studio_gen *g);
/* studio_gen_shutdown, then unloads the model and frees g. NULL is fine. */
void studio_gen_free(studio_gen *g);

/* body: {profile_id, text (1-5000), language (10 codes, default "en"), seed? (>= 0; random when absent),
 * model_size? ("1.7B" default | "0.6B"), instruct? (<= 500)}. Blocks until the job has run; returns the
 * generation JSON {id, profile_id, text, language, audio_path, duration, seed, instruct, model_size,
 * created_at}. Errors: STUDIO_NOT_FOUND (unknown profile), STUDIO_CONFLICT (profile without samples, 400),
 * STUDIO_NOT_READY (model not downloaded, 409), STUDIO_INVALID (a field, 422), STUDIO_INTERNAL. */
json_t *studio_gen_generate(studio_gen *g, const json_t *body, studio_error *err);

/* Loads the model of that size ("1.7B" / "0.6B"), unloading the other. STUDIO_INVALID for another size,
 * STUDIO_NOT_READY when the cache has no complete snapshot. Waits for a running generation. */
int studio_gen_load_model(studio_gen *g, const char *size, studio_error *err);
void studio_gen_unload_model(studio_gen *g);
/* "1.7B" / "0.6B" of the resident model, or NULL; copied into out (size >= 8). */
const char *studio_gen_loaded_size(studio_gen *g, char *out, size_t size);

/* Cancels the running take of this profile and fails its queued ones (after the profile was deleted). */
void studio_gen_cancel_profile(studio_gen *g, const char *profile_id);

/* Sets model_loaded, model_size, model_downloaded, backend_type... of a /health object. */
void studio_gen_health(studio_gen *g, json_t *health);
/* Array of {task_id, profile_id, text, model_size, status: queued|running, position, frames_done,
 * max_frames, progress} for GET /tasks/active. */
json_t *studio_gen_active(studio_gen *g);
/* Empties the in-memory cache and deletes the .prompt files in <data>/cache: {message, files_deleted}. */
json_t *studio_gen_cache_clear(studio_gen *g, studio_error *err);

#endif
