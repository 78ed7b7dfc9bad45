/* wh_decoder.c — Whisper's text decoder (official model.py TextDecoder) with a KV cache.
 *
 * A step: token embedding + learned position; per layer x += self-attention (causal, keys and values of every
 * earlier token kept in the cache), x += cross-attention over the encoder output, x += MLP; a final LayerNorm
 * and the logits as x . token_embedding^T. The cross-attention keys and values depend only on the audio, so
 * wh_decoder_new computes them once per window, as the official kv_cache hooks do.
 */
#include "whisper/wh_ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct wh_decoder {
    wh_model *m;
    int pos;                               /* tokens fed so far */
    float *k_self, *v_self;                /* [layers][n_text_ctx][d] */
    float *k_cross, *v_cross;              /* [layers][n_audio_ctx][d] */
    int cap;                               /* rows the scratch below holds */
    float *x, *ln, *q, *k, *v, *att, *hid; /* [cap][d] ([cap][ffn] for hid) */
    float *scores;                         /* [n_threads][max(n_text_ctx, n_audio_ctx)] */
};

static int reserve(wh_decoder *dec, int n, wh_error *err)
{
    if (n <= dec->cap) return 0;
    int d = dec->m->c.d, ffn = dec->m->c.text_ffn;
    float **bufs[] = {&dec->x, &dec->ln, &dec->q, &dec->k, &dec->v, &dec->att};
    for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
        float *nb = realloc(*bufs[i], (size_t)n * d * sizeof *nb);
        if (!nb) return wh_fail(err, WH_ERR_NOMEM, "out of memory for the decoder's activations");
        *bufs[i] = nb;
    }
    float *nh = realloc(dec->hid, (size_t)n * ffn * sizeof *nh);
    if (!nh) return wh_fail(err, WH_ERR_NOMEM, "out of memory for the decoder's activations");
    dec->hid = nh;
    dec->cap = n;
    return 0;
}

wh_decoder *wh_decoder_new(wh_model *m, const float *enc, wh_error *err)
{
    const wh_config *c = &m->c;
    wh_decoder *dec = calloc(1, sizeof *dec);
    if (!dec) {
        wh_fail(err, WH_ERR_NOMEM, "out of memory for the decoder");
        return NULL;
    }
    dec->m = m;
    size_t self = (size_t)c->n_text_layers * c->n_text_ctx * c->d,
           cross = (size_t)c->n_text_layers * c->n_audio_ctx * c->d;
    int longest = c->n_text_ctx > c->n_audio_ctx ? c->n_text_ctx : c->n_audio_ctx;
    dec->k_self = malloc(self * sizeof(float));
    dec->v_self = malloc(self * sizeof(float));
    dec->k_cross = malloc(cross * sizeof(float));
    dec->v_cross = malloc(cross * sizeof(float));
    dec->scores = malloc((size_t)qt_pool_threads(m->pool) * longest * sizeof(float));
    if (!dec->k_self || !dec->v_self || !dec->k_cross || !dec->v_cross || !dec->scores ||
        reserve(dec, 4, err)) {
        wh_fail(err, WH_ERR_NOMEM, "out of memory for the decoder's caches");
        wh_decoder_free(dec);
        return NULL;
    }
    int saved = wh_blas_begin();
    for (int l = 0; l < c->n_text_layers; l++) {
        size_t o = (size_t)l * c->n_audio_ctx * c->d;
        wh_linear_fwd(m->pool, &m->dec[l].cross.k, enc, c->d, c->n_audio_ctx, dec->k_cross + o, c->d);
        wh_linear_fwd(m->pool, &m->dec[l].cross.v, enc, c->d, c->n_audio_ctx, dec->v_cross + o, c->d);
    }
    wh_blas_end(saved);
    return dec;
}

void wh_decoder_free(wh_decoder *dec)
{
    if (!dec) return;
    free(dec->k_self);
    free(dec->v_self);
    free(dec->k_cross);
    free(dec->v_cross);
    free(dec->x);
    free(dec->ln);
    free(dec->q);
    free(dec->k);
    free(dec->v);
    free(dec->att);
    free(dec->hid);
    free(dec->scores);
    free(dec);
}

void wh_decoder_reset(wh_decoder *dec)
{
    dec->pos = 0;
}

int wh_decoder_pos(const wh_decoder *dec)
{
    return dec->pos;
}

/* out[r] = softmax(q[r] . K[0..n_keys(r))^T / sqrt(hd)) . V for each row r and head, (row, head) pairs
 * spread over the pool. Causal rows (self-attention) see keys up to their own position. */
typedef struct {
    const float *q, *k, *v; /* q [n][d], k/v [keys][d] */
    float *out, *scores;
    int n, d, hd, n_heads, keys0; /* row r sees keys0 + r + 1 keys when causal, else keys0 */
    bool causal;
    int longest;
} attend_job;

static void attend_task(void *ctx, int task, int n_tasks)
{
    const attend_job *j = ctx;
    float *s = j->scores + (size_t)task * j->longest;
    float scale = 1.0f / sqrtf((float)j->hd);
    for (int p = task; p < j->n * j->n_heads; p += n_tasks) {
        int r = p / j->n_heads, h = p % j->n_heads, o = h * j->hd;
        int keys = j->causal ? j->keys0 + r + 1 : j->keys0;
        const float *q = j->q + (size_t)r * j->d + o;
        /* s = K_h q * scale, softmax, out = V_h^T s: K_h and V_h are [keys][hd] with row stride d */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, keys, j->hd, scale, j->k + o, j->d, q, 1, 0.0f, s, 1);
        wh_softmax(s, keys);
        cblas_sgemv(CblasRowMajor, CblasTrans, keys, j->hd, 1.0f, j->v + o, j->d, s, 1, 0.0f,
                    j->out + (size_t)r * j->d + o, 1);
    }
}

int wh_decoder_feed(wh_decoder *dec, const int32_t *tokens, int n, float *logits, bool all_logits,
                    wh_error *err)
{
    wh_model *m = dec->m;
    const wh_config *c = &m->c;
    int d = c->d, ffn = c->text_ffn;
    if (n <= 0 || dec->pos + n > c->n_text_ctx)
        return wh_fail(err, WH_ERR_INVALID, "decoder: %d more tokens after %d exceed the text context of %d",
                       n, dec->pos, c->n_text_ctx);
    for (int i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= c->n_vocab)
            return wh_fail(err, WH_ERR_INVALID, "decoder: token %d is outside the vocabulary of %d",
                           tokens[i], c->n_vocab);
    if (reserve(dec, n, err)) return -1;
    for (int i = 0; i < n; i++)
        for (int e = 0; e < d; e++)
            dec->x[(size_t)i * d + e] =
                m->tok_emb[(size_t)tokens[i] * d + e] + m->dec_pos[(size_t)(dec->pos + i) * d + e];

    int saved = wh_blas_begin();
    attend_job aj = {.out = dec->att,
                     .scores = dec->scores,
                     .n = n,
                     .d = d,
                     .hd = d / c->n_text_heads,
                     .n_heads = c->n_text_heads,
                     .longest = c->n_text_ctx > c->n_audio_ctx ? c->n_text_ctx : c->n_audio_ctx};
    for (int l = 0; l < c->n_text_layers; l++) {
        const wh_layer *L = &m->dec[l];
        float *ks = dec->k_self + (size_t)l * c->n_text_ctx * d,
              *vs = dec->v_self + (size_t)l * c->n_text_ctx * d;
        /* self-attention: this step's keys and values go into the cache, then each row attends causally */
        wh_layernorm(m->pool, &L->attn_ln, dec->x, dec->ln, n, d);
        wh_linear_fwd(m->pool, &L->attn.q, dec->ln, d, n, dec->q, d);
        wh_linear_fwd(m->pool, &L->attn.k, dec->ln, d, n, ks + (size_t)dec->pos * d, d);
        wh_linear_fwd(m->pool, &L->attn.v, dec->ln, d, n, vs + (size_t)dec->pos * d, d);
        aj.q = dec->q;
        aj.k = ks;
        aj.v = vs;
        aj.keys0 = dec->pos;
        aj.causal = true;
        qt_pool_run(m->pool, attend_task, &aj, wh_tasks_for(m->pool, 2.0 * n * d * (dec->pos + n)));
        wh_linear_fwd(m->pool, &L->attn.o, dec->att, d, n, dec->ln, d);
        for (size_t i = 0; i < (size_t)n * d; i++)
            dec->x[i] += dec->ln[i];
        /* cross-attention over the audio */
        wh_layernorm(m->pool, &L->cross_ln, dec->x, dec->ln, n, d);
        wh_linear_fwd(m->pool, &L->cross.q, dec->ln, d, n, dec->q, d);
        aj.k = dec->k_cross + (size_t)l * c->n_audio_ctx * d;
        aj.v = dec->v_cross + (size_t)l * c->n_audio_ctx * d;
        aj.keys0 = c->n_audio_ctx;
        aj.causal = false;
        qt_pool_run(m->pool, attend_task, &aj, wh_tasks_for(m->pool, 2.0 * n * d * c->n_audio_ctx));
        wh_linear_fwd(m->pool, &L->cross.o, dec->att, d, n, dec->ln, d);
        for (size_t i = 0; i < (size_t)n * d; i++)
            dec->x[i] += dec->ln[i];
        /* MLP */
        wh_layernorm(m->pool, &L->mlp_ln, dec->x, dec->ln, n, d);
        wh_linear_fwd(m->pool, &L->fc1, dec->ln, d, n, dec->hid, ffn);
        wh_gelu(m->pool, dec->hid, (size_t)n * ffn);
        wh_linear_fwd(m->pool, &L->fc2, dec->hid, ffn, n, dec->ln, d);
        for (size_t i = 0; i < (size_t)n * d; i++)
            dec->x[i] += dec->ln[i];
    }
    dec->pos += n;
    int first = all_logits ? 0 : n - 1;
    wh_layernorm(m->pool, &m->dec_ln, dec->x + (size_t)first * d, dec->ln, n - first, d);
    wh_linear out = {m->tok_emb, NULL, c->n_vocab, d};
    wh_linear_fwd(m->pool, &out, dec->ln, d, n - first, logits, c->n_vocab);
    wh_blas_end(saved);
    return 0;
}

wh_model *wh_decoder_model(const wh_decoder *dec)
{
    return dec->m;
}
