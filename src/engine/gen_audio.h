/* gen_audio.h — the audio side of a generation (gen_audio.c), which generate.c feeds frame by frame.
 * Internal to the engine. */
#ifndef QT_GEN_AUDIO_H
#define QT_GEN_AUDIO_H

#include "engine/model.h"

/* The audio side of a generation: decoder state for one utterance. */
typedef struct qt_audio_stream qt_audio_stream;
qt_audio_stream *qt_audio_begin(qt_model *m, const int32_t *ref_codes, int n_ref_frames, qt_error *err);
/* Takes n frames; decodes them now (streaming: p->on_audio set) or in chunks, appending the final audio to
 * *out (when not NULL) and passing it to on_audio. qt_audio_flush decodes what is still buffered. */
int qt_audio_push(qt_audio_stream *s, const int32_t *codes, int n, const qt_gen_params *p, qt_gen_output *out,
                  qt_error *err);
int qt_audio_flush(qt_audio_stream *s, const qt_gen_params *p, qt_gen_output *out, qt_error *err);
/* After the last flush: the official ICL cut's extra leading sample, when it keeps one. */
int qt_audio_official_cut(qt_audio_stream *s, int n_ref_frames, qt_gen_output *out, qt_error *err);
void qt_audio_end(qt_audio_stream *s);

#endif
