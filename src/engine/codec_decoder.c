/* codec_decoder.c — speech-tokenizer decoder, codes -> 24 kHz (docs/engine.md §7), as a stateful causal step.
 *
 * Layout: activations are channel-major [channels, time] everywhere, like the reference (the attention's
 * key/value cache alone is time-major). Convolutions are im2col + a matrix product with the weights read in
 * place from the mmap'd file ([c_out, c_in*k] is already the product's row-major matrix); transposed
 * convolutions are one product with the weight read transposed ([c_in, c_out*k]) followed by an
 * overlap-add whose right overlap is carried to the next step. Products go through qt_codec_gemm, whose
 * result does not depend on how the work is split, so any chunking of the frames and any thread count give
 * the same bits. Threads: each pool task owns a slice of the columns (time) or of the rows (channels).
 * This file must not decide anything about chunking policy, threads or code validation (codec.c does).
 */
#include "engine/codec_decoder.h"
#include "engine/codec_gemm.h"
#include "engine/codec_gemm_bf16.h"
#include "engine/codec_snake.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STAGES 8
#define MAX_MAPPED 1024 /* tensors the decoder reads: 271 for the real codec */
#define MAX_CODEBOOKS 64
#define N_RES_UNITS 3
#define COL_FLOATS (1 << 20) /* per-thread im2col scratch: 4 MiB */
#define MAX_HIST (4 + 2 * MAX_STAGES + MAX_STAGES * N_RES_UNITS)
#define MIN_TILE 64             /* fewer columns per task than this: split rows instead */
#define DISPATCH_MIN_MACS 1.5e6 /* ~10 us of one core: smaller products run on the calling thread */
/* Below these sizes an elementwise loop runs on the calling thread: waking the pool costs more. */
#define OLA_MIN_PARALLEL 100000    /* transposed-conv overlap-add outputs */
#define SNAKE_MIN_PARALLEL 50000   /* SnakeBeta elements */
#define ATTENTION_MIN_PARALLEL 256 /* query x key pairs */

static const int res_dilation[N_RES_UNITS] = {1, 3, 9};

/* ---- weights ---------------------------------------------------------------------------------------- */

typedef struct {
    const uint16_t *w; /* bf16 [rows, ld], the product's A; made by codec_decoder_set_bf16 (§7.8) */
    ptrdiff_t ld;
} bf16_w;

typedef struct {
    const float *w; /* [c_out, c_in, k] row-major = the GEMM matrix [c_out, c_in*k] */
    const float *b; /* [c_out] */
    int c_out, c_in, k, dil;
    bf16_w h; /* [c_out, c_in*k] */
} conv_w;

typedef struct {
    const float *w;             /* [c_in, c_out, k] (PyTorch ConvTranspose1d layout) */
    const float *b;             /* [c_out] */
    int c_in, c_out, k, stride; /* k is stride or 2*stride */
    bf16_w h;                   /* transposed: [c_out*k, c_in] */
} convtr_w;

typedef struct {
    const float *a, *inv_b; /* [c]: e^alpha, 1/(e^beta + 1e-9), computed at load */
    int c;
} snake_w;

typedef struct {
    const float *attn_norm;     /* [H] */
    const float *wq, *wk, *wv;  /* [n_heads*hd, H], [n_kv*hd, H], [n_kv*hd, H] */
    const float *wo;            /* [H, n_heads*hd] */
    const float *attn_scale;    /* [H] layer scale */
    const float *mlp_norm;      /* [H] */
    const float *w_gate, *w_up; /* [I, H] */
    const float *w_down;        /* [H, I] */
    const float *mlp_scale;     /* [H] */
    bf16_w hq, hk, hv, ho, hgate, hup, hdown;
} tf_layer;

typedef struct {
    convtr_w up;              /* k = stride = ratio: no overlap */
    const float *dw_w, *dw_b; /* depthwise causal conv [C, 1, k], [C] */
    int dw_k;
    const float *ln_w, *ln_b; /* LayerNorm over channels, eps 1e-6 */
    conv_w pw1, pw2;          /* Linear C->4C, 4C->C as 1x1 convs */
    const float *gamma;       /* [C] */
} upsample_w;

typedef struct {
    snake_w act1;
    conv_w conv1; /* k7, dilation 1/3/9 */
    snake_w act2;
    conv_w conv2; /* k1 */
} resunit_w;

typedef struct {
    snake_w act;
    convtr_w up; /* k = 2r, stride r, right-trimmed by r */
    resunit_w res[N_RES_UNITS];
} block_w;

struct codec_decoder {
    qt_codec_decoder_config cfg;
    int n_q, half, cb_size, q_dim; /* codebooks, codebook vector width, entries, quantizer output */
    int latent, hidden, inter, n_heads, n_kv, head_dim, window;
    float rms_eps;
    const float *cb_sum[MAX_CODEBOOKS];   /* [cb_size, half] */
    const float *cb_usage[MAX_CODEBOOKS]; /* [cb_size] */
    conv_w proj_first, proj_rest;         /* 1x1 [q_dim, half] */
    conv_w pre_conv;                      /* causal k3, q_dim -> latent */
    const float *in_proj_w, *in_proj_b;   /* [H, L], [H] */
    tf_layer *layers;
    const float *norm;                    /* [H] */
    const float *out_proj_w, *out_proj_b; /* [L, H], [L] */
    bf16_w h_in_proj, h_out_proj;
    int n_up;
    upsample_w up[MAX_STAGES];
    conv_w dec0; /* causal k7, latent -> decoder_dim */
    int n_blocks;
    block_w blocks[MAX_STAGES];
    snake_w final_act;
    conv_w final_conv; /* causal k7, c_last -> 1 */
    float *inv_freq;   /* [head_dim/2] RoPE */
    int frame_samples;
    qt_snake_fn snake;
    qt_codec_gemm_fn gemm;
    qt_codec_gemm_bf16_fn gemm16;
    int bf16;      /* products in bf16 (§7.8); the copies below exist once it was first set */
    int have_bf16; /* the bf16 copies are made */
    const st_file *st;
    const st_tensor *mapped[MAX_MAPPED]; /* tensors read in place from st */
    int n_mapped;
    void **owned; /* copies this decoder frees */
    int n_owned, cap_owned;
};

/* ---- loading ---------------------------------------------------------------------------------------- */

typedef struct {
    const st_file *f;
    codec_decoder *d;
    qt_error *err;
    int failed;
} loader;

/* m (malloc'd) joins what the decoder frees; on failure it is freed here and 0 returned */
static int keep(codec_decoder *d, void *m)
{
    if (!m) return 0;
    if (d->n_owned == d->cap_owned) {
        int cap = d->cap_owned ? 2 * d->cap_owned : 64;
        void **p = realloc(d->owned, (size_t)cap * sizeof *p);
        if (!p) {
            free(m);
            return 0;
        }
        d->owned = p;
        d->cap_owned = cap;
    }
    d->owned[d->n_owned++] = m;
    return 1;
}

static void *own(loader *l, size_t bytes)
{
    void *m = calloc(1, bytes ? bytes : 1);
    return keep(l->d, m) ? m : NULL;
}

/* The F32 tensor named by fmt with the given shape (-1: any extent; *got receives the file's shape when
 * not NULL). NULL after the first failure; a misaligned tensor is copied (the format does not promise
 * alignment). */
static const float *tensor(loader *l, int64_t *got, int n_dims, const int64_t *shape, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static const float *tensor(loader *l, int64_t *got, int n_dims, const int64_t *shape, const char *fmt, ...)
{
    if (l->failed) return NULL;
    char name[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(name, sizeof name, fmt, ap);
    va_end(ap);
    const st_tensor *t = st_expect(l->f, name, ST_F32, n_dims, shape, l->err);
    if (!t) {
        l->failed = 1;
        return NULL;
    }
    if (got)
        for (int i = 0; i < n_dims; i++)
            got[i] = t->shape[i];
    if (((uintptr_t)t->data & (sizeof(float) - 1)) == 0) {
        codec_decoder *d = l->d;
        if (d->n_mapped < MAX_MAPPED) d->mapped[d->n_mapped++] = t; /* for st_release (§7.8) */
        return t->data;
    }
    float *copy = own(l, t->n_bytes);
    if (!copy) {
        l->failed = 1;
        qt_fail(l->err, QT_ERR_NOMEM, "speech tokenizer: no memory for a copy of '%s'", name);
        return NULL;
    }
    memcpy(copy, t->data, t->n_bytes);
    return copy;
}

static void load_conv(loader *l, conv_w *c, int c_out, int c_in, int k, int dil, const char *prefix)
{
    int64_t shape[3] = {c_out, c_in, k}, got[3] = {0, 0, 0};
    c->w = tensor(l, got, 3, shape, "%s.weight", prefix);
    c->c_out = c_out;
    c->c_in = c_in;
    c->k = (int)got[2];
    c->dil = dil;
    int64_t bshape[1] = {c_out};
    c->b = tensor(l, NULL, 1, bshape, "%s.bias", prefix);
}

static void load_convtr(loader *l, convtr_w *c, int c_in, int c_out, int stride, const char *prefix)
{
    int64_t shape[3] = {c_in, c_out, -1}, got[3] = {0, 0, 0};
    c->w = tensor(l, got, 3, shape, "%s.weight", prefix);
    c->c_in = c_in;
    c->c_out = c_out;
    c->k = (int)got[2];
    c->stride = stride;
    int64_t bshape[1] = {c_out};
    c->b = tensor(l, NULL, 1, bshape, "%s.bias", prefix);
    if (!l->failed && c->k != stride && c->k != 2 * stride) {
        l->failed = 1;
        qt_fail(l->err, QT_ERR_CORRUPT,
                "speech tokenizer: '%s.weight' has kernel %d for stride %d (expected %d or %d)", prefix, c->k,
                stride, stride, 2 * stride);
    }
}

static void load_snake(loader *l, snake_w *s, int c, const char *prefix)
{
    int64_t shape[1] = {c};
    const float *alpha = tensor(l, NULL, 1, shape, "%s.alpha", prefix);
    const float *beta = tensor(l, NULL, 1, shape, "%s.beta", prefix);
    s->c = c;
    if (l->failed) return;
    float *a = own(l, (size_t)c * sizeof *a), *ib = own(l, (size_t)c * sizeof *ib);
    if (!a || !ib) {
        l->failed = 1;
        qt_fail(l->err, QT_ERR_NOMEM, "speech tokenizer: no memory for the SnakeBeta parameters of '%s'",
                prefix);
        return;
    }
    for (int i = 0; i < c; i++) { /* alpha and beta are stored in log space (docs/engine.md §7) */
        a[i] = expf(alpha[i]);
        ib[i] = 1.0f / (expf(beta[i]) + 1e-9f);
    }
    s->a = a;
    s->inv_b = ib;
}

static const float *vec(loader *l, int n, const char *fmt, const char *arg)
{
    int64_t shape[1] = {n};
    return tensor(l, NULL, 1, shape, fmt, arg);
}

static const float *mat(loader *l, int rows, int cols, const char *fmt, const char *arg)
{
    int64_t shape[2] = {rows, cols};
    return tensor(l, NULL, 2, shape, fmt, arg);
}

codec_decoder *codec_decoder_load(const st_file *f, const qt_codec_decoder_config *cfg, qt_error *err)
{
    codec_decoder *d = calloc(1, sizeof *d);
    if (!d) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for the decoder");
        return NULL;
    }
    loader l = {f, d, err, 0};
    char p[192];
    d->cfg = *cfg;
    d->st = f;
    d->n_q = cfg->num_quantizers;
    d->cb_size = cfg->codebook_size;
    d->q_dim = cfg->codebook_dim;
    d->half = cfg->codebook_dim / 2;
    d->latent = cfg->latent_dim;
    d->hidden = cfg->hidden;
    d->inter = cfg->intermediate;
    d->n_heads = cfg->n_heads;
    d->n_kv = cfg->n_kv_heads;
    d->head_dim = cfg->head_dim;
    d->window = cfg->sliding_window;
    d->rms_eps = cfg->rms_norm_eps;
    d->n_up = cfg->n_upsampling_ratios;
    d->n_blocks = cfg->n_upsample_rates;
    d->snake = qt_snake_get();
    d->gemm = qt_codec_gemm_get(NULL);
    d->gemm16 = qt_codec_gemm_bf16_get(NULL);
    if (d->n_q < 2 || d->n_q > MAX_CODEBOOKS || cfg->num_semantic_quantizers != 1 || d->q_dim % 2 ||
        d->n_kv <= 0 || d->n_heads % d->n_kv || d->head_dim % 2 || d->window < 1 || d->n_up > MAX_STAGES ||
        d->n_blocks < 1 || d->n_blocks > MAX_STAGES || (cfg->decoder_dim >> d->n_blocks) < 1) {
        qt_fail(err, QT_ERR_CORRUPT,
                "speech tokenizer config: unsupported decoder shape (%d quantizers, %d "
                "semantic, codebook_dim %d, %d/%d heads, %d upsample rates)",
                d->n_q, cfg->num_semantic_quantizers, d->q_dim, d->n_heads, d->n_kv, d->n_blocks);
        goto fail;
    }

    /* §7.1 codebooks and output projections */
    int64_t cb_shape[2] = {d->cb_size, d->half}, us_shape[1] = {d->cb_size};
    for (int k = 0; k < d->n_q; k++) {
        if (k == 0)
            snprintf(p, sizeof p, "decoder.quantizer.rvq_first.vq.layers.0._codebook");
        else
            snprintf(p, sizeof p, "decoder.quantizer.rvq_rest.vq.layers.%d._codebook", k - 1);
        d->cb_sum[k] = tensor(&l, NULL, 2, cb_shape, "%s.embedding_sum", p);
        d->cb_usage[k] = tensor(&l, NULL, 1, us_shape, "%s.cluster_usage", p);
    }
    int64_t op_shape[3] = {d->q_dim, d->half, 1};
    d->proj_first = (conv_w){tensor(&l, NULL, 3, op_shape, "decoder.quantizer.rvq_first.output_proj.weight"),
                             NULL,
                             d->q_dim,
                             d->half,
                             1,
                             1,
                             {NULL, 0}};
    d->proj_rest = (conv_w){tensor(&l, NULL, 3, op_shape, "decoder.quantizer.rvq_rest.output_proj.weight"),
                            NULL,
                            d->q_dim,
                            d->half,
                            1,
                            1,
                            {NULL, 0}};

    /* §7.2 pre_conv, §7.3 transformer */
    load_conv(&l, &d->pre_conv, d->latent, d->q_dim, 3, 1, "decoder.pre_conv.conv");
    d->in_proj_w = mat(&l, d->hidden, d->latent, "%s.weight", "decoder.pre_transformer.input_proj");
    d->in_proj_b = vec(&l, d->hidden, "%s.bias", "decoder.pre_transformer.input_proj");
    d->layers = own(&l, (size_t)cfg->n_layers * sizeof *d->layers);
    if (!d->layers) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for the decoder layers");
        goto fail;
    }
    int qd = d->n_heads * d->head_dim, kvd = d->n_kv * d->head_dim;
    for (int i = 0; i < cfg->n_layers; i++) {
        tf_layer *y = &d->layers[i];
        snprintf(p, sizeof p, "decoder.pre_transformer.layers.%d", i);
        y->attn_norm = vec(&l, d->hidden, "%s.input_layernorm.weight", p);
        y->wq = mat(&l, qd, d->hidden, "%s.self_attn.q_proj.weight", p);
        y->wk = mat(&l, kvd, d->hidden, "%s.self_attn.k_proj.weight", p);
        y->wv = mat(&l, kvd, d->hidden, "%s.self_attn.v_proj.weight", p);
        y->wo = mat(&l, d->hidden, qd, "%s.self_attn.o_proj.weight", p);
        y->attn_scale = vec(&l, d->hidden, "%s.self_attn_layer_scale.scale", p);
        y->mlp_norm = vec(&l, d->hidden, "%s.post_attention_layernorm.weight", p);
        y->w_gate = mat(&l, d->inter, d->hidden, "%s.mlp.gate_proj.weight", p);
        y->w_up = mat(&l, d->inter, d->hidden, "%s.mlp.up_proj.weight", p);
        y->w_down = mat(&l, d->hidden, d->inter, "%s.mlp.down_proj.weight", p);
        y->mlp_scale = vec(&l, d->hidden, "%s.mlp_layer_scale.scale", p);
    }
    d->norm = vec(&l, d->hidden, "%s.weight", "decoder.pre_transformer.norm");
    d->out_proj_w = mat(&l, d->latent, d->hidden, "%s.weight", "decoder.pre_transformer.output_proj");
    d->out_proj_b = vec(&l, d->latent, "%s.bias", "decoder.pre_transformer.output_proj");

    /* §7.4 upsamplers */
    int L = d->latent;
    d->frame_samples = 1;
    for (int i = 0; i < d->n_up; i++) {
        upsample_w *u = &d->up[i];
        snprintf(p, sizeof p, "decoder.upsample.%d.0.conv", i);
        load_convtr(&l, &u->up, L, L, cfg->upsampling_ratios[i], p);
        snprintf(p, sizeof p, "decoder.upsample.%d.1", i);
        int64_t dw_shape[3] = {L, 1, -1}, got[3] = {0, 0, 0};
        u->dw_w = tensor(&l, got, 3, dw_shape, "%s.dwconv.conv.weight", p);
        u->dw_k = (int)got[2];
        u->dw_b = vec(&l, L, "%s.dwconv.conv.bias", p);
        u->ln_w = vec(&l, L, "%s.norm.weight", p);
        u->ln_b = vec(&l, L, "%s.norm.bias", p);
        int64_t pw_shape[2] = {-1, L}, pw_got[2] = {0, 0};
        const float *pw1 = tensor(&l, pw_got, 2, pw_shape, "%s.pwconv1.weight", p);
        int wide = (int)pw_got[0];
        u->pw1 = (conv_w){pw1, vec(&l, wide, "%s.pwconv1.bias", p), wide, L, 1, 1, {NULL, 0}};
        u->pw2 = (conv_w){mat(&l, L, wide, "%s.pwconv2.weight", p),
                          vec(&l, L, "%s.pwconv2.bias", p),
                          L,
                          wide,
                          1,
                          1,
                          {NULL, 0}};
        u->gamma = vec(&l, L, "%s.gamma", p);
        d->frame_samples *= cfg->upsampling_ratios[i];
    }

    /* §7.5-7.7 the vocoder */
    int C = cfg->decoder_dim;
    load_conv(&l, &d->dec0, C, L, -1, 1, "decoder.decoder.0.conv");
    for (int i = 0; i < d->n_blocks; i++) {
        block_w *b = &d->blocks[i];
        int r = cfg->upsample_rates[i], co = C / 2;
        snprintf(p, sizeof p, "decoder.decoder.%d.block.0", i + 1);
        load_snake(&l, &b->act, C, p);
        snprintf(p, sizeof p, "decoder.decoder.%d.block.1.conv", i + 1);
        load_convtr(&l, &b->up, C, co, r, p);
        for (int j = 0; j < N_RES_UNITS; j++) {
            resunit_w *u = &b->res[j];
            snprintf(p, sizeof p, "decoder.decoder.%d.block.%d.act1", i + 1, j + 2);
            load_snake(&l, &u->act1, co, p);
            snprintf(p, sizeof p, "decoder.decoder.%d.block.%d.conv1.conv", i + 1, j + 2);
            load_conv(&l, &u->conv1, co, co, -1, res_dilation[j], p);
            snprintf(p, sizeof p, "decoder.decoder.%d.block.%d.act2", i + 1, j + 2);
            load_snake(&l, &u->act2, co, p);
            snprintf(p, sizeof p, "decoder.decoder.%d.block.%d.conv2.conv", i + 1, j + 2);
            load_conv(&l, &u->conv2, co, co, 1, 1, p);
        }
        d->frame_samples *= r;
        C = co;
    }
    snprintf(p, sizeof p, "decoder.decoder.%d", d->n_blocks + 1);
    load_snake(&l, &d->final_act, C, p);
    snprintf(p, sizeof p, "decoder.decoder.%d.conv", d->n_blocks + 2);
    load_conv(&l, &d->final_conv, 1, C, -1, 1, p);
    if (l.failed) goto fail;

    d->inv_freq = own(&l, (size_t)(d->head_dim / 2) * sizeof *d->inv_freq);
    if (!d->inv_freq) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for the decoder");
        goto fail;
    }
    for (int i = 0; i < d->head_dim / 2; i++) /* as the reference: 1 / theta^(2i/hd) in float32 */
        d->inv_freq[i] = 1.0f / powf(cfg->rope_theta, (float)(2 * i) / (float)d->head_dim);
    return d;
fail:
    codec_decoder_free(d);
    return NULL;
}

void codec_decoder_free(codec_decoder *d)
{
    if (!d) return;
    for (int i = 0; i < d->n_owned; i++)
        free(d->owned[i]);
    free(d->owned);
    free(d);
}

/* ---- the bf16 copies (§7.8) ------------------------------------------------------------------------- */

/* The weights' split copies, made on the pool (one weight per task at a time). Then each float32 weight's
 * pages leave the resident set (a later float32 decode reads them back from the file), so the bf16 path
 * takes no more memory than the float32 one. */
#define MAX_SPLITS 256 /* weights with a split copy: 98 for the real codec */

typedef struct {
    bf16_w *h;
    const float *w;
    int rows, k;
    ptrdiff_t rs, ks;
    uint16_t *out;
} split_item;

typedef struct {
    const codec_decoder *d;
    split_item item[MAX_SPLITS];
    int n;
    atomic_int next;
} split_job;

static void split_add(split_job *j, bf16_w *h, const float *w, int rows, int k, ptrdiff_t rs, ptrdiff_t ks)
{
    if (j->n < MAX_SPLITS) j->item[j->n++] = (split_item){h, w, rows, k, rs, ks, NULL};
}

static void split_conv(split_job *j, conv_w *c)
{
    split_add(j, &c->h, c->w, c->c_out, c->c_in * c->k, (ptrdiff_t)c->c_in * c->k, 1);
}

static void split_convtr(split_job *j, convtr_w *u) /* A[(co, tap), ci] = w[ci, co, tap] */
{
    split_add(j, &u->h, u->w, u->c_out * u->k, u->c_in, 1, (ptrdiff_t)u->c_out * u->k);
}

static void split_task(void *ctx, int task, int n_tasks)
{
    split_job *j = ctx;
    const codec_decoder *d = j->d;
    (void)task;
    (void)n_tasks;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n;) {
        split_item *it = &j->item[i];
        it->out = qt_codec_bf16_matrix(it->w, it->rows, it->k, it->rs, it->ks, &it->h->ld);
        if (!it->out) continue;
        for (int m = 0; m < d->n_mapped; m++) /* at once: the peak stays near the float32 size */
            if (d->mapped[m]->data == (const void *)it->w) st_release(d->st, d->mapped[m]);
    }
}

static int make_bf16(codec_decoder *d, qt_pool *pool)
{
    split_job *j = calloc(1, sizeof *j);
    if (!j) return -1;
    j->d = d;
    split_conv(j, &d->proj_first);
    split_conv(j, &d->proj_rest);
    split_conv(j, &d->pre_conv);
    split_add(j, &d->h_in_proj, d->in_proj_w, d->hidden, d->latent, d->latent, 1);
    split_add(j, &d->h_out_proj, d->out_proj_w, d->latent, d->hidden, d->hidden, 1);
    int H = d->hidden, qd = d->n_heads * d->head_dim, kvd = d->n_kv * d->head_dim;
    for (int i = 0; i < d->cfg.n_layers; i++) {
        tf_layer *y = &d->layers[i];
        split_add(j, &y->hq, y->wq, qd, H, H, 1);
        split_add(j, &y->hk, y->wk, kvd, H, H, 1);
        split_add(j, &y->hv, y->wv, kvd, H, H, 1);
        split_add(j, &y->ho, y->wo, H, qd, qd, 1);
        split_add(j, &y->hgate, y->w_gate, d->inter, H, H, 1);
        split_add(j, &y->hup, y->w_up, d->inter, H, H, 1);
        split_add(j, &y->hdown, y->w_down, H, d->inter, d->inter, 1);
    }
    for (int i = 0; i < d->n_up; i++) {
        split_convtr(j, &d->up[i].up);
        split_conv(j, &d->up[i].pw1);
        split_conv(j, &d->up[i].pw2);
    }
    split_conv(j, &d->dec0);
    for (int i = 0; i < d->n_blocks; i++) {
        split_convtr(j, &d->blocks[i].up);
        for (int r = 0; r < N_RES_UNITS; r++) {
            split_conv(j, &d->blocks[i].res[r].conv1);
            split_conv(j, &d->blocks[i].res[r].conv2);
        }
    }
    split_conv(j, &d->final_conv);
    atomic_init(&j->next, 0);
    if (pool && qt_pool_threads(pool) > 1)
        qt_pool_run(pool, split_task, j, qt_pool_threads(pool));
    else
        split_task(j, 0, 1);
    int bad = 0;
    for (int i = 0; i < j->n; i++) {
        split_item *it = &j->item[i];
        if (!keep(d, it->out)) { /* out of memory: the copies made so far stay owned, none is used */
            bad = 1;
            continue;
        }
        it->h->w = it->out;
    }
    free(j);
    return bad ? -1 : 0;
}

int codec_decoder_set_bf16(codec_decoder *d, int on, qt_pool *pool, qt_error *err)
{
    if (!d->gemm16) on = 0; /* no AMX: float32 is the faster (qt_codec_gemm_bf16_get) */
    if (on && !d->have_bf16) {
        if (make_bf16(d, pool) != 0)
            return qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory for the decoder's bf16 weights");
        d->have_bf16 = 1;
    }
    d->bf16 = on != 0;
    return 0;
}

int codec_decoder_bf16(const codec_decoder *d)
{
    return d->bf16;
}

int codec_decoder_frame_samples(const codec_decoder *d)
{
    return d->frame_samples;
}

int codec_decoder_codebooks(const codec_decoder *d)
{
    return d->n_q;
}

int codec_decoder_codebook_size(const codec_decoder *d)
{
    return d->cb_size;
}

/* ---- run state -------------------------------------------------------------------------------------- */

struct codec_dec_state {
    int max_chunk, n_threads;
    int64_t pos; /* frames decoded so far: the RoPE position of the next frame */
    int n_past;  /* rows of past keys/values held (<= window-1) */
    codec_dec_tap_fn tap;
    void *tap_ctx;
    /* history */
    float *h_pre_conv;                     /* [q_dim, 2] */
    float **kc, **vc;                      /* per layer [window-1 + max_chunk, n_kv*hd] */
    float *h_dw[MAX_STAGES];               /* [latent, dw_k-1] */
    float *h_dec0;                         /* [latent, k-1] */
    float *tail[MAX_STAGES];               /* [c_out, k-stride] transposed-conv overlap */
    float *h_res[MAX_STAGES][N_RES_UNITS]; /* [c, (k-1)*dil] */
    float *h_final;                        /* [c_last, k-1] */
    /* scratch */
    float *e_first, *e_rest;                                   /* [half, max_chunk] */
    float *x, *xn, *q, *kn, *vn, *att, *gate, *upv, *tmp, *ss; /* transformer, channel-major */
    float *buf[4];         /* channel-major stage buffers, big floats each */
    float **col;           /* per thread [COL_FLOATS] */
    float **work;          /* per thread [COL_FLOATS]: a residual unit's snake and middle tiles */
    float **scores;        /* per thread [window + max_chunk] */
    float *hist[MAX_HIST]; /* every history buffer above, zeroed by a reset */
    size_t hist_len[MAX_HIST];
    int n_hist;
    void **allocs;
    int n_allocs, cap_allocs;
};

static void *salloc_bytes(codec_dec_state *s, size_t bytes)
{
    if (s->n_allocs == s->cap_allocs) {
        int cap = s->cap_allocs ? 2 * s->cap_allocs : 64;
        void **p = realloc(s->allocs, (size_t)cap * sizeof *p);
        if (!p) return NULL;
        s->allocs = p;
        s->cap_allocs = cap;
    }
    void *m = calloc(1, bytes ? bytes : 1);
    if (m) s->allocs[s->n_allocs++] = m;
    return m;
}

static float *salloc(codec_dec_state *s, size_t n)
{
    return salloc_bytes(s, n * sizeof(float));
}

static size_t max_sz(size_t a, size_t b)
{
    return a > b ? a : b;
}

codec_dec_state *codec_dec_state_new(const codec_decoder *d, int max_chunk, int n_threads, qt_error *err)
{
    codec_dec_state *s = calloc(1, sizeof *s);
    if (!s) {
        qt_fail(err, QT_ERR_NOMEM, "codec decoder: no memory for a decoding state");
        return NULL;
    }
    if (max_chunk < 1) max_chunk = 1;
    if (n_threads < 1) n_threads = 1;
    s->max_chunk = max_chunk;
    s->n_threads = n_threads;
    int ok = 1, mc = max_chunk, H = d->hidden, L = d->latent;
    size_t qd = (size_t)d->n_heads * d->head_dim, kvd = (size_t)d->n_kv * d->head_dim;
    size_t rows = (size_t)(d->window - 1 + mc);
#define ALLOC(dst, n)                                                                                        \
    do {                                                                                                     \
        (dst) = salloc(s, (n));                                                                              \
        ok = ok && (dst);                                                                                    \
    } while (0)
#define HIST(dst, n)                                                                                         \
    do {                                                                                                     \
        ALLOC(dst, n);                                                                                       \
        if (s->n_hist < MAX_HIST) {                                                                          \
            s->hist[s->n_hist] = (dst);                                                                      \
            s->hist_len[s->n_hist++] = (n);                                                                  \
        }                                                                                                    \
    } while (0)
    HIST(s->h_pre_conv, (size_t)d->q_dim * (d->pre_conv.k - 1));
    s->kc = salloc_bytes(s, (size_t)d->cfg.n_layers * 2 * sizeof(float *));
    ok = ok && s->kc;
    if (ok) {
        s->vc = s->kc + d->cfg.n_layers;
        for (int i = 0; i < d->cfg.n_layers; i++) {
            ALLOC(s->kc[i], rows * kvd);
            ALLOC(s->vc[i], rows * kvd);
        }
    }
    ALLOC(s->e_first, (size_t)d->half * mc);
    ALLOC(s->e_rest, (size_t)d->half * mc);
    ALLOC(s->x, (size_t)mc * max_sz((size_t)H, (size_t)L));
    ALLOC(s->xn, (size_t)mc * H);
    ALLOC(s->q, (size_t)mc * qd);
    ALLOC(s->kn, (size_t)mc * kvd);
    ALLOC(s->vn, (size_t)mc * kvd);
    ALLOC(s->ss, (size_t)mc);
    ALLOC(s->att, (size_t)mc * qd);
    ALLOC(s->gate, (size_t)mc * d->inter);
    ALLOC(s->upv, (size_t)mc * d->inter);
    ALLOC(s->tmp, (size_t)mc * max_sz((size_t)H, (size_t)L));

    /* the largest [channels, time] any stage holds, transposed-conv products included */
    size_t big = (size_t)d->q_dim * mc, len = (size_t)mc;
    big = max_sz(big, (size_t)L * len);
    for (int i = 0; i < d->n_up; i++) {
        const upsample_w *u = &d->up[i];
        big = max_sz(big, (size_t)u->up.c_out * u->up.k * len);
        len *= (size_t)u->up.stride;
        big = max_sz(big, (size_t)u->pw1.c_out * len);
        HIST(s->h_dw[i], (size_t)L * (u->dw_k - 1));
    }
    big = max_sz(big, (size_t)d->dec0.c_out * len);
    HIST(s->h_dec0, (size_t)L * (d->dec0.k - 1) * d->dec0.dil);
    for (int i = 0; i < d->n_blocks; i++) {
        const block_w *b = &d->blocks[i];
        big = max_sz(big, (size_t)b->up.c_out * b->up.k * len);
        len *= (size_t)b->up.stride;
        big = max_sz(big, (size_t)b->up.c_out * len);
        HIST(s->tail[i], (size_t)b->up.c_out * (b->up.k - b->up.stride));
        for (int j = 0; j < N_RES_UNITS; j++)
            HIST(s->h_res[i][j],
                 (size_t)b->res[j].conv1.c_in * (b->res[j].conv1.k - 1) * b->res[j].conv1.dil);
    }
    HIST(s->h_final, (size_t)d->final_conv.c_in * (d->final_conv.k - 1));
    for (int i = 0; i < 4; i++)
        ALLOC(s->buf[i], big);
    s->col = salloc_bytes(s, (size_t)n_threads * 3 * sizeof(float *));
    ok = ok && s->col;
    if (ok) {
        s->scores = s->col + n_threads;
        s->work = s->col + 2 * n_threads;
        for (int t = 0; t < n_threads; t++) {
            ALLOC(s->col[t], COL_FLOATS);
            ALLOC(s->work[t], COL_FLOATS);
            ALLOC(s->scores[t], (size_t)(d->window + mc + d->head_dim));
        }
    }
#undef ALLOC
#undef HIST
    if (!ok) {
        codec_dec_state_free(s);
        qt_fail(err, QT_ERR_NOMEM, "codec decoder: no memory for a decoding state of %d frames per step", mc);
        return NULL;
    }
    return s;
}

void codec_dec_state_free(codec_dec_state *s)
{
    if (!s) return;
    for (int i = 0; i < s->n_allocs; i++)
        free(s->allocs[i]);
    free(s->allocs);
    free(s);
}

void codec_dec_state_reset(codec_dec_state *s)
{
    for (int i = 0; i < s->n_hist; i++)
        if (s->hist[i]) memset(s->hist[i], 0, s->hist_len[i] * sizeof(float));
    s->pos = 0;
    s->n_past = 0;
}

void codec_dec_state_set_tap(codec_dec_state *s, codec_dec_tap_fn fn, void *ctx)
{
    s->tap = fn;
    s->tap_ctx = ctx;
}

static void tap(codec_dec_state *s, const char *stage, const float *x, int channels, int len)
{
    if (s->tap) s->tap(s->tap_ctx, stage, x, channels, len);
}

/* ---- parallel products ------------------------------------------------------------------------------ */

static int pool_tasks(qt_pool *pool)
{
    return pool ? qt_pool_threads(pool) : 1;
}

static void span(int n, int task, int n_tasks, int align, int *lo, int *hi)
{
    int per = (n + n_tasks - 1) / n_tasks;
    per = (per + align - 1) / align * align;
    *lo = task * per < n ? task * per : n;
    *hi = *lo + per < n ? *lo + per : n;
}

/* Work is cut into more pieces than threads and each thread claims the next piece when it is free, so a
 * thread the OS parks for a while (a busy machine) does not leave the others waiting at the end. */
static int pieces(int n, int tasks, int align, int *step)
{
    int per = (n + 4 * tasks - 1) / (4 * tasks);
    per = (per + align - 1) / align * align;
    *step = per > 0 ? per : 1;
    return (n + *step - 1) / *step;
}

/* C[M, N] (ldc) += A B with A[m, k] at a[m*a_rs + k*a_ks], B [K, N] (ldb): split over the rows of C when it
 * has few columns, else over its columns. Any split gives the same bits (codec_gemm.h). */
typedef struct {
    qt_codec_gemm_fn fn;
    qt_codec_gemm_bf16_fn fn16; /* set: A is h (bf16) */
    int m, n, k;
    const float *a;
    ptrdiff_t a_rs, a_ks;
    const bf16_w *h;
    const float *b;
    ptrdiff_t ldb;
    float *c;
    ptrdiff_t ldc;
    int by_rows, step, n_pieces;
    atomic_int next;
} gemm_job;

static void gemm_task(void *ctx, int task, int n_tasks)
{
    gemm_job *g = ctx;
    (void)task;
    (void)n_tasks;
    for (int i; (i = atomic_fetch_add(&g->next, 1)) < g->n_pieces;) {
        int lo = i * g->step, hi = lo + g->step;
        if (g->by_rows) {
            hi = hi < g->m ? hi : g->m;
            if (g->fn16)
                g->fn16(hi - lo, g->n, g->k, g->h->w + lo * g->h->ld, g->h->ld, g->b, g->ldb,
                        g->c + lo * g->ldc, g->ldc);
            else
                g->fn(hi - lo, g->n, g->k, g->a + lo * g->a_rs, g->a_rs, g->a_ks, g->b, g->ldb,
                      g->c + lo * g->ldc, g->ldc);
        } else {
            hi = hi < g->n ? hi : g->n;
            if (g->fn16)
                g->fn16(g->m, hi - lo, g->k, g->h->w, g->h->ld, g->b + lo, g->ldb, g->c + lo, g->ldc);
            else
                g->fn(g->m, hi - lo, g->k, g->a, g->a_rs, g->a_ks, g->b + lo, g->ldb, g->c + lo, g->ldc);
        }
    }
}

/* h: A's bf16 copy, used when the decoder runs in bf16 (§7.8) */
static void gemm(const codec_decoder *d, qt_pool *pool, int m, int n, int k, const float *a, ptrdiff_t a_rs,
                 ptrdiff_t a_ks, const bf16_w *h, const float *b, ptrdiff_t ldb, float *c, ptrdiff_t ldc)
{
    gemm_job g = {
        d->gemm, d->bf16 && h && h->w ? d->gemm16 : NULL, m, n, k, a, a_rs, a_ks, h, b, ldb, c, ldc, 0, 0, 0,
        0};
    int tasks = pool_tasks(pool);
    if ((double)g.m * g.n * g.k < DISPATCH_MIN_MACS) /* not worth a dispatch */
        tasks = 1;
    g.by_rows = g.n < 64 * tasks;
    g.n_pieces = g.by_rows ? pieces(g.m, tasks, g.fn16 ? QT_CODEC_BF16_ROWS : 24, &g.step)
                           : pieces(g.n, tasks, 64, &g.step);
    atomic_init(&g.next, 0);
    if (tasks == 1)
        gemm_task(&g, 0, 1);
    else
        qt_pool_run(pool, gemm_task, &g, tasks);
}

/* y[out, n] = b + W x: W [out, in] row-major, x [in, n]; a Linear layer (or 1x1 conv) on channel-major data.
 */
static void linear(const codec_decoder *d, qt_pool *pool, float *y, const float *w, const bf16_w *h,
                   const float *bias, int out, int in, const float *x, int n)
{
    for (int o = 0; o < out; o++) {
        float b = bias ? bias[o] : 0.0f, *row = y + (size_t)o * n;
        for (int t = 0; t < n; t++)
            row[t] = b;
    }
    gemm(d, pool, out, n, in, w, in, 1, h, x, n, y, n);
}

/* ---- causal convolution ----------------------------------------------------------------------------- */

/* C[rows lo..hi) += W B for a convolution's weight W [c_out, c_in*k], in the decoder's precision. */
static void conv_product(const codec_decoder *d, const conv_w *w, int lo, int hi, int n, const float *b,
                         ptrdiff_t ldb, float *c, ptrdiff_t ldc)
{
    int kc = w->c_in * w->k;
    if (d->bf16 && w->h.w)
        d->gemm16(hi - lo, n, kc, w->h.w + lo * w->h.ld, w->h.ld, b, ldb, c, ldc);
    else
        d->gemm(hi - lo, n, kc, w->w + (size_t)lo * kc, kc, 1, b, ldb, c, ldc);
}

/* y[co, t] (+)= b[co] + sum_{ci,j} w[co, ci, j] * in(ci, t + j*dil - h) for t in [0, n), where in(ci, s) is
 * hist[ci, h + s] for s < 0 and x[ci, s] otherwise (h = (k-1)*dil: left zero padding at the start, the
 * previous step's input after). */
typedef struct {
    const codec_decoder *d;
    const conv_w *w;
    const float *hist, *x;
    float *y;
    int n, accumulate, tile,
        n_tiles; /* column split: tiles of im2col, each made by the thread that takes it */
    float *const *col;
    const float *shared_col; /* row split: the whole im2col, made once */
    int row_step, n_row_pieces;
    atomic_int next;
} conv_job;

static void im2col(const conv_w *w, const float *hist, const float *x, int n, int t0, int t1, float *col)
{
    int h = (w->k - 1) * w->dil, nt = t1 - t0;
    for (int ci = 0; ci < w->c_in; ci++) {
        const float *xr = x + (size_t)ci * n, *hr = hist ? hist + (size_t)ci * h : NULL;
        for (int j = 0; j < w->k; j++) {
            float *dst = col + ((size_t)ci * w->k + j) * nt;
            int off = j * w->dil - h; /* source index of output t is t + off */
            int t = t0;
            for (; t < t1 && t + off < 0; t++)
                *dst++ = hr ? hr[h + t + off] : 0.0f;
            if (t < t1) memcpy(dst, xr + t + off, (size_t)(t1 - t) * sizeof *dst);
        }
    }
}

static void bias_init(const conv_w *w, float *y, int ldy, int c0, int c1, int t0, int t1, int accumulate)
{
    for (int co = c0; co < c1; co++) {
        float b = w->b ? w->b[co] : 0.0f, *row = y + (size_t)co * ldy;
        if (accumulate) {
            if (b != 0.0f)
                for (int t = t0; t < t1; t++)
                    row[t] += b;
        } else {
            for (int t = t0; t < t1; t++)
                row[t] = b;
        }
    }
}

static void conv_task(void *ctx, int task, int n_tasks)
{
    conv_job *j = ctx;
    const conv_w *w = j->w;
    (void)n_tasks;
    if (j->shared_col) { /* row split */
        for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n_row_pieces;) {
            int lo = i * j->row_step, hi = lo + j->row_step < w->c_out ? lo + j->row_step : w->c_out;
            bias_init(w, j->y, j->n, lo, hi, 0, j->n, j->accumulate);
            conv_product(j->d, w, lo, hi, j->n, j->shared_col, j->n, j->y + (size_t)lo * j->n, j->n);
        }
        return;
    }
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n_tiles;) {
        int t0 = i * j->tile, t1 = t0 + j->tile < j->n ? t0 + j->tile : j->n;
        if (t0 >= t1) continue;
        const float *b = j->x + t0;
        int ldb = j->n;
        if (w->k > 1) {
            im2col(w, j->hist, j->x, j->n, t0, t1, j->col[task]);
            b = j->col[task];
            ldb = t1 - t0;
        }
        bias_init(w, j->y, j->n, 0, w->c_out, t0, t1, j->accumulate);
        conv_product(j->d, w, 0, w->c_out, t1 - t0, b, ldb, j->y + t0, j->n);
    }
}

static void hist_update(float *hist, int c, int h, const float *x, int n)
{
    if (h == 0) return;
    for (int ci = 0; ci < c; ci++) {
        float *hr = hist + (size_t)ci * h;
        const float *xr = x + (size_t)ci * n;
        if (n >= h) {
            memcpy(hr, xr + n - h, (size_t)h * sizeof *hr);
        } else {
            memmove(hr, hr + n, (size_t)(h - n) * sizeof *hr);
            memcpy(hr + h - n, xr, (size_t)n * sizeof *hr);
        }
    }
}

/* Causal conv of x [c_in, n] into y [c_out, n]; accumulate adds into y (a residual). hist advances. */
static void causal_conv(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const conv_w *w,
                        float *hist, const float *x, int n, float *y, int accumulate)
{
    int tasks = pool_tasks(pool) < s->n_threads ? pool_tasks(pool) : s->n_threads;
    int kc = w->c_in * w->k;
    if ((double)w->c_out * kc * n < DISPATCH_MIN_MACS) tasks = 1;
    conv_job j = {d, w, hist, x, y, n, accumulate, n, 1, s->col, NULL, 0, 0, 0};
    atomic_init(&j.next, 0);
    if (tasks > 1 && n < MIN_TILE * tasks && (size_t)kc * n <= COL_FLOATS) {
        if (w->k > 1) {
            im2col(w, hist, x, n, 0, n, s->col[0]);
            j.shared_col = s->col[0];
        } else {
            j.shared_col = x;
        }
        j.n_row_pieces = pieces(w->c_out, tasks, d->bf16 ? QT_CODEC_BF16_ROWS : 24, &j.row_step);
    } else {
        int tile_max = COL_FLOATS / kc; /* what one im2col scratch holds */
        if (tile_max > 64) tile_max = tile_max / 64 * 64;
        if (tile_max < 1) tile_max = 1;
        int n_tiles = (n + tile_max - 1) / tile_max;
        if (tasks > 1 && n_tiles < 4 * tasks) /* enough pieces to share, none narrower than 128 columns */
            n_tiles = 4 * tasks < n / 128 ? 4 * tasks : n / 128 > n_tiles ? n / 128 : n_tiles;
        int tile = (n + n_tiles - 1) / n_tiles;
        if (tile > 64) tile = (tile + 63) / 64 * 64 < tile_max ? (tile + 63) / 64 * 64 : tile_max;
        j.tile = tile;
        j.n_tiles = (n + tile - 1) / tile;
    }
    if (tasks == 1)
        conv_task(&j, 0, 1);
    else
        qt_pool_run(pool, conv_task, &j, tasks);
    hist_update(hist, w->c_in, (w->k - 1) * w->dil, x, n);
}

/* ---- transposed convolution (right-trimmed) --------------------------------------------------------- */

typedef struct {
    const convtr_w *w;
    const float *z; /* [c_out*k, n] */
    float *tail, *y;
    int n;
} ola_job;

static void ola_task(void *ctx, int task, int n_tasks)
{
    const ola_job *j = ctx;
    const convtr_w *w = j->w;
    int r = w->stride, k = w->k, n = j->n, lo, hi;
    span(w->c_out, task, n_tasks, 1, &lo, &hi);
    for (int co = lo; co < hi; co++) {
        const float *z = j->z + (size_t)co * k * n; /* rows co*k + tap */
        float *y = j->y + (size_t)co * n * r, b = w->b[co];
        float *tail = k > r ? j->tail + (size_t)co * (k - r) : NULL;
        for (int p = 0; p < r; p++) {
            const float *zc = z + (size_t)p * n;       /* tap p of frame t lands at t*r + p */
            const float *zp = z + (size_t)(p + r) * n; /* tap p+r of frame t-1 lands there too */
            for (int t = 0; t < n; t++) {
                float v = b + zc[t];
                if (tail) v += t > 0 ? zp[t - 1] : tail[p];
                y[(size_t)t * r + p] = v;
            }
            if (tail) tail[p] = zp[n - 1];
        }
    }
}

/* x [c_in, n] -> y [c_out, n*stride] through z [c_out*k, n]; the part of the last frames that reaches past
 * n*stride is kept in tail for the next step (and is the right trim when nothing follows). */
static void conv_transpose(const codec_decoder *d, qt_pool *pool, const convtr_w *w, float *tail,
                           const float *x, int n, float *z, float *y)
{
    int m = w->c_out * w->k;
    memset(z, 0, (size_t)m * n * sizeof *z);
    /* z[(co,j), t] = sum_ci w[ci, co, j] x[ci, t]: A = the weight read transposed */
    gemm(d, pool, m, n, w->c_in, w->w, 1, m, &w->h, x, n, z, n);
    ola_job j = {w, z, tail, y, n};
    int tasks = pool_tasks(pool);
    if (tasks == 1 || (size_t)m * n < OLA_MIN_PARALLEL)
        ola_task(&j, 0, 1);
    else
        qt_pool_run(pool, ola_task, &j, tasks);
}

/* ---- elementwise ------------------------------------------------------------------------------------ */

typedef struct {
    const snake_w *w;
    qt_snake_fn fn;
    const float *x;
    float *y;
    int len;
} snake_job;

static void snake_task(void *ctx, int task, int n_tasks)
{
    const snake_job *j = ctx;
    int lo, hi;
    span(j->w->c, task, n_tasks, 1, &lo, &hi);
    for (int c = lo; c < hi; c++)
        j->fn(j->y + (size_t)c * j->len, j->x + (size_t)c * j->len, (size_t)j->len, j->w->a[c],
              j->w->inv_b[c]);
}

/* SnakeBeta over x [c, len] into y (may be x). */
static void snake(const codec_decoder *d, qt_pool *pool, const snake_w *w, const float *x, float *y, int len)
{
    snake_job j = {w, d->snake, x, y, len};
    int tasks = pool_tasks(pool);
    if (tasks == 1 || (size_t)w->c * len < SNAKE_MIN_PARALLEL)
        snake_task(&j, 0, 1);
    else
        qt_pool_run(pool, snake_task, &j, tasks);
}

/* RMSNorm over the channels of each column: x, y [dim, n]; ss is scratch [n]. */
static void rmsnorm(float *y, const float *x, const float *w, int dim, int n, float eps, float *ss)
{
    for (int t = 0; t < n; t++)
        ss[t] = 0.0f;
    for (int i = 0; i < dim; i++)
        for (int t = 0; t < n; t++)
            ss[t] += x[(size_t)i * n + t] * x[(size_t)i * n + t];
    for (int t = 0; t < n; t++)
        ss[t] = 1.0f / sqrtf(ss[t] / (float)dim + eps);
    for (int i = 0; i < dim; i++)
        for (int t = 0; t < n; t++)
            y[(size_t)i * n + t] = w[i] * (x[(size_t)i * n + t] * ss[t]);
}

/* NeoX (rotate-half) RoPE on x [n_heads*hd, n], column t at position pos0 + t. */
static void rope(float *x, int n, int n_heads, int hd, int64_t pos0, const float *inv_freq)
{
    int h2 = hd / 2;
    for (int t = 0; t < n; t++) {
        float pos = (float)(pos0 + t);
        for (int i = 0; i < h2; i++) {
            float ang = pos * inv_freq[i], c = cosf(ang), sn = sinf(ang);
            for (int h = 0; h < n_heads; h++) {
                float *a = x + ((size_t)h * hd + i) * n + t, *b = a + (size_t)h2 * n;
                float va = *a, vb = *b;
                *a = va * c - vb * sn;
                *b = vb * c + va * sn;
            }
        }
    }
}

/* ---- attention -------------------------------------------------------------------------------------- */

typedef struct {
    const codec_decoder *d;
    codec_dec_state *s;
    const float *kc, *vc; /* [n_past + n, kvd] time-major */
    int n;
} att_job;

/* Causal sliding-window attention: query t (cache row n_past + t) sees cache rows within window-1 before it.
 * q and the output are channel-major [n_heads*hd, n]. */
static void attention_task(void *ctx, int task, int n_tasks)
{
    const att_job *j = ctx;
    const codec_decoder *d = j->d;
    codec_dec_state *s = j->s;
    int hd = d->head_dim, kvd = d->n_kv * hd, group = d->n_heads / d->n_kv, n = j->n;
    float scale = 1.0f / sqrtf((float)hd), *sc = s->scores[task], *qv = sc + d->window + s->max_chunk;
    for (int h = task; h < d->n_heads; h += n_tasks) {
        int kvh = h / group;
        for (int t = 0; t < n; t++) {
            int me = s->n_past + t, first = me - (d->window - 1) > 0 ? me - (d->window - 1) : 0;
            for (int i = 0; i < hd; i++)
                qv[i] = s->q[((size_t)h * hd + i) * n + t];
            float mx = -INFINITY;
            for (int r = first; r <= me; r++) {
                const float *k = j->kc + (size_t)r * kvd + (size_t)kvh * hd;
                float dot = 0.0f;
                for (int i = 0; i < hd; i++)
                    dot += qv[i] * k[i];
                sc[r - first] = dot * scale;
                if (sc[r - first] > mx) mx = sc[r - first];
            }
            float sum = 0.0f;
            for (int r = first; r <= me; r++) {
                sc[r - first] = expf(sc[r - first] - mx);
                sum += sc[r - first];
            }
            for (int i = 0; i < hd; i++)
                qv[i] = 0.0f;
            for (int r = first; r <= me; r++) {
                const float *v = j->vc + (size_t)r * kvd + (size_t)kvh * hd;
                float p = sc[r - first] / sum;
                for (int i = 0; i < hd; i++)
                    qv[i] += p * v[i];
            }
            for (int i = 0; i < hd; i++)
                s->att[((size_t)h * hd + i) * n + t] = qv[i];
        }
    }
}

/* ---- the stages ------------------------------------------------------------------------------------- */

/* §7.1: codes [n][n_q] -> [q_dim, n] */
static void quantizer(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const int32_t *codes, int n,
                      float *out)
{
    int half = d->half;
    for (int t = 0; t < n; t++) {
        for (int k = 0; k < d->n_q; k++) {
            int c = codes[(size_t)t * d->n_q + k];
            const float *e = d->cb_sum[k] + (size_t)c * half;
            float u = d->cb_usage[k][c] > 1e-5f ? d->cb_usage[k][c] : 1e-5f;
            float *dst = k == 0 ? s->e_first : s->e_rest;
            for (int i = 0; i < half; i++) {
                float v = e[i] / u;
                if (k <= 1)
                    dst[(size_t)i * n + t] = v;
                else
                    dst[(size_t)i * n + t] += v;
            }
        }
    }
    linear(d, pool, out, d->proj_first.w, &d->proj_first.h, NULL, d->q_dim, half, s->e_first, n);
    gemm(d, pool, d->q_dim, n, half, d->proj_rest.w, half, 1, &d->proj_rest.h, s->e_rest, n, out, n);
}

/* Appends the columns of x [kvd, n] as rows of the time-major cache. */
static void cache_append(float *cache, const float *x, int kvd, int n)
{
    for (int c = 0; c < kvd; c++)
        for (int t = 0; t < n; t++)
            cache[(size_t)t * kvd + c] = x[(size_t)c * n + t];
}

/* §7.3: [latent, n] in io -> the same after the window-72 transformer. */
static void pre_transformer(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, float *io, int n)
{
    int H = d->hidden, L = d->latent, inter = d->inter, hd = d->head_dim;
    int qd = d->n_heads * hd, kvd = d->n_kv * hd;
    linear(d, pool, s->x, d->in_proj_w, &d->h_in_proj, d->in_proj_b, H, L, io, n);
    for (int li = 0; li < d->cfg.n_layers; li++) {
        const tf_layer *w = &d->layers[li];
        float *kc = s->kc[li], *vc = s->vc[li];
        rmsnorm(s->xn, s->x, w->attn_norm, H, n, d->rms_eps, s->ss);
        linear(d, pool, s->q, w->wq, &w->hq, NULL, qd, H, s->xn, n);
        linear(d, pool, s->kn, w->wk, &w->hk, NULL, kvd, H, s->xn, n);
        linear(d, pool, s->vn, w->wv, &w->hv, NULL, kvd, H, s->xn, n);
        rope(s->q, n, d->n_heads, hd, s->pos, d->inv_freq);
        rope(s->kn, n, d->n_kv, hd, s->pos, d->inv_freq);
        cache_append(kc + (size_t)s->n_past * kvd, s->kn, kvd, n);
        cache_append(vc + (size_t)s->n_past * kvd, s->vn, kvd, n);
        att_job aj = {d, s, kc, vc, n};
        int tasks = pool_tasks(pool) < s->n_threads ? pool_tasks(pool) : s->n_threads;
        if (tasks == 1 || n * (s->n_past + n) < ATTENTION_MIN_PARALLEL)
            attention_task(&aj, 0, 1);
        else
            qt_pool_run(pool, attention_task, &aj, tasks);
        linear(d, pool, s->tmp, w->wo, &w->ho, NULL, H, qd, s->att, n);
        for (size_t i = 0; i < (size_t)n * H; i++)
            s->x[i] += w->attn_scale[i / n] * s->tmp[i];
        rmsnorm(s->xn, s->x, w->mlp_norm, H, n, d->rms_eps, s->ss);
        linear(d, pool, s->gate, w->w_gate, &w->hgate, NULL, inter, H, s->xn, n);
        linear(d, pool, s->upv, w->w_up, &w->hup, NULL, inter, H, s->xn, n);
        for (size_t i = 0; i < (size_t)n * inter; i++) {
            float g = s->gate[i];
            s->gate[i] = g / (1.0f + expf(-g)) * s->upv[i];
        }
        linear(d, pool, s->tmp, w->w_down, &w->hdown, NULL, H, inter, s->gate, n);
        for (size_t i = 0; i < (size_t)n * H; i++)
            s->x[i] += w->mlp_scale[i / n] * s->tmp[i];
        /* keep the last window-1 keys and values */
        int total = s->n_past + n, keep = total < d->window - 1 ? total : d->window - 1;
        if (keep < total) {
            memmove(kc, kc + (size_t)(total - keep) * kvd, (size_t)keep * kvd * sizeof *kc);
            memmove(vc, vc + (size_t)(total - keep) * kvd, (size_t)keep * kvd * sizeof *vc);
        }
    }
    int total = s->n_past + n;
    s->n_past = total < d->window - 1 ? total : d->window - 1;
    rmsnorm(s->xn, s->x, d->norm, H, n, d->rms_eps, s->ss);
    linear(d, pool, io, d->out_proj_w, &d->h_out_proj, d->out_proj_b, L, H, s->xn, n);
}

/* §7.6 residual unit, fused: y = x + conv2(snake2(conv1(snake1(x)))) with x, y [c, n] (y != x).
 * Each column tile is done start to finish by one thread (its snake1 columns, including the dilated conv's
 * left overlap, recomputed from x; its middle activations kept in its own scratch), so the unit is one
 * dispatch and its intermediates stay in cache. The arithmetic per element is exactly that of the unfused
 * steps (snake, causal_conv, snake, causal_conv accumulating), which the short-step path still uses. */
typedef struct {
    const codec_decoder *d;
    const resunit_w *u;
    const float *hist; /* [c, h] snake1 outputs of the previous step's last h columns */
    const float *x;
    float *y;
    float *const *col, *const *work;
    int n, tile, n_tiles;
    atomic_int next;
} res_job;

static void resunit_task(void *ctx, int task, int n_tasks)
{
    res_job *j = ctx;
    const resunit_w *u = j->u;
    const conv_w *w1 = &u->conv1, *w2 = &u->conv2;
    int c = w1->c_in, k = w1->k, dil = w1->dil, h = (k - 1) * dil, n = j->n;
    (void)n_tasks;
    for (int i; (i = atomic_fetch_add(&j->next, 1)) < j->n_tiles;) {
        int t0 = i * j->tile, t1 = t0 + j->tile < n ? t0 + j->tile : n, nt = t1 - t0, ls = h + nt;
        float *sn = j->work[task], *mid = sn + (size_t)c * ls, *col = j->col[task];
        for (int ci = 0; ci < c; ci++) { /* snake1 over source columns [t0 - h, t1) */
            float *dst = sn + (size_t)ci * ls;
            int from = t0 - h;
            if (from < 0) {
                memcpy(dst, j->hist + (size_t)ci * h + h + from, (size_t)(-from) * sizeof *dst);
                dst += -from;
                from = 0;
            }
            j->d->snake(dst, j->x + (size_t)ci * n + from, (size_t)(t1 - from), u->act1.a[ci],
                        u->act1.inv_b[ci]);
        }
        for (int ci = 0; ci < c; ci++) /* im2col: output tt, tap q reads sn[ci, tt + q*dil] */
            for (int q = 0; q < k; q++)
                memcpy(col + ((size_t)ci * k + q) * nt, sn + (size_t)ci * ls + q * dil,
                       (size_t)nt * sizeof *col);
        bias_init(w1, mid, nt, 0, c, 0, nt, 0);
        conv_product(j->d, w1, 0, c, nt, col, nt, mid, nt);
        for (int ci = 0; ci < c; ci++)
            j->d->snake(mid + (size_t)ci * nt, mid + (size_t)ci * nt, (size_t)nt, u->act2.a[ci],
                        u->act2.inv_b[ci]);
        for (int co = 0; co < w2->c_out; co++) {
            const float *xr = j->x + (size_t)co * n;
            float *yr = j->y + (size_t)co * n, b = w2->b[co];
            for (int t = t0; t < t1; t++)
                yr[t] = xr[t];
            if (b != 0.0f)
                for (int t = t0; t < t1; t++)
                    yr[t] += b;
        }
        conv_product(j->d, w2, 0, w2->c_out, nt, mid, nt, j->y + t0, n);
    }
}

/* One residual unit on h [c, n]; the result lands in *h (the buffers *h and *spare may be swapped); tmp is
 * scratch [c, n] for the short-step path. */
static void resunit(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const resunit_w *u,
                    float *hist, float **h, float **spare, float *tmp, int n)
{
    int tasks = pool_tasks(pool) < s->n_threads ? pool_tasks(pool) : s->n_threads;
    int c = u->conv1.c_in, k = u->conv1.k, hl = (k - 1) * u->conv1.dil;
    /* widest tile whose im2col fits col[] and whose snake + middle tiles fit work[] */
    int tile = COL_FLOATS / (c * k);
    int tile2 = (COL_FLOATS / c - hl) / 2;
    tile = tile < tile2 ? tile : tile2;
    if (tile > 64) tile = tile / 64 * 64;
    if (tile < 16 || (tasks > 1 && n < 128 * tasks)) { /* short step: split rows in the unfused form */
        snake(d, pool, &u->act1, *h, *spare, n);
        causal_conv(d, s, pool, &u->conv1, hist, *spare, n, tmp, 0);
        snake(d, pool, &u->act2, tmp, tmp, n);
        causal_conv(d, s, pool, &u->conv2, NULL, tmp, n, *h, 1);
        return;
    }
    int n_tiles = (n + tile - 1) / tile;
    if (tasks > 1 && n_tiles < 4 * tasks) {
        n_tiles = 4 * tasks < n / 128 ? 4 * tasks : n / 128 > n_tiles ? n / 128 : n_tiles;
        int t = (n + n_tiles - 1) / n_tiles;
        t = (t + 63) / 64 * 64;
        tile = t < tile ? t : tile;
    }
    res_job j = {d, u, hist, *h, *spare, s->col, s->work, n, tile, (n + tile - 1) / tile, 0};
    atomic_init(&j.next, 0);
    if (tasks == 1)
        resunit_task(&j, 0, 1);
    else
        qt_pool_run(pool, resunit_task, &j, tasks);
    /* the history: snake1 of the last hl input columns (recomputed: same values) */
    for (int ci = 0; ci < c; ci++) {
        float *hr = hist + (size_t)ci * hl;
        const float *xr = *h + (size_t)ci * n;
        if (n >= hl) {
            d->snake(hr, xr + n - hl, (size_t)hl, u->act1.a[ci], u->act1.inv_b[ci]);
        } else {
            memmove(hr, hr + n, (size_t)(hl - n) * sizeof *hr);
            d->snake(hr + hl - n, xr, (size_t)n, u->act1.a[ci], u->act1.inv_b[ci]);
        }
    }
    float *t = *h;
    *h = *spare;
    *spare = t;
}

/* §7.4 ConvNeXt block on x [C, len] in place; a and b are scratch of [4C, len]. */
static void convnext(const codec_decoder *d, const upsample_w *u, codec_dec_state *s, qt_pool *pool,
                     float *hist, float *x, int len, float *a, float *b)
{
    int C = u->up.c_out, k = u->dw_k, h = k - 1;
    for (int c = 0; c < C; c++) { /* depthwise causal conv */
        const float *xr = x + (size_t)c * len, *hr = hist + (size_t)c * h, *w = u->dw_w + (size_t)c * k;
        float *yr = a + (size_t)c * len;
        for (int t = 0; t < len; t++) {
            float acc = u->dw_b[c];
            for (int j = 0; j < k; j++) {
                int src = t + j - h;
                acc += w[j] * (src < 0 ? hr[h + src] : xr[src]);
            }
            yr[t] = acc;
        }
    }
    hist_update(hist, C, h, x, len);
    /* LayerNorm over channels, per time step (two passes over the column sums) */
    float *mean = b, *var = b + len;
    for (int t = 0; t < len; t++)
        mean[t] = var[t] = 0.0f;
    for (int c = 0; c < C; c++)
        for (int t = 0; t < len; t++)
            mean[t] += a[(size_t)c * len + t];
    for (int t = 0; t < len; t++)
        mean[t] /= (float)C;
    for (int c = 0; c < C; c++)
        for (int t = 0; t < len; t++) {
            float dv = a[(size_t)c * len + t] - mean[t];
            var[t] += dv * dv;
        }
    for (int t = 0; t < len; t++)
        var[t] = 1.0f / sqrtf(var[t] / (float)C + 1e-6f);
    for (int c = 0; c < C; c++)
        for (int t = 0; t < len; t++) {
            float *v = &a[(size_t)c * len + t];
            *v = (*v - mean[t]) * var[t] * u->ln_w[c] + u->ln_b[c];
        }
    causal_conv(d, s, pool, &u->pw1, NULL, a, len, b, 0);
    for (size_t i = 0; i < (size_t)u->pw1.c_out * len; i++) /* exact GELU */
        b[i] = 0.5f * b[i] * (1.0f + erff(b[i] * 0.70710678118654752f));
    causal_conv(d, s, pool, &u->pw2, NULL, b, len, a, 0);
    for (int c = 0; c < C; c++)
        for (int t = 0; t < len; t++)
            x[(size_t)c * len + t] += u->gamma[c] * a[(size_t)c * len + t];
}

/* The frames, up to the vocoder: quantizer, pre_conv, transformer, upsamplers. The 50 Hz result is in
 * s->buf[0]; returns its length. */
static int front(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const int32_t *codes, int n)
{
    float *A = s->buf[0], *B = s->buf[1], *Z = s->buf[3];
    quantizer(d, s, pool, codes, n, B);
    tap(s, "quantizer", B, d->q_dim, n);
    causal_conv(d, s, pool, &d->pre_conv, s->h_pre_conv, B, n, A, 0);
    tap(s, "pre_conv", A, d->latent, n);
    pre_transformer(d, s, pool, A, n);
    tap(s, "pre_transformer", A, d->latent, n);
    int len = n;
    for (int i = 0; i < d->n_up; i++) {
        const upsample_w *u = &d->up[i];
        memcpy(B, A, (size_t)d->latent * len * sizeof *B);
        conv_transpose(d, pool, &u->up, NULL, B, len, Z, A);
        len *= u->up.stride;
        convnext(d, u, s, pool, s->h_dw[i], A, len, B, Z);
    }
    tap(s, "upsample", A, d->latent, len);
    return len;
}

void codec_decoder_step(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const int32_t *codes,
                        int n, float *out)
{
    float *A = s->buf[0], *B = s->buf[1], *C = s->buf[2], *Z = s->buf[3];
    int len = front(d, s, pool, codes, n);
    causal_conv(d, s, pool, &d->dec0, s->h_dec0, A, len, B, 0);
    float *h = B, *spare = A;
    tap(s, "decoder0", h, d->dec0.c_out, len);
    for (int i = 0; i < d->n_blocks; i++) {
        const block_w *b = &d->blocks[i];
        snake(d, pool, &b->act, h, spare, len);
        conv_transpose(d, pool, &b->up, s->tail[i], spare, len, Z, h);
        len *= b->up.stride;
        for (int j = 0; j < N_RES_UNITS; j++)
            resunit(d, s, pool, &b->res[j], s->h_res[i][j], &h, &spare, C, len);
    }
    snake(d, pool, &d->final_act, h, spare, len);
    causal_conv(d, s, pool, &d->final_conv, s->h_final, spare, len, out, 0);
    tap(s, "final_preclamp", out, 1, len);
    for (int t = 0; t < len; t++)
        out[t] = out[t] < -1.0f ? -1.0f : out[t] > 1.0f ? 1.0f : out[t];
    s->pos += n;
}

void codec_decoder_step_front(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const int32_t *codes,
                              int n)
{
    front(d, s, pool, codes, n);
    s->pos += n;
}

/* The vocoder (decoder.0 .. the last conv) is convolutions and pointwise maps only, so an output sample sees
 * a bounded stretch of its 50 Hz input. Summed over the chain, in 50 Hz steps: each causal conv reaches
 * (k-1)*dil samples back at its own rate, each transposed conv one input sample back. */
int codec_decoder_vocoder_reach(const codec_decoder *d)
{
    double reach = (d->dec0.k - 1) * d->dec0.dil, per50 = 1; /* samples of the current rate per 50 Hz step */
    for (int i = 0; i < d->n_blocks; i++) {
        const block_w *b = &d->blocks[i];
        reach += 1.0 / per50;
        per50 *= b->up.stride;
        for (int j = 0; j < N_RES_UNITS; j++)
            reach += (double)(b->res[j].conv1.k - 1) * b->res[j].conv1.dil / per50;
    }
    reach += (double)(d->final_conv.k - 1) / per50;
    int up = 1;
    for (int i = 0; i < d->n_up; i++)
        up *= d->up[i].up.stride;
    return (int)ceil(reach / up) + 1; /* in frames, plus one for the frame boundary */
}

double codec_decoder_flops_per_frame(const codec_decoder *d)
{
    double f = 0, len = 1;
    int H = d->hidden, qd = d->n_heads * d->head_dim, kvd = d->n_kv * d->head_dim;
    f += 2.0 * 2 * d->q_dim * d->half;                               /* output projections */
    f += 2.0 * d->pre_conv.c_out * d->pre_conv.c_in * d->pre_conv.k; /* pre_conv */
    f += 2.0 * (2.0 * H * d->latent);                                /* in/out proj */
    f += d->cfg.n_layers * 2.0 * ((double)H * qd * 2 + (double)H * kvd * 2 + 3.0 * H * d->inter);
    f += d->cfg.n_layers * 2.0 * 2.0 * d->window * qd; /* scores + mix, full window */
    for (int i = 0; i < d->n_up; i++) {
        const upsample_w *u = &d->up[i];
        f += 2.0 * u->up.c_in * u->up.c_out * u->up.k * len;
        len *= u->up.stride;
        f += len * 2.0 * (u->dw_k * (double)u->up.c_out + 2.0 * u->pw1.c_out * u->pw1.c_in);
    }
    f += len * 2.0 * d->dec0.c_out * d->dec0.c_in * d->dec0.k;
    for (int i = 0; i < d->n_blocks; i++) {
        const block_w *b = &d->blocks[i];
        f += 2.0 * b->up.c_in * b->up.c_out * b->up.k * len;
        len *= b->up.stride;
        for (int j = 0; j < N_RES_UNITS; j++)
            f += len * 2.0 *
                 ((double)b->res[j].conv1.c_out * b->res[j].conv1.c_in * b->res[j].conv1.k +
                  (double)b->res[j].conv2.c_out * b->res[j].conv2.c_in);
    }
    f += len * 2.0 * d->final_conv.c_in * d->final_conv.k;
    return f;
}
