/* model.h — the engine's model object behind qt_model (model.c) and the id-level generation entry that
 * qt_generate wraps (generate.c). Internal to the engine and its tests. */
#ifndef QT_MODEL_H
#define QT_MODEL_H

#include "engine/code_predictor.h"
#include "engine/config.h"
#include "engine/talker.h"
#include "engine/text_prompt.h"

#include <stdatomic.h>

struct qt_model {
    char dir[4096];
    qt_config cfg;
    st_file *st;
    qt_talker talker;
    qt_code_predictor cp;
    qt_pool *pool;
    qt_tokenizer *tok;
    qt_codec *codec;                /* NULL with qt_load_params.no_codec */
    struct qt_speaker_encoder *spk; /* made on the first qt_prompt_create (voice_prompt.c) */
    qt_precision precision;
    atomic_int cancel;
    int decode_single; /* the decode loop's last thread choice (generate.c), the next generation's start */
    size_t talker_step_bytes; /* weight bytes one talker decode step reads (layers + codec head) */
    size_t cp_frame_bytes;    /* weight bytes the code predictor reads per frame (15 passes + heads) */
};

/* qt_generate after tokenization: ref_ids (ICL transcript) and text_ids (target text) as the official
 * slices [3:-2] and [3:-5] of the templated prompts (§2.2). */
int qt_generate_ids(qt_model *m, const qt_voice_prompt *vp, const int32_t *ref_ids, int n_ref,
                    const int32_t *text_ids, int n_text, const qt_gen_params *p, qt_error *err);

/* Codec id for a normalized language name ("auto" -> -1). */
int qt_model_language_id(const qt_model *m, const char *normalized);

/* Audio side of a generation (model.c): decoder state for one utterance. */
typedef struct qt_audio_stream qt_audio_stream;
qt_audio_stream *qt_audio_begin(qt_model *m, const int32_t *ref_codes, int n_ref_frames, qt_error *err);
/* Takes n frames; decodes them now (streaming: p->on_audio set) or in chunks, appending the final audio to
 * *out (when not NULL) and passing it to on_audio. qt_audio_flush decodes what is still buffered. */
int qt_audio_push(qt_audio_stream *s, const int32_t *codes, int n, const qt_gen_params *p, qt_gen_output *out,
                  qt_error *err);
int qt_audio_flush(qt_audio_stream *s, const qt_gen_params *p, qt_gen_output *out, qt_error *err);
void qt_audio_end(qt_audio_stream *s);

#endif
