/* codec_encoder.c — the Mimi encoder of the 12 Hz codec: 24 kHz audio -> codes (docs/engine.md §3.2).
 *
 * Layouts: the SEANet convs work on channel-major activations [channels][time] (as torch, so conv weights
 * are used straight from the file as the left matrix of an im2col GEMM); the transformer works on
 * time-major [time][hidden]; the RVQ on [frame][dim]. Matrix work goes through BLAS sgemm on blocks that this
 * file spreads over the pool's threads (OpenBLAS itself is set to one thread meanwhile). The SEANet streams
 * the clip in chunks, so memory grows only with the 25 Hz sequence, not with the samples.
 *
 * Exactness: the codes must equal the reference's. RVQ distance margins can be ~1e-5, so every argmin is
 * decided in float64: a float32 GEMM screens the candidates, the few within a safe tolerance of the best are
 * re-measured in float64 directly as sum((r - e)^2), and the residual is carried in float64.
 * This file must not read audio files or know about the decoder.
 */
#include "engine/codec_encoder.h"
#include "engine/codec_elu.h"

#include <cblas.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STAGES 8
#define MAX_RES 4
#define CODEBOOK_EPS 1e-5f   /* clamp of cluster_usage (Mimi's epsilon) */
#define COL_FLOATS (1 << 18) /* im2col block budget per thread: 1 MiB, stays in L2 */
#define ATT_QBLOCK 128       /* query rows per attention task */
#define RVQ_FBLOCK 16        /* frames per RVQ task */
#define SEANET_CHUNK 48000   /* samples per SEANet step (2 s at 24 kHz) */

typedef struct {
    const float *w; /* [c_out][c_in][k] row-major, as in the file */
    const float *b; /* [c_out], or NULL */
    int c_in, c_out, k, stride, dilation;
    int replicate; /* pad with the edge values (the downsample) instead of zeros */
} enc_conv;

typedef struct {
    enc_conv conv1; /* block.1: ELU, dim -> dim/compress, residual_kernel_size */
    enc_conv conv2; /* block.3: ELU, dim/compress -> dim, k 1; then + x */
} enc_resblock;

typedef struct {
    const float *ln1_w, *ln1_b; /* input_layernorm [d] */
    const float *wq, *wk, *wv;  /* [heads*head_dim][d] */
    const float *wo;            /* [d][heads*head_dim] */
    const float *attn_scale;    /* self_attn_layer_scale.scale [d] */
    const float *ln2_w, *ln2_b; /* post_attention_layernorm [d] */
    const float *fc1;           /* [inter][d] */
    const float *fc2;           /* [d][inter] */
    const float *mlp_scale;     /* mlp_layer_scale.scale [d] */
} enc_layer;

struct codec_encoder {
    int sample_rate, frame_samples;
    /* SEANet */
    enc_conv conv_in;
    int n_stages, n_res;
    enc_resblock res[MAX_STAGES][MAX_RES];
    enc_conv down[MAX_STAGES];
    enc_conv conv_out;
    /* transformer */
    int d, n_heads, head_dim, qdim, inter, n_layers;
    float eps;
    enc_layer *layers;
    float *inv_freq; /* [head_dim/2] */
    /* downsample + split RVQ */
    enc_conv downsample;
    int n_q, n_sem, cb_size, cb_dim;
    const float *proj[2]; /* input_proj of the semantic and acoustic RVQ, [cb_dim][d] */
    float *codebooks;     /* [n_q][cb_size][cb_dim]: embed_sum / max(cluster_usage, eps) */
    float *cb_norm2;      /* [n_q][cb_size] */
    void **owned;         /* copies of tensors whose data was not 4-byte aligned */
    int n_owned;
};

/* ---- loading ------------------------------------------------------------------------------------------- */

static const float *tensor_f32(codec_encoder *e, const st_file *f, const char *name, int n_dims,
                               const int64_t *shape, qt_error *err)
{
    const st_tensor *t = st_expect(f, name, ST_F32, n_dims, shape, err);
    if (!t) return NULL;
    if (((uintptr_t)t->data & (sizeof(float) - 1)) == 0) return t->data;
    void **grown = realloc(e->owned, (size_t)(e->n_owned + 1) * sizeof *grown);
    if (!grown) goto nomem;
    e->owned = grown;
    void *copy = malloc(t->n_bytes);
    if (!copy) goto nomem;
    memcpy(copy, t->data, t->n_bytes);
    e->owned[e->n_owned++] = copy;
    return copy;
nomem:
    qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for a copy of tensor '%s'", name);
    return NULL;
}

static int load_conv(codec_encoder *e, const st_file *f, const char *prefix, enc_conv *c, int c_in, int c_out,
                     int k, int stride, int dilation, int bias, qt_error *err)
{
    char name[256];
    *c = (enc_conv){.c_in = c_in, .c_out = c_out, .k = k, .stride = stride, .dilation = dilation};
    snprintf(name, sizeof name, "%s.conv.weight", prefix);
    if (!(c->w = tensor_f32(e, f, name, 3, (const int64_t[]){c_out, c_in, k}, err))) return -1;
    if (bias) {
        snprintf(name, sizeof name, "%s.conv.bias", prefix);
        if (!(c->b = tensor_f32(e, f, name, 1, (const int64_t[]){c_out}, err))) return -1;
    }
    return 0;
}

static int load_layer(codec_encoder *e, const st_file *f, int i, qt_error *err)
{
    enc_layer *l = &e->layers[i];
    char name[256];
    const int64_t d = e->d, qd = e->qdim, in = e->inter;
#define T1(field, suffix)                                                                                    \
    (snprintf(name, sizeof name, "encoder.encoder_transformer.layers.%d.%s", i, suffix),                     \
     (l->field = tensor_f32(e, f, name, 1, (const int64_t[]){d}, err)) != NULL)
#define T2(field, suffix, rows, cols)                                                                        \
    (snprintf(name, sizeof name, "encoder.encoder_transformer.layers.%d.%s", i, suffix),                     \
     (l->field = tensor_f32(e, f, name, 2, (const int64_t[]){rows, cols}, err)) != NULL)
    int ok = T1(ln1_w, "input_layernorm.weight") && T1(ln1_b, "input_layernorm.bias") &&
             T2(wq, "self_attn.q_proj.weight", qd, d) && T2(wk, "self_attn.k_proj.weight", qd, d) &&
             T2(wv, "self_attn.v_proj.weight", qd, d) && T2(wo, "self_attn.o_proj.weight", d, qd) &&
             T1(attn_scale, "self_attn_layer_scale.scale") && T1(ln2_w, "post_attention_layernorm.weight") &&
             T1(ln2_b, "post_attention_layernorm.bias") && T2(fc1, "mlp.fc1.weight", in, d) &&
             T2(fc2, "mlp.fc2.weight", d, in) && T1(mlp_scale, "mlp_layer_scale.scale");
#undef T1
#undef T2
    return ok ? 0 : -1;
}

/* Codebook q of the split RVQ: E = embed_sum / max(cluster_usage, eps), in float32 as the reference. */
static int load_codebook(codec_encoder *e, const st_file *f, int q, qt_error *err)
{
    char name[256];
    const char *group = q < e->n_sem ? "semantic" : "acoustic";
    int j = q < e->n_sem ? q : q - e->n_sem;
    snprintf(name, sizeof name, "encoder.quantizer.%s_residual_vector_quantizer.layers.%d.codebook.embed_sum",
             group, j);
    const float *sum = tensor_f32(e, f, name, 2, (const int64_t[]){e->cb_size, e->cb_dim}, err);
    if (!sum) return -1;
    snprintf(name, sizeof name,
             "encoder.quantizer.%s_residual_vector_quantizer.layers.%d.codebook.cluster_usage", group, j);
    const float *usage = tensor_f32(e, f, name, 1, (const int64_t[]){e->cb_size}, err);
    if (!usage) return -1;
    float *cb = e->codebooks + (size_t)q * e->cb_size * e->cb_dim;
    float *n2 = e->cb_norm2 + (size_t)q * e->cb_size;
    for (int i = 0; i < e->cb_size; i++) {
        float u = usage[i] > CODEBOOK_EPS ? usage[i] : CODEBOOK_EPS;
        double s = 0;
        for (int c = 0; c < e->cb_dim; c++) {
            float v = sum[(size_t)i * e->cb_dim + c] / u;
            if (!isfinite(v))
                return qt_fail(
                    err, QT_ERR_CORRUPT,
                    "speech tokenizer: %s codebook %d: embed_sum / cluster_usage of entry %d is not "
                    "finite",
                    group, j, i);
            cb[(size_t)i * e->cb_dim + c] = v;
            s += (double)v * v;
        }
        n2[i] = (float)s;
    }
    return 0;
}

codec_encoder *codec_encoder_load(const st_file *f, const qt_codec_config *cfg, int n_quantizers,
                                  qt_error *err)
{
    const qt_codec_encoder_config *c = &cfg->encoder;
    codec_encoder *e = calloc(1, sizeof *e);
    if (!e) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for the encoder");
        return NULL;
    }
    if (n_quantizers <= 0) n_quantizers = cfg->encoder_valid_num_quantizers;
    if (n_quantizers > c->num_quantizers || n_quantizers < c->num_semantic_quantizers) {
        qt_fail(err, QT_ERR_INVALID, "speech tokenizer: %d codebooks asked of an encoder with %d",
                n_quantizers, c->num_quantizers);
        goto fail;
    }
    if (c->audio_channels != 1 || !c->use_causal_conv || !c->pad_constant || c->use_conv_shortcut ||
        c->n_upsampling_ratios > MAX_STAGES || c->num_residual_layers > MAX_RES ||
        c->n_heads * c->head_dim <= 0 || c->head_dim % 2) {
        qt_fail(
            err, QT_ERR_CORRUPT,
            "speech_tokenizer/config.json: encoder_config describes a Mimi encoder this engine does not run "
            "(needs mono, causal constant-padded convs, no conv shortcut, <= %d stages)",
            MAX_STAGES);
        goto fail;
    }
    e->sample_rate = c->sampling_rate;
    e->n_stages = c->n_upsampling_ratios;
    e->n_res = c->num_residual_layers;
    e->d = c->hidden;
    e->n_heads = c->n_heads;
    e->head_dim = c->head_dim;
    e->qdim = c->n_heads * c->head_dim;
    e->inter = c->intermediate;
    e->n_layers = c->n_layers;
    e->eps = c->norm_eps;

    /* SEANet (§3.2): layers.0 conv; per ratio (reversed): residual blocks, ELU, strided conv;
     * ELU, last conv. Layer indices count the ELUs too. */
    char prefix[128];
    int idx = 0, ch = c->num_filters, hop = 1;
    if (load_conv(e, f, "encoder.encoder.layers.0", &e->conv_in, 1, ch, c->kernel_size, 1, 1, 1, err))
        goto fail;
    idx = 1;
    for (int s = 0; s < e->n_stages; s++) {
        int ratio = c->upsampling_ratios[e->n_stages - 1 - s];
        int dil = 1;
        for (int j = 0; j < e->n_res; j++, idx++, dil *= c->dilation_growth_rate) {
            snprintf(prefix, sizeof prefix, "encoder.encoder.layers.%d.block.1", idx);
            if (load_conv(e, f, prefix, &e->res[s][j].conv1, ch, ch / c->compress, c->residual_kernel_size, 1,
                          dil, 1, err))
                goto fail;
            snprintf(prefix, sizeof prefix, "encoder.encoder.layers.%d.block.3", idx);
            if (load_conv(e, f, prefix, &e->res[s][j].conv2, ch / c->compress, ch, 1, 1, 1, 1, err))
                goto fail;
        }
        idx++; /* ELU */
        snprintf(prefix, sizeof prefix, "encoder.encoder.layers.%d", idx++);
        if (load_conv(e, f, prefix, &e->down[s], ch, 2 * ch, 2 * ratio, ratio, 1, 1, err)) goto fail;
        ch *= 2;
        hop *= ratio;
    }
    idx++; /* ELU */
    snprintf(prefix, sizeof prefix, "encoder.encoder.layers.%d", idx);
    if (load_conv(e, f, prefix, &e->conv_out, ch, e->d, c->last_kernel_size, 1, 1, 1, err)) goto fail;

    /* transformer */
    e->layers = calloc((size_t)e->n_layers, sizeof *e->layers);
    e->inv_freq = malloc((size_t)(e->head_dim / 2) * sizeof *e->inv_freq);
    if (!e->layers || !e->inv_freq) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for the encoder transformer");
        goto fail;
    }
    for (int i = 0; i < e->n_layers; i++)
        if (load_layer(e, f, i, err)) goto fail;
    /* as the reference: 1 / theta^(float(2i) / head_dim), all in float32 */
    for (int i = 0; i < e->head_dim / 2; i++)
        e->inv_freq[i] = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)e->head_dim);

    /* downsample: 25 Hz -> frame rate, kernel 2 * ratio, stride 2, replicate padding, no bias */
    int ds_ratio = (int)lroundf((float)c->sampling_rate / (float)hop / c->frame_rate);
    if (ds_ratio < 1 ||
        fabsf((float)c->sampling_rate / (float)hop / c->frame_rate - (float)ds_ratio) > 1e-3f) {
        qt_fail(err, QT_ERR_CORRUPT,
                "speech_tokenizer/config.json: frame rate %g is not 24 kHz / %d / an integer", c->frame_rate,
                hop);
        goto fail;
    }
    e->frame_samples = hop * (ds_ratio > 1 ? 2 : 1);
    if (ds_ratio > 1) {
        if (load_conv(e, f, "encoder.downsample", &e->downsample, e->d, e->d, 2 * ds_ratio, 2, 1, 0, err))
            goto fail;
        e->downsample.replicate = 1;
    }

    /* split RVQ */
    e->n_q = n_quantizers;
    e->n_sem = c->num_semantic_quantizers;
    e->cb_size = c->codebook_size;
    e->cb_dim = c->codebook_dim;
    e->proj[0] = tensor_f32(e, f, "encoder.quantizer.semantic_residual_vector_quantizer.input_proj.weight", 3,
                            (const int64_t[]){e->cb_dim, e->d, 1}, err);
    if (!e->proj[0]) goto fail;
    e->proj[1] = tensor_f32(e, f, "encoder.quantizer.acoustic_residual_vector_quantizer.input_proj.weight", 3,
                            (const int64_t[]){e->cb_dim, e->d, 1}, err);
    if (!e->proj[1]) goto fail;
    e->codebooks = malloc((size_t)e->n_q * e->cb_size * e->cb_dim * sizeof *e->codebooks);
    e->cb_norm2 = malloc((size_t)e->n_q * e->cb_size * sizeof *e->cb_norm2);
    if (!e->codebooks || !e->cb_norm2) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for %d encoder codebooks", e->n_q);
        goto fail;
    }
    for (int q = 0; q < e->n_q; q++)
        if (load_codebook(e, f, q, err)) goto fail;
    return e;
fail:
    codec_encoder_free(e);
    return NULL;
}

void codec_encoder_free(codec_encoder *e)
{
    if (!e) return;
    for (int i = 0; i < e->n_owned; i++)
        free(e->owned[i]);
    free(e->owned);
    free(e->layers);
    free(e->inv_freq);
    free(e->codebooks);
    free(e->cb_norm2);
    free(e);
}

int codec_encoder_codebooks(const codec_encoder *e)
{
    return e->n_q;
}
int codec_encoder_frame_samples(const codec_encoder *e)
{
    return e->frame_samples;
}
int codec_encoder_sample_rate(const codec_encoder *e)
{
    return e->sample_rate;
}

/* ---- small maths --------------------------------------------------------------------------------------- */

static inline float gelu(float x)
{
    return 0.5f * x * (1.0f + erff(x * (float)M_SQRT1_2));
}

static inline int ceil_div(int a, int b)
{
    return (a + b - 1) / b;
}

/* out = (x - mean) / sqrt(var + eps) * w + b over one row of n (biased variance, as torch) */
static void layernorm(float *out, const float *x, const float *w, const float *b, int n, float eps)
{
    double mean = 0, var = 0;
    for (int i = 0; i < n; i++)
        mean += x[i];
    mean /= n;
    for (int i = 0; i < n; i++)
        var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    float inv = (float)(1.0 / sqrt(var + eps));
    float m = (float)mean;
    for (int i = 0; i < n; i++)
        out[i] = (x[i] - m) * inv * w[i] + b[i];
}

/* NeoX rotate-half RoPE on n_heads vectors of head_dim at position pos (cos/sin as the reference: f32). */
static void rope(float *x, int n_heads, int head_dim, int pos, const float *inv_freq)
{
    int half = head_dim / 2;
    for (int i = 0; i < half; i++) {
        float a = (float)pos * inv_freq[i];
        float c = cosf(a), s = sinf(a);
        for (int h = 0; h < n_heads; h++) {
            float *v = x + (size_t)h * head_dim;
            float x0 = v[i], x1 = v[i + half];
            v[i] = x0 * c - x1 * s;
            v[i + half] = x1 * c + x0 * s;
        }
    }
}

static void transpose(float *out, const float *in, int rows, int cols)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++)
            out[(size_t)c * rows + r] = in[(size_t)r * cols + c];
}

/* ---- run state ----------------------------------------------------------------------------------------- */

typedef struct {
    const codec_encoder *e;
    qt_pool *pool;
    int n_threads;
    float **scratch; /* one per thread */
    size_t scratch_floats;
    qt_elu_fn elu;
} enc_run;

/* Tasks are handed out first come, first served: with the pool's fixed task-to-thread mapping one thread
 * that the OS preempts (a busy machine) would hold up every dispatch. A task's scratch belongs to the worker
 * running it, known through a thread-local index. */
static _Thread_local int enc_worker;

typedef struct {
    qt_pool_fn fn;
    void *ctx;
    int n_tasks;
    atomic_int next;
} task_queue;

static void queue_worker(void *ctx, int worker, int n_workers)
{
    (void)n_workers;
    task_queue *q = ctx;
    enc_worker = worker;
    for (int t; (t = atomic_fetch_add_explicit(&q->next, 1, memory_order_relaxed)) < q->n_tasks;)
        q->fn(q->ctx, t, q->n_tasks);
    enc_worker = 0;
}

static void run_tasks(enc_run *r, qt_pool_fn fn, void *ctx, int n_tasks)
{
    if (r->n_threads == 1 || n_tasks == 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, n_tasks);
    } else {
        task_queue q = {fn, ctx, n_tasks, 0};
        qt_pool_run(r->pool, queue_worker, &q, r->n_threads < n_tasks ? r->n_threads : n_tasks);
    }
}

/* the scratch of the worker running the task (worker w runs pool task w: threadpool.h) */
static float *task_scratch(const enc_run *r, int task)
{
    (void)task;
    return r->scratch[enc_worker];
}

/* ---- parallel GEMM: C[m][n] = A[m][k] . B[n][k]^T (+ beta C) ------------------------------------------- */

typedef struct {
    int m, n, k;
    const float *a, *b;
    int lda, ldb;
    float *c;
    int ldc;
    float beta;
    int split_m, parts;
    int gelu; /* apply GELU to the result (the MLP's fc1) */
} gemm_job;

static void gemm_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    gemm_job *j = ctx;
    int total = j->split_m ? j->m : j->n;
    int lo = (int)((long)total * task / j->parts), hi = (int)((long)total * (task + 1) / j->parts);
    if (lo >= hi) return;
    if (j->split_m)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, hi - lo, j->n, j->k, 1.0f,
                    j->a + (size_t)lo * j->lda, j->lda, j->b, j->ldb, j->beta, j->c + (size_t)lo * j->ldc,
                    j->ldc);
    else
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, j->m, hi - lo, j->k, 1.0f, j->a, j->lda,
                    j->b + (size_t)lo * j->ldb, j->ldb, j->beta, j->c + lo, j->ldc);
    if (j->gelu) {
        int r0 = j->split_m ? lo : 0, r1 = j->split_m ? hi : j->m;
        int c0 = j->split_m ? 0 : lo, c1 = j->split_m ? j->n : hi;
        for (int r = r0; r < r1; r++)
            for (int c = c0; c < c1; c++)
                j->c[(size_t)r * j->ldc + c] = gelu(j->c[(size_t)r * j->ldc + c]);
    }
}

static void gemm_nt(enc_run *r, int m, int n, int k, const float *a, int lda, const float *b, int ldb,
                    float *c, int ldc, float beta, int gelu)
{
    /* two blocks per thread: a preempted thread's share can be picked up by the other */
    int parts = (double)m * n * k < 2e5 ? 1 : 2 * r->n_threads;
    gemm_job j = {m, n, k, a, b, lda, ldb, c, ldc, beta, m >= n, parts, gelu};
    run_tasks(r, gemm_task, &j, j.parts);
}

/* ---- convolution (Mimi's causal padding) --------------------------------------------------------------- */
/* Output length ceil(t_in / stride); the input index of output t, tap i is t*stride + i*dilation - pad with
 * pad = (k-1)*dilation + 1 - stride; outside [0, t_in) reads 0, or the edge value (replicate). The streamed
 * SEANet passes pad 0 and an input that already holds the padding. */

typedef struct {
    const enc_run *r;
    const enc_conv *c;
    const float *x; /* [c_in][x_ld], t_in columns valid */
    int t_in, x_ld, pad;
    int x_elu; /* ELU the input on the way in */
    float *y;  /* [c_out][y_ld], t_out columns written */
    int t_out, y_ld;
    int accumulate; /* y += conv(x) instead of y = conv(x) */
    int y_elu;      /* ELU the output */
    int nb, m_split;
} conv_job;

/* col[(ci*k + i)][c] = act(x)[ci][(t0 + c)*stride + i*dil - pad] for c < nt; seg holds one padded row */
static void im2col(const conv_job *j, int t0, int nt, float *col, float *seg)
{
    const enc_conv *c = j->c;
    int p0 = t0 * c->stride - j->pad;
    int len = (nt - 1) * c->stride + (c->k - 1) * c->dilation + 1;
    for (int ci = 0; ci < c->c_in; ci++) {
        const float *xr = j->x + (size_t)ci * j->x_ld;
        /* [p0, p0 + len) = left padding, input, right padding */
        int a = p0 < 0 ? -p0 : 0, b = j->t_in - p0 < len ? j->t_in - p0 : len;
        if (b < a) b = a;
        float left = c->replicate ? xr[0] : 0.0f, right = c->replicate ? xr[j->t_in - 1] : 0.0f;
        for (int p = 0; p < a; p++)
            seg[p] = left;
        if (b > a) memcpy(seg + a, xr + p0 + a, (size_t)(b - a) * sizeof *seg);
        for (int p = b; p < len; p++)
            seg[p] = right;
        if (j->x_elu) j->r->elu(seg, seg, (size_t)len);
        for (int i = 0; i < c->k; i++) {
            float *dst = col + (size_t)(ci * c->k + i) * nt;
            const float *src = seg + i * c->dilation;
            if (c->stride == 1) {
                memcpy(dst, src, (size_t)nt * sizeof *dst);
            } else {
                for (int t = 0; t < nt; t++)
                    dst[t] = src[t * c->stride];
            }
        }
    }
}

static void conv_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    const conv_job *j = ctx;
    const enc_conv *c = j->c;
    int tb = task / j->m_split, mb = task % j->m_split;
    int t0 = tb * j->nb, nt = j->t_out - t0 < j->nb ? j->t_out - t0 : j->nb;
    int m0 = c->c_out * mb / j->m_split, m1 = c->c_out * (mb + 1) / j->m_split;
    int kk = c->c_in * c->k;
    const float *bm;
    int ldb;
    if (c->k == 1 && c->stride == 1 && !j->x_elu && j->pad == 0) {
        bm = j->x + t0;
        ldb = j->x_ld;
    } else {
        float *col = task_scratch(j->r, task);
        im2col(j, t0, nt, col, col + (size_t)kk * nt);
        bm = col;
        ldb = nt;
    }
    for (int m = m0; m < m1; m++) {
        float *yr = j->y + (size_t)m * j->y_ld + t0;
        float b = c->b ? c->b[m] : 0.0f;
        if (j->accumulate) {
            if (b != 0.0f)
                for (int t = 0; t < nt; t++)
                    yr[t] += b;
        } else {
            for (int t = 0; t < nt; t++)
                yr[t] = b;
        }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m1 - m0, nt, kk, 1.0f, c->w + (size_t)m0 * kk, kk,
                bm, ldb, 1.0f, j->y + (size_t)m0 * j->y_ld + t0, j->y_ld);
    if (j->y_elu)
        for (int m = m0; m < m1; m++) {
            float *yr = j->y + (size_t)m * j->y_ld + t0;
            j->r->elu(yr, yr, (size_t)nt);
        }
}

static int conv_block_cols(const enc_conv *c)
{
    int nb = COL_FLOATS / (c->c_in * c->k);
    if (nb > 1024) nb = 1024;
    if (nb < 16) nb = 16;
    return nb;
}

/* Scratch floats a conv task needs: the im2col block and one padded input row. */
static size_t conv_scratch(const enc_conv *c)
{
    size_t nb = (size_t)conv_block_cols(c);
    return (size_t)c->c_in * c->k * nb + nb * c->stride + (size_t)c->k * c->dilation;
}

static void conv_run(enc_run *r, conv_job *j)
{
    j->r = r;
    j->nb = conv_block_cols(j->c);
    j->m_split = 1;
    int n_tb = ceil_div(j->t_out, j->nb);
    /* few time blocks (the 25 Hz end of the SEANet): split the output channels too */
    while (r->n_threads > 1 && n_tb * j->m_split < 4 * r->n_threads && j->c->c_out / (2 * j->m_split) >= 32)
        j->m_split *= 2;
    run_tasks(r, conv_task, j, n_tb * j->m_split);
}

/* The whole sequence at once, with Mimi's padding: x [c_in][t_in] -> y [c_out][ceil(t_in / stride)]. */
static void conv1d(enc_run *r, const enc_conv *c, const float *x, int t_in, float *y)
{
    int t_out = ceil_div(t_in, c->stride);
    conv_job j = {.c = c,
                  .x = x,
                  .t_in = t_in,
                  .x_ld = t_in,
                  .pad = (c->k - 1) * c->dilation + 1 - c->stride,
                  .y = y,
                  .t_out = t_out,
                  .y_ld = t_out};
    conv_run(r, &j);
}

/* ---- SEANet, streamed ------------------------------------------------------------------------------------
 */
/* The SEANet runs over the clip in chunks so its memory does not grow with the clip (at 24 kHz the first
 * stage alone holds 64 channels per sample). Every conv is causal, so a layer keeps the input columns its
 * next windows still need, prefilled with the zeros of its left padding; at the end it appends the zeros of
 * Mimi's extra right padding so that it makes ceil(received / stride) outputs in all, exactly the whole-clip
 * result. Each layer writes its outputs straight into the next layer's input buffer. */

typedef struct {
    const enc_conv *c;  /* the conv, or the residual block's conv1 */
    const enc_conv *c2; /* the residual block's conv2 (k 1), or NULL */
    int x_elu;          /* ELU the input (every layer but the first) */
    float *buf;         /* [c_in][cap] input columns from index produced * stride - pad on */
    int cap, have;
    long long received, produced;
} sea_layer;

typedef struct {
    sea_layer layer[2 + MAX_STAGES * (MAX_RES + 1)];
    int n_layers;
    float *h; /* [max hidden][max chunk] the residual blocks' hidden activations */
} seanet_stream;

static int sea_window(const enc_conv *c)
{
    return (c->k - 1) * c->dilation + 1;
}

static void seanet_free(seanet_stream *s)
{
    for (int i = 0; i < s->n_layers; i++)
        free(s->layer[i].buf);
    free(s->h);
}

/* chunk: input samples per step. Sizes every buffer for the most a step can hand on. */
static int seanet_init(seanet_stream *s, const codec_encoder *e, int chunk, size_t *scratch)
{
    memset(s, 0, sizeof *s);
    sea_layer *l = s->layer;
    l[s->n_layers++] = (sea_layer){.c = &e->conv_in};
    for (int st = 0; st < e->n_stages; st++) {
        for (int j = 0; j < e->n_res; j++)
            l[s->n_layers++] = (sea_layer){.c = &e->res[st][j].conv1, .c2 = &e->res[st][j].conv2, .x_elu = 1};
        l[s->n_layers++] = (sea_layer){.c = &e->down[st], .x_elu = 1};
    }
    l[s->n_layers++] = (sea_layer){.c = &e->conv_out, .x_elu = 1};
    int in = chunk;
    size_t max_h = 1;
    for (int i = 0; i < s->n_layers; i++) {
        const enc_conv *c = l[i].c;
        int win = sea_window(c), pad = win - c->stride;
        l[i].cap = pad + c->stride + in + win; /* history, leftover, new input, flush zeros */
        l[i].have = pad;
        l[i].buf = calloc((size_t)c->c_in * l[i].cap, sizeof *l[i].buf);
        if (!l[i].buf) return -1;
        int out = (l[i].cap - win) / c->stride + 1;
        if (l[i].c2 && (size_t)c->c_out * out > max_h) max_h = (size_t)c->c_out * out;
        if (conv_scratch(c) > *scratch) *scratch = conv_scratch(c);
        in = out;
    }
    s->h = malloc(max_h * sizeof *s->h);
    return s->h ? 0 : -1;
}

/* Runs layer i on what it holds (final: also the end-of-clip padding) and hands the outputs to layer i + 1,
 * or to out [c_out][out_ld] at column `produced` after the last layer. */
static void seanet_layer_step(enc_run *r, seanet_stream *s, int i, int final, float *out, int out_ld)
{
    sea_layer *l = &s->layer[i];
    const enc_conv *c = l->c;
    int win = sea_window(c), S = c->stride;
    int n_out = l->have >= win ? (l->have - win) / S + 1 : 0;
    if (final) {
        long long total = (l->received + S - 1) / S;
        n_out = (int)(total - l->produced);
        int need = n_out > 0 ? (n_out - 1) * S + win : 0;
        for (int ci = 0; ci < c->c_in && need > l->have; ci++)
            memset(l->buf + (size_t)ci * l->cap + l->have, 0, (size_t)(need - l->have) * sizeof *l->buf);
        if (need > l->have) l->have = need;
    }
    if (n_out <= 0) return;
    float *y;
    int y_ld;
    if (i + 1 < s->n_layers) {
        sea_layer *next = &s->layer[i + 1];
        y = next->buf + next->have;
        y_ld = next->cap;
    } else {
        y = out + l->produced;
        y_ld = out_ld;
    }
    if (!l->c2) {
        conv_job j = {.c = c,
                      .x = l->buf,
                      .t_in = l->have,
                      .x_ld = l->cap,
                      .x_elu = l->x_elu,
                      .y = y,
                      .t_out = n_out,
                      .y_ld = y_ld};
        conv_run(r, &j);
    } else {
        /* y = x + conv2(ELU(conv1(ELU(x)))); output t lines up with input column t + pad */
        conv_job j1 = {.c = c,
                       .x = l->buf,
                       .t_in = l->have,
                       .x_ld = l->cap,
                       .x_elu = 1,
                       .y = s->h,
                       .t_out = n_out,
                       .y_ld = n_out,
                       .y_elu = 1};
        conv_run(r, &j1);
        int pad = win - 1;
        for (int ci = 0; ci < c->c_in; ci++)
            memcpy(y + (size_t)ci * y_ld, l->buf + (size_t)ci * l->cap + pad, (size_t)n_out * sizeof *y);
        conv_job j2 = {.c = l->c2,
                       .x = s->h,
                       .t_in = n_out,
                       .x_ld = n_out,
                       .y = y,
                       .t_out = n_out,
                       .y_ld = y_ld,
                       .accumulate = 1};
        conv_run(r, &j2);
    }
    if (i + 1 < s->n_layers) {
        s->layer[i + 1].have += n_out;
        s->layer[i + 1].received += n_out;
    }
    /* drop the columns no later window needs */
    int drop = n_out * S, keep = l->have - drop;
    for (int ci = 0; ci < c->c_in; ci++)
        memmove(l->buf + (size_t)ci * l->cap, l->buf + (size_t)ci * l->cap + drop,
                (size_t)keep * sizeof *l->buf);
    l->have = keep;
    l->produced += n_out;
}

/* pcm [n] -> out [d][ceil(n / hop)], chunk samples at a time */
static void seanet_run(enc_run *r, seanet_stream *s, const float *pcm, size_t n, int chunk, float *out,
                       int out_ld)
{
    for (size_t done = 0; done < n;) {
        int m = n - done < (size_t)chunk ? (int)(n - done) : chunk;
        sea_layer *l0 = &s->layer[0];
        memcpy(l0->buf + l0->have, pcm + done, (size_t)m * sizeof *pcm);
        l0->have += m;
        l0->received += m;
        done += (size_t)m;
        int final = done == n;
        for (int i = 0; i < s->n_layers; i++)
            seanet_layer_step(r, s, i, final, out, out_ld);
    }
}

/* ---- transformer --------------------------------------------------------------------------------------- */

typedef struct {
    const enc_run *r;
    const float *q, *k, *v; /* [L][qdim] */
    float *o;               /* [L][qdim] */
    int len, n_qb;
} attn_job;

/* one head, one block of query rows: full causal attention (§3.2: the 250 window is not applied) */
static void attn_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    const attn_job *j = ctx;
    const codec_encoder *e = j->r->e;
    int h = task / j->n_qb, q0 = (task % j->n_qb) * ATT_QBLOCK;
    int q1 = q0 + ATT_QBLOCK < j->len ? q0 + ATT_QBLOCK : j->len, nq = q1 - q0, nk = q1;
    int qd = e->qdim, hd = e->head_dim;
    float *s = task_scratch(j->r, task); /* [nq][nk] */
    float scale = 1.0f / sqrtf((float)hd);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, hd, 1.0f, j->q + (size_t)q0 * qd + h * hd,
                qd, j->k + h * hd, qd, 0.0f, s, nk);
    for (int i = 0; i < nq; i++) {
        float *row = s + (size_t)i * nk;
        int n = q0 + i + 1; /* keys 0..t */
        float mx = -INFINITY;
        for (int t = 0; t < n; t++) {
            row[t] *= scale;
            if (row[t] > mx) mx = row[t];
        }
        float sum = 0.0f;
        for (int t = 0; t < n; t++) {
            row[t] = expf(row[t] - mx);
            sum += row[t];
        }
        float inv = 1.0f / sum;
        for (int t = 0; t < n; t++)
            row[t] *= inv;
        for (int t = n; t < nk; t++)
            row[t] = 0.0f;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, hd, nk, 1.0f, s, nk, j->v + h * hd, qd, 0.0f,
                j->o + (size_t)q0 * qd + h * hd, qd);
}

typedef struct {
    float *h, *q, *k, *v, *o, *u; /* [L][d], 4 x [L][qdim], [L][inter] */
} tf_bufs;

/* x: [L][d], updated in place */
static void transformer(enc_run *r, float *x, int len, const tf_bufs *b)
{
    const codec_encoder *e = r->e;
    int d = e->d, qd = e->qdim;
    for (int li = 0; li < e->n_layers; li++) {
        const enc_layer *l = &e->layers[li];
        for (int t = 0; t < len; t++)
            layernorm(b->h + (size_t)t * d, x + (size_t)t * d, l->ln1_w, l->ln1_b, d, e->eps);
        gemm_nt(r, len, qd, d, b->h, d, l->wq, d, b->q, qd, 0.0f, 0);
        gemm_nt(r, len, qd, d, b->h, d, l->wk, d, b->k, qd, 0.0f, 0);
        gemm_nt(r, len, qd, d, b->h, d, l->wv, d, b->v, qd, 0.0f, 0);
        for (int t = 0; t < len; t++) {
            rope(b->q + (size_t)t * qd, e->n_heads, e->head_dim, t, e->inv_freq);
            rope(b->k + (size_t)t * qd, e->n_heads, e->head_dim, t, e->inv_freq);
        }
        attn_job aj = {r, b->q, b->k, b->v, b->o, len, ceil_div(len, ATT_QBLOCK)};
        run_tasks(r, attn_task, &aj, e->n_heads * aj.n_qb);
        gemm_nt(r, len, d, qd, b->o, qd, l->wo, qd, b->h, d, 0.0f, 0);
        for (int t = 0; t < len; t++)
            for (int i = 0; i < d; i++)
                x[(size_t)t * d + i] += l->attn_scale[i] * b->h[(size_t)t * d + i];

        for (int t = 0; t < len; t++)
            layernorm(b->h + (size_t)t * d, x + (size_t)t * d, l->ln2_w, l->ln2_b, d, e->eps);
        gemm_nt(r, len, e->inter, d, b->h, d, l->fc1, d, b->u, e->inter, 0.0f, 1);
        gemm_nt(r, len, d, e->inter, b->u, e->inter, l->fc2, e->inter, b->h, d, 0.0f, 0);
        for (int t = 0; t < len; t++)
            for (int i = 0; i < d; i++)
                x[(size_t)t * d + i] += l->mlp_scale[i] * b->h[(size_t)t * d + i];
    }
}

/* ---- split RVQ ----------------------------------------------------------------------------------------- */

typedef struct {
    const enc_run *r;
    const float *z; /* [F][d] */
    int n_frames;
    int32_t *codes; /* [F][n_q] */
    float *margins; /* [n_q][F] or NULL */
} rvq_job;

/* Nearest entry of codebook q to each of nf residuals r (float64), ties to the first index. rf is r in
 * float32 for the screening GEMM, s its [nf][cb_size] scores. */
static void rvq_nearest(const codec_encoder *e, int q, const double *r, float *rf, float *s, int nf,
                        int32_t *codes, float *margins, int want_all)
{
    const float *cb = e->codebooks + (size_t)q * e->cb_size * e->cb_dim;
    const float *n2 = e->cb_norm2 + (size_t)q * e->cb_size;
    int cd = e->cb_dim, n = e->cb_size;
    float n2max = 0.0f;
    for (int i = 0; i < n; i++)
        if (n2[i] > n2max) n2max = n2[i];
    for (size_t i = 0; i < (size_t)nf * cd; i++)
        rf[i] = (float)r[i];
    /* s = |e|^2 - 2 r.e  (= |r - e|^2 - |r|^2) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nf, n, cd, -2.0f, rf, cd, cb, cd, 0.0f, s, n);
    for (int f = 0; f < nf; f++) {
        const double *rv = r + (size_t)f * cd;
        float *sr = s + (size_t)f * n;
        double rr = 0;
        for (int c = 0; c < cd; c++)
            rr += rv[c] * rv[c];
        float best_s = INFINITY;
        for (int i = 0; i < n; i++) {
            sr[i] += n2[i];
            if (sr[i] < best_s) best_s = sr[i];
        }
        /* float32 error of a score is far below 1e-4 of |r|^2 + |e|^2; everything that close is re-measured
         */
        float tol = want_all ? INFINITY : 1e-4f * ((float)rr + n2max) + 1e-6f;
        double best = INFINITY, second = INFINITY;
        int best_i = 0;
        for (int i = 0; i < n; i++) {
            if (!(sr[i] <= best_s + tol)) continue;
            const float *ev = cb + (size_t)i * cd;
            double dist = 0;
            for (int c = 0; c < cd; c++) {
                double t = rv[c] - (double)ev[c];
                dist += t * t;
            }
            if (dist < best) {
                second = best;
                best = dist;
                best_i = i;
            } else if (dist < second) {
                second = dist;
            }
        }
        codes[(size_t)f * e->n_q + q] = best_i;
        if (margins) margins[f] = (float)(sqrt(second) - sqrt(best));
    }
}

static void rvq_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    const rvq_job *j = ctx;
    const codec_encoder *e = j->r->e;
    int f0 = task * RVQ_FBLOCK, nf = j->n_frames - f0 < RVQ_FBLOCK ? j->n_frames - f0 : RVQ_FBLOCK;
    int cd = e->cb_dim;
    float *u = task_scratch(j->r, task);                         /* [nf][cd] */
    float *s = u + (size_t)RVQ_FBLOCK * cd;                      /* [nf][cb_size] */
    double *r = (double *)(s + (size_t)RVQ_FBLOCK * e->cb_size); /* [nf][cd] */
    float mg[RVQ_FBLOCK];
    for (int g = 0; g < 2; g++) {
        int q0 = g == 0 ? 0 : e->n_sem, q1 = g == 0 ? e->n_sem : e->n_q;
        if (q0 >= q1) continue;
        /* each group projects the same input (the acoustic residual restarts, docs/engine.md §3.2) */
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nf, cd, e->d, 1.0f, j->z + (size_t)f0 * e->d,
                    e->d, e->proj[g], e->d, 0.0f, u, cd);
        for (size_t i = 0; i < (size_t)nf * cd; i++)
            r[i] = u[i];
        for (int q = q0; q < q1; q++) {
            rvq_nearest(e, q, r, u, s, nf, j->codes + (size_t)f0 * e->n_q, j->margins ? mg : NULL,
                        j->margins != NULL);
            if (j->margins)
                for (int f = 0; f < nf; f++)
                    j->margins[(size_t)q * j->n_frames + f0 + f] = mg[f];
            if (q + 1 == q1) break;
            for (int f = 0; f < nf; f++) {
                const float *ev =
                    e->codebooks + ((size_t)q * e->cb_size + j->codes[(size_t)(f0 + f) * e->n_q + q]) * cd;
                for (int c = 0; c < cd; c++)
                    r[(size_t)f * cd + c] -= (double)ev[c];
            }
        }
    }
}

static size_t rvq_scratch(const codec_encoder *e)
{
    return (size_t)RVQ_FBLOCK * (e->cb_dim + e->cb_size + 2 * e->cb_dim) + 2;
}

/* ---- the whole encoder --------------------------------------------------------------------------------- */

int codec_encoder_run(const codec_encoder *e, qt_pool *pool, const float *pcm, size_t n, int32_t *codes,
                      const codec_enc_options *opt, qt_error *err)
{
    if (n == 0) return qt_fail(err, QT_ERR_INVALID, "audio is empty (0 samples): nothing to encode");
    if (n > (size_t)INT_MAX / 4)
        return qt_fail(err, QT_ERR_INVALID, "audio of %zu samples is too long to encode in one piece", n);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(pcm[i]))
            return qt_fail(err, QT_ERR_INVALID, "audio sample %zu is not a finite number", i);
    codec_enc_options none = {0};
    if (!opt) opt = &none;

    enc_run r = {.e = e, .pool = pool, .n_threads = pool ? qt_pool_threads(pool) : 1, .elu = qt_elu_get()};
    int ok = -1;
    /* BLAS runs single-threaded inside our tasks; the caller's setting is put back at the end */
    int blas_threads = openblas_get_num_threads();
    if (blas_threads != 1) openblas_set_num_threads(1);
    float *x = NULL, *tf = NULL, *margins = NULL;
    seanet_stream sea;
    int chunk = opt->chunk_samples > 0 ? opt->chunk_samples : SEANET_CHUNK;
    size_t scr = 0;
    int sea_ok = seanet_init(&sea, e, chunk, &scr) == 0;

    int len = (int)n; /* 25 Hz steps */
    for (int s = 0; s < e->n_stages; s++)
        len = ceil_div(len, e->down[s].stride);
    int n_frames = e->downsample.w ? ceil_div(len, e->downsample.stride) : len;
    if (e->downsample.w && conv_scratch(&e->downsample) > scr) scr = conv_scratch(&e->downsample);
    size_t att = (size_t)ATT_QBLOCK * len;
    if (att > scr) scr = att;
    if (rvq_scratch(e) > scr) scr = rvq_scratch(e);

    int d = e->d, qd = e->qdim;
    size_t tf_floats = (size_t)len * d * 3 + (size_t)len * qd * 4 + (size_t)len * e->inter;
    r.scratch = calloc((size_t)r.n_threads, sizeof *r.scratch);
    tf = malloc(tf_floats * sizeof *tf);
    if (opt->want_margins) margins = malloc((size_t)e->n_q * n_frames * sizeof *margins);
    if (!sea_ok || !r.scratch || !tf || (opt->want_margins && !margins)) goto nomem;
    r.scratch_floats = scr;
    for (int i = 0; i < r.n_threads; i++)
        if (!(r.scratch[i] = malloc((scr + 16) * sizeof(float)))) goto nomem;

    x = tf;
    tf_bufs tb;
    tb.h = x + (size_t)len * d;
    tb.q = tb.h + (size_t)len * d;
    tb.k = tb.q + (size_t)len * qd;
    tb.v = tb.k + (size_t)len * qd;
    tb.o = tb.v + (size_t)len * qd;
    tb.u = tb.o + (size_t)len * qd;
    float *zcm = tb.u + (size_t)len * e->inter; /* [d][len]: the SEANet's output, later the transformer's */

    seanet_run(&r, &sea, pcm, n, chunk, zcm, len);
    if (opt->tap) opt->tap(opt->tap_ctx, "seanet", zcm, d, len);
    transpose(x, zcm, d, len);

    /* transformer, time-major */
    transformer(&r, x, len, &tb);
    transpose(zcm, x, len, d);
    if (opt->tap) opt->tap(opt->tap_ctx, "transformer", zcm, d, len);

    /* downsample to the frame rate (replicate padding), then [F][d] for the RVQ */
    float *z = x; /* reuse: [F][d] fits in [L][d] */
    if (e->downsample.w) {
        conv1d(&r, &e->downsample, zcm, len, tb.h);
        if (opt->tap) opt->tap(opt->tap_ctx, "downsample", tb.h, d, n_frames);
        transpose(z, tb.h, d, n_frames);
    } else {
        if (opt->tap) opt->tap(opt->tap_ctx, "downsample", zcm, d, n_frames);
    }

    rvq_job rj = {&r, z, n_frames, codes, margins};
    run_tasks(&r, rvq_task, &rj, ceil_div(n_frames, RVQ_FBLOCK));
    if (margins && opt->tap) opt->tap(opt->tap_ctx, "margins", margins, e->n_q, n_frames);
    ok = 0;
    goto done;
nomem:
    qt_fail(err, QT_ERR_NOMEM, "no memory to encode %zu samples (%.1f s) of audio", n,
            (double)n / e->sample_rate);
done:
    if (r.scratch)
        for (int i = 0; i < r.n_threads; i++)
            free(r.scratch[i]);
    free(r.scratch);
    seanet_free(&sea);
    free(tf);
    free(margins);
    if (blas_threads != 1) openblas_set_num_threads(blas_threads);
    return ok;
}

/* ---- any rate, and the cost model ---------------------------------------------------------------------- */

int codec_encoder_encode(const codec_encoder *e, qt_pool *pool, const float *pcm, size_t n, int sample_rate,
                         int32_t **codes, int *n_frames, qt_error *err)
{
    *codes = NULL;
    *n_frames = 0;
    if (sample_rate <= 0)
        return qt_fail(err, QT_ERR_INVALID, "audio sample rate %d is not valid", sample_rate);
    if (n == 0) return qt_fail(err, QT_ERR_INVALID, "audio is empty (0 samples): nothing to encode");
    float *resampled = NULL;
    if (sample_rate != e->sample_rate) {
        size_t done = 0;
        if (qt_resample(pcm, n, sample_rate, e->sample_rate, &resampled, &done, err) < 0) return -1;
        if (done == 0) {
            free(resampled);
            return qt_fail(err, QT_ERR_INVALID, "audio of %zu samples at %d Hz is too short to encode", n,
                           sample_rate);
        }
        pcm = resampled;
        n = done;
    }
    int frames = ceil_div((int)(n < (size_t)INT_MAX ? n : (size_t)INT_MAX), e->frame_samples);
    int32_t *out = malloc((size_t)frames * e->n_q * sizeof *out);
    if (!out) {
        free(resampled);
        return qt_fail(err, QT_ERR_NOMEM, "no memory for %d frames of codes", frames);
    }
    if (codec_encoder_run(e, pool, pcm, n, out, NULL, err)) {
        free(out);
        free(resampled);
        return -1;
    }
    free(resampled);
    *codes = out;
    *n_frames = frames;
    return 0;
}

static double conv_flops(const enc_conv *c, double t_out)
{
    return 2.0 * c->c_out * c->c_in * c->k * t_out;
}

double codec_encoder_flops_per_second(const codec_encoder *e, double seconds)
{
    double t = e->sample_rate, fl = conv_flops(&e->conv_in, t);
    for (int s = 0; s < e->n_stages; s++) {
        for (int j = 0; j < e->n_res; j++)
            fl += conv_flops(&e->res[s][j].conv1, t) + conv_flops(&e->res[s][j].conv2, t);
        t /= e->down[s].stride;
        fl += conv_flops(&e->down[s], t);
    }
    fl += conv_flops(&e->conv_out, t);
    /* per 25 Hz step: q,k,v,o projections, MLP, and attention over on average half the clip */
    double avg_keys = t * seconds / 2.0;
    double per_step = 2.0 * (4.0 * e->d * e->qdim + 2.0 * e->d * e->inter) + 2.0 * 2.0 * e->qdim * avg_keys;
    fl += t * e->n_layers * per_step;
    double frames = e->downsample.w ? t / e->downsample.stride : t;
    if (e->downsample.w) fl += conv_flops(&e->downsample, frames);
    fl += frames * (2.0 * 2.0 * e->cb_dim * e->d + 2.0 * e->n_q * e->cb_size * e->cb_dim);
    return fl;
}
