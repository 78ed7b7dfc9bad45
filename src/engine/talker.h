/* talker.h — the Qwen3 decoder stack (shared by the talker and the code predictor) and the talker itself:
 * text side (text embedding + text projection MLP), codec embedding, codec head (§2.3, §2.4, §4 of
 * docs/engine.md).
 *
 * Internal to the engine. Weights are pointers into the mmap'd model file (bf16), or int8 copies of the
 * matrices a decode step reads (precision int8); the small 1-D tensors (norm gains, biases) are copied to
 * f32 at load. Weights, KV cache and scratch are separate structs: the weights are read-only after load, so
 * one model can serve several generations, each with its own cache and scratch.
 */
#ifndef QT_TALKER_H
#define QT_TALKER_H

#include "engine/config.h"
#include "engine/kernels.h"
#include "engine/quant.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

#include <stdint.h>

/* A weight matrix [rows, cols]: bf16 in the mapping, or (precision int8) its int8 copy, in which case bf16
 * is NULL and the mapping's pages are released. */
typedef struct {
    const uint16_t *bf16; /* row-major */
    qt_q8 q8;             /* q8.w NULL unless quantized */
} qt_weight;

/* One decoder layer (§4.1). */
typedef struct {
    qt_weight q, k, v;          /* [n_heads*head_dim, hidden], [n_kv*head_dim, hidden] x2 */
    qt_weight o;                /* [hidden, n_heads*head_dim] */
    qt_weight gate, up;         /* [intermediate, hidden] */
    qt_weight down;             /* [hidden, intermediate] */
    float *in_norm, *post_norm; /* [hidden] */
    float *q_norm, *k_norm;     /* [head_dim] */
} qt_layer;

/* The weights of a decoder stack: read-only once loaded, shared by every generation. */
typedef struct {
    qt_stack_config c;
    qt_layer *layers;
    float *norm;     /* final norm gain [hidden] */
    float *inv_freq; /* [head_dim/2] */
} qt_stack;

/* One sequence's KV cache: per layer [cap, n_kv*head_dim] f32; positions 0..len-1 are filled. */
typedef struct {
    int n_layers, cap, len;
    float **kc, **vc;
} qt_kv;

/* A forward pass's working memory: activations for up to n positions, per-thread attention scores
 * [threads][cap]. */
typedef struct {
    int n, score_threads, score_cap;
    float *xn, *q, *k, *v, *att, *tmp, *gate, *up, *scores;
} qt_stack_scratch;

/* Precision of the matrices a decode step reads (qt.h's qt_precision). */
typedef struct {
    int int8;                  /* 1: quantize at load and release the bf16 pages */
    qt_pool *pool;             /* threads for the quantization (NULL: the caller's) */
    struct qt_q8_cache *cache; /* int8 weights kept between runs (q8_cache.h), or NULL */
} qt_quant_params;

/* Binds the tensors under `prefix` ("talker.model." / "talker.code_predictor.model."), checking every shape,
 * and quantizes the layer matrices when qp->int8. */
int qt_stack_init(qt_stack *s, const st_file *f, const char *prefix, const qt_stack_config *c,
                  const qt_quant_params *qp, qt_error *err);
void qt_stack_free(qt_stack *s);
/* Weight bytes one forward step (n = 1) reads. */
size_t qt_stack_step_bytes(const qt_stack *s);

void qt_kv_free(qt_kv *kv);
/* Forget the cache (positions restart at 0); keeps the allocations. */
static inline void qt_kv_reset(qt_kv *kv)
{
    kv->len = 0;
}
void qt_stack_scratch_free(qt_stack_scratch *sc);

/* x [n, hidden] holds the input vectors of positions kv->len..+n-1; on return the final-normed hidden
 * states. Appends the n positions to kv (grown as needed, as is sc). */
int qt_stack_forward(const qt_stack *s, qt_kv *kv, qt_stack_scratch *sc, qt_pool *pool, float *x, int n,
                     qt_error *err);

/* The talker's weights. */
typedef struct {
    qt_stack stack;
    int hidden, text_hidden, text_vocab, codec_vocab;
    const uint16_t *text_embedding;  /* [text_vocab, text_hidden] (gathered: stays bf16) */
    const uint16_t *fc1;             /* [text_hidden, text_hidden] (prefill only: stays bf16) */
    const uint16_t *fc2;             /* [hidden, text_hidden] */
    float *fc1_b, *fc2_b;            /* [text_hidden], [hidden] */
    const uint16_t *codec_embedding; /* [codec_vocab, hidden] (gathered: stays bf16) */
    qt_weight codec_head;            /* [codec_vocab, hidden] */
} qt_talker;

int qt_talker_init(qt_talker *t, const st_file *f, const qt_config *cfg, const qt_quant_params *qp,
                   qt_error *err);
void qt_talker_free(qt_talker *t);

/* out[i] = text_projection(text_embedding[ids[i]]) for i < n, out [n, hidden] (§2.3). */
int qt_talker_text_proj(const qt_talker *t, qt_pool *pool, const int32_t *ids, int n, float *out,
                        qt_error *err);
/* out += codec_embedding[id] (talker table, §2.4). */
void qt_talker_add_codec(const qt_talker *t, int id, float *out);
/* logits [codec_vocab] = codec_head . h */
void qt_talker_logits(const qt_talker *t, qt_pool *pool, const float *h, float *logits);

/* Helpers shared with the code predictor. */
const uint16_t *qt_bind_bf16(const st_file *f, const char *name, int64_t rows, int64_t cols, qt_error *err);
/* Binds a matrix and, when qp->int8, quantizes it and releases its bf16 pages. */
int qt_weight_bind(qt_weight *w, const st_file *f, const char *name, int64_t rows, int64_t cols,
                   const qt_quant_params *qp, qt_error *err);
void qt_weight_free(qt_weight *w);
size_t qt_weight_bytes(const qt_weight *w, int rows, int cols); /* bytes one pass reads */
/* The product's entry for w: out[l*ld + r] = w[r,:] . x[l] (+ bias). */
qt_mm qt_weight_mm(const qt_weight *w, const float *bias, float *out, int rows, int ld);
float *qt_load_vec_f32(const st_file *f, const char *name, int64_t n, qt_error *err); /* malloc'd copy */
void qt_add_bf16_row(float *out, const uint16_t *table, int row, int width);          /* out += table[row] */

#endif
