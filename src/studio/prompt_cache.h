/* prompt_cache.h — where voice prompts are remembered: in memory, then <data>/cache/<key>.prompt.
 *
 * The key is md5(reference audio bytes ‖ reference text UTF-8 ‖ model size UTF-8), model size "1.7B" or
 * "0.6B" (default: studio_model_default(), rules.h). The size is part of the key because a prompt's speaker
 * embedding is as wide as its model (2048 for 1.7B, 1024 for 0.6B): a prompt of one size must never reach the
 * other.
 */
#ifndef VOICEBOX_PROMPT_CACHE_H
#define VOICEBOX_PROMPT_CACHE_H

#include "engine/qt.h"

#include <stddef.h>

/* Writes the 32 lowercase hex digits of the key and a NUL into key. model_size NULL means the default. */
void studio_prompt_cache_key(const void *audio, size_t audio_size, const char *ref_text,
                             const char *model_size, char key[33]);

typedef struct studio_prompt_cache studio_prompt_cache;

/* dir: where <key>.prompt files live (created if needed). NULL on out of memory. */
studio_prompt_cache *studio_prompt_cache_new(const char *dir);
void studio_prompt_cache_free(studio_prompt_cache *c); /* NULL is fine */

/* The voice prompt of this reference for model m of size `size`: from memory, else from <dir>/<key>.prompt
 * (a file that fails any check — older format, truncated, bad checksum, another width — is logged, removed
 * and rebuilt), else made by the engine and stored in both. wav/wav_size: the reference as a WAV image
 * (what the key hashes; decoded only on a miss). *hit tells whether it was cached. The
 * prompt stays owned by the cache and is pinned: valid until studio_prompt_cache_release, even across a
 * clear. One caller gets prompts at a time (the generation worker, which holds its engine lock); clearing may
 * come from any thread and never waits for a prompt being made or used. Logs the lines users grep for:
 * "Creating voice prompt (not cached)..." and "Using cached voice prompt for 1.7B model". */
const qt_voice_prompt *studio_prompt_cache_get(studio_prompt_cache *c, qt_model *m, const char *size,
                                               const void *wav, size_t wav_size, const char *ref_text,
                                               int *hit, qt_error *err);

/* Unpins the prompt get returned (freed now if a clear dropped it meanwhile). NULL is fine. */
void studio_prompt_cache_release(studio_prompt_cache *c, const qt_voice_prompt *vp);

/* Drops every prompt from memory and deletes the .prompt files in dir; returns the number of files deleted,
 * or -1. */
int studio_prompt_cache_clear(studio_prompt_cache *c);

#endif
