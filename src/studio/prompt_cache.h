/* prompt_cache.h — where voice prompts are remembered: in memory, then <data>/cache/<key>.prompt.
 *
 * The key is md5(reference audio bytes ‖ reference text UTF-8 ‖ model size UTF-8), model size "1.7B" or
 * "0.6B" (default "1.7B"). The size is part of the key because a prompt's speaker embedding is as wide as
 * its model (2048 for 1.7B, 1024 for 0.6B): a prompt of one size must never reach the other.
 */
#ifndef VOICEBOX_PROMPT_CACHE_H
#define VOICEBOX_PROMPT_CACHE_H

#include <stddef.h>

#define STUDIO_DEFAULT_MODEL_SIZE "1.7B"

/* Writes the 32 lowercase hex digits of the key and a NUL into key. model_size NULL means the default. */
void studio_prompt_cache_key(const void *audio, size_t audio_size, const char *ref_text, const char *model_size,
                             char key[33]);

#endif
