/* speaker_encoder.h — the ECAPA-TDNN speaker encoder (docs/engine.md §3.4): log-mel -> x-vector [enc_dim].
 *
 * Weights are the release's speaker_encoder.* tensors (BF16, or F32), converted once to float32 at load;
 * the math is float32 with convs as im2col + sgemm. Internal to the engine; the public face is
 * qt_prompt_create in qt.h (voice_prompt.c). It knows nothing of audio: the caller runs the mel front end.
 */
#ifndef QT_SPEAKER_ENCODER_H
#define QT_SPEAKER_ENCODER_H

#include "engine/config.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

typedef struct qt_speaker_encoder qt_speaker_encoder; /* read-only after load */

/* The 76 speaker_encoder.* tensors of f with the shapes cfg implies; an absent or misshapen tensor is an
 * error naming it (QT_ERR_CORRUPT). f may be closed afterwards: the weights are copied. */
qt_speaker_encoder *qt_speaker_encoder_load(const st_file *f, const qt_speaker_config *cfg, qt_error *err);
void qt_speaker_encoder_free(qt_speaker_encoder *e); /* NULL is fine */

int qt_speaker_encoder_dim(const qt_speaker_encoder *e); /* enc_dim */

/* Frames needed at least: the widest reflect padding must be shorter than the input (5 for the release). */
int qt_speaker_encoder_min_frames(const qt_speaker_encoder *e);

/* mel [T][mel_dim] (qt_mel_compute's layout) -> xvec [enc_dim]. pool may be NULL (one thread); BLAS runs
 * single-threaded inside the pool's threads and OpenBLAS's thread count is put back before returning. */
int qt_speaker_encoder_run(const qt_speaker_encoder *e, qt_pool *pool, const float *mel, int T, float *xvec,
                           qt_error *err);

#endif
