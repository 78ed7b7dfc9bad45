/* speaker_encoder.c — ECAPA-TDNN (docs/engine.md §3.4, §10.7): log-mel [T][128] -> x-vector [enc_dim].
 *
 * blocks.0 TDNN -> 3 SE-Res2Net blocks -> MFA (concat of the three, 1x1 TDNN) -> attentive statistics
 * pooling (tanh in the attention branch, std clamped at 1e-12) -> fc 1x1 to enc_dim. Every conv is
 * "same" with reflect padding and has a bias; "TDNN" is conv + ReLU. Activations are [channels][T]
 * row-major, so a channel group is a contiguous block of rows. Convs run as im2col + sgemm, the time axis
 * split over the pool's threads. Must not: read audio, know the model file's other tensors.
 */
#include "engine/speaker_encoder.h"

#include "engine/kernels.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_SE_BLOCKS 3 /* enc_channels[1..3]; enc_channels[4] is the MFA width */

typedef struct {
    float *w; /* [co][ci * k] (PyTorch's [co][ci][k]) */
    float *b; /* [co] */
    int co, ci, k, dil;
} conv1d;

typedef struct {
    conv1d tdnn1, tdnn2, se1, se2;
    conv1d *res; /* [scale - 1] convs of width C / scale */
} se_res2_block;

struct qt_speaker_encoder {
    qt_speaker_config cfg;
    conv1d block0;
    se_res2_block blk[N_SE_BLOCKS];
    conv1d mfa, asp_tdnn, asp_conv, fc;
};

/* ---- loading ----------------------------------------------------------------------------------------- */

static int load_tensor(const st_file *f, const char *name, int n_dims, const int64_t *shape, float **out,
                       qt_error *err)
{
    const st_tensor *t = st_find(f, name);
    if (!t)
        return qt_fail(err, QT_ERR_CORRUPT, "model.safetensors: speaker encoder tensor '%s' is missing",
                       name);
    int ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", got[96] = "";
        for (int i = 0; i < n_dims; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? "," : "",
                     (long long)shape[i]);
        for (int i = 0; i < t->n_dims; i++)
            snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", i ? "," : "",
                     (long long)t->shape[i]);
        return qt_fail(err, QT_ERR_CORRUPT, "model.safetensors: tensor '%s' has shape [%s], expected [%s]",
                       name, got, want);
    }
    if (t->dtype != ST_BF16 && t->dtype != ST_F32)
        return qt_fail(err, QT_ERR_CORRUPT,
                       "model.safetensors: tensor '%s' is %s; the speaker encoder reads BF16 or F32", name,
                       st_dtype_name(t->dtype));
    float *v = malloc(sizeof(float) * (size_t)t->n_elements);
    if (!v) return qt_fail(err, QT_ERR_NOMEM, "out of memory loading '%s'", name);
    const uint8_t *src = t->data;
    for (int64_t i = 0; i < t->n_elements; i++) {
        if (t->dtype == ST_BF16) {
            uint16_t h;
            memcpy(&h, src + 2 * i, 2);
            v[i] = qt_bf16_to_f32(h);
        } else {
            memcpy(&v[i], src + 4 * i, 4);
        }
    }
    *out = v;
    return 0;
}

static int load_conv(const st_file *f, const char *prefix, int co, int ci, int k, int dil, conv1d *c,
                     qt_error *err)
{
    char name[160];
    c->co = co, c->ci = ci, c->k = k, c->dil = dil;
    snprintf(name, sizeof name, "speaker_encoder.%s.weight", prefix);
    if (load_tensor(f, name, 3, (const int64_t[]){co, ci, k}, &c->w, err)) return -1;
    snprintf(name, sizeof name, "speaker_encoder.%s.bias", prefix);
    return load_tensor(f, name, 1, (const int64_t[]){co}, &c->b, err);
}

static void conv_free(conv1d *c)
{
    free(c->w);
    free(c->b);
}

qt_speaker_encoder *qt_speaker_encoder_load(const st_file *f, const qt_speaker_config *cfg, qt_error *err)
{
    const int *ch = cfg->enc_channels, *ks = cfg->enc_kernel_sizes, *dl = cfg->enc_dilations;
    int scale = cfg->enc_res2net_scale;
    for (int i = 0; i < 5; i++)
        if (ch[i] <= 0 || ks[i] <= 0 || ks[i] % 2 == 0 || dl[i] <= 0 || ch[i] > 65536 || ks[i] > 64 ||
            dl[i] > 64) {
            qt_fail(err, QT_ERR_CORRUPT,
                    "config.json: speaker encoder layer %d has channels %d, kernel %d, dilation %d (need "
                    "positive, odd kernels)",
                    i, ch[i], ks[i], dl[i]);
            return NULL;
        }
    if (scale < 2 || ch[1] % scale || ch[1] != ch[0] || ch[2] != ch[1] || ch[3] != ch[2] ||
        cfg->mel_dim <= 0 || cfg->enc_dim <= 0 || cfg->enc_attention_channels <= 0 ||
        cfg->enc_se_channels <= 0) {
        qt_fail(
            err, QT_ERR_CORRUPT,
            "config.json: speaker encoder channels [%d,%d,%d,%d] with res2net scale %d are not an ECAPA-TDNN "
            "this engine runs (equal widths divisible by the scale)",
            ch[0], ch[1], ch[2], ch[3], scale);
        return NULL;
    }
    qt_speaker_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory loading the speaker encoder");
        return NULL;
    }
    e->cfg = *cfg;
    if (load_conv(f, "blocks.0.conv", ch[0], cfg->mel_dim, ks[0], dl[0], &e->block0, err)) goto fail;
    int C = ch[1], g = C / scale, se = cfg->enc_se_channels;
    char p[96];
    for (int b = 0; b < N_SE_BLOCKS; b++) {
        se_res2_block *B = &e->blk[b];
        if (!(B->res = calloc((size_t)scale - 1, sizeof *B->res))) {
            qt_fail(err, QT_ERR_NOMEM, "out of memory loading the speaker encoder");
            goto fail;
        }
        snprintf(p, sizeof p, "blocks.%d.tdnn1.conv", b + 1);
        if (load_conv(f, p, C, C, 1, 1, &B->tdnn1, err)) goto fail;
        for (int i = 0; i < scale - 1; i++) {
            snprintf(p, sizeof p, "blocks.%d.res2net_block.blocks.%d.conv", b + 1, i);
            if (load_conv(f, p, g, g, ks[b + 1], dl[b + 1], &B->res[i], err)) goto fail;
        }
        snprintf(p, sizeof p, "blocks.%d.tdnn2.conv", b + 1);
        if (load_conv(f, p, C, C, 1, 1, &B->tdnn2, err)) goto fail;
        snprintf(p, sizeof p, "blocks.%d.se_block.conv1", b + 1);
        if (load_conv(f, p, se, C, 1, 1, &B->se1, err)) goto fail;
        snprintf(p, sizeof p, "blocks.%d.se_block.conv2", b + 1);
        if (load_conv(f, p, C, se, 1, 1, &B->se2, err)) goto fail;
    }
    int M = ch[4], A = cfg->enc_attention_channels;
    if (load_conv(f, "mfa.conv", M, N_SE_BLOCKS * C, ks[4], dl[4], &e->mfa, err) ||
        load_conv(f, "asp.tdnn.conv", A, 3 * M, 1, 1, &e->asp_tdnn, err) ||
        load_conv(f, "asp.conv", M, A, 1, 1, &e->asp_conv, err) ||
        load_conv(f, "fc", cfg->enc_dim, 2 * M, 1, 1, &e->fc, err))
        goto fail;
    return e;
fail:
    qt_speaker_encoder_free(e);
    return NULL;
}

void qt_speaker_encoder_free(qt_speaker_encoder *e)
{
    if (!e) return;
    conv_free(&e->block0);
    for (int b = 0; b < N_SE_BLOCKS; b++) {
        conv_free(&e->blk[b].tdnn1);
        conv_free(&e->blk[b].tdnn2);
        conv_free(&e->blk[b].se1);
        conv_free(&e->blk[b].se2);
        for (int i = 0; e->blk[b].res && i < e->cfg.enc_res2net_scale - 1; i++)
            conv_free(&e->blk[b].res[i]);
        free(e->blk[b].res);
    }
    conv_free(&e->mfa);
    conv_free(&e->asp_tdnn);
    conv_free(&e->asp_conv);
    conv_free(&e->fc);
    free(e);
}

int qt_speaker_encoder_dim(const qt_speaker_encoder *e)
{
    return e->cfg.enc_dim;
}

int qt_speaker_encoder_min_frames(const qt_speaker_encoder *e)
{
    int widest = 0;
    for (int i = 0; i < 5; i++) {
        int pad = e->cfg.enc_dilations[i] * (e->cfg.enc_kernel_sizes[i] - 1) / 2;
        if (pad > widest) widest = pad;
    }
    return widest + 1;
}

/* ---- forward ----------------------------------------------------------------------------------------- */

typedef struct {
    int m, n, k;
    const float *a; /* [m][lda] */
    int lda;
    const float *b; /* [k][n] */
    float *c;       /* [m][n] */
    int parts;
} gemm_job;

static void gemm_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    const gemm_job *j = ctx;
    int lo = (int)((long)j->n * task / j->parts), hi = (int)((long)j->n * (task + 1) / j->parts);
    if (lo < hi)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, j->m, hi - lo, j->k, 1.0f, j->a, j->lda,
                    j->b + lo, j->n, 0.0f, j->c + lo, j->n);
}

/* c[m][n] = a[m][k] (row stride lda) · b[k][n], the columns split over the pool. */
static void gemm(qt_pool *pool, int m, int n, int k, const float *a, int lda, const float *b, float *c)
{
    int parts = pool ? qt_pool_threads(pool) : 1;
    if ((double)m * n * k < 1e5 || n < 2 * parts) parts = 1;
    gemm_job j = {m, n, k, a, lda, b, c, parts};
    qt_pool_run(parts > 1 ? pool : NULL, gemm_task, &j, parts);
}

/* Index of the reflect-padded position i (may be < 0 or >= T) in 0..T-1; needs the pad < T. */
static int reflect(int i, int T)
{
    return i < 0 ? -i : i >= T ? 2 * (T - 1) - i : i;
}

/* y [co][T] = conv(x [ci][T]) + bias, "same" with reflect padding, ReLU when relu. col: scratch of
 * ci * k * T floats (unused for k == 1). */
static void conv_run(qt_pool *pool, const conv1d *c, const float *x, int T, float *y, float *col, int relu)
{
    const float *b = x;
    if (c->k > 1) {
        int left = c->dil * (c->k - 1) / 2;
        for (int ci = 0; ci < c->ci; ci++)
            for (int j = 0; j < c->k; j++) {
                float *dst = col + ((size_t)ci * c->k + j) * T;
                const float *src = x + (size_t)ci * T;
                int off = j * c->dil - left;
                for (int t = 0; t < T; t++)
                    dst[t] = src[reflect(t + off, T)];
            }
        b = col;
    }
    gemm(pool, c->co, T, c->ci * c->k, c->w, c->ci * c->k, b, y);
    for (int o = 0; o < c->co; o++) {
        float *row = y + (size_t)o * T, bias = c->b[o];
        for (int t = 0; t < T; t++) {
            float v = row[t] + bias;
            row[t] = relu && v < 0 ? 0 : v;
        }
    }
}

static float sigmoidf(float x)
{
    return 1.0f / (1.0f + expf(-x));
}

/* Squeeze-excitation on h [C][T] in place: channel means -> conv1 + ReLU -> conv2 + sigmoid -> scale. */
static void se_run(const se_res2_block *B, float *h, int T, float *tmp)
{
    int C = B->se1.ci, S = B->se1.co;
    float *mean = tmp, *mid = tmp + C;
    for (int c = 0; c < C; c++) {
        double s = 0;
        for (int t = 0; t < T; t++)
            s += h[(size_t)c * T + t];
        mean[c] = (float)(s / T);
    }
    for (int o = 0; o < S; o++) {
        float s = B->se1.b[o];
        for (int c = 0; c < C; c++)
            s += B->se1.w[(size_t)o * C + c] * mean[c];
        mid[o] = s > 0 ? s : 0;
    }
    for (int c = 0; c < C; c++) {
        float s = B->se2.b[c];
        for (int o = 0; o < S; o++)
            s += B->se2.w[(size_t)c * S + o] * mid[o];
        float gate = sigmoidf(s);
        for (int t = 0; t < T; t++)
            h[(size_t)c * T + t] *= gate;
    }
}

/* One SE-Res2Net block: x [C][T] -> out [C][T] (out = SE(tdnn2(res2net(tdnn1(x)))) + x). */
static void se_res2_run(qt_pool *pool, const se_res2_block *B, int scale, const float *x, int T, float *out,
                        float *h, float *col, float *tmp)
{
    int C = B->tdnn1.co, g = C / scale;
    conv_run(pool, &B->tdnn1, x, T, h, NULL, 1);
    /* res2net: group 0 passes through; group i >= 1 is conv_i(group i + output of group i-1), into out */
    memcpy(out, h, sizeof(float) * (size_t)g * T);
    for (int i = 1; i < scale; i++) {
        float *gi = h + (size_t)i * g * T, *yi = out + (size_t)i * g * T;
        if (i >= 2) {
            const float *prev = out + (size_t)(i - 1) * g * T;
            for (size_t k = 0; k < (size_t)g * T; k++)
                gi[k] += prev[k];
        }
        conv_run(pool, &B->res[i - 1], gi, T, yi, col, 1);
    }
    conv_run(pool, &B->tdnn2, out, T, h, NULL, 1);
    se_run(B, h, T, tmp);
    for (size_t k = 0; k < (size_t)C * T; k++)
        out[k] = h[k] + x[k];
}

/* Attentive statistics pooling on x [M][T] -> pooled [2M] (weighted mean, then weighted std). */
static void asp_run(qt_pool *pool, const qt_speaker_encoder *e, const float *x, int T, float *pooled,
                    float *att, float *score, float *tmp)
{
    int M = e->mfa.co, A = e->asp_tdnn.co;
    float *mean = tmp, *sd = tmp + M, *bias = tmp + 2 * M;
    for (int c = 0; c < M; c++) {
        const float *row = x + (size_t)c * T;
        double s = 0, v = 0;
        for (int t = 0; t < T; t++)
            s += row[t];
        double mu = s / T;
        for (int t = 0; t < T; t++)
            v += (row[t] - mu) * (row[t] - mu);
        v /= T;
        mean[c] = (float)mu;
        sd[c] = (float)sqrt(v > 1e-12 ? v : 1e-12);
    }
    /* asp.tdnn on [x; mean; std]: the mean and std columns are the same at every t, so their part of the
     * 1x1 conv is a per-channel constant added to W_x · x. */
    const float *W = e->asp_tdnn.w; /* [A][3M] */
    for (int a = 0; a < A; a++) {
        double s = e->asp_tdnn.b[a];
        for (int c = 0; c < M; c++)
            s += (double)W[(size_t)a * 3 * M + M + c] * mean[c] +
                 (double)W[(size_t)a * 3 * M + 2 * M + c] * sd[c];
        bias[a] = (float)s;
    }
    gemm(pool, A, T, M, W, 3 * M, x, att);
    for (int a = 0; a < A; a++)
        for (int t = 0; t < T; t++) {
            float v = att[(size_t)a * T + t] + bias[a];
            att[(size_t)a * T + t] = tanhf(v > 0 ? v : 0);
        }
    conv_run(pool, &e->asp_conv, att, T, score, NULL, 0);
    for (int c = 0; c < M; c++) {
        float *w = score + (size_t)c * T;
        const float *row = x + (size_t)c * T;
        float mx = w[0];
        for (int t = 1; t < T; t++)
            mx = w[t] > mx ? w[t] : mx;
        double z = 0;
        for (int t = 0; t < T; t++)
            z += w[t] = expf(w[t] - mx);
        double mu = 0, v = 0;
        for (int t = 0; t < T; t++)
            mu += w[t] / z * row[t];
        for (int t = 0; t < T; t++)
            v += w[t] / z * (row[t] - mu) * (row[t] - mu);
        pooled[c] = (float)mu;
        pooled[M + c] = (float)sqrt(v > 1e-12 ? v : 1e-12);
    }
}

int qt_speaker_encoder_run(const qt_speaker_encoder *e, qt_pool *pool, const float *mel, int T, float *xvec,
                           qt_error *err)
{
    const qt_speaker_config *cfg = &e->cfg;
    if (T < qt_speaker_encoder_min_frames(e))
        return qt_fail(err, QT_ERR_INVALID,
                       "speaker encoder: %d mel frames are too few (at least %d are needed)", T,
                       qt_speaker_encoder_min_frames(e));
    int D = cfg->mel_dim, C = e->block0.co, M = e->mfa.co, A = e->asp_tdnn.co, scale = cfg->enc_res2net_scale;
    size_t t = (size_t)T;
    size_t col_n = (size_t)D * e->block0.k;
    for (int b = 0; b < N_SE_BLOCKS; b++)
        if ((size_t)(C / scale) * e->blk[b].res[0].k > col_n)
            col_n = (size_t)(C / scale) * e->blk[b].res[0].k;
    if ((size_t)e->mfa.ci * e->mfa.k > col_n) col_n = (size_t)e->mfa.ci * e->mfa.k;
    /* one allocation: in [D][T], blocks [4][C][T] (block 0 and the three SE blocks), h [C][T], col, mfa
     * [M][T], att [A][T], score [M][T], small vectors */
    size_t n_small = 3 * (size_t)M + (size_t)A + 2 * (size_t)M + (size_t)C + (size_t)cfg->enc_se_channels;
    size_t total = (D + 4 * (size_t)C + C + col_n + M + A + M) * t + n_small;
    float *mem = malloc(sizeof(float) * total);
    if (!mem) return qt_fail(err, QT_ERR_NOMEM, "out of memory running the speaker encoder on %d frames", T);
    float *in = mem, *blocks = in + D * t, *h = blocks + 4 * C * t, *col = h + C * t, *mfa = col + col_n * t,
          *att = mfa + M * t, *score = att + A * t, *small = score + M * t;

    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);

    for (int f = 0; f < T; f++) /* [T][D] -> [D][T] */
        for (int d = 0; d < D; d++)
            in[(size_t)d * t + f] = mel[(size_t)f * D + d];
    conv_run(pool, &e->block0, in, T, blocks, col, 1);
    for (int b = 0; b < N_SE_BLOCKS; b++)
        se_res2_run(pool, &e->blk[b], scale, blocks + (size_t)b * C * t, T, blocks + (size_t)(b + 1) * C * t,
                    h, col, small);
    /* MFA: the outputs of the three SE blocks, stacked by channel, are already contiguous */
    conv_run(pool, &e->mfa, blocks + (size_t)C * t, T, mfa, col, 1);
    float *pooled = small + 3 * M + A;
    asp_run(pool, e, mfa, T, pooled, att, score, small);
    for (int o = 0; o < cfg->enc_dim; o++) {
        double s = e->fc.b[o];
        for (int i = 0; i < 2 * M; i++)
            s += (double)e->fc.w[(size_t)o * 2 * M + i] * pooled[i];
        xvec[o] = (float)s;
    }

    if (blas_threads != 1) openblas_set_num_threads(blas_threads);
    free(mem);
    return 0;
}
