/* talker.c — the Qwen3 decoder stack (§4.1, §4.2) and the talker's text side, codec embedding and head.
 *
 * One forward call handles n positions at once: n = prompt length at prefill (BLAS on weight tiles),
 * n = 1 per decode step (the SIMD row kernel, each weight read once), n = 2 for the code predictor's
 * prefill. Activations and the KV cache are f32; weights stay bf16 in the mapping, or (int8) the matrices a
 * decode step reads are quantized once at load and their bf16 pages given back.
 * Must not: sample, know about prompts, or touch the code predictor's tensors.
 */
#include "engine/talker.h"

#include "engine/kernels.h"
#include "engine/q8_cache.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tensor binding -------------------------------------------------------------------------------------
 */

const uint16_t *qt_bind_bf16(const st_file *f, const char *name, int64_t rows, int64_t cols, qt_error *err)
{
    int64_t shape[2] = {rows, cols};
    const st_tensor *t = st_expect(f, name, ST_BF16, 2, shape, err);
    if (!t) return NULL;
    if ((uintptr_t)t->data & 1) {
        qt_fail(err, QT_ERR_CORRUPT, "model.safetensors: tensor '%s' starts at an odd byte offset", name);
        return NULL;
    }
    return t->data;
}

float *qt_load_vec_f32(const st_file *f, const char *name, int64_t n, qt_error *err)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        qt_fail(err, QT_ERR_NOT_FOUND, "model.safetensors: tensor '%s' is missing", name);
        return NULL;
    }
    if (t->n_dims != 1 || t->shape[0] != n || (t->dtype != ST_BF16 && t->dtype != ST_F32)) {
        qt_fail(err, QT_ERR_MISMATCH, "model.safetensors: tensor '%s' should be a BF16 or F32 vector of %lld",
                name, (long long)n);
        return NULL;
    }
    float *v = malloc(sizeof(float) * (size_t)n);
    if (!v) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory loading tensor '%s'", name);
        return NULL;
    }
    const uint8_t *p = t->data;
    for (int64_t i = 0; i < n; i++) {
        if (t->dtype == ST_BF16) {
            uint16_t h;
            memcpy(&h, p + 2 * i, 2);
            v[i] = qt_bf16_to_f32(h);
        } else {
            memcpy(&v[i], p + 4 * i, 4);
        }
    }
    return v;
}

int qt_weight_bind(qt_weight *w, const st_file *f, const char *name, int64_t rows, int64_t cols,
                   const qt_quant_params *qp, qt_error *err)
{
    memset(w, 0, sizeof *w);
    if (!(w->bf16 = qt_bind_bf16(f, name, rows, cols, err))) return -1;
    if (!qp || !qp->int8) {
        /* every decode step reads it: map it now, not one fault at a time in the first frame (warm-up) */
        if (qp) st_prefault(f, st_find(f, name));
        return 0;
    }
    if (qp->cache && qt_q8_cache_get(qp->cache, name, (int)rows, (int)cols, &w->q8) == 0) {
        w->bf16 = NULL; /* its pages were never read */
        return 0;
    }
    if (qt_q8_from_bf16(&w->q8, w->bf16, (int)rows, (int)cols, qp->pool))
        return qt_fail(err, QT_ERR_NOMEM, "out of memory quantizing tensor '%s' to int8", name);
    if (qp->cache) (void)qt_q8_cache_put(qp->cache, name, &w->q8); /* a failure only means no save */
    st_release(f, st_find(f, name));
    w->bf16 = NULL;
    return 0;
}

void qt_weight_free(qt_weight *w)
{
    if (w) qt_q8_free(&w->q8);
}

size_t qt_weight_bytes(const qt_weight *w, int rows, int cols)
{
    return w->q8.w ? qt_q8_bytes(&w->q8) : 2 * (size_t)rows * cols;
}

qt_mm qt_weight_mm(const qt_weight *w, const float *bias, float *out, int rows, int ld)
{
    qt_mm m = {w->bf16, bias, out, rows, ld, w->q8.w ? &w->q8 : NULL};
    return m;
}

void qt_add_bf16_row(float *out, const uint16_t *table, int row, int width)
{
    const uint16_t *r = table + (size_t)row * width;
    for (int i = 0; i < width; i++)
        out[i] += qt_bf16_to_f32(r[i]);
}

/* ---- decoder stack --------------------------------------------------------------------------------------
 */

int qt_stack_init(qt_stack *s, const st_file *f, const char *prefix, const qt_stack_config *c,
                  const qt_quant_params *qp, qt_error *err)
{
    memset(s, 0, sizeof *s);
    s->c = *c;
    int H = c->hidden, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, I = c->intermediate;
    if (H <= 0 || c->n_layers <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 || c->head_dim <= 0 ||
        c->head_dim % 2 || c->n_heads % c->n_kv_heads || I <= 0)
        return qt_fail(err, QT_ERR_CORRUPT, "config.json: decoder stack '%s' has an impossible shape",
                       prefix);
    s->layers = calloc((size_t)c->n_layers, sizeof *s->layers);
    s->inv_freq = malloc(sizeof(float) * (size_t)(c->head_dim / 2));
    if (!s->layers || !s->inv_freq) goto nomem;
    qt_rope_inv_freq(s->inv_freq, c->head_dim, c->rope_theta);
    char name[256];
#define NAME(fmt) (snprintf(name, sizeof name, "%slayers.%d." fmt, prefix, li), name)
    for (int li = 0; li < c->n_layers; li++) {
        qt_layer *L = &s->layers[li];
        if (qt_weight_bind(&L->q, f, NAME("self_attn.q_proj.weight"), qd, H, qp, err) ||
            qt_weight_bind(&L->k, f, NAME("self_attn.k_proj.weight"), kvd, H, qp, err) ||
            qt_weight_bind(&L->v, f, NAME("self_attn.v_proj.weight"), kvd, H, qp, err) ||
            qt_weight_bind(&L->o, f, NAME("self_attn.o_proj.weight"), H, qd, qp, err) ||
            qt_weight_bind(&L->gate, f, NAME("mlp.gate_proj.weight"), I, H, qp, err) ||
            qt_weight_bind(&L->up, f, NAME("mlp.up_proj.weight"), I, H, qp, err) ||
            qt_weight_bind(&L->down, f, NAME("mlp.down_proj.weight"), H, I, qp, err) ||
            !(L->in_norm = qt_load_vec_f32(f, NAME("input_layernorm.weight"), H, err)) ||
            !(L->post_norm = qt_load_vec_f32(f, NAME("post_attention_layernorm.weight"), H, err)) ||
            !(L->q_norm = qt_load_vec_f32(f, NAME("self_attn.q_norm.weight"), c->head_dim, err)) ||
            !(L->k_norm = qt_load_vec_f32(f, NAME("self_attn.k_norm.weight"), c->head_dim, err)))
            goto fail;
    }
#undef NAME
    snprintf(name, sizeof name, "%snorm.weight", prefix);
    if (!(s->norm = qt_load_vec_f32(f, name, H, err))) goto fail;
    return 0;
nomem:
    qt_fail(err, QT_ERR_NOMEM, "out of memory loading the decoder stack '%s'", prefix);
fail:
    qt_stack_free(s);
    return -1;
}

void qt_stack_free(qt_stack *s)
{
    if (!s) return;
    if (s->layers)
        for (int li = 0; li < s->c.n_layers; li++) {
            qt_layer *L = &s->layers[li];
            qt_weight *ws[7] = {&L->q, &L->k, &L->v, &L->o, &L->gate, &L->up, &L->down};
            for (int i = 0; i < 7; i++)
                qt_weight_free(ws[i]);
            free(L->in_norm);
            free(L->post_norm);
            free(L->q_norm);
            free(L->k_norm);
        }
    free(s->layers);
    free(s->norm);
    free(s->inv_freq);
    memset(s, 0, sizeof *s);
}

size_t qt_stack_step_bytes(const qt_stack *s)
{
    const qt_stack_config *c = &s->c;
    int H = c->hidden, qd = c->n_heads * c->head_dim, kvd = c->n_kv_heads * c->head_dim, I = c->intermediate;
    size_t b = 0;
    for (int li = 0; li < c->n_layers; li++) {
        const qt_layer *L = &s->layers[li];
        b += qt_weight_bytes(&L->q, qd, H) + qt_weight_bytes(&L->k, kvd, H) + qt_weight_bytes(&L->v, kvd, H) +
             qt_weight_bytes(&L->o, H, qd) + qt_weight_bytes(&L->gate, I, H) + qt_weight_bytes(&L->up, I, H) +
             qt_weight_bytes(&L->down, H, I);
    }
    return b;
}

void qt_kv_free(qt_kv *kv)
{
    if (!kv) return;
    if (kv->kc)
        for (int li = 0; li < kv->n_layers; li++) {
            free(kv->kc[li]);
            free(kv->vc[li]);
        }
    free(kv->kc);
    free(kv->vc);
    memset(kv, 0, sizeof *kv);
}

void qt_stack_scratch_free(qt_stack_scratch *sc)
{
    if (!sc) return;
    float *bufs[9] = {sc->xn, sc->q, sc->k, sc->v, sc->att, sc->tmp, sc->gate, sc->up, sc->scores};
    for (int i = 0; i < 9; i++)
        free(bufs[i]);
    memset(sc, 0, sizeof *sc);
}

/* Grows the KV cache to hold `need` positions and the scratch to n positions. */
static int stack_reserve(const qt_stack *s, qt_kv *kv, qt_stack_scratch *sc, int need, int n, int threads,
                         qt_error *err)
{
    const qt_stack_config *c = &s->c;
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim;
    if (!kv->kc) {
        kv->kc = calloc((size_t)c->n_layers, sizeof *kv->kc);
        kv->vc = calloc((size_t)c->n_layers, sizeof *kv->vc);
        if (!kv->kc || !kv->vc) goto nomem;
        kv->n_layers = c->n_layers;
    }
    if (need > kv->cap) {
        int cap = kv->cap ? kv->cap : 64;
        while (cap < need)
            cap *= 2;
        for (int li = 0; li < c->n_layers; li++) {
            float *k = realloc(kv->kc[li], sizeof(float) * kvd * cap);
            if (!k) goto nomem;
            kv->kc[li] = k;
            float *v = realloc(kv->vc[li], sizeof(float) * kvd * cap);
            if (!v) goto nomem;
            kv->vc[li] = v;
        }
        kv->cap = cap;
    }
    if (!sc->scores || threads > sc->score_threads || kv->cap > sc->score_cap) {
        free(sc->scores);
        sc->score_threads = threads > sc->score_threads ? threads : sc->score_threads;
        sc->score_cap = kv->cap;
        size_t group = (size_t)(c->n_heads / c->n_kv_heads);
        if (!(sc->scores = malloc(sizeof(float) * (size_t)sc->score_threads * group * sc->score_cap))) {
            sc->score_cap = 0;
            goto nomem;
        }
    }
    if (n > sc->n) {
        size_t H = c->hidden, qd = (size_t)c->n_heads * c->head_dim, I = c->intermediate;
        float **bufs[8] = {&sc->xn, &sc->q, &sc->k, &sc->v, &sc->att, &sc->tmp, &sc->gate, &sc->up};
        size_t sizes[8] = {H, qd, kvd, kvd, qd, H, I, I};
        for (int i = 0; i < 8; i++) {
            free(*bufs[i]);
            if (!(*bufs[i] = malloc(sizeof(float) * sizes[i] * n))) goto nomem;
        }
        sc->n = n;
    }
    return 0;
nomem:
    sc->n = 0; /* some scratch may be freed: force a fresh allocation next time */
    return qt_fail(err, QT_ERR_NOMEM, "out of memory for the KV cache (%d positions)", need);
}

typedef struct {
    const qt_stack *s;
    const qt_kv *kv;
    qt_stack_scratch *sc;
    int layer, n, threads;
} attn_job;

/* Task = (position i, KV head): causal attention over cache positions 0..len+i for the query heads that
 * share that KV head, so each cached K and V row is read once per group, not once per query head. */
static void attn_task(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    const attn_job *j = ctx;
    const qt_stack_config *c = &j->s->c;
    const qt_kv *kv = j->kv;
    qt_stack_scratch *sc = j->sc;
    int nh = c->n_heads, nkv = c->n_kv_heads, hd = c->head_dim, kvd = nkv * hd, G = nh / nkv;
    int i = task / nkv, kvh = task % nkv;
    int upto = kv->len + i + 1;
    float *scores = sc->scores + (size_t)(task % j->threads) * G * sc->score_cap;
    size_t at = (size_t)i * nh * hd + (size_t)kvh * G * hd;
    qt_attend(sc->att + at, sc->q + at, G, kv->kc[j->layer] + (size_t)kvh * hd,
              kv->vc[j->layer] + (size_t)kvh * hd, kvd, upto, hd, 1.0f / sqrtf((float)hd), scores);
}

int qt_stack_forward(const qt_stack *s, qt_kv *kv, qt_stack_scratch *sc, qt_pool *pool, float *x, int n,
                     qt_error *err)
{
    const qt_stack_config *c = &s->c;
    int threads = pool ? qt_pool_threads(pool) : 1;
    if (stack_reserve(s, kv, sc, kv->len + n, n, threads, err)) return -1;
    int H = c->hidden, nh = c->n_heads, nkv = c->n_kv_heads, hd = c->head_dim, I = c->intermediate;
    int qd = nh * hd, kvd = nkv * hd;
    float eps = c->rms_norm_eps;
    for (int li = 0; li < c->n_layers; li++) {
        const qt_layer *L = &s->layers[li];
        for (int i = 0; i < n; i++)
            qt_rmsnorm(sc->xn + (size_t)i * H, x + (size_t)i * H, L->in_norm, H, eps);
        qt_mm qkv[3] = {qt_weight_mm(&L->q, NULL, sc->q, qd, qd), qt_weight_mm(&L->k, NULL, sc->k, kvd, kvd),
                        qt_weight_mm(&L->v, NULL, sc->v, kvd, kvd)};
        qt_matmul(pool, qkv, 3, H, sc->xn, H, n);
        for (int i = 0; i < n; i++) {
            int pos = kv->len + i;
            float *q = sc->q + (size_t)i * qd, *k = sc->k + (size_t)i * kvd;
            for (int h = 0; h < nh; h++)
                qt_rmsnorm(q + (size_t)h * hd, q + (size_t)h * hd, L->q_norm, hd, eps);
            for (int h = 0; h < nkv; h++)
                qt_rmsnorm(k + (size_t)h * hd, k + (size_t)h * hd, L->k_norm, hd, eps);
            qt_rope(q, nh, hd, pos, s->inv_freq);
            qt_rope(k, nkv, hd, pos, s->inv_freq);
            memcpy(kv->kc[li] + (size_t)pos * kvd, k, sizeof(float) * kvd);
            memcpy(kv->vc[li] + (size_t)pos * kvd, sc->v + (size_t)i * kvd, sizeof(float) * kvd);
        }
        attn_job aj = {s, kv, sc, li, n, threads};
        if (threads > 1 && (size_t)n * (kv->len + n) >= 32) /* short contexts: cheaper than a dispatch */
            qt_pool_run(pool, attn_task, &aj, n * nkv);
        else
            for (int t = 0; t < n * nkv; t++)
                attn_task(&aj, t, n * nkv);
        qt_mm o = qt_weight_mm(&L->o, NULL, sc->tmp, H, H);
        qt_matmul(pool, &o, 1, qd, sc->att, qd, n);
        for (size_t e = 0; e < (size_t)n * H; e++)
            x[e] += sc->tmp[e];
        for (int i = 0; i < n; i++)
            qt_rmsnorm(sc->xn + (size_t)i * H, x + (size_t)i * H, L->post_norm, H, eps);
        qt_mm gu[2] = {qt_weight_mm(&L->gate, NULL, sc->gate, I, I),
                       qt_weight_mm(&L->up, NULL, sc->up, I, I)};
        qt_matmul(pool, gu, 2, H, sc->xn, H, n);
        qt_swiglu(sc->gate, sc->up, n * I);
        qt_mm d = qt_weight_mm(&L->down, NULL, sc->tmp, H, H);
        qt_matmul(pool, &d, 1, I, sc->gate, I, n);
        for (size_t e = 0; e < (size_t)n * H; e++)
            x[e] += sc->tmp[e];
    }
    kv->len += n;
    for (int i = 0; i < n; i++)
        qt_rmsnorm(x + (size_t)i * H, x + (size_t)i * H, s->norm, H, eps);
    return 0;
}

/* ---- talker ---------------------------------------------------------------------------------------------
 */

int qt_talker_init(qt_talker *t, const st_file *f, const qt_config *cfg, const qt_quant_params *qp,
                   qt_error *err)
{
    memset(t, 0, sizeof *t);
    const qt_talker_config *tc = &cfg->talker;
    t->hidden = tc->stack.hidden;
    t->text_hidden = tc->text_hidden_size;
    t->text_vocab = tc->text_vocab_size;
    t->codec_vocab = tc->stack.vocab_size;
    int H = t->hidden, TH = t->text_hidden;
    /* The codec head stays bf16 with int8: its products are the logits c0 is sampled from, and it is 0.2 %
     * of a frame's bytes. Quantized, the 1.7B talker's teacher-forced top-1 agreement with bf16 was 94 %,
     * bf16 it is 95 % (cosine min 0.99964 -> 0.99966, tests/test_precision.c). */
    qt_quant_params head_qp = {0, qp ? qp->pool : NULL, NULL};
    if (qt_stack_init(&t->stack, f, "talker.model.", &tc->stack, qp, err)) return -1;
    if (!(t->text_embedding =
              qt_bind_bf16(f, "talker.model.text_embedding.weight", t->text_vocab, TH, err)) ||
        !(t->fc1 = qt_bind_bf16(f, "talker.text_projection.linear_fc1.weight", TH, TH, err)) ||
        !(t->fc1_b = qt_load_vec_f32(f, "talker.text_projection.linear_fc1.bias", TH, err)) ||
        !(t->fc2 = qt_bind_bf16(f, "talker.text_projection.linear_fc2.weight", H, TH, err)) ||
        !(t->fc2_b = qt_load_vec_f32(f, "talker.text_projection.linear_fc2.bias", H, err)) ||
        !(t->codec_embedding =
              qt_bind_bf16(f, "talker.model.codec_embedding.weight", t->codec_vocab, H, err)) ||
        qt_weight_bind(&t->codec_head, f, "talker.codec_head.weight", t->codec_vocab, H, qp ? &head_qp : NULL,
                       err)) {
        qt_talker_free(t);
        return -1;
    }
    return 0;
}

void qt_talker_free(qt_talker *t)
{
    if (!t) return;
    qt_stack_free(&t->stack);
    qt_weight_free(&t->codec_head);
    free(t->fc1_b);
    free(t->fc2_b);
    memset(t, 0, sizeof *t);
}

int qt_talker_text_proj(const qt_talker *t, qt_pool *pool, const int32_t *ids, int n, float *out,
                        qt_error *err)
{
    int TH = t->text_hidden;
    for (int i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= t->text_vocab)
            return qt_fail(err, QT_ERR_INVALID, "text token id %d is outside the vocabulary of %d", ids[i],
                           t->text_vocab);
    float *e = malloc(sizeof(float) * 2 * (size_t)TH * n);
    if (!e) return qt_fail(err, QT_ERR_NOMEM, "out of memory projecting %d text tokens", n);
    float *h = e + (size_t)TH * n;
    for (int i = 0; i < n; i++) {
        float *row = e + (size_t)i * TH;
        memset(row, 0, sizeof(float) * TH);
        qt_add_bf16_row(row, t->text_embedding, ids[i], TH);
    }
    qt_mm fc1 = {t->fc1, t->fc1_b, h, TH, TH, NULL};
    qt_matmul(pool, &fc1, 1, TH, e, TH, n);
    for (size_t i = 0; i < (size_t)n * TH; i++)
        h[i] = qt_silu(h[i]);
    qt_mm fc2 = {t->fc2, t->fc2_b, out, t->hidden, t->hidden, NULL};
    qt_matmul(pool, &fc2, 1, TH, h, TH, n);
    free(e);
    return 0;
}

void qt_talker_add_codec(const qt_talker *t, int id, float *out)
{
    qt_add_bf16_row(out, t->codec_embedding, id, t->hidden);
}

void qt_talker_logits(const qt_talker *t, qt_pool *pool, const float *h, float *logits)
{
    qt_mm head = qt_weight_mm(&t->codec_head, NULL, logits, t->codec_vocab, t->codec_vocab);
    qt_matmul(pool, &head, 1, t->hidden, h, t->hidden, 1);
}
