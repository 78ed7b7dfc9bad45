/* text_prompt.c — builds the talker's prefill from token ids, the x-vector and the reference codes.
 *
 * Every position is a text-track vector plus a codec-track vector (§2.6): role prefix (text only), the
 * control block (tts_pad/tts_bos + codec language prefix, x-vector, codec_pad), then the mode's block:
 * ICL interleaves [ref text ‖ target text ‖ tts_eos] with [codec_bos, ref frames] and leaves the text
 * that does not fit as trailing text; x-vector-only puts the first target token with codec_bos and trails
 * the rest. Must not: tokenize (ids come in) or run the talker.
 */
#include "engine/text_prompt.h"

#include <stdlib.h>
#include <string.h>

void qt_frame_embed(const qt_talker *tk, const qt_code_predictor *cp, const int32_t *codes, float *out)
{
    memset(out, 0, sizeof(float) * tk->hidden);
    qt_talker_add_codec(tk, codes[0], out);
    for (int k = 1; k < QT_CODEBOOKS; k++)
        qt_add_bf16_row(out, cp->embed[k - 1], codes[k], tk->hidden);
}

void qt_talker_prompt_free(qt_talker_prompt *p)
{
    if (!p) return;
    free(p->embeds);
    free(p->trailing);
    free(p->pad);
    memset(p, 0, sizeof *p);
}

int qt_talker_prompt_build(qt_talker_prompt *out, const qt_talker *tk, const qt_code_predictor *cp,
                           qt_pool *pool, const qt_config *cfg, const qt_talker_prompt_input *in,
                           qt_error *err)
{
    memset(out, 0, sizeof *out);
    const qt_talker_config *tc = &cfg->talker;
    int H = tk->hidden, icl = in->ref_codes != NULL;
    if (in->n_text < 1) return qt_fail(err, QT_ERR_INVALID, "the text to speak has no tokens");
    for (int i = 0; icl && i < in->n_ref_frames * QT_CODEBOOKS; i++)
        if (in->ref_codes[i] < 0 || in->ref_codes[i] >= QT_CODEBOOK_SIZE)
            return qt_fail(err, QT_ERR_INVALID, "voice prompt: reference code %d (frame %d) is outside 0..%d",
                           in->ref_codes[i], i / QT_CODEBOOKS, QT_CODEBOOK_SIZE - 1);

    /* all text vectors in one projection: [im_start, assistant, \n, pad, bos, eos] + R + T */
    enum { ROLE0, ROLE1, ROLE2, PAD, BOS, EOS, FIXED };
    int n_ids = FIXED + (icl ? in->n_ref : 0) + in->n_text;
    int32_t *ids = malloc(sizeof(int32_t) * n_ids);
    float *tv = malloc(sizeof(float) * (size_t)n_ids * H);
    if (!ids || !tv) goto nomem;
    int32_t fixed[FIXED] = {cfg->im_start_id, cfg->assistant_id, 198,
                            cfg->tts_pad_id,  cfg->tts_bos_id,   cfg->tts_eos_id};
    memcpy(ids, fixed, sizeof fixed);
    int at = FIXED;
    if (icl) {
        memcpy(ids + at, in->ref_ids, sizeof(int32_t) * in->n_ref);
        at += in->n_ref;
    }
    memcpy(ids + at, in->text_ids, sizeof(int32_t) * in->n_text);
    if (qt_talker_text_proj(tk, pool, ids, n_ids, tv, err)) goto fail;
#define TV(i) (tv + (size_t)(i)*H)

    /* codec prefix K (§2.5) */
    int K[4], nk = 0;
    if (in->lang_id >= 0) {
        K[nk++] = tc->codec_think_id;
        K[nk++] = tc->codec_think_bos_id;
        K[nk++] = in->lang_id;
        K[nk++] = tc->codec_think_eos_id;
    } else {
        K[nk++] = tc->codec_nothink_id;
        K[nk++] = tc->codec_think_bos_id;
        K[nk++] = tc->codec_think_eos_id;
    }
    /* text list Tx (ICL: R ‖ T ‖ eos; x-vector: T ‖ eos), as indices into tv */
    int n_tx = (icl ? in->n_ref : 0) + in->n_text + 1;
    int *tx = malloc(sizeof(int) * n_tx);
    if (!tx) goto nomem;
    for (int i = 0; i < n_tx - 1; i++)
        tx[i] = FIXED + i;
    tx[n_tx - 1] = EOS;

    int n_c = icl ? in->n_ref_frames + 1 : 1; /* codec list length of block C */
    int n_block_c = n_c;
    int n = 3 + nk + 2 + n_block_c;
    int n_trail = icl ? (n_tx > n_c ? n_tx - n_c : 1) : n_tx - 1;
    out->embeds = calloc((size_t)n * H, sizeof(float));
    out->trailing = calloc((size_t)(n_trail ? n_trail : 1) * H, sizeof(float));
    out->pad = malloc(sizeof(float) * H);
    if (!out->embeds || !out->trailing || !out->pad) {
        free(tx);
        goto nomem;
    }
    out->n = n;
    out->n_trailing = n_trail;
    memcpy(out->pad, TV(PAD), sizeof(float) * H);

    /* block A: role, text only */
    int p = 0;
    for (int i = 0; i < 3; i++, p++)
        memcpy(out->embeds + (size_t)p * H, TV(ROLE0 + i), sizeof(float) * H);
    /* block B: pad x (|K|+1) then bos on the text track; K, x-vector, codec_pad on the codec track */
    for (int i = 0; i < nk + 2; i++, p++) {
        float *e = out->embeds + (size_t)p * H;
        memcpy(e, TV(i < nk + 1 ? PAD : BOS), sizeof(float) * H);
        if (i < nk)
            qt_talker_add_codec(tk, K[i], e);
        else if (i == nk)
            for (int d = 0; d < H; d++)
                e[d] += in->xvector[d];
        else
            qt_talker_add_codec(tk, tc->codec_pad_id, e);
    }
    /* block C */
    float *frame = malloc(sizeof(float) * H);
    if (!frame) {
        free(tx);
        goto nomem;
    }
    for (int i = 0; i < n_block_c; i++, p++) {
        float *e = out->embeds + (size_t)p * H;
        memcpy(e, i < n_tx ? TV(tx[i]) : TV(PAD), sizeof(float) * H);
        if (i == 0) {
            qt_talker_add_codec(tk, tc->codec_bos_id, e);
        } else {
            qt_frame_embed(tk, cp, in->ref_codes + (size_t)(i - 1) * QT_CODEBOOKS, frame);
            for (int d = 0; d < H; d++)
                e[d] += frame[d];
        }
    }
    free(frame);
    /* trailing text */
    if (icl && n_tx <= n_c)
        memcpy(out->trailing, TV(PAD), sizeof(float) * H);
    else
        for (int i = 0; i < n_trail; i++)
            memcpy(out->trailing + (size_t)i * H, TV(tx[n_block_c + i]), sizeof(float) * H);
#undef TV
    free(tx);
    free(ids);
    free(tv);
    return 0;
nomem:
    qt_fail(err, QT_ERR_NOMEM, "out of memory building the prompt");
fail:
    free(ids);
    free(tv);
    qt_talker_prompt_free(out);
    return -1;
}
