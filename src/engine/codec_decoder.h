/* codec_decoder.h — the speech tokenizer's decoder: 16 codes per 12.5 Hz frame -> 1920 samples at 24 kHz
 * (docs/engine.md §7). Internal to the engine; the public face is qt_codec_* in qt.h (codec.c).
 *
 * Every stage is causal (causal convs, causal window-72 attention, transposed convs trimmed on the right
 * only), so a frame's 1920 samples are final as soon as the frame is in. The decoder is therefore written
 * once, as a stateful step over a chunk of new frames: a codec_dec_state keeps each conv's input history,
 * each transposed conv's overlap tail and the attention's last window-1 keys and values. A whole utterance
 * is the same step over successive chunks, which makes streaming and one-pass decoding the same math and
 * bounds memory by the chunk size, however long the utterance.
 */
#ifndef QT_CODEC_DECODER_H
#define QT_CODEC_DECODER_H

#include "engine/config.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

#include <stdint.h>

typedef struct codec_decoder codec_decoder;     /* weights + config, read-only after load */
typedef struct codec_dec_state codec_dec_state; /* one utterance's state and scratch */

/* Weights are pointers into f (which must outlive the decoder); shapes are checked against cfg. */
codec_decoder *codec_decoder_load(const st_file *f, const qt_codec_decoder_config *cfg, qt_error *err);
void codec_decoder_free(codec_decoder *d); /* NULL is fine */

/* Products on bf16 hardware (on = 1: the weights' split copies made the first time, on pool when not NULL;
 * activations split as they are packed; sums in float32) or in float32 as released (0, the default: exact
 * against the reference). Without AMX-BF16 it stays float32. docs/engine.md §7.8. Not between the steps of
 * an utterance: a state decodes in one precision. */
int codec_decoder_set_bf16(codec_decoder *d, int on, qt_pool *pool, qt_error *err);
int codec_decoder_bf16(const codec_decoder *d);

/* Samples per frame (the product of the upsampling ratios and rates: 1920 for the real codec). */
int codec_decoder_frame_samples(const codec_decoder *d);
int codec_decoder_codebooks(const codec_decoder *d);
int codec_decoder_codebook_size(const codec_decoder *d);

/* Optional view of intermediate activations, for the golden tests: x is [channels, len] row-major.
 * Stages: "quantizer", "pre_conv", "pre_transformer", "upsample", "decoder0", "final_preclamp". */
typedef void (*codec_dec_tap_fn)(void *ctx, const char *stage, const float *x, int channels, int len);

/* A fresh utterance (zero history, position 0) taking up to max_chunk frames per step; n_threads sizes the
 * per-thread scratch and must be >= the threads of the pool later passed to codec_decoder_step. */
codec_dec_state *codec_dec_state_new(const codec_decoder *d, int max_chunk, int n_threads, qt_error *err);
void codec_dec_state_free(codec_dec_state *s);  /* NULL is fine */
void codec_dec_state_reset(codec_dec_state *s); /* back to a fresh utterance, keeping the memory */
void codec_dec_state_set_tap(codec_dec_state *s, codec_dec_tap_fn fn, void *ctx);

/* Decodes n (1..max_chunk) new frames codes[n][codebooks] (already checked to be in range) into
 * out[n * frame_samples], continuing the utterance held in s. */
void codec_decoder_step(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const int32_t *codes,
                        int n, float *out);

/* The same step without the vocoder (decoder.0 onwards): for frames whose audio is not wanted. The vocoder's
 * state is then stale, but it only reaches codec_decoder_vocoder_reach() frames back: after that many full
 * steps, the output is again bit for bit what decoding every frame fully would give. */
void codec_decoder_step_front(const codec_decoder *d, codec_dec_state *s, qt_pool *pool, const int32_t *codes,
                              int n);
int codec_decoder_vocoder_reach(const codec_decoder *d); /* frames (6 for the real codec) */

/* Floating-point operations of one frame (multiply-add = 2), from the shapes; for the benchmark. */
double codec_decoder_flops_per_frame(const codec_decoder *d);

#endif
