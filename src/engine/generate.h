/* generate.h — the id-level generation entry (generate.c) that qt_generate (gen_text.c) wraps.
 * Internal to the engine and its tests. */
#ifndef QT_GENERATE_H
#define QT_GENERATE_H

#include "engine/qt.h"

#include <stdint.h>

/* qt_generate after tokenization: ref_ids (ICL transcript) and text_ids (target text) as the official
 * slices [3:-2] and [3:-5] of the templated prompts (§2.2). */
int qt_generate_ids(qt_model *m, const qt_voice_prompt *vp, const int32_t *ref_ids, int n_ref,
                    const int32_t *text_ids, int n_text, const qt_gen_params *p, qt_error *err);

#endif
