/* sampling.c — HF-equivalent logits processors and warpers (docs/engine.md §4.3, §6), and a seeded RNG.
 *
 * Mirrors transformers 4.57 semantics: RepetitionPenaltyLogitsProcessor (gather/scatter, so a repeated id
 * is penalised once), MinNewTokensLengthLogitsProcessor, SuppressTokensLogitsProcessor, then
 * TemperatureLogitsWarper, TopKLogitsWarper (keep scores >= the k-th largest, ties kept),
 * TopPLogitsWarper (drop the low tail whose cumulative probability is <= 1 - top_p, keep at least one).
 * Greedy is the first maximum, as torch.argmax.
 */
#include "engine/sampling.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void qt_rng_seed(qt_rng *r, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&seed);
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

double qt_rng_uniform(qt_rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return (double)(out >> 11) * 0x1.0p-53;
}

void qt_talker_processors(float *logits, int vocab, const int32_t *history, int n_history, float penalty,
                          int step, int min_new_tokens, int eos_id, int suppress_from)
{
    if (penalty != 1.0f && n_history > 0) {
        /* gather first, then scatter: each distinct id is penalised exactly once */
        unsigned char *seen = calloc((size_t)vocab, 1);
        for (int i = 0; i < n_history; i++) {
            int id = history[i];
            if (id < 0 || id >= vocab) continue;
            if (seen) {
                if (seen[id]) continue;
                seen[id] = 1;
            } else {
                int dup = 0; /* no memory for the set: the same rule, quadratically */
                for (int j = 0; j < i && !dup; j++)
                    dup = history[j] == id;
                if (dup) continue;
            }
            logits[id] = logits[id] < 0 ? logits[id] * penalty : logits[id] / penalty;
        }
        free(seen);
    }
    if (step < min_new_tokens && eos_id >= 0 && eos_id < vocab) logits[eos_id] = -INFINITY;
    for (int i = suppress_from; i < vocab; i++)
        if (i != eos_id) logits[i] = -INFINITY;
}

static int argmax(const float *x, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (x[i] > x[best]) best = i;
    return best;
}

/* k-th largest (1-based) of a[0..n), reordering a (quickselect). */
static float kth_largest(float *a, int n, int k)
{
    int lo = 0, hi = n - 1, want = k - 1;
    while (lo < hi) {
        float pivot = a[(lo + hi) / 2];
        int i = lo, j = hi;
        while (i <= j) {
            while (a[i] > pivot)
                i++;
            while (a[j] < pivot)
                j--;
            if (i <= j) {
                float t = a[i];
                a[i] = a[j];
                a[j] = t;
                i++;
                j--;
            }
        }
        if (want <= j)
            hi = j;
        else if (want >= i)
            lo = i;
        else
            return a[want];
    }
    return a[want];
}

static int cmp_desc(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? 1 : x > y ? -1 : 0;
}

int qt_sample(float *logits, int n, const qt_sample_params *p, qt_rng *rng, float *scratch)
{
    if (p->greedy) return argmax(logits, n);
    float t = p->temperature > 0 ? p->temperature : 1.0f;
    for (int i = 0; i < n; i++)
        logits[i] /= t;
    if (p->top_k > 0 && p->top_k < n) {
        memcpy(scratch, logits, sizeof(float) * n);
        float kth = kth_largest(scratch, n, p->top_k);
        for (int i = 0; i < n; i++)
            if (logits[i] < kth) logits[i] = -INFINITY;
    }
    float mx = logits[argmax(logits, n)];
    if (mx == -INFINITY) return argmax(logits, n);
    if (p->top_p < 1.0f) {
        /* Probabilities in descending order; the cut is the smallest probability still needed so that
         * the kept mass exceeds top_p (HF drops the ascending prefix whose cumulative sum <= 1 - top_p). */
        double sum = 0;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (logits[i] > -INFINITY) {
                scratch[m++] = expf(logits[i] - mx);
                sum += scratch[m - 1];
            }
        qsort(scratch, (size_t)m, sizeof(float), cmp_desc);
        /* ascending cumulative from the smallest: drop while cum <= 1 - top_p */
        double cum = 0, limit = (1.0 - (double)p->top_p) * sum;
        float cut = -1.0f;
        for (int i = m - 1; i > 0; i--) { /* never drop the largest */
            if (cum + scratch[i] > limit) break;
            cum += scratch[i];
            cut = scratch[i];
        }
        if (cut >= 0)
            for (int i = 0; i < n; i++)
                if (logits[i] > -INFINITY && expf(logits[i] - mx) <= cut) logits[i] = -INFINITY;
    }
    double sum = 0;
    for (int i = 0; i < n; i++) {
        scratch[i] = logits[i] > -INFINITY ? expf(logits[i] - mx) : 0.0f;
        sum += scratch[i];
    }
    double u = qt_rng_uniform(rng) * sum, acc = 0;
    int last = 0;
    for (int i = 0; i < n; i++) {
        if (scratch[i] <= 0) continue;
        acc += scratch[i];
        last = i;
        if (u < acc) return i;
    }
    return last;
}
