/* gen_audio.c — the audio side of a generation: frames of codes through the codec's streaming decoder, in
 * chunks sized for who is listening, into qt_gen_output and the on_audio callback.
 *
 * Must not: run the talker or code predictor (generate.c does); this file only decodes what it is given.
 */
#include "engine/gen_audio.h"

#include "engine/codec.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* Frames per decoder push while someone listens: the first frame alone (the first audio matters most), then
 * STREAM_FIRST_CHUNK (0.32 s), then STREAM_CHUNK (0.64 s) at a time. Measured on the 0.6B codec, 2 threads,
 * CPU per frame (2026-12-02, the box too busy for wall figures): one pass 64.6 ms, pushes of 1 152.9, of 4
 * 75.6, of 8 58.1-62.0, of 16 60.1-64.1; so from 8 frames on a push costs what one pass does. */
#define STREAM_FIRST_CHUNK 4
#define STREAM_CHUNK 8
#define REF_CHUNK 16 /* frames per decoder push when nobody listens to the audio as it comes */

struct qt_audio_stream {
    qt_model *m;
    qt_codec_stream *cs;
    float *buf; /* [QT_SAMPLES_PER_FRAME * REF_CHUNK] */
    int32_t pending[QT_CODEBOOKS * REF_CHUNK];
    int n_pending, pushed;
};

qt_audio_stream *qt_audio_begin(qt_model *m, const int32_t *ref_codes, int n_ref_frames, qt_error *err)
{
    qt_audio_stream *s = calloc(1, sizeof *s);
    if (!s) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory starting the audio decoder");
        return NULL;
    }
    s->m = m;
    if (!m->codec) return s; /* codes only */
    s->buf = malloc(sizeof(float) * QT_SAMPLES_PER_FRAME * REF_CHUNK);
    if (!s->buf) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory starting the audio decoder");
        goto fail;
    }
    if (!(s->cs = qt_codec_stream_new(m->codec, err))) goto fail;
    /* ICL: the reference frames are the decoder's left context and their audio is dropped (§8). Skipping
     * them gives exactly the samples pushing them would, but runs only the last few through the vocoder. */
    if (n_ref_frames > 0 && qt_codec_stream_skip(s->cs, ref_codes, n_ref_frames, err)) goto fail;
    return s;
fail:
    qt_audio_end(s);
    return NULL;
}

static int deliver(qt_audio_stream *s, const float *pcm, size_t n, const qt_gen_params *p, qt_gen_output *out,
                   qt_error *err)
{
    if (out && n) {
        float *grown = realloc(out->audio, sizeof(float) * (out->n_samples + n));
        if (!grown)
            return qt_fail(err, QT_ERR_NOMEM, "out of memory collecting %zu samples of audio",
                           out->n_samples + n);
        out->audio = grown;
        memcpy(out->audio + out->n_samples, pcm, sizeof(float) * n);
        out->n_samples += n;
    }
    if (p->on_audio && n) p->on_audio(pcm, n, p->user);
    (void)s;
    return 0;
}

int qt_audio_flush(qt_audio_stream *s, const qt_gen_params *p, qt_gen_output *out, qt_error *err)
{
    if (!s->cs || !s->n_pending) return 0;
    size_t got = 0;
    if (qt_codec_stream_push(s->cs, s->pending, s->n_pending, s->buf,
                             (size_t)QT_SAMPLES_PER_FRAME * REF_CHUNK, &got, err))
        return -1;
    s->pushed += s->n_pending;
    s->n_pending = 0;
    return deliver(s, s->buf, got, p, out, err);
}

int qt_audio_push(qt_audio_stream *s, const int32_t *codes, int n, const qt_gen_params *p, qt_gen_output *out,
                  qt_error *err)
{
    if (!s->cs) return 0;
    for (int i = 0; i < n; i++) {
        int chunk = !p->on_audio                         ? REF_CHUNK
                    : s->pushed == 0                     ? 1
                    : s->pushed < 1 + STREAM_FIRST_CHUNK ? STREAM_FIRST_CHUNK
                                                         : STREAM_CHUNK;
        assert(s->n_pending < chunk && chunk <= REF_CHUNK); /* pending[] holds REF_CHUNK frames */
        memcpy(s->pending + (size_t)s->n_pending * QT_CODEBOOKS, codes + (size_t)i * QT_CODEBOOKS,
               sizeof(int32_t) * QT_CODEBOOKS);
        if (++s->n_pending >= chunk && qt_audio_flush(s, p, out, err)) return -1;
    }
    return 0;
}

/* The official ICL path decodes reference + generated codes and keeps wav[cut:] with
 * cut = int(ref_len / total_len * n_samples) in floating point (§8, pitfall 17). For some lengths that is one
 * sample before ref_len * 1920 (57 + 25 frames: 48,001 samples, not 48,000): that sample is the reference
 * audio's last, which the skipped decode kept, and it goes in front of the collected audio. A stream cannot
 * know it before the last frame, so on_audio never gets it. */
int qt_audio_official_cut(qt_audio_stream *s, int n_ref_frames, qt_gen_output *out, qt_error *err)
{
    if (!s->cs || !out || n_ref_frames < 1 || !out->n_samples) return 0;
    double total = (double)n_ref_frames + out->n_frames;
    long cut = (long)((double)n_ref_frames / total * (total * QT_SAMPLES_PER_FRAME));
    long keep = (long)n_ref_frames * QT_SAMPLES_PER_FRAME - cut;
    if (keep <= 0) return 0;
    if (keep > 1) /* rounding can move the cut by one sample at most; more would be a bug here */
        return qt_fail(err, QT_ERR_INVALID, "ICL cut %ld samples before the reference's end", keep);
    float *grown = realloc(out->audio, sizeof(float) * (out->n_samples + 1));
    if (!grown) return qt_fail(err, QT_ERR_NOMEM, "out of memory collecting the audio");
    memmove(grown + 1, grown, sizeof(float) * out->n_samples);
    grown[0] = qt_codec_stream_skipped_tail(s->cs);
    out->audio = grown;
    out->n_samples++;
    return 0;
}

void qt_audio_end(qt_audio_stream *s)
{
    if (!s) return;
    qt_codec_stream_free(s->cs);
    free(s->buf);
    free(s);
}
