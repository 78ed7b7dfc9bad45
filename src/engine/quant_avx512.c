/* quant_avx512.c — the int8 matrix kernel on AVX-512 VNNI (vpdpbusd; compiled with -mavx512f/bw/vl/dq,
 * VNNI enabled per function, called only when the CPU has it). Bit-identical to qt_matmul_q8_scalar.
 *
 * One group of 64 columns is one register: vpdpbusd adds the 16 lane sums of (q + 128) * x onto the
 * activation's correction (-128 * lane sums of x), which leaves the exact sums of q * x. The load-time
 * quantizer is here too: the same float steps as quant.c's quantize_group, 64 values at a time.
 */
#include "engine/quant.h"

#include "engine/kernels.h"

#include <immintrin.h>

/* The products of one group for one row: acc += (lane sums of q * x) * (w_scale * x_scales). */
#define GROUP_FMA(acc, wrow, wscale)                                                                         \
    acc = _mm512_fmadd_ps(                                                                                   \
        _mm512_cvtepi32_ps(_mm512_dpbusd_epi32(c, _mm512_load_si512((const void *)((wrow) + b)), xv)),       \
        _mm512_mul_ps(_mm512_set1_ps((wscale)[g]), xsv), acc)

/* Each pass also fetches the four rows two passes ahead: the hardware prefetcher alone kept too few reads in
 * flight (talker + code predictor ran at 1.44x the time to read their bytes, 1.05-1.10x with this; one pass
 * or four passes ahead were slower). */
/* Four rows per pass share the activation's loads and keep four weight streams in flight (a decode step is
 * bound by how fast the weights arrive: 10 % faster than two rows on L2-resident weights). */
__attribute__((target("avx512vnni"))) void qt_matmul_q8_vnni(float *y, int ldy, const qt_q8 *w,
                                                             const qt_q8_act *a, int r0, int r1)
{
    size_t width = (size_t)w->groups * QT_Q8_GROUP;
    for (int l = 0; l < a->n; l++) {
        const int8_t *x = a->q + (size_t)l * width;
        const float *xs = a->scale + (size_t)l * w->groups * QT_Q8_LANES;
        const int32_t *corr = a->corr + (size_t)l * w->groups * 16;
        float *yl = y + (size_t)l * ldy, acc[16];
        int r = r0;
        for (; r + 4 <= r1; r += 4) {
            const uint8_t *w0 = w->w + (size_t)r * width, *w1 = w0 + width, *w2 = w1 + width,
                          *w3 = w2 + width;
            const float *s0 = w->scale + (size_t)r * w->groups, *s1 = s0 + w->groups, *s2 = s1 + w->groups,
                        *s3 = s2 + w->groups;
            __m512 acc0 = _mm512_setzero_ps(), acc1 = acc0, acc2 = acc0, acc3 = acc0;
            for (int g = 0; g < w->groups; g++) {
                size_t b = (size_t)g * QT_Q8_GROUP;
                __m512i xv = _mm512_load_si512((const void *)(x + b));
                __m512i c = _mm512_load_si512((const void *)(corr + (size_t)g * 16));
                __m512 xsv = _mm512_load_ps(xs + (size_t)g * QT_Q8_LANES);
                if (r + 12 <= r1) qt_prefetch_rows4(w0 + 8 * width + b, width);
                GROUP_FMA(acc0, w0, s0);
                GROUP_FMA(acc1, w1, s1);
                GROUP_FMA(acc2, w2, s2);
                GROUP_FMA(acc3, w3, s3);
            }
            __m512 accs[4] = {acc0, acc1, acc2, acc3};
            for (int i = 0; i < 4; i++) {
                _mm512_storeu_ps(acc, accs[i]);
                yl[r + i] = qt_q8_reduce16(acc);
            }
        }
        for (; r < r1; r++) {
            const uint8_t *w0 = w->w + (size_t)r * width;
            const float *s0 = w->scale + (size_t)r * w->groups;
            __m512 acc0 = _mm512_setzero_ps();
            for (int g = 0; g < w->groups; g++) {
                size_t b = (size_t)g * QT_Q8_GROUP;
                __m512i xv = _mm512_load_si512((const void *)(x + b));
                __m512i c = _mm512_load_si512((const void *)(corr + (size_t)g * 16));
                __m512 xsv = _mm512_load_ps(xs + (size_t)g * QT_Q8_LANES);
                GROUP_FMA(acc0, w0, s0);
            }
            _mm512_storeu_ps(acc, acc0);
            yl[r] = qt_q8_reduce16(acc);
        }
    }
}
#undef GROUP_FMA

/* Scaled values -> integers in [-127, 127]: clamped, then rounded half away from zero (the float steps of
 * quant.c's quantize_span, shared by the weight and the activation quantizers). */
static inline __m512i round_q8(__m512 r)
{
    r = _mm512_min_ps(_mm512_max_ps(r, _mm512_set1_ps(-127.0f)), _mm512_set1_ps(127.0f));
    __mmask16 pos = _mm512_cmp_ps_mask(r, _mm512_setzero_ps(), _CMP_GE_OQ);
    __m512 half = _mm512_mask_blend_ps(pos, _mm512_set1_ps(-0.5f), _mm512_set1_ps(0.5f));
    return _mm512_cvttps_epi32(_mm512_add_ps(r, half));
}

/* 16 bf16 -> 16 f32 */
static inline __m512 bf16x16(__m256i h)
{
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

void qt_quantize_row_avx512(const uint16_t *src, int cols, int groups, uint8_t *dst, float *scale)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int g = 0; g < groups; g++) {
        int c0 = g * QT_Q8_GROUP, k = cols - c0 < QT_Q8_GROUP ? cols - c0 : QT_Q8_GROUP;
        __m512 v[4], amax = _mm512_setzero_ps();
        __mmask16 finite = 0xffff;
        for (int i = 0; i < 4; i++) {
            int n = k - 16 * i < 0 ? 0 : k - 16 * i > 16 ? 16 : k - 16 * i;
            __m256i h = _mm256_maskz_loadu_epi16((__mmask16)((1u << n) - 1u), src + c0 + 16 * i);
            v[i] = bf16x16(h);
            __m512 a = _mm512_and_ps(v[i], absmask);
            amax = _mm512_max_ps(amax, a);
            finite &= _mm512_cmp_ps_mask(a, _mm512_set1_ps(3.4e38f), _CMP_LE_OQ);
        }
        float m = _mm512_reduce_max_ps(amax);
        int ok = m > 0.0f && finite == 0xffff;
        __m512 inv = _mm512_set1_ps(ok ? 127.0f / m : 0.0f);
        for (int i = 0; i < 4; i++) {
            __m512 r = ok ? _mm512_mul_ps(v[i], inv) : _mm512_setzero_ps();
            __m512i q = round_q8(r);
            __m128i b = _mm_xor_si128(_mm512_cvtepi32_epi8(q), _mm_set1_epi8((char)0x80));
            _mm_storeu_si128((__m128i *)(dst + c0 + 16 * i), b);
        }
        scale[g] = ok ? m / 127.0f : 0.0f;
    }
}

/* Each float gets the max of its 128-bit block (its lane of 4): running `aj > m ? aj : m` from 0 in column
 * order, as quantize_span does, so NaN is passed over the same way. */
static inline __m512 lane_max(__m512 a)
{
    __m512 m = _mm512_setzero_ps(), aj = _mm512_permute_ps(a, 0x00);
    m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(aj, m, _CMP_GT_OQ), m, aj);
    aj = _mm512_permute_ps(a, 0x55);
    m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(aj, m, _CMP_GT_OQ), m, aj);
    aj = _mm512_permute_ps(a, 0xaa);
    m = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(aj, m, _CMP_GT_OQ), m, aj);
    aj = _mm512_permute_ps(a, 0xff);
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(aj, m, _CMP_GT_OQ), m, aj);
}

/* Per 4-column lane: the same steps as quantize_span, 16 floats (4 lanes) per register. A 128-bit block is
 * one lane, so in-block permutes give each float its lane's max (and later its lane's sum). */
void qt_quantize_act_avx512(const float *x, int cols, int groups, int8_t *q, float *scale, int32_t *corr)
{
    const __m512 absmask = _mm512_castsi512_ps(_mm512_set1_epi32(0x7fffffff));
    for (int g = 0; g < groups; g++) {
        int c0 = g * QT_Q8_GROUP, k = cols - c0 < QT_Q8_GROUP ? cols - c0 : QT_Q8_GROUP;
        for (int i = 0; i < 4; i++) {
            int n = k - 16 * i < 0 ? 0 : k - 16 * i > 16 ? 16 : k - 16 * i;
            __m512 v = _mm512_maskz_loadu_ps((__mmask16)((1u << n) - 1u), x + c0 + 16 * i);
            __m512 a = _mm512_and_ps(v, absmask);
            /* a lane with inf or NaN is bad (all zero), as in quantize_span */
            __m512 m = lane_max(a);
            __mmask16 bad = _mm512_cmp_ps_mask(a, _mm512_set1_ps(3.4e38f), _CMP_NLE_UQ);
            __mmask16 badlane = 0;
            for (int l = 0; l < 4; l++)
                if (bad & (0xfu << (4 * l))) badlane |= (__mmask16)(0xfu << (4 * l));
            __mmask16 ok = _mm512_cmp_ps_mask(m, _mm512_setzero_ps(), _CMP_GT_OQ) & (__mmask16)~badlane;
            __m512 inv = _mm512_maskz_div_ps(ok, _mm512_set1_ps(127.0f), m);
            __m512 r = _mm512_maskz_mul_ps(ok, v, inv);
            __m512i qi = round_q8(r);
            _mm_storeu_si128((__m128i *)(q + (size_t)g * QT_Q8_GROUP + 16 * i), _mm512_cvtepi32_epi8(qi));
            __m512 sc = _mm512_maskz_div_ps(ok, m, _mm512_set1_ps(127.0f));
            __m512i s1 = _mm512_add_epi32(qi, _mm512_shuffle_epi32(qi, _MM_PERM_CDAB));
            __m512i s2 = _mm512_add_epi32(s1, _mm512_shuffle_epi32(s1, _MM_PERM_BADC));
            _mm_storeu_ps(scale + g * QT_Q8_LANES + 4 * i,
                          _mm512_castps512_ps128(_mm512_maskz_compress_ps(0x1111, sc)));
            _mm_storeu_si128((__m128i *)(corr + g * 16 + 4 * i),
                             _mm512_castsi512_si128(_mm512_maskz_compress_epi32(
                                 0x1111, _mm512_mullo_epi32(s2, _mm512_set1_epi32(-128)))));
        }
    }
}

/* 16 columns at a time: u8 -> i32, minus 128, to float, times the group's scale; the last group's columns
 * past cols are not written. */
void qt_q8_dequant_rows_avx512(const qt_q8 *q, int r0, int n, float *out)
{
    size_t width = (size_t)q->groups * QT_Q8_GROUP;
    const __m512i off = _mm512_set1_epi32(128);
    for (int r = 0; r < n; r++) {
        const uint8_t *row = q->w + (size_t)(r0 + r) * width;
        const float *sc = q->scale + (size_t)(r0 + r) * q->groups;
        float *o = out + (size_t)r * q->cols;
        for (int c = 0; c < q->cols; c += 16) {
            int k = q->cols - c < 16 ? q->cols - c : 16;
            __m512i v =
                _mm512_sub_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(row + c))), off);
            __m512 f = _mm512_mul_ps(_mm512_set1_ps(sc[c / QT_Q8_GROUP]), _mm512_cvtepi32_ps(v));
            _mm512_mask_storeu_ps(o + c, (__mmask16)((1u << k) - 1u), f);
        }
    }
}
