/* take_stream.h — the audio of a take as it is made, from the inference worker to one reader (an HTTP
 * response): chunks joined on the fly with the same crossfade the stored take gets, converted to 16-bit
 * little-endian PCM, through a bounded pipe.
 *
 * The worker writes; when the pipe is full it waits (asking stop() every 100 ms) rather than grow, so a slow
 * reader holds memory to the pipe's size; a reader that stops reading altogether is cut by the server's
 * idle timeout, which closes the pipe. The reader never blocks. Internal to the studio layer.
 */
#ifndef VOICEBOX_TAKE_STREAM_H
#define VOICEBOX_TAKE_STREAM_H

#include <stddef.h>

typedef struct studio_take_stream studio_take_stream;

/* capacity: bytes the pipe holds; fade: crossfade between chunks in samples (0: none). NULL when out of
 * memory. */
studio_take_stream *studio_take_stream_new(size_t capacity, size_t fade);
void studio_take_stream_free(studio_take_stream *s); /* NULL is fine */

/* ---- the writer (the worker) ---- */

/* A chunk of the text begins: its first samples crossfade with the end of the one before. */
void studio_take_stream_chunk_begin(studio_take_stream *s);
/* Audio of the chunk, in order. Samples are written as soon as they are final: all but the last `fade`
 * ones, which may still be faded into the next chunk. 0, or -1 once the reader has gone or stop(arg) says
 * so while the pipe is full. */
int studio_take_stream_audio(studio_take_stream *s, const float *pcm, size_t n, int (*stop)(void *),
                             void *arg);
/* The chunk ended (a chunk shorter than the fade is faded over its own length). */
void studio_take_stream_chunk_end(studio_take_stream *s);
/* The take is over: ok writes what is held back and ends the stream cleanly; !ok ends it as failed. */
void studio_take_stream_end(studio_take_stream *s, int ok, int (*stop)(void *), void *arg);
/* Samples written to the pipe so far. */
size_t studio_take_stream_samples(studio_take_stream *s);

/* ---- the reader ---- */

/* Copies up to max bytes of PCM into buf: the bytes copied, 0 when none is ready yet, -1 at the clean end,
 * -2 when the take failed or was cancelled (the audio is cut short). */
long studio_take_stream_read(studio_take_stream *s, void *buf, size_t max);
/* The reader has gone: writes fail from now on, a waiting writer wakes, and no notify runs any more. */
void studio_take_stream_close(studio_take_stream *s);
/* fn(arg) runs on the writer's thread, under the stream's lock (it must be quick and must not call back
 * into the stream), when bytes or the end arrive after a read found nothing: so a reader that polls can
 * be woken at once instead of at its next poll. */
void studio_take_stream_notify(studio_take_stream *s, void (*fn)(void *), void *arg);

#endif
