/* codec_encoder.h — the speech tokenizer's encoder: 24 kHz mono audio -> 16 codes per 1920-sample frame
 * (docs/engine.md §3.2, a Mimi encoder). Internal to the engine; the public face is qt_codec_encode in qt.h
 * (codec.c).
 *
 * SEANet causal convs (25 Hz) -> 8-layer causal transformer -> replicate-padded stride-2 downsample
 * (12.5 Hz) -> split RVQ (one semantic codebook, then acoustic codebooks on a residual that restarts from
 * the same input). The encoder is run over a whole clip at once; it keeps no state between calls.
 * It does not read audio files: the caller hands it samples (resampled here when not at 24 kHz).
 */
#ifndef QT_CODEC_ENCODER_H
#define QT_CODEC_ENCODER_H

#include "engine/config.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

#include <stddef.h>
#include <stdint.h>

typedef struct codec_encoder codec_encoder; /* weights + config, read-only after load */

/* Weights are pointers into f (which must outlive the encoder) except the codebooks, which are computed
 * (embed_sum / max(cluster_usage, 1e-5)). n_quantizers codebooks are kept: 0 means the config's
 * encoder_valid_num_quantizers (16); up to encoder num_quantizers (32) for tests. */
codec_encoder *codec_encoder_load(const st_file *f, const qt_codec_config *cfg, int n_quantizers,
                                  qt_error *err);
void codec_encoder_free(codec_encoder *e); /* NULL is fine */

int codec_encoder_codebooks(const codec_encoder *e);
int codec_encoder_frame_samples(const codec_encoder *e); /* 1920 */
int codec_encoder_sample_rate(const codec_encoder *e);   /* 24000 */

/* Optional view of intermediate activations, for the golden tests; x is [channels, len] row-major.
 * Stages: "seanet" (25 Hz), "transformer" (25 Hz), "downsample" (12.5 Hz, the quantizer input) and
 * "margins" (channels = codebooks, len = frames: second-best minus best Euclidean distance of every RVQ
 * decision, in float64; asking for it makes the RVQ compare every codebook entry in float64). */
typedef void (*codec_enc_tap_fn)(void *ctx, const char *stage, const float *x, int channels, int len);

typedef struct {
    codec_enc_tap_fn tap; /* NULL: none */
    void *tap_ctx;
    int want_margins;
    int chunk_samples; /* samples per SEANet step; 0: 2 s. Any value gives the same result (tests vary it) */
} codec_enc_options;

/* pcm: n samples at the encoder's rate (24 kHz). codes: [ceil(n / 1920)][codebooks], caller-allocated.
 * pool may be NULL (one thread). Fails on n == 0, non-finite samples or no memory. */
int codec_encoder_run(const codec_encoder *e, qt_pool *pool, const float *pcm, size_t n, int32_t *codes,
                      const codec_enc_options *opt, qt_error *err);

/* Any rate: resamples to 24 kHz with libsoxr (very high quality) first, then codec_encoder_run.
 * *codes is malloc'd [*n_frames][codebooks]. */
int codec_encoder_encode(const codec_encoder *e, qt_pool *pool, const float *pcm, size_t n, int sample_rate,
                         int32_t **codes, int *n_frames, qt_error *err);

/* Floating-point operations (multiply-add = 2) to encode one second of 24 kHz audio, from the shapes, for a
 * clip of `seconds` (attention grows with the length); for the benchmark. */
double codec_encoder_flops_per_second(const codec_encoder *e, double seconds);

#endif
