/* text_prompt.h — the talker's prefill sequence and trailing text (docs/engine.md §2.3–§2.6, §9.3),
 * in the default streaming-text arrangement the official voice-clone path uses (non_streaming_mode=False).
 * Internal to the engine. */
#ifndef QT_TEXT_PROMPT_H
#define QT_TEXT_PROMPT_H

#include "engine/code_predictor.h"
#include "engine/talker.h"

typedef struct {
    int lang_id;            /* codec language id, or -1 for auto */
    const float *xvector;   /* [hidden] */
    const int32_t *ref_ids; /* reference transcript tokens R (ICL), n_ref */
    int n_ref;
    const int32_t *ref_codes; /* [n_ref_frames][16] (ICL); NULL for x-vector only */
    int n_ref_frames;
    const int32_t *text_ids; /* target text tokens T, n_text >= 1 */
    int n_text;
} qt_talker_prompt_input;

typedef struct {
    float *embeds; /* [n, hidden] prefill input vectors */
    int n;
    float *trailing; /* [n_trailing, hidden] text-track vectors added at decode steps 1.. */
    int n_trailing;
    float *pad; /* [hidden] tts_pad text vector, added once the trailing text runs out */
} qt_talker_prompt;

int qt_talker_prompt_build(qt_talker_prompt *out, const qt_talker *tk, const qt_code_predictor *cp,
                           qt_pool *pool, const qt_config *cfg, const qt_talker_prompt_input *in,
                           qt_error *err);
void qt_talker_prompt_free(qt_talker_prompt *p); /* NULL is fine */

/* out = S(frame) = talker C(c0) + sum_k cp.codec_embedding[k-1][c_k] (§2.4), [hidden] */
void qt_frame_embed(const qt_talker *tk, const qt_code_predictor *cp, const int32_t *codes, float *out);

#endif
