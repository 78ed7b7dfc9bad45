/* codec.h — engine-internal extras of the speech tokenizer (the public API is the codec section of qt.h).
 *
 * For code inside the engine that already runs a thread pool (the model): the codec can use it instead of
 * starting its own, so a generation does not keep two sets of spinning workers on the same cores.
 */
#ifndef QT_CODEC_H
#define QT_CODEC_H

#include "engine/qt.h"
#include "engine/threadpool.h"

/* As qt_codec_load, but the codec runs on `pool`, which must outlive it and is not freed by qt_codec_free.
 * The pool must not be running other work while the codec decodes or encodes. */
qt_codec *qt_codec_load_shared(const char *dir, qt_pool *pool, qt_error *err);

/* The last sample of the audio the latest qt_codec_stream_skip decoded and threw away (0 before any). */
float qt_codec_stream_skipped_tail(const qt_codec_stream *s);

#endif
