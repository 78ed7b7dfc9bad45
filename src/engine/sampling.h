/* sampling.h — logits processors and token choice as the reference's HF generate (docs/engine.md §4.3, §6):
 * repetition penalty over distinct earlier codebook-0 tokens, the 2-step EOS mask, suppression of control
 * ids, then temperature, top-k, top-p, softmax and one multinomial draw (or argmax when greedy).
 * The RNG is seeded and self-contained, so a seed repeats a run on the same build. No model knowledge
 * beyond the ids passed in.
 */
#ifndef QT_SAMPLING_H
#define QT_SAMPLING_H

#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state */
} qt_rng;

void qt_rng_seed(qt_rng *r, uint64_t seed);
double qt_rng_uniform(qt_rng *r); /* [0, 1), 53 bits */

typedef struct {
    int greedy;        /* argmax after the processors; temperature/top-k/top-p ignored */
    float temperature; /* > 0 */
    int top_k;         /* 0 = off */
    float top_p;       /* 1 = off */
} qt_sample_params;

/* The talker's processors, in HF order, on logits [vocab] in place:
 *  - repetition penalty: every distinct id in history[0..n_history) once (positive ÷ penalty, negative ×);
 *  - EOS masked to -inf while step < min_new_tokens (the reference uses 2);
 *  - ids suppress_from..vocab-1 except eos set to -inf. */
void qt_talker_processors(float *logits, int vocab, const int32_t *history, int n_history, float penalty,
                          int step, int min_new_tokens, int eos_id, int suppress_from);

/* Chooses a token from processed logits [n] (modified in place). scratch: n floats. */
int qt_sample(float *logits, int n, const qt_sample_params *p, qt_rng *rng, float *scratch);

#endif
