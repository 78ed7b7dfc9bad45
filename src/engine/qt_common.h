/* qt_common.h — the parts of the engine that are not Qwen3-TTS: safetensors files, the thread pool, the
 * numeric kernels, the byte-level BPE tokenizer and the Slaney mel filterbank. A second model (Whisper,
 * src/whisper/) builds on these through this header instead of copying them; the studio and server do not
 * need them (they use qt.h).
 */
#ifndef QT_COMMON_H
#define QT_COMMON_H

#include "engine/bpe.h"
#include "engine/kernels.h"
#include "engine/mel.h"
#include "engine/qt.h"
#include "engine/safetensors.h"
#include "engine/threadpool.h"

#endif
