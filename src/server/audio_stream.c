/* audio_stream.c — a streamed take as an HTTP body (POST /generate/stream, /v1/audio/speech in wav or pcm):
 * the WAV header at once (its sizes unknown: 0xFFFFFFFF, as streaming servers send it) or nothing (raw PCM),
 * then 16-bit 24 kHz mono PCM as the worker decodes it (studio_take_read_audio). libmicrohttpd sends it
 * chunked; the response parks while no audio is ready and the worker wakes it when some comes. When the take
 * fails mid-way the connection is cut without the closing chunk, so a client never takes a short body for a
 * whole one. When the client goes, the response is freed and the take cancelled (studio_take_abandon): the
 * worker is free within a frame.
 */
#include "server/routes.h"

#include "audio/audio.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    studio_gen *gen;
    studio_take *take;
    unsigned char header[AUDIO_WAV_HEADER_BYTES];
    size_t header_sent, header_len;
} audio_stream;

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
    return studio_take_read_audio(as->take, buf, max);
}

static void release(void *arg)
{
    audio_stream *as = arg;
    studio_take_abandon(as->gen, as->take);
    free(as);
}

void srv_stream_take(srv_ctx *ctx, srv_response *res, studio_take *t, int wav, const char *content_type)
{
    audio_stream *as = calloc(1, sizeof *as);
    if (!as) {
        studio_take_abandon(ctx->gen, t);
        srv_error(res, 500, "out of memory");
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
