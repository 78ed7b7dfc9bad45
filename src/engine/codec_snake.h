/* codec_snake.h — SnakeBeta, the codec decoder's activation: y = x + inv_b * sin^2(a * x) (§7.6).
 *
 * One row (one channel) at a time, with a = e^alpha and inv_b = 1 / (e^beta + 1e-9) precomputed per channel.
 * sin^2 comes from a polynomial after reduction by pi (sin^2 has period pi, so the sign of the quotient does
 * not matter), accurate to about 1e-7 for |a*x| up to a few thousand. A plain C version and AVX2 / AVX-512
 * versions of the same math sit behind one function pointer chosen once; tests check them against each other.
 */
#ifndef QT_CODEC_SNAKE_H
#define QT_CODEC_SNAKE_H

#include <stddef.h>

/* y[i] = x[i] + inv_b * sin^2(a * x[i]) for i in [0, n); y may equal x. */
typedef void (*qt_snake_fn)(float *y, const float *x, size_t n, float a, float inv_b);

void qt_snake_row_scalar(float *y, const float *x, size_t n, float a, float inv_b);
void qt_snake_row_avx2(float *y, const float *x, size_t n, float a, float inv_b);
void qt_snake_row_avx512(float *y, const float *x, size_t n, float a, float inv_b);

/* The best version this CPU runs ($VOICEBOX_KERNELS=scalar|avx2|avx512 narrows the choice). */
qt_snake_fn qt_snake_get(void);

/* The reduction constants and polynomial, shared by all three versions.
 * pi split in three (Cody-Waite, Cephes' DP1..3 times 4) so n*pi is exact enough without FMA. */
#define QT_SNAKE_INV_PI 0.318309886183790671f
#define QT_SNAKE_PI_A 3.140625f
#define QT_SNAKE_PI_B 9.67502593994140625e-4f
#define QT_SNAKE_PI_C 1.509957990978376432e-7f
/* sin(r) = r + r^3 (S3 + r^2 (S5 + r^2 (S7 + r^2 (S9 + r^2 S11)))) on [-pi/2, pi/2]; Taylor, error < 6e-8 */
#define QT_SNAKE_S3 -1.66666666666666667e-1f
#define QT_SNAKE_S5 8.33333333333333333e-3f
#define QT_SNAKE_S7 -1.98412698412698413e-4f
#define QT_SNAKE_S9 2.75573192239858907e-6f
#define QT_SNAKE_S11 -2.50521083854417188e-8f

#endif
