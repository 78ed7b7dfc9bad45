/* kernels_avx2.c — AVX2+FMA bf16-weight matrix product (compiled with -mavx2 -mfma, called only when the
 * CPU has them). Same contract and results (up to summation order) as qt_matmul_bf16_scalar. */
#include "engine/kernels.h"

#include <immintrin.h>

/* 8 bf16 -> 8 f32 */
static inline __m256 load8(const uint16_t *p)
{
    __m128i h = _mm_loadu_si128((const __m128i *)p);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

static inline float hsum(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 0x55));
    return _mm_cvtss_f32(s);
}

static float row_dot1(const uint16_t *w, const float *x, int cols)
{
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps(), a2 = _mm256_setzero_ps(),
           a3 = _mm256_setzero_ps();
    int c = 0;
    for (; c + 32 <= cols; c += 32) {
        a0 = _mm256_fmadd_ps(load8(w + c), _mm256_loadu_ps(x + c), a0);
        a1 = _mm256_fmadd_ps(load8(w + c + 8), _mm256_loadu_ps(x + c + 8), a1);
        a2 = _mm256_fmadd_ps(load8(w + c + 16), _mm256_loadu_ps(x + c + 16), a2);
        a3 = _mm256_fmadd_ps(load8(w + c + 24), _mm256_loadu_ps(x + c + 24), a3);
    }
    for (; c + 8 <= cols; c += 8)
        a0 = _mm256_fmadd_ps(load8(w + c), _mm256_loadu_ps(x + c), a0);
    float acc = hsum(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    for (; c < cols; c++)
        acc += qt_bf16_to_f32(w[c]) * x[c];
    return acc;
}

/* As rows4_dot1 in kernels_avx512.c: four rows per pass, the four rows two passes on fetched meanwhile
 * (forced AVX2, bench 0.6B bf16: talker + code predictor at 1.61x the time to read their bytes before any
 * fetching ahead). */
static void rows4_dot1(float *y, const uint16_t *w, const float *x, int cols, const uint16_t *ahead)
{
    const uint16_t *w1 = w + cols, *w2 = w1 + cols, *w3 = w2 + cols;
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int c = 0;
    for (; c + 8 <= cols; c += 8) {
        if (ahead && (c & 31) == 0) qt_prefetch_rows4(ahead + c, sizeof *ahead * (size_t)cols);
        __m256 xv = _mm256_loadu_ps(x + c);
        a0 = _mm256_fmadd_ps(load8(w + c), xv, a0);
        a1 = _mm256_fmadd_ps(load8(w1 + c), xv, a1);
        a2 = _mm256_fmadd_ps(load8(w2 + c), xv, a2);
        a3 = _mm256_fmadd_ps(load8(w3 + c), xv, a3);
    }
    float s[4] = {hsum(a0), hsum(a1), hsum(a2), hsum(a3)};
    for (; c < cols; c++)
        for (int i = 0; i < 4; i++)
            s[i] += qt_bf16_to_f32(w[(size_t)i * cols + c]) * x[c];
    for (int i = 0; i < 4; i++)
        y[i] = s[i];
}

#define MAXV 4

void qt_matmul_bf16_avx2(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx, int n,
                         int r0, int r1)
{
    if (n == 1) {
        int r = r0;
        for (; r + 4 <= r1; r += 4)
            rows4_dot1(y + r, w + (size_t)r * cols, x, cols,
                       r + 12 <= r1 ? w + (size_t)(r + 8) * cols : NULL);
        for (; r < r1; r++)
            y[r] = row_dot1(w + (size_t)r * cols, x, cols);
        return;
    }
    for (int r = r0; r < r1; r++) {
        const uint16_t *row = w + (size_t)r * cols;
        for (int l0 = 0; l0 < n; l0 += MAXV) {
            int nv = n - l0 < MAXV ? n - l0 : MAXV;
            __m256 acc[MAXV];
            for (int v = 0; v < MAXV; v++)
                acc[v] = _mm256_setzero_ps();
            int c = 0;
            for (; c + 8 <= cols; c += 8) {
                __m256 wv = load8(row + c);
                for (int v = 0; v < nv; v++)
                    acc[v] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + (size_t)(l0 + v) * ldx + c), acc[v]);
            }
            for (int v = 0; v < nv; v++) {
                float s = hsum(acc[v]);
                const float *xl = x + (size_t)(l0 + v) * ldx;
                for (int cc = c; cc < cols; cc++)
                    s += qt_bf16_to_f32(row[cc]) * xl[cc];
                y[(size_t)(l0 + v) * ldy + r] = s;
            }
        }
    }
}

uint64_t qt_read_avx2(const void *p, size_t n_bytes)
{
    const uint8_t *q = p;
    __m256i a = _mm256_setzero_si256(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 128 <= n_bytes; i += 128) {
        a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(q + i)));
        b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(q + i + 32)));
        c = _mm256_xor_si256(c, _mm256_loadu_si256((const __m256i *)(q + i + 64)));
        d = _mm256_xor_si256(d, _mm256_loadu_si256((const __m256i *)(q + i + 96)));
    }
    for (; i + 32 <= n_bytes; i += 32)
        a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(q + i)));
    a = _mm256_xor_si256(_mm256_xor_si256(a, b), _mm256_xor_si256(c, d));
    return (uint64_t)_mm256_extract_epi64(a, 0) ^ (uint64_t)_mm256_extract_epi64(a, 1) ^
           (uint64_t)_mm256_extract_epi64(a, 2) ^ (uint64_t)_mm256_extract_epi64(a, 3);
}

/* As the AVX-512 versions (kernels_avx512.c), 8 floats per register. hd a multiple of 16. */
void qt_attn_scores_avx2(float *scores, const float *q, int G, const float *k, int ld, int len, int hd,
                         float scale)
{
    for (int p = 0; p < len; p++) {
        const float *kp = k + (size_t)p * ld;
        if (p + 4 < len) qt_prefetch_floats(kp + 4 * (size_t)ld, hd);
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * hd;
            __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
            for (int c = 0; c < hd; c += 16) {
                a0 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + c), _mm256_loadu_ps(kp + c), a0);
                a1 = _mm256_fmadd_ps(_mm256_loadu_ps(qg + c + 8), _mm256_loadu_ps(kp + c + 8), a1);
            }
            scores[(size_t)g * len + p] = hsum(_mm256_add_ps(a0, a1)) * scale;
        }
    }
}

void qt_attn_values_avx2(float *o, const float *scores, int G, const float *v, int ld, int len, int hd)
{
    for (int g = 0; g < G; g++) {
        const float *sg = scores + (size_t)g * len;
        for (int c0 = 0; c0 < hd; c0 += 32) {
            int nb = (hd - c0) / 8 < 4 ? (hd - c0) / 8 : 4;
            __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                             _mm256_setzero_ps()};
            for (int p = 0; p < len; p++) {
                const float *vp = v + (size_t)p * ld + c0;
                if (g == 0 && c0 == 0 && p + 4 < len) qt_prefetch_floats(vp + 4 * (size_t)ld, hd);
                __m256 s = _mm256_set1_ps(sg[p]);
                for (int b = 0; b < 4; b++)
                    if (b < nb) acc[b] = _mm256_fmadd_ps(s, _mm256_loadu_ps(vp + 8 * b), acc[b]);
            }
            for (int b = 0; b < nb; b++)
                _mm256_storeu_ps(o + (size_t)g * hd + c0 + 8 * b, acc[b]);
        }
    }
}
