/* code_predictor.h — the "MTP" code predictor: codebooks 1..15 of a frame from the talker's hidden state
 * and codebook 0 (docs/engine.md §5). Internal to the engine. The weights (qt_code_predictor) are read-only
 * after load; a generation's cache and buffers are a qt_cp_state of its own. */
#ifndef QT_CODE_PREDICTOR_H
#define QT_CODE_PREDICTOR_H

#include "engine/qt.h"
#include "engine/sampling.h"
#include "engine/talker.h"

typedef struct {
    qt_stack stack; /* hidden 1024 (32 in the tiny models) */
    int talker_hidden, hidden, vocab;
    qt_weight proj;                          /* small_to_mtp_projection [hidden, talker_hidden] (1.7B) */
    int has_proj;                            /* 0: proj is the identity (0.6B) */
    float *proj_b;                           /* [hidden] */
    const uint16_t *embed[QT_CODEBOOKS - 1]; /* codec_embedding.{0..14} [vocab, talker_hidden] (gathered) */
    qt_weight head[QT_CODEBOOKS - 1];        /* lm_head.{0..14} [vocab, hidden] */
} qt_code_predictor;

/* One generation's code-predictor state: a fresh cache per frame, and buffers. */
typedef struct {
    qt_kv kv;
    qt_stack_scratch sc;
    float *in, *x, *logits, *scratch; /* [2, talker_hidden], [2, hidden], [vocab], [vocab] */
} qt_cp_state;

int qt_cp_init(qt_code_predictor *cp, const st_file *f, const qt_config *cfg, const qt_quant_params *qp,
               qt_error *err);
void qt_cp_free(qt_code_predictor *cp);
/* Weight bytes one frame reads (15 passes: layers, heads, projection). */
size_t qt_cp_frame_bytes(const qt_code_predictor *cp);

int qt_cp_state_init(qt_cp_state *st, const qt_code_predictor *cp, qt_error *err);
void qt_cp_state_free(qt_cp_state *st); /* NULL is fine */

/* h_last: the talker's normed hidden state that produced codes[0]; c0_embed: talker codec_embedding[codes[0]]
 * (both [talker_hidden]). Fills codes[1..15]. logits_out, when not NULL, receives the 15 raw logit rows
 * [15, vocab]. */
int qt_cp_frame(const qt_code_predictor *cp, qt_cp_state *st, qt_pool *pool, const float *h_last,
                const float *c0_embed, const qt_sample_params *sp, qt_rng *rng, int32_t *codes,
                float *logits_out, qt_error *err);

#endif
