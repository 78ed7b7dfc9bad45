/* codec.c — the speech tokenizer behind qt.h: loading, code validation, one-pass and streaming decode.
 *
 * A qt_codec owns the mapped speech_tokenizer/model.safetensors, the config, one thread pool and both halves
 * of the codec (the decoder here, the encoder in codec_encoder.c). One-pass decoding is streaming decoding
 * of all frames in steps of DECODE_STEP frames, so both give the same samples and memory stays bounded.
 * The math lives in codec_decoder.c / codec_encoder.c; this file must not do any.
 */
#include "engine/codec.h"
#include "engine/codec_decoder.h"
#include "engine/codec_encoder.h"
#include "engine/config.h"
#include "engine/qt.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#define DECODE_STEP 8 /* frames per decoder step: large enough for efficient GEMMs, ~0.6 s of audio */

struct qt_codec {
    char dir[4096]; /* the speech_tokenizer directory */
    qt_codec_config cfg;
    st_file *st;
    qt_pool *pool;
    int own_pool; /* 0: the pool was lent by qt_codec_load_shared (the model's) */
    int n_threads;
    codec_decoder *dec;
    codec_dec_state
        *spare_state;   /* a finished stream's decoding state, reused by the next (no 50 MB calloc) */
    codec_encoder *enc; /* made on the first qt_codec_encode: generation never needs it */
};

struct qt_codec_stream {
    qt_codec *c;
    codec_dec_state *st;
    int frames, finished;
    float skipped_tail; /* the last sample of the audio qt_codec_stream_skip threw away (ICL cut, §8) */
};

static int is_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* dir is a speech_tokenizer directory itself, or a model directory / repo id holding one. */
static int find_codec_dir(const char *dir, char *out, size_t out_size, qt_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char probe[4200];
    snprintf(probe, sizeof probe, "%s/speech_tokenizer", dir);
    struct stat st;
    if (stat(probe, &st) != 0 && is_file(path)) { /* no speech_tokenizer/ inside: maybe it is one */
        snprintf(probe, sizeof probe, "%s/model.safetensors", dir);
        qt_codec_config cfg;
        qt_error ignored;
        if (is_file(probe) && qt_codec_config_load(dir, &cfg, &ignored) == 0) {
            if ((size_t)snprintf(out, out_size, "%s", dir) >= out_size)
                return qt_fail(err, QT_ERR_INVALID, "%s: path too long", dir);
            return 0;
        }
    }
    char model_dir[4096];
    if (qt_resolve_model_dir(dir, model_dir, sizeof model_dir, err) != 0) return -1;
    return qt_speech_tokenizer_dir(model_dir, out, out_size, err);
}

static qt_codec *load(const char *dir, int n_threads, qt_pool *shared, qt_error *err)
{
    qt_codec *c = calloc(1, sizeof *c);
    if (!c) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: no memory");
        return NULL;
    }
    if (find_codec_dir(dir, c->dir, sizeof c->dir, err) != 0) goto fail;
    if (qt_codec_config_load(c->dir, &c->cfg, err) != 0) goto fail;
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", c->dir);
    c->st = st_open(path, err);
    if (!c->st) goto fail;
    c->dec = codec_decoder_load(c->st, &c->cfg.decoder, err);
    if (!c->dec) goto fail;
    if (codec_decoder_frame_samples(c->dec) != QT_SAMPLES_PER_FRAME ||
        codec_decoder_codebooks(c->dec) != QT_CODEBOOKS ||
        codec_decoder_codebook_size(c->dec) != QT_CODEBOOK_SIZE) {
        qt_fail(err, QT_ERR_CORRUPT,
                "%s: the decoder makes %d samples from %d codebooks of %d codes per frame "
                "(voicebox needs %d, %d and %d)",
                path, codec_decoder_frame_samples(c->dec), codec_decoder_codebooks(c->dec),
                codec_decoder_codebook_size(c->dec), QT_SAMPLES_PER_FRAME, QT_CODEBOOKS, QT_CODEBOOK_SIZE);
        goto fail;
    }
    if (shared) {
        c->pool = shared;
        c->n_threads = qt_pool_threads(shared);
        return c;
    }
    c->n_threads = n_threads > 0 ? n_threads : qt_default_threads();
    c->pool = qt_pool_new(c->n_threads);
    c->own_pool = 1;
    if (!c->pool) {
        qt_fail(err, QT_ERR_NOMEM, "speech tokenizer: cannot start %d threads", c->n_threads);
        goto fail;
    }
    return c;
fail:
    qt_codec_free(c);
    return NULL;
}

qt_codec *qt_codec_load(const char *dir, int n_threads, qt_error *err)
{
    return load(dir, n_threads, NULL, err);
}

qt_codec *qt_codec_load_shared(const char *dir, qt_pool *pool, qt_error *err)
{
    if (!pool) {
        qt_fail(err, QT_ERR_INVALID, "speech tokenizer: no thread pool given");
        return NULL;
    }
    return load(dir, 0, pool, err);
}

void qt_codec_free(qt_codec *c)
{
    if (!c) return;
    codec_dec_state_free(c->spare_state);
    codec_decoder_free(c->dec);
    codec_encoder_free(c->enc);
    if (c->own_pool) qt_pool_free(c->pool);
    st_close(c->st);
    free(c);
}

int qt_codec_set_bf16(qt_codec *c, int on, qt_error *err)
{
    return codec_decoder_set_bf16(c->dec, on, c->pool, err);
}

int qt_codec_bf16(const qt_codec *c)
{
    return codec_decoder_bf16(c->dec);
}

static int check_codes(const int32_t *codes, int n_frames, int first_frame, qt_error *err)
{
    for (int t = 0; t < n_frames; t++)
        for (int k = 0; k < QT_CODEBOOKS; k++) {
            int32_t v = codes[(size_t)t * QT_CODEBOOKS + k];
            if (v < 0 || v >= QT_CODEBOOK_SIZE)
                return qt_fail(err, QT_ERR_INVALID, "codes: frame %d, codebook %d holds %ld, outside 0..%d",
                               first_frame + t, k, (long)v, QT_CODEBOOK_SIZE - 1);
        }
    return 0;
}

qt_codec_stream *qt_codec_stream_new(qt_codec *c, qt_error *err)
{
    qt_codec_stream *s = calloc(1, sizeof *s);
    if (!s) {
        qt_fail(err, QT_ERR_NOMEM, "codec stream: no memory");
        return NULL;
    }
    s->c = c;
    if (c->spare_state) {
        s->st = c->spare_state;
        c->spare_state = NULL;
        codec_dec_state_reset(s->st);
    } else {
        s->st = codec_dec_state_new(c->dec, DECODE_STEP, c->n_threads, err);
    }
    if (!s->st) {
        free(s);
        return NULL;
    }
    return s;
}

void qt_codec_stream_free(qt_codec_stream *s)
{
    if (!s) return;
    if (!s->c->spare_state)
        s->c->spare_state = s->st;
    else
        codec_dec_state_free(s->st);
    free(s);
}

int qt_codec_stream_frames(const qt_codec_stream *s)
{
    return s->frames;
}

int qt_codec_stream_push(qt_codec_stream *s, const int32_t *frames, int n_frames, float *out, size_t out_cap,
                         size_t *n_out, qt_error *err)
{
    if (n_out) *n_out = 0;
    if (s->finished) return qt_fail(err, QT_ERR_INVALID, "codec stream: push after finish");
    if (n_frames < 0 || (n_frames > 0 && (!frames || !out)))
        return qt_fail(err, QT_ERR_INVALID, "codec stream: bad arguments (%d frames)", n_frames);
    size_t need = (size_t)n_frames * QT_SAMPLES_PER_FRAME;
    if (out_cap < need)
        return qt_fail(err, QT_ERR_INVALID, "codec stream: %d frames need room for %zu samples, got %zu",
                       n_frames, need, out_cap);
    if (check_codes(frames, n_frames, s->frames, err) != 0) return -1;
    /* equal steps (10 frames: 5 + 5, not 8 + 2): a short step costs nearly as much as a full one */
    int n_steps = (n_frames + DECODE_STEP - 1) / DECODE_STEP;
    int step = n_steps ? (n_frames + n_steps - 1) / n_steps : 1;
    for (int t = 0; t < n_frames; t += step) {
        int n = n_frames - t < step ? n_frames - t : step;
        codec_decoder_step(s->c->dec, s->st, s->c->pool, frames + (size_t)t * QT_CODEBOOKS, n,
                           out + (size_t)t * QT_SAMPLES_PER_FRAME);
    }
    s->frames += n_frames;
    if (n_out) *n_out = need;
    return 0;
}

int qt_codec_stream_skip(qt_codec_stream *s, const int32_t *frames, int n_frames, qt_error *err)
{
    if (s->finished) return qt_fail(err, QT_ERR_INVALID, "codec stream: skip after finish");
    if (n_frames < 0 || (n_frames > 0 && !frames))
        return qt_fail(err, QT_ERR_INVALID, "codec stream: bad arguments (%d frames)", n_frames);
    if (check_codes(frames, n_frames, s->frames, err) != 0) return -1;
    /* all but the last `reach` frames skip the vocoder; those go through it fully, audio thrown away */
    int reach = codec_decoder_vocoder_reach(s->c->dec), full = n_frames < reach ? n_frames : reach;
    for (int t = 0; t < n_frames - full; t += DECODE_STEP) {
        int n = n_frames - full - t < DECODE_STEP ? n_frames - full - t : DECODE_STEP;
        codec_decoder_step_front(s->c->dec, s->st, s->c->pool, frames + (size_t)t * QT_CODEBOOKS, n);
    }
    if (full > 0) {
        float *scratch = malloc((size_t)full * QT_SAMPLES_PER_FRAME * sizeof *scratch);
        if (!scratch)
            return qt_fail(err, QT_ERR_NOMEM, "codec stream: no memory for %d frames of audio", full);
        for (int t = n_frames - full; t < n_frames; t += DECODE_STEP) {
            int n = n_frames - t < DECODE_STEP ? n_frames - t : DECODE_STEP;
            codec_decoder_step(s->c->dec, s->st, s->c->pool, frames + (size_t)t * QT_CODEBOOKS, n,
                               scratch + (size_t)(t - (n_frames - full)) * QT_SAMPLES_PER_FRAME);
        }
        s->skipped_tail = scratch[(size_t)full * QT_SAMPLES_PER_FRAME - 1];
        free(scratch);
    }
    s->frames += n_frames;
    return 0;
}

float qt_codec_stream_skipped_tail(const qt_codec_stream *s)
{
    return s->skipped_tail;
}

int qt_codec_stream_finish(qt_codec_stream *s, float *out, size_t out_cap, size_t *n_out, qt_error *err)
{
    (void)out;
    (void)out_cap;
    (void)err;
    if (n_out) *n_out = 0;
    s->finished = 1;
    return 0;
}

int qt_codec_decode(qt_codec *c, const int32_t *codes, int n_frames, float *out, qt_error *err)
{
    if (n_frames < 0 || (n_frames > 0 && (!codes || !out)))
        return qt_fail(err, QT_ERR_INVALID, "codec decode: bad arguments (%d frames)", n_frames);
    if (check_codes(codes, n_frames, 0, err) != 0) return -1;
    qt_codec_stream *s = qt_codec_stream_new(c, err);
    if (!s) return -1;
    int rc =
        qt_codec_stream_push(s, codes, n_frames, out, (size_t)n_frames * QT_SAMPLES_PER_FRAME, NULL, err);
    qt_codec_stream_free(s);
    return rc;
}

int qt_codec_encode(qt_codec *c, const float *pcm, size_t n_samples, int sample_rate, int32_t **codes,
                    int *n_frames, qt_error *err)
{
    *codes = NULL;
    *n_frames = 0;
    if (!pcm && n_samples) return qt_fail(err, QT_ERR_INVALID, "codec encode: no samples given");
    if (!c->enc) {
        c->enc = codec_encoder_load(c->st, &c->cfg, 0, err);
        if (!c->enc) return -1;
        if (codec_encoder_codebooks(c->enc) != QT_CODEBOOKS ||
            codec_encoder_frame_samples(c->enc) != QT_SAMPLES_PER_FRAME ||
            c->cfg.encoder.codebook_size != QT_CODEBOOK_SIZE) {
            qt_fail(err, QT_ERR_CORRUPT,
                    "%s: the encoder makes %d codes of %d values per %d samples "
                    "(voicebox needs %d, %d and %d)",
                    c->dir, codec_encoder_codebooks(c->enc), c->cfg.encoder.codebook_size,
                    codec_encoder_frame_samples(c->enc), QT_CODEBOOKS, QT_CODEBOOK_SIZE,
                    QT_SAMPLES_PER_FRAME);
            codec_encoder_free(c->enc);
            c->enc = NULL;
            return -1;
        }
    }
    return codec_encoder_encode(c->enc, c->pool, pcm, n_samples, sample_rate, codes, n_frames, err);
}
