/* code_predictor.c — codebooks 1..15 per frame (docs/engine.md §5).
 *
 * Per frame: positions restart at 0 (fresh cache); prefill [proj(h_last), proj(C(c0))], head 0 on the
 * last position gives c1; then c_j is embedded with table j-1 at position j+1 and head j gives c_{j+1}.
 * proj is small_to_mtp_projection on 1.7B (2048 -> 1024 with bias) and the identity on 0.6B, applied to
 * every input. Must not: touch the talker's cache.
 */
#include "engine/code_predictor.h"

#include "engine/kernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int qt_cp_init(qt_code_predictor *cp, const st_file *f, const qt_config *cfg, qt_error *err)
{
    memset(cp, 0, sizeof *cp);
    const qt_stack_config *c = &cfg->code_predictor;
    cp->talker_hidden = cfg->talker.stack.hidden;
    cp->hidden = c->hidden;
    cp->vocab = c->vocab_size;
    if (c->num_code_groups != QT_CODEBOOKS)
        return qt_fail(err, QT_ERR_MISMATCH,
                       "config.json: the code predictor has %d code groups, voicebox runs %d",
                       c->num_code_groups, QT_CODEBOOKS);
    if (qt_stack_init(&cp->stack, f, "talker.code_predictor.model.", c, err)) return -1;
    char name[160];
    if (st_find(f, "talker.code_predictor.small_to_mtp_projection.weight")) {
        if (!(cp->proj = qt_bind_bf16(f, "talker.code_predictor.small_to_mtp_projection.weight", cp->hidden,
                                      cp->talker_hidden, err)) ||
            !(cp->proj_b =
                  qt_load_vec_f32(f, "talker.code_predictor.small_to_mtp_projection.bias", cp->hidden, err)))
            goto fail;
    } else if (cp->hidden != cp->talker_hidden) {
        qt_fail(
            err, QT_ERR_NOT_FOUND,
            "model.safetensors: 'talker.code_predictor.small_to_mtp_projection.weight' is missing but the "
            "talker (%d) and code predictor (%d) widths differ",
            cp->talker_hidden, cp->hidden);
        goto fail;
    }
    for (int j = 0; j < QT_CODEBOOKS - 1; j++) {
        snprintf(name, sizeof name, "talker.code_predictor.model.codec_embedding.%d.weight", j);
        if (!(cp->embed[j] = qt_bind_bf16(f, name, cp->vocab, cp->talker_hidden, err))) goto fail;
        snprintf(name, sizeof name, "talker.code_predictor.lm_head.%d.weight", j);
        if (!(cp->head[j] = qt_bind_bf16(f, name, cp->vocab, cp->hidden, err))) goto fail;
    }
    cp->in = malloc(sizeof(float) * 2 * cp->talker_hidden);
    cp->x = malloc(sizeof(float) * 2 * cp->hidden);
    cp->logits = malloc(sizeof(float) * cp->vocab);
    cp->scratch = malloc(sizeof(float) * cp->vocab);
    if (!cp->in || !cp->x || !cp->logits || !cp->scratch) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory for the code predictor");
        goto fail;
    }
    return 0;
fail:
    qt_cp_free(cp);
    return -1;
}

void qt_cp_free(qt_code_predictor *cp)
{
    if (!cp) return;
    qt_stack_free(&cp->stack);
    free(cp->proj_b);
    free(cp->in);
    free(cp->x);
    free(cp->logits);
    free(cp->scratch);
    memset(cp, 0, sizeof *cp);
}

/* x[i] = proj(in[i]) for n inputs of talker width. */
static void project(qt_code_predictor *cp, qt_pool *pool, int n)
{
    if (!cp->proj) {
        memcpy(cp->x, cp->in, sizeof(float) * n * cp->hidden);
        return;
    }
    qt_mm m = {cp->proj, cp->proj_b, cp->x, cp->hidden, cp->hidden};
    qt_matmul(pool, &m, 1, cp->talker_hidden, cp->in, cp->talker_hidden, n);
}

/* Head j on the last hidden state -> codes[j+1]. */
static int predict(qt_code_predictor *cp, qt_pool *pool, const float *h, int j, const qt_sample_params *sp,
                   qt_rng *rng, float *logits_out)
{
    qt_mm m = {cp->head[j], NULL, cp->logits, cp->vocab, cp->vocab};
    qt_matmul(pool, &m, 1, cp->hidden, h, cp->hidden, 1);
    if (logits_out) memcpy(logits_out + (size_t)j * cp->vocab, cp->logits, sizeof(float) * cp->vocab);
    return qt_sample(cp->logits, cp->vocab, sp, rng, cp->scratch);
}

int qt_cp_frame(qt_code_predictor *cp, qt_pool *pool, const float *h_last, const float *c0_embed,
                const qt_sample_params *sp, qt_rng *rng, int32_t *codes, float *logits_out, qt_error *err)
{
    int TH = cp->talker_hidden, H = cp->hidden;
    qt_stack_reset(&cp->stack);
    memcpy(cp->in, h_last, sizeof(float) * TH);
    memcpy(cp->in + TH, c0_embed, sizeof(float) * TH);
    project(cp, pool, 2);
    if (qt_stack_forward(&cp->stack, pool, cp->x, 2, err)) return -1;
    codes[1] = predict(cp, pool, cp->x + H, 0, sp, rng, logits_out);
    for (int j = 1; j < QT_CODEBOOKS - 1; j++) {
        memset(cp->in, 0, sizeof(float) * TH);
        qt_add_bf16_row(cp->in, cp->embed[j - 1], codes[j], TH);
        project(cp, pool, 1);
        if (qt_stack_forward(&cp->stack, pool, cp->x, 1, err)) return -1;
        codes[j + 1] = predict(cp, pool, cp->x, j, sp, rng, logits_out);
    }
    return 0;
}
