/* wh.h — the Whisper speech recogniser's public interface, and the only whisper header the rest of voicebox
 * includes.
 *
 * Reads the Hugging Face releases as they are (openai/whisper-tiny|base|small|medium|large-v3|
 * large-v3-turbo: config.json, model.safetensors in F32 or F16, the tokenizer files, generation_config.json)
 * and transcribes as the official whisper/decoding.py does for the transcribe task without timestamps at
 * temperature 0. In the manner of qt.h: an opaque model, params structs with *_default_params(), every call
 * that can fail returns 0 / a pointer and fills *err with one sentence naming the thing and the fault, every
 * *_load has a *_free that accepts NULL. Knows nothing of HTTP, SQL or audio files: it takes 16 kHz samples.
 */
#ifndef WH_H
#define WH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    WH_ERR_NONE = 0,
    WH_ERR_INVALID,   /* bad argument or input (audio, language) */
    WH_ERR_NOT_FOUND, /* a model, file or tensor that does not exist */
    WH_ERR_CORRUPT,   /* a file that exists but is malformed or truncated */
    WH_ERR_CANCELLED, /* the cancel flag was raised */
    WH_ERR_IO,        /* the operating system refused */
    WH_ERR_NOMEM,
} wh_error_kind;

typedef struct {
    wh_error_kind kind;
    char msg[512];
} wh_error;

#define WH_SAMPLE_RATE 16000
#define WH_WINDOW_SAMPLES 480000 /* 30 s: the encoder always sees one padded window */

typedef struct wh_model wh_model;

typedef struct {
    int n_threads; /* 0: qt_default_threads() ($VOICEBOX_THREADS, else the CPU count) */
} wh_load_params;

wh_load_params wh_load_default_params(void);

/* path_or_repo: a directory holding a release, or a Hub repo id found in the Hugging Face cache. */
wh_model *wh_model_load(const char *path_or_repo, const wh_load_params *p, wh_error *err);
void wh_model_free(wh_model *m); /* NULL is fine */

typedef struct {
    int n_mels, n_vocab, d_model, n_audio_layers, n_text_layers, n_heads, n_audio_ctx, n_text_ctx;
    int n_languages;      /* 0 for an English-only model */
    size_t weight_bytes;  /* the weights as held in memory (f32) */
    double encoder_flops; /* multiply-adds x 2 of one encoder pass (one 30 s window) */
} wh_model_info;

void wh_model_get_info(const wh_model *m, wh_model_info *out);

/* The index of a language code ("en", "de", "yue") among the model's languages, or -1; and back. */
int wh_language_index(const wh_model *m, const char *code);
const char *wh_language_code(const wh_model *m, int index);

typedef struct {
    const char *language; /* a code the model knows ("en"), or NULL / "" / "auto" to detect it */
    int max_tokens;       /* text tokens per 30 s window; 0: n_text_ctx / 2 as decoding.py's sample_len */
    const volatile int *cancel; /* raised (non-zero) -> WH_ERR_CANCELLED between tokens */
    /* called after each window; returning non-zero cancels */
    int (*progress)(void *ctx, int window, int n_windows);
    void *progress_ctx;
} wh_params;

wh_params wh_default_params(void);

typedef struct {
    char *text;            /* malloc'd UTF-8, the windows' texts joined, trimmed */
    char language[16];     /* given or detected */
    float *language_probs; /* [n_languages] of the first window (NULL when a language was given) */
    int n_languages;
    int32_t *tokens; /* the text tokens of all windows, in order (no special tokens) */
    size_t n_tokens;
    int n_windows;
    double duration_s;                /* the audio's length */
    double mel_s, encode_s, decode_s; /* time spent in each stage */
} wh_result;

/* pcm: n mono samples at 16 kHz in [-1, 1]. Audio longer than 30 s is cut into consecutive 30 s windows,
 * each padded and decoded on its own (no text carried over), and their texts joined with a space. Silence
 * (or audio too short to hold a word) gives an empty text, not an error. One call at a time per model. */
int wh_transcribe(wh_model *m, const float *pcm, size_t n, const wh_params *p, wh_result *out, wh_error *err);
void wh_result_free(wh_result *r); /* zeroes it; NULL is fine */

#ifdef __cplusplus
}
#endif

#endif
