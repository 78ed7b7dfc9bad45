/* qt.h — the Qwen3-TTS engine's public interface, and the only engine header the rest of voicebox includes.
 *
 * In the manner of whisper.h: opaque contexts, params structs with *_default_params(), callbacks for
 * progress and streamed audio. The engine knows nothing of HTTP, SQL or any file other than model files.
 * Every call that can fail returns 0 / a pointer on success and -1 / NULL on error, filling *err with one
 * sentence that names the thing and the fault. Every *_load / *_new has a *_free that accepts NULL.
 */
#ifndef QT_H
#define QT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- errors ------------------------------------------------------------------------------------------- */

typedef enum {
    QT_ERR_NONE = 0,
    QT_ERR_INVALID,   /* bad argument or input (text, codes, audio) */
    QT_ERR_NOT_FOUND, /* a model, file or tensor that does not exist */
    QT_ERR_CORRUPT,   /* a file that exists but is malformed or truncated */
    QT_ERR_MISMATCH,  /* e.g. a voice prompt made for another model width */
    QT_ERR_CANCELLED, /* qt_cancel() was called */
    QT_ERR_IO,        /* the operating system refused (open, mmap, write) */
    QT_ERR_NOMEM,
} qt_error_kind;

typedef struct {
    qt_error_kind kind;
    char msg[512];
} qt_error;

/* Fill *err (NULL is fine) with a printf-style message; returns -1 so callers can `return qt_fail(...)`. */
int qt_fail(qt_error *err, qt_error_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- codec constants (§1.5 of the spec) --------------------------------------------------------------- */

#define QT_SAMPLE_RATE 24000
#define QT_SAMPLES_PER_FRAME 1920 /* 12.5 frames per second */
#define QT_CODEBOOKS 16
#define QT_CODEBOOK_SIZE 2048

/* ---- model location ----------------------------------------------------------------------------------- */

/* Resolve a model directory path, or a Hub repo id ("Qwen/Qwen3-TTS-12Hz-1.7B-Base") found in the Hugging
 * Face cache (HF_HUB_CACHE, else HF_HOME/hub, else ~/.cache/huggingface/hub), into a directory. */
int qt_resolve_model_dir(const char *path_or_repo, char *out, size_t out_size, qt_error *err);

/* model_dir/speech_tokenizer as a directory path. Also follows a symlink that a checkout without symlink
 * support wrote as a small file holding its relative target (the golden tiny-a/tiny-b have one). */
int qt_speech_tokenizer_dir(const char *model_dir, char *out, size_t out_size, qt_error *err);

#ifdef __cplusplus
}
#endif

#endif /* QT_H */
