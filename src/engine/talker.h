/* talker.h — the Qwen3 decoder stack (shared by the talker and the code predictor) and the talker itself:
 * text side (text embedding + text projection MLP), codec embedding, codec head (§2.3, §2.4, §4 of
 * docs/engine.md).
 *
 * Internal to the engine. Weights are pointers into the mmap'd model file (bf16); only the small 1-D
 * tensors (norm gains, biases) are copied to f32 at load. Run state (KV cache, scratch) is owned here.
 */
#ifndef QT_TALKER_H
#define QT_TALKER_H

#include "engine/config.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

#include <stdint.h>

/* One decoder layer (§4.1). */
typedef struct {
    const uint16_t *q, *k, *v;  /* [n_heads*head_dim, hidden], [n_kv*head_dim, hidden] x2, bf16 row-major */
    const uint16_t *o;          /* [hidden, n_heads*head_dim] */
    const uint16_t *gate, *up;  /* [intermediate, hidden] */
    const uint16_t *down;       /* [hidden, intermediate] */
    float *in_norm, *post_norm; /* [hidden] */
    float *q_norm, *k_norm;     /* [head_dim] */
} qt_layer;

typedef struct {
    qt_stack_config c;
    qt_layer *layers;
    float *norm;     /* final norm gain [hidden] */
    float *inv_freq; /* [head_dim/2] */
    /* KV cache, per layer [cap, n_kv*head_dim] f32; positions 0..len-1 are filled */
    float **kc, **vc;
    int cap, len;
    /* scratch for up to scratch_n positions, and per-thread attention scores [threads][cap] */
    int scratch_n, score_threads;
    float *xn, *q, *k, *v, *att, *tmp, *gate, *up, *scores;
} qt_stack;

/* Binds the tensors under `prefix` ("talker.model." / "talker.code_predictor.model."), checking every shape.
 */
int qt_stack_init(qt_stack *s, const st_file *f, const char *prefix, const qt_stack_config *c, qt_error *err);
void qt_stack_free(qt_stack *s);
/* Forget the cache (positions restart at 0); keeps the allocations. */
static inline void qt_stack_reset(qt_stack *s)
{
    s->len = 0;
}
/* x [n, hidden] holds the input vectors of positions len..len+n-1; on return the final-normed hidden states.
 * Appends the n positions to the KV cache. */
int qt_stack_forward(qt_stack *s, qt_pool *pool, float *x, int n, qt_error *err);

typedef struct {
    qt_stack stack;
    int hidden, text_hidden, text_vocab, codec_vocab;
    const uint16_t *text_embedding;  /* [text_vocab, text_hidden] */
    const uint16_t *fc1;             /* [text_hidden, text_hidden] */
    const uint16_t *fc2;             /* [hidden, text_hidden] */
    float *fc1_b, *fc2_b;            /* [text_hidden], [hidden] */
    const uint16_t *codec_embedding; /* [codec_vocab, hidden] */
    const uint16_t *codec_head;      /* [codec_vocab, hidden] */
    float *proj_tmp;                 /* scratch for the text projection */
    int proj_tmp_n;
} qt_talker;

int qt_talker_init(qt_talker *t, const st_file *f, const qt_config *cfg, qt_error *err);
void qt_talker_free(qt_talker *t);

/* out[i] = text_projection(text_embedding[ids[i]]) for i < n, out [n, hidden] (§2.3). */
int qt_talker_text_proj(qt_talker *t, qt_pool *pool, const int32_t *ids, int n, float *out, qt_error *err);
/* out += codec_embedding[id] (talker table, §2.4). */
void qt_talker_add_codec(const qt_talker *t, int id, float *out);
/* logits [codec_vocab] = codec_head . h */
void qt_talker_logits(const qt_talker *t, qt_pool *pool, const float *h, float *logits);

/* Helpers shared with the code predictor. */
const uint16_t *qt_bind_bf16(const st_file *f, const char *name, int64_t rows, int64_t cols, qt_error *err);
float *qt_load_vec_f32(const st_file *f, const char *name, int64_t n, qt_error *err); /* malloc'd copy */
void qt_add_bf16_row(float *out, const uint16_t *table, int row, int width);          /* out += table[row] */

#endif
