/* wh_internal.h — the Whisper model's structs and stages, for the whisper files, their tests and the bench.
 *
 * Everything else uses wh.h. The stages are exposed so tests can hold each against the official code's
 * output: log-mel (wh_mel.c), encoder (wh_encoder.c), decoder with its KV cache (wh_decoder.c), language
 * detection and greedy decoding (wh_decode.c). Weights are f32 [rows, cols] row-major, either pointers into
 * the mmap'd file (an aligned F32 file) or converted copies (F16, BF16, unaligned) owned by the model.
 */
#ifndef WH_INTERNAL_H
#define WH_INTERNAL_H

#include "engine/qt_common.h"
#include "whisper/wh.h"

#include <stdbool.h>

#define WH_N_FFT 400
#define WH_HOP 160
#define WH_N_BINS (WH_N_FFT / 2 + 1) /* 201 */
#define WH_N_FRAMES 3000             /* mel frames of one 30 s window */
#define WH_MAX_LANGS 128

typedef struct {
    const float *w, *b; /* [d] */
} wh_norm;

typedef struct {
    const float *w; /* [rows, cols] */
    const float *b; /* [rows] or NULL (the key projections have no bias) */
    int rows, cols;
} wh_linear;

typedef struct {
    wh_linear q, k, v, o;
} wh_attn;

typedef struct {
    wh_norm attn_ln;
    wh_attn attn;
    wh_norm cross_ln; /* decoder only */
    wh_attn cross;    /* decoder only */
    wh_norm mlp_ln;
    wh_linear fc1, fc2; /* [ffn, d], [d, ffn] */
} wh_layer;

typedef struct {
    int n_mels, d, n_audio_ctx, n_text_ctx, n_audio_layers, n_text_layers, n_audio_heads, n_text_heads;
    int audio_ffn, text_ffn, n_vocab;
} wh_config;

struct wh_model {
    wh_config c;
    struct st_file *st; /* the mapped model.safetensors the weights point into */
    float **owned;
    int n_owned, cap_owned;
    size_t weight_bytes;

    const float *conv1_w, *conv1_b; /* [d, n_mels, 3], [d] */
    const float *conv2_w, *conv2_b; /* [d, d, 3], [d] */
    const float *enc_pos;           /* [n_audio_ctx, d] */
    wh_layer *enc, *dec;
    wh_norm enc_ln, dec_ln;
    const float *tok_emb; /* [n_vocab, d], also the output projection */
    const float *dec_pos; /* [n_text_ctx, d] */

    float *filters; /* [n_mels, 201] Slaney mel filters */
    qt_tokenizer *tok;
    qt_pool *pool;

    int32_t eot, sot, transcribe, translate, sot_lm, sot_prev, no_speech, no_timestamps, timestamp_begin;
    bool multilingual;
    int n_langs;
    int32_t lang_id[WH_MAX_LANGS];
    char lang_code[WH_MAX_LANGS][12];
    int32_t *suppress; /* always, sorted */
    int n_suppress;
    int32_t begin_suppress[8]; /* at the first sampled token: " " and EOT (SuppressBlank) */
    int n_begin_suppress;
};

/* error plumbing between the engine's qt_error and wh_error */
int wh_fail(wh_error *err, wh_error_kind kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int wh_from_qt(wh_error *err, const qt_error *qe);

/* ---- stages ---- */

/* pcm (at most one window, n <= WH_WINDOW_SAMPLES) zero-padded to 30 s -> mel [n_mels][3000], as
 * log_mel_spectrogram(pad_or_trim(audio)). */
int wh_log_mel(const wh_model *m, const float *pcm, size_t n, float *mel, wh_error *err);

/* mel [n_mels][3000] -> out [n_audio_ctx][d] */
int wh_encode(wh_model *m, const float *mel, float *out, wh_error *err);

typedef struct wh_decoder wh_decoder;

/* A decoder over one window's encoder output (borrowed): the cross-attention keys and values are computed
 * here, once. */
wh_decoder *wh_decoder_new(wh_model *m, const float *enc, wh_error *err);
void wh_decoder_free(wh_decoder *dec);
void wh_decoder_reset(wh_decoder *dec); /* forget the tokens (keeps the cross-attention K/V) */
int wh_decoder_pos(const wh_decoder *dec);
wh_model *wh_decoder_model(const wh_decoder *dec);

/* Feeds n tokens after those already fed (KV cache); logits [n_vocab] of the last one, or of all n
 * ([n][n_vocab]) when all_logits. */
int wh_decoder_feed(wh_decoder *dec, const int32_t *tokens, int n, float *logits, bool all_logits,
                    wh_error *err);

/* decoding.py detect_language: probs [n_langs] from the logits after <|startoftranscript|>. */
int wh_detect_language(wh_decoder *dec, float *probs, wh_error *err);

/* Greedy decoding of one window from the sot sequence for `lang` (-1 for an English-only model): text
 * tokens up to (not including) EOT, at most max_tokens. *tokens is malloc'd. */
int wh_greedy(wh_decoder *dec, int lang, int max_tokens, const volatile int *cancel, int32_t **tokens,
              int *n_tokens, wh_error *err);

/* The sot sequence with <|notimestamps|>: sot [lang transcribe] notimestamps; returns its length. */
int wh_sot_sequence(const wh_model *m, int lang, int32_t seq[4]);

#endif
