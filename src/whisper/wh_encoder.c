/* wh_encoder.c — Whisper's audio encoder (official model.py AudioEncoder): two GELU convolutions (the second
 * with stride 2) as im2col + sgemm, the stored sinusoidal positions, pre-LayerNorm self-attention and MLP
 * blocks, a final LayerNorm. mel [n_mels][3000] -> [1500][d].
 *
 * Every product is a BLAS sgemm split over the pool; attention runs head by head on the pool's threads,
 * each with its own [1500][1500] score buffer. Activations are allocated per call (a few tens of MB for the
 * large models) and freed before it returns.
 */
#include "whisper/wh_ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const float *q, *k, *v; /* [n][ld] */
    float *out;             /* [n][ld] */
    float *scores;          /* [n_threads][n * n] */
    int n, ld, n_heads, hd;
} attn_job;

static void attn_task(void *ctx, int task, int n_tasks)
{
    const attn_job *j = ctx;
    float *s = j->scores + (size_t)task * j->n * j->n;
    float scale = 1.0f / sqrtf((float)j->hd);
    for (int h = task; h < j->n_heads; h += n_tasks) {
        int o = h * j->hd;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->n, j->n, j->hd, scale, j->q + o, j->ld,
                    j->k + o, j->ld, 0.0f, s, j->n);
        for (int r = 0; r < j->n; r++)
            wh_softmax(s + (size_t)r * j->n, j->n);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->n, j->hd, j->n, 1.0f, s, j->n, j->v + o,
                    j->ld, 0.0f, j->out + o, j->ld);
    }
}

/* col[t][c*3 + k] = in[t*stride + k - 1][c] (zero outside), the input time-major [n_in][ch]. */
static void im2col(const float *in, int n_in, int ch, int stride, int n_out, float *col)
{
    for (int t = 0; t < n_out; t++)
        for (int k = 0; k < 3; k++) {
            int src = t * stride + k - 1;
            float *dst = col + (size_t)t * ch * 3 + k;
            if (src < 0 || src >= n_in)
                for (int c = 0; c < ch; c++)
                    dst[c * 3] = 0;
            else
                for (int c = 0; c < ch; c++)
                    dst[c * 3] = in[(size_t)src * ch + c];
        }
}

int wh_encode(wh_model *m, const float *mel, float *out, wh_error *err)
{
    const wh_config *c = &m->c;
    int d = c->d, n = c->n_audio_ctx, ffn = c->audio_ffn, threads = qt_pool_threads(m->pool);
    size_t big = (size_t)WH_N_FRAMES * (d > c->n_mels ? d : c->n_mels) * 3;
    float *col = malloc(big * sizeof *col);
    float *h1 = malloc((size_t)WH_N_FRAMES * d * sizeof *h1);
    float *ln = malloc((size_t)n * d * sizeof *ln);
    float *qkv = malloc((size_t)n * d * 3 * sizeof *qkv);
    float *att = malloc((size_t)n * d * sizeof *att);
    float *hid = malloc((size_t)n * ffn * sizeof *hid);
    float *scores = malloc((size_t)threads * n * n * sizeof *scores);
    float *melt = malloc((size_t)WH_N_FRAMES * c->n_mels * sizeof *melt);
    int rc = -1;
    if (!col || !h1 || !ln || !qkv || !att || !hid || !scores || !melt) {
        wh_fail(err, WH_ERR_NOMEM, "out of memory for the encoder's activations");
        goto done;
    }
    int saved = wh_blas_begin();

    /* conv1 (padding 1): the mel time-major, then [3000][n_mels*3] . W1^T; GELU */
    for (int b = 0; b < c->n_mels; b++)
        for (int t = 0; t < WH_N_FRAMES; t++)
            melt[(size_t)t * c->n_mels + b] = mel[(size_t)b * WH_N_FRAMES + t];
    im2col(melt, WH_N_FRAMES, c->n_mels, 1, WH_N_FRAMES, col);
    wh_linear conv1 = {m->conv1_w, m->conv1_b, d, c->n_mels * 3};
    wh_linear_fwd(m->pool, &conv1, col, c->n_mels * 3, WH_N_FRAMES, h1, d);
    wh_gelu(m->pool, h1, (size_t)WH_N_FRAMES * d);

    /* conv2 (stride 2, padding 1) into x = out; GELU; + positions */
    im2col(h1, WH_N_FRAMES, d, 2, n, col);
    wh_linear conv2 = {m->conv2_w, m->conv2_b, d, d * 3};
    float *x = out;
    wh_linear_fwd(m->pool, &conv2, col, d * 3, n, x, d);
    wh_gelu(m->pool, x, (size_t)n * d);
    for (size_t i = 0; i < (size_t)n * d; i++)
        x[i] += m->enc_pos[i];

    /* each head's output overwrites its own q columns once its scores are made */
    attn_job aj = {.q = qkv,
                   .k = qkv + d,
                   .v = qkv + 2 * d,
                   .out = qkv,
                   .scores = scores,
                   .n = n,
                   .ld = 3 * d,
                   .n_heads = c->n_audio_heads,
                   .hd = d / c->n_audio_heads};
    for (int l = 0; l < c->n_audio_layers; l++) {
        const wh_layer *L = &m->enc[l];
        /* x += out(attention(ln(x))); q, k, v side by side in qkv [n][3d] */
        wh_layernorm(m->pool, &L->attn_ln, x, ln, n, d);
        wh_linear_fwd(m->pool, &L->attn.q, ln, d, n, qkv, 3 * d);
        wh_linear_fwd(m->pool, &L->attn.k, ln, d, n, qkv + d, 3 * d);
        wh_linear_fwd(m->pool, &L->attn.v, ln, d, n, qkv + 2 * d, 3 * d);
        qt_pool_run(m->pool, attn_task, &aj, threads);
        wh_linear_fwd(m->pool, &L->attn.o, qkv, 3 * d, n, att, d);
        for (size_t i = 0; i < (size_t)n * d; i++)
            x[i] += att[i];
        /* x += fc2(gelu(fc1(ln(x)))) */
        wh_layernorm(m->pool, &L->mlp_ln, x, ln, n, d);
        wh_linear_fwd(m->pool, &L->fc1, ln, d, n, hid, ffn);
        wh_gelu(m->pool, hid, (size_t)n * ffn);
        wh_linear_fwd(m->pool, &L->fc2, hid, ffn, n, att, d);
        for (size_t i = 0; i < (size_t)n * d; i++)
            x[i] += att[i];
    }
    wh_layernorm(m->pool, &m->enc_ln, x, x, n, d);
    wh_blas_end(saved);
    rc = 0;
done:
    free(col);
    free(h1);
    free(ln);
    free(qkv);
    free(att);
    free(hid);
    free(scores);
    free(melt);
    return rc;
}
