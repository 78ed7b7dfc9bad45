/* model.h — the engine's model object behind qt_model (model.c). Internal to the engine and its tests. */
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
    struct qt_q8_cache *q8_cache; /* int8 weights kept between runs, when qt_load_params.cache_dir is set */
    atomic_int cancel;
    int decode_single; /* the decode loop's last thread choice (generate.c), the next generation's start */
    size_t talker_step_bytes; /* weight bytes one talker decode step reads (layers + codec head) */
    size_t cp_frame_bytes;    /* weight bytes the code predictor reads per frame (15 passes + heads) */
};

/* Codec id for a normalized language name ("auto" -> -1). */
int qt_model_language_id(const qt_model *m, const char *normalized);

#endif
