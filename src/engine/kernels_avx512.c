/* kernels_avx512.c — AVX-512 bf16-weight matrix product (compiled with -mavx512f/bw/vl/dq, called only when
 * the CPU has them). Same contract and results (up to summation order) as qt_matmul_bf16_scalar. */
#include "engine/kernels.h"

#include <immintrin.h>

/* 16 bf16 -> 16 f32: widen to 32 bits and shift into the high half. */
static inline __m512 load16(const uint16_t *p)
{
    __m256i h = _mm256_loadu_si256((const __m256i *)p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static inline __m512 load16_tail(const uint16_t *p, int k)
{
    __mmask16 m = (__mmask16)((1u << k) - 1u);
    __m256i h = _mm256_maskz_loadu_epi16(m, p);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

static float row_dot1(const uint16_t *w, const float *x, int cols)
{
    __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps(), a2 = _mm512_setzero_ps(),
           a3 = _mm512_setzero_ps();
    int c = 0;
    for (; c + 64 <= cols; c += 64) {
        a0 = _mm512_fmadd_ps(load16(w + c), _mm512_loadu_ps(x + c), a0);
        a1 = _mm512_fmadd_ps(load16(w + c + 16), _mm512_loadu_ps(x + c + 16), a1);
        a2 = _mm512_fmadd_ps(load16(w + c + 32), _mm512_loadu_ps(x + c + 32), a2);
        a3 = _mm512_fmadd_ps(load16(w + c + 48), _mm512_loadu_ps(x + c + 48), a3);
    }
    for (; c + 16 <= cols; c += 16)
        a0 = _mm512_fmadd_ps(load16(w + c), _mm512_loadu_ps(x + c), a0);
    if (c < cols) {
        int k = cols - c;
        __mmask16 m = (__mmask16)((1u << k) - 1u);
        a1 = _mm512_fmadd_ps(load16_tail(w + c, k), _mm512_maskz_loadu_ps(m, x + c), a1);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* A decode step (one vector) streams each weight row once, so it is bound by how fast the rows arrive: four
 * rows per pass share the vector's loads and keep four streams in flight, and each pass fetches the four rows
 * two passes on (the hardware prefetcher alone kept too few reads in flight). bench 0.6B bf16, 2 threads:
 * talker 51 -> 38, code predictor 117 -> 78-81 ms/frame (one row per pass fetching 4 rows on: 46 and 85-89).
 */
static void rows4_dot1(float *y, const uint16_t *w, const float *x, int cols, const uint16_t *ahead)
{
    const uint16_t *w1 = w + cols, *w2 = w1 + cols, *w3 = w2 + cols;
    __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    int c = 0;
    for (; c + 16 <= cols; c += 16) {
        if (ahead && (c & 31) == 0) qt_prefetch_rows4(ahead + c, sizeof *ahead * (size_t)cols);
        __m512 xv = _mm512_loadu_ps(x + c);
        a0 = _mm512_fmadd_ps(load16(w + c), xv, a0);
        a1 = _mm512_fmadd_ps(load16(w1 + c), xv, a1);
        a2 = _mm512_fmadd_ps(load16(w2 + c), xv, a2);
        a3 = _mm512_fmadd_ps(load16(w3 + c), xv, a3);
    }
    if (c < cols) {
        int k = cols - c;
        __mmask16 m = (__mmask16)((1u << k) - 1u);
        __m512 xv = _mm512_maskz_loadu_ps(m, x + c);
        a0 = _mm512_fmadd_ps(load16_tail(w + c, k), xv, a0);
        a1 = _mm512_fmadd_ps(load16_tail(w1 + c, k), xv, a1);
        a2 = _mm512_fmadd_ps(load16_tail(w2 + c, k), xv, a2);
        a3 = _mm512_fmadd_ps(load16_tail(w3 + c, k), xv, a3);
    }
    y[0] = _mm512_reduce_add_ps(a0);
    y[1] = _mm512_reduce_add_ps(a1);
    y[2] = _mm512_reduce_add_ps(a2);
    y[3] = _mm512_reduce_add_ps(a3);
}

#define MAXV 4 /* vectors per pass over a row */

void qt_matmul_bf16_avx512(float *y, int ldy, const uint16_t *w, int cols, const float *x, int ldx, int n,
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
            __m512 acc[MAXV];
            for (int v = 0; v < MAXV; v++)
                acc[v] = _mm512_setzero_ps();
            int c = 0;
            for (; c + 16 <= cols; c += 16) {
                __m512 wv = load16(row + c);
                for (int v = 0; v < nv; v++)
                    acc[v] = _mm512_fmadd_ps(wv, _mm512_loadu_ps(x + (size_t)(l0 + v) * ldx + c), acc[v]);
            }
            if (c < cols) {
                int k = cols - c;
                __mmask16 m = (__mmask16)((1u << k) - 1u);
                __m512 wv = load16_tail(row + c, k);
                for (int v = 0; v < nv; v++)
                    acc[v] =
                        _mm512_fmadd_ps(wv, _mm512_maskz_loadu_ps(m, x + (size_t)(l0 + v) * ldx + c), acc[v]);
            }
            for (int v = 0; v < nv; v++)
                y[(size_t)(l0 + v) * ldy + r] = _mm512_reduce_add_ps(acc[v]);
        }
    }
}

uint64_t qt_read_avx512(const void *p, size_t n_bytes)
{
    const uint8_t *q = p;
    __m512i a = _mm512_setzero_si512(), b = a, c = a, d = a;
    size_t i = 0;
    for (; i + 256 <= n_bytes; i += 256) {
        a = _mm512_xor_si512(a, _mm512_loadu_si512((const void *)(q + i)));
        b = _mm512_xor_si512(b, _mm512_loadu_si512((const void *)(q + i + 64)));
        c = _mm512_xor_si512(c, _mm512_loadu_si512((const void *)(q + i + 128)));
        d = _mm512_xor_si512(d, _mm512_loadu_si512((const void *)(q + i + 192)));
    }
    for (; i + 64 <= n_bytes; i += 64)
        a = _mm512_xor_si512(a, _mm512_loadu_si512((const void *)(q + i)));
    a = _mm512_xor_si512(_mm512_xor_si512(a, b), _mm512_xor_si512(c, d));
    uint64_t lanes[8], r = 0;
    _mm512_storeu_si512((void *)lanes, a);
    for (int i = 0; i < 8; i++)
        r ^= lanes[i];
    return r;
}

/* Scores: one q . k per (position, head), the K row fetched a few positions ahead (rows are ld floats apart,
 * a page or more on the real models, which the hardware prefetcher does not follow). hd a multiple of 16. */
void qt_attn_scores_avx512(float *scores, const float *q, int G, const float *k, int ld, int len, int hd,
                           float scale)
{
    for (int p = 0; p < len; p++) {
        const float *kp = k + (size_t)p * ld;
        if (p + 4 < len) qt_prefetch_floats(kp + 4 * (size_t)ld, hd);
        for (int g = 0; g < G; g++) {
            const float *qg = q + (size_t)g * hd;
            __m512 a0 = _mm512_setzero_ps(), a1 = _mm512_setzero_ps();
            int c = 0;
            for (; c + 32 <= hd; c += 32) {
                a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + c), _mm512_loadu_ps(kp + c), a0);
                a1 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + c + 16), _mm512_loadu_ps(kp + c + 16), a1);
            }
            if (c < hd) a0 = _mm512_fmadd_ps(_mm512_loadu_ps(qg + c), _mm512_loadu_ps(kp + c), a0);
            scores[(size_t)g * len + p] = _mm512_reduce_add_ps(_mm512_add_ps(a0, a1)) * scale;
        }
    }
}

/* Values: o[g] in up to four registers per pass over V (V stays in L2 between passes), V fetched ahead on
 * the first pass. hd a multiple of 16. */
void qt_attn_values_avx512(float *o, const float *scores, int G, const float *v, int ld, int len, int hd)
{
    for (int g = 0; g < G; g++) {
        const float *sg = scores + (size_t)g * len;
        for (int c0 = 0; c0 < hd; c0 += 64) {
            int nb = (hd - c0) / 16 < 4 ? (hd - c0) / 16 : 4;
            __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(),
                             _mm512_setzero_ps()};
            for (int p = 0; p < len; p++) {
                const float *vp = v + (size_t)p * ld + c0;
                if (g == 0 && c0 == 0 && p + 4 < len) qt_prefetch_floats(vp + 4 * (size_t)ld, hd);
                __m512 s = _mm512_set1_ps(sg[p]);
                for (int b = 0; b < 4; b++)
                    if (b < nb) acc[b] = _mm512_fmadd_ps(s, _mm512_loadu_ps(vp + 16 * b), acc[b]);
            }
            for (int b = 0; b < nb; b++)
                _mm512_storeu_ps(o + (size_t)g * hd + c0 + 16 * b, acc[b]);
        }
    }
}
