/* audio_stream.c — a streamed take as an HTTP body (POST /generate/stream, /v1/audio/speech in wav, pcm,
 * opus or flac): the WAV header at once (its sizes unknown: 0xFFFFFFFF, as streaming servers send it) or
 * nothing (raw PCM), then 16-bit 24 kHz mono PCM as the worker decodes it (studio_take_read_audio); or that
 * audio encoded as Ogg Opus or FLAC as it comes (audio_stream_enc, on the network thread: a few ms a push).
 * libmicrohttpd sends it chunked; the response parks while no audio is ready and the worker wakes it when
 * some comes. When the take fails mid-way the connection is cut without the closing chunk, so a client never
 * takes a short body for a whole one. When the client goes, the response is freed and the take cancelled
 * (studio_take_abandon): the worker is free within a frame.
 */
#include "server/routes.h"

#include "audio/audio.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    studio_gen *gen;
    studio_take *take;
    unsigned char header[AUDIO_WAV_HEADER_BYTES];
    size_t header_sent, header_len;
    audio_stream_enc *enc; /* opus, flac; NULL: the PCM as it is */
    unsigned char carry;   /* the first byte of a sample whose second has not come yet */
    int has_carry;
    int done; /* encoded: 1 the take ended and the encoder is finished, -2 it failed */
} audio_stream;

/* The take's PCM through the encoder: what it has made, else more PCM into it. */
static long produce_encoded(audio_stream *as, char *buf, size_t max)
{
    for (;;) {
        size_t n = audio_stream_enc_take(as->enc, buf, max);
        if (n) return (long)n;
        if (as->done) return as->done > 0 ? -1 : -2;
        unsigned char pcm[8192];
        size_t have = 0;
        if (as->has_carry) pcm[have++] = as->carry;
        long got = studio_take_read_audio(as->take, pcm + have, sizeof pcm - have);
        as->has_carry = 0;
        audio_error aerr;
        if (got < 0) {
            as->done = got == -1 && audio_stream_enc_finish(as->enc, &aerr) == 0 ? 1 : -2;
            continue;
        }
        have += (size_t)got;
        if (have & 1) {
            as->carry = pcm[have - 1];
            as->has_carry = 1;
        }
        if (got == 0) return 0;
        float f[sizeof pcm / 2];
        for (size_t i = 0; i < have / 2; i++)
            f[i] = (float)(int16_t)(pcm[2 * i] | pcm[2 * i + 1] << 8) / 32768.0f;
        if (audio_stream_enc_write(as->enc, f, have / 2, &aerr) != 0) as->done = -2;
    }
}

static long produce(void *arg, char *buf, size_t max)
{
    audio_stream *as = arg;
    if (as->header_sent < as->header_len) {
        size_t n = as->header_len - as->header_sent;
        if (n > max) n = max;
        memcpy(buf, as->header + as->header_sent, n);
        as->header_sent += n;
        return (long)n;
    }
    if (as->enc) return produce_encoded(as, buf, max);
    return studio_take_read_audio(as->take, buf, max);
}

static void release(void *arg)
{
    audio_stream *as = arg;
    studio_take_abandon(as->gen, as->take);
    audio_stream_enc_free(as->enc);
    free(as);
}

void srv_stream_take(srv_ctx *ctx, srv_response *res, studio_take *t, const char *format,
                     const char *content_type)
{
    audio_stream *as = calloc(1, sizeof *as);
    audio_error aerr = {0};
    int wav = !strcmp(format, "wav"), raw = wav || !strcmp(format, "pcm");
    if (!as || (!raw && !(as->enc = audio_stream_enc_new(format, STUDIO_SAMPLE_RATE, &aerr)))) {
        studio_take_abandon(ctx->gen, t);
        srv_error(res, 500, "%s", as ? aerr.msg : "out of memory");
        free(as);
        return;
    }
    as->gen = ctx->gen;
    as->take = t;
    if (ctx->wake_streams) studio_take_audio_notify(t, ctx->wake_streams, ctx->wake_arg);
    if (wav) {
        audio_wav16_stream_header(as->header, STUDIO_SAMPLE_RATE);
        as->header_len = sizeof as->header;
    }
    res->status = 200;
    res->content_type = content_type;
    res->stream = produce;
    res->stream_free = release;
    res->stream_arg = as;
}
