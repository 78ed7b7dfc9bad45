/* code_predictor.h — the "MTP" code predictor: codebooks 1..15 of a frame from the talker's hidden state
 * and codebook 0 (docs/engine.md §5). Internal to the engine. */
#ifndef QT_CODE_PREDICTOR_H
#define QT_CODE_PREDICTOR_H

#include "engine/qt.h"
#include "engine/sampling.h"
#include "engine/talker.h"

typedef struct {
    qt_stack stack; /* hidden 1024 (32 in the tiny models), fresh cache per frame */
    int talker_hidden, hidden, vocab;
    const uint16_t *proj;                    /* small_to_mtp_projection [hidden, talker_hidden], or NULL */
    float *proj_b;                           /* [hidden] */
    const uint16_t *embed[QT_CODEBOOKS - 1]; /* codec_embedding.{0..14} [vocab, talker_hidden] */
    const uint16_t *head[QT_CODEBOOKS - 1];  /* lm_head.{0..14} [vocab, hidden] */
    float *in, *x, *logits, *scratch;        /* [2, talker_hidden], [2, hidden], [vocab], [vocab] */
} qt_code_predictor;

int qt_cp_init(qt_code_predictor *cp, const st_file *f, const qt_config *cfg, qt_error *err);
void qt_cp_free(qt_code_predictor *cp);

/* h_last: the talker's normed hidden state that produced codes[0]; c0_embed: talker codec_embedding[codes[0]]
 * (both [talker_hidden]). Fills codes[1..15]. logits_out, when not NULL, receives the 15 raw logit rows
 * [15, vocab]. */
int qt_cp_frame(qt_code_predictor *cp, qt_pool *pool, const float *h_last, const float *c0_embed,
                const qt_sample_params *sp, qt_rng *rng, int32_t *codes, float *logits_out, qt_error *err);

#endif
