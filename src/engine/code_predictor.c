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

int qt_cp_init(qt_code_predictor *cp, const st_file *f, const qt_config *cfg, const qt_quant_params *qp,
               qt_error *err)
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
    if (qt_stack_init(&cp->stack, f, "talker.code_predictor.model.", c, qp, err)) return -1;
    char name[160];
    if (st_find(f, "talker.code_predictor.small_to_mtp_projection.weight")) {
        cp->has_proj = 1;
        if (qt_weight_bind(&cp->proj, f, "talker.code_predictor.small_to_mtp_projection.weight", cp->hidden,
                           cp->talker_hidden, qp, err) ||
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
        if (qt_weight_bind(&cp->head[j], f, name, cp->vocab, cp->hidden, qp, err)) goto fail;
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
    qt_weight_free(&cp->proj);
    for (int j = 0; j < QT_CODEBOOKS - 1; j++)
        qt_weight_free(&cp->head[j]);
    free(cp->proj_b);
    memset(cp, 0, sizeof *cp);
}

size_t qt_cp_frame_bytes(const qt_code_predictor *cp)
{
    size_t b = (QT_CODEBOOKS - 1) * qt_stack_step_bytes(&cp->stack);
    for (int j = 0; j < QT_CODEBOOKS - 1; j++)
        b += qt_weight_bytes(&cp->head[j], cp->vocab, cp->hidden);
    if (cp->has_proj) b += (QT_CODEBOOKS - 1) * qt_weight_bytes(&cp->proj, cp->hidden, cp->talker_hidden);
    return b;
}

int qt_cp_state_init(qt_cp_state *st, const qt_code_predictor *cp, qt_error *err)
{
    memset(st, 0, sizeof *st);
    st->in = malloc(sizeof(float) * 2 * cp->talker_hidden);
    st->x = malloc(sizeof(float) * 2 * cp->hidden);
    st->logits = malloc(sizeof(float) * cp->vocab);
    st->scratch = malloc(sizeof(float) * cp->vocab);
    if (!st->in || !st->x || !st->logits || !st->scratch) {
        qt_cp_state_free(st);
        return qt_fail(err, QT_ERR_NOMEM, "out of memory for the code predictor");
    }
    return 0;
}

void qt_cp_state_free(qt_cp_state *st)
{
    if (!st) return;
    qt_kv_free(&st->kv);
    qt_stack_scratch_free(&st->sc);
    free(st->in);
    free(st->x);
    free(st->logits);
    free(st->scratch);
    memset(st, 0, sizeof *st);
}

/* x[i] = proj(in[i]) for n inputs of talker width. */
static void project(const qt_code_predictor *cp, qt_cp_state *st, qt_pool *pool, int n)
{
    if (!cp->has_proj) {
        memcpy(st->x, st->in, sizeof(float) * n * cp->hidden);
        return;
    }
    qt_mm m = qt_weight_mm(&cp->proj, cp->proj_b, st->x, cp->hidden, cp->hidden);
    qt_matmul(pool, &m, 1, cp->talker_hidden, st->in, cp->talker_hidden, n);
}

/* Head j on the last hidden state -> codes[j+1]. */
static int predict(const qt_code_predictor *cp, qt_cp_state *st, qt_pool *pool, const float *h, int j,
                   const qt_sample_params *sp, qt_rng *rng, float *logits_out)
{
    qt_mm m = qt_weight_mm(&cp->head[j], NULL, st->logits, cp->vocab, cp->vocab);
    qt_matmul(pool, &m, 1, cp->hidden, h, cp->hidden, 1);
    if (logits_out) memcpy(logits_out + (size_t)j * cp->vocab, st->logits, sizeof(float) * cp->vocab);
    return qt_sample(st->logits, cp->vocab, sp, rng, st->scratch);
}

int qt_cp_frame(const qt_code_predictor *cp, qt_cp_state *st, qt_pool *pool, const float *h_last,
                const float *c0_embed, const qt_sample_params *sp, qt_rng *rng, int32_t *codes,
                float *logits_out, qt_error *err)
{
    int TH = cp->talker_hidden, H = cp->hidden;
    qt_kv_reset(&st->kv);
    memcpy(st->in, h_last, sizeof(float) * TH);
    memcpy(st->in + TH, c0_embed, sizeof(float) * TH);
    project(cp, st, pool, 2);
    if (qt_stack_forward(&cp->stack, &st->kv, &st->sc, pool, st->x, 2, err)) return -1;
    codes[1] = predict(cp, st, pool, st->x + H, 0, sp, rng, logits_out);
    for (int j = 1; j < QT_CODEBOOKS - 1; j++) {
        memset(st->in, 0, sizeof(float) * TH);
        qt_add_bf16_row(st->in, cp->embed[j - 1], codes[j], TH);
        project(cp, st, pool, 1);
        if (qt_stack_forward(&cp->stack, &st->kv, &st->sc, pool, st->x, 1, err)) return -1;
        codes[j + 1] = predict(cp, st, pool, st->x, j, sp, rng, logits_out);
    }
    return 0;
}
