/* transcription.h — speech to text in the studio: the resident Whisper model and POST /transcribe's work.
 *
 * One Whisper model is resident at a time (the one last asked for). A transcription runs on the caller's
 * thread (the server's long-request threads, so routes that do not transcribe never wait for one) but takes
 * its turn with the inference worker's takes (studio_gen_exclusive): one inference at a time on the cores.
 * Models are the registry's Whisper entries (models.h: whisper-base ... whisper-turbo), found in the Hugging
 * Face cache like the TTS models. No HTTP here.
 */
#ifndef VOICEBOX_TRANSCRIPTION_H
#define VOICEBOX_TRANSCRIPTION_H

#include "studio/generation.h"
#include "studio/rules.h"
#include "studio/studio.h"

#include <jansson.h>

typedef struct studio_asr studio_asr;

studio_asr *studio_asr_new(studio_error *err);
void studio_asr_free(studio_asr *a); /* unloads the model; NULL is fine */

/* worker: the inference worker to take turns with (NULL: run at once). An uploaded recording (any format the
 * audio layer decodes, at most STUDIO_UPLOAD_MAX bytes) -> {text, duration} as Voicebox answers. language: a
 * code such as "en", or NULL / "" / "auto" to detect it. model: a Whisper name, size or repo id
 * ("whisper-base", "base", "openai/whisper-base"), NULL for the default. Errors: STUDIO_TOO_LARGE,
 * STUDIO_UNSUPPORTED_MEDIA (not audio), STUDIO_INVALID (empty, silent, an unknown language or model;
 * err->field says which), STUDIO_NOT_READY (the model is not downloaded), STUDIO_INTERNAL.
 */
json_t *studio_asr_transcribe(studio_asr *a, studio_gen *worker, const void *bytes, size_t size,
                              const char *language, const char *model, studio_error *err);

/* The name of the resident Whisper model ("whisper-base"), or NULL; copied into out. */
const char *studio_asr_loaded(studio_asr *a, char *out, size_t size);

#endif
