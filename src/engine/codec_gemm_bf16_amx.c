/* codec_gemm_bf16_amx.c — qt_codec_gemm_bf16 on AMX tiles (tdpbf16ps): 32 rows x 32 columns of C in four
 * 16 x 16 float tiles; A's high and low halves as 16 x 32 bf16 tiles, contiguous in the weight; B split
 * as it is packed into high and low 16-pair x 16-column tiles (one 32-bit lane = a column's values at k and
 * k+1). For each 32 k: hi*hi, hi*lo, lo*hi, each tdpbf16ps adding its terms to every element, in k order
 * from 0 whatever the tile's place, so pieces of a split product give the same bits (codec_gemm_bf16.h).
 * Edge tiles go through zero-padded copies, never another order.
 * Blocking (measured on the decoder's shapes): 256 columns x 128 k of B packed (2 x 64 KiB), 32 rows of A
 * at a time. */
#include "engine/codec_gemm_bf16.h"

#if defined(__x86_64__)
#include <immintrin.h>
#include <string.h>

#define NB 256           /* columns of a packed block */
#define KB 128           /* k of a packed block: 4 tiles deep */
#define TILE_WORDS 256   /* 16 rows x 64 bytes */
#define CHUNKS (KB / 32) /* tiles along k in a block */

typedef struct {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} tile_config;

static __mmask16 lanes(int n)
{
    return n >= 16 ? (__mmask16)0xffff : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* float32 -> bf16 (nearest, ties to even) in the high half of each lane, the low half zero */
static inline __m512i round_hi(__m512 x)
{
    __m512i u = _mm512_castps_si512(x);
    __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(u, 16), _mm512_set1_epi32(1));
    u = _mm512_add_epi32(u, _mm512_add_epi32(lsb, _mm512_set1_epi32(0x7fff)));
    return _mm512_and_si512(u, _mm512_set1_epi32((int)0xffff0000u));
}

/* B[k0 .. k0+kc) x [n0 .. n0+nb) -> tiles of high (hp) and low (lp) halves: strip s (16 columns), chunk c
 * (32 k) at tile s*CHUNKS + c; everything past K or N is zero. */
static void pack(const float *B, ptrdiff_t ldb, int k0, int kc, int K, int n0, int nb, int N, uint32_t *hp,
                 uint32_t *lp, int strips)
{
    int pairs = (kc + 31) / 32 * 16;
    for (int s = 0; s < strips; s++) {
        int n = n0 + 16 * s;
        __mmask16 q = lanes((n0 + nb < N ? n0 + nb : N) - n);
        for (int p = 0; p < pairs; p++) {
            int k = k0 + 2 * p;
            __m512 x0 = k < K ? _mm512_maskz_loadu_ps(q, B + k * ldb + n) : _mm512_setzero_ps();
            __m512 x1 = k + 1 < K ? _mm512_maskz_loadu_ps(q, B + (k + 1) * ldb + n) : _mm512_setzero_ps();
            __m512i h0 = round_hi(x0), h1 = round_hi(x1);
            __m512i l0 = round_hi(_mm512_sub_ps(x0, _mm512_castsi512_ps(h0)));
            __m512i l1 = round_hi(_mm512_sub_ps(x1, _mm512_castsi512_ps(h1)));
            size_t at = ((size_t)s * CHUNKS + p / 16) * TILE_WORDS + (p % 16) * 16;
            _mm512_store_si512(hp + at, _mm512_or_si512(_mm512_srli_epi32(h0, 16), h1));
            _mm512_store_si512(lp + at, _mm512_or_si512(_mm512_srli_epi32(l0, 16), l1));
        }
    }
}

/* a C tile: rows r0.., columns c0.. of C; partial ones are staged in buf */
#define C_LOAD(t, r0, c0)                                                                                    \
    do {                                                                                                     \
        int vr = M - (r0), vc = N - (c0);                                                                    \
        full[t] = vr >= 16 && vc >= 16;                                                                      \
        if (full[t]) {                                                                                       \
            _tile_loadd(t, C + (r0)*ldc + (c0), (int)(ldc * 4));                                             \
        } else {                                                                                             \
            memset(buf[t], 0, sizeof buf[t]);                                                                \
            for (int r = 0; r < vr && r < 16; r++)                                                           \
                for (int c = 0; c < vc && c < 16; c++)                                                       \
                    buf[t][r * 16 + c] = C[((r0) + r) * ldc + (c0) + c];                                     \
            _tile_loadd(t, buf[t], 64);                                                                      \
        }                                                                                                    \
    } while (0)
#define C_STORE(t, r0, c0)                                                                                   \
    do {                                                                                                     \
        int vr = M - (r0), vc = N - (c0);                                                                    \
        if (full[t]) {                                                                                       \
            _tile_stored(t, C + (r0)*ldc + (c0), (int)(ldc * 4));                                            \
        } else {                                                                                             \
            _tile_stored(t, buf[t], 64);                                                                     \
            for (int r = 0; r < vr && r < 16; r++)                                                           \
                for (int c = 0; c < vc && c < 16; c++)                                                       \
                    C[((r0) + r) * ldc + (c0) + c] = buf[t][r * 16 + c];                                     \
        }                                                                                                    \
    } while (0)
/* the four C tiles += A tiles 4, 5 times B tiles 6, 7 */
#define DP4()                                                                                                \
    do {                                                                                                     \
        _tile_dpbf16ps(0, 4, 6);                                                                             \
        _tile_dpbf16ps(1, 4, 7);                                                                             \
        _tile_dpbf16ps(2, 5, 6);                                                                             \
        _tile_dpbf16ps(3, 5, 7);                                                                             \
    } while (0)

void qt_codec_gemm_bf16_amx(int M, int N, int K, const uint16_t *A, ptrdiff_t lda, const float *B,
                            ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    if (M <= 0 || N <= 0 || K <= 0) return;
    tile_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    _tile_loadconfig(&cfg);
    uint32_t hp[(NB / 16) * CHUNKS * TILE_WORDS] __attribute__((aligned(64)));
    uint32_t lp[(NB / 16) * CHUNKS * TILE_WORDS] __attribute__((aligned(64)));
    float buf[4][256] __attribute__((aligned(64)));
    int full[4];
    for (int n0 = 0; n0 < N; n0 += NB) {
        int nb = N - n0 < NB ? N - n0 : NB, strips = (nb + 31) / 32 * 2;
        for (int k0 = 0; k0 < K; k0 += KB) {
            int kc = K - k0 < KB ? K - k0 : KB, chunks = (kc + 31) / 32;
            pack(B, ldb, k0, kc, K, n0, nb, N, hp, lp, strips);
            for (int m0 = 0; m0 < M; m0 += 32) {
                /* A's tiles: rows m0.. and m0+16.. (zero rows past M), chunk k0/32 + c; low halves +512 */
                const uint16_t *a0 = A + (ptrdiff_t)m0 * lda + (k0 / 32) * 1024, *a1 = a0 + 16 * lda;
                for (int s = 0; s < strips; s += 2) {
                    int c0 = n0 + 16 * s;
                    C_LOAD(0, m0, c0);
                    C_LOAD(1, m0, c0 + 16);
                    C_LOAD(2, m0 + 16, c0);
                    C_LOAD(3, m0 + 16, c0 + 16);
                    const uint32_t *h0 = hp + (size_t)s * CHUNKS * TILE_WORDS, *h1 = h0 + CHUNKS * TILE_WORDS;
                    const uint32_t *l0 = lp + (size_t)s * CHUNKS * TILE_WORDS, *l1 = l0 + CHUNKS * TILE_WORDS;
                    for (int c = 0; c < chunks; c++) {
                        _tile_loadd(4, a0 + c * 1024, 64); /* A hi x B hi */
                        _tile_loadd(5, a1 + c * 1024, 64);
                        _tile_loadd(6, h0 + c * TILE_WORDS, 64);
                        _tile_loadd(7, h1 + c * TILE_WORDS, 64);
                        DP4();
                        _tile_loadd(6, l0 + c * TILE_WORDS, 64); /* A hi x B lo */
                        _tile_loadd(7, l1 + c * TILE_WORDS, 64);
                        DP4();
                        _tile_loadd(4, a0 + c * 1024 + 512, 64); /* A lo x B hi */
                        _tile_loadd(5, a1 + c * 1024 + 512, 64);
                        _tile_loadd(6, h0 + c * TILE_WORDS, 64);
                        _tile_loadd(7, h1 + c * TILE_WORDS, 64);
                        DP4();
                    }
                    C_STORE(0, m0, c0);
                    C_STORE(1, m0, c0 + 16);
                    C_STORE(2, m0 + 16, c0);
                    C_STORE(3, m0 + 16, c0 + 16);
                }
            }
        }
    }
    _tile_release();
}
#else
void qt_codec_gemm_bf16_amx(int M, int N, int K, const uint16_t *A, ptrdiff_t lda, const float *B,
                            ptrdiff_t ldb, float *C, ptrdiff_t ldc)
{
    qt_codec_gemm_bf16_scalar(M, N, K, A, lda, B, ldb, C, ldc);
}
#endif
