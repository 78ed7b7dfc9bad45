/* random_model.h — real-shape random Qwen3-TTS Base models for `voicebox dev random-model`.
 *
 * The tensor layout (names, shapes, dtypes) is derived from the configs by the same rules the official
 * modules follow, so a tiny config reproduces the golden fixtures' key lists exactly and the real configs
 * give the release layout. Values are seeded-random at scales that keep activations sane
 * (docs/engine.md §9.1).
 */
#ifndef VOICEBOX_RANDOM_MODEL_H
#define VOICEBOX_RANDOM_MODEL_H

#include "engine/qt_dev.h"

#include <stdint.h>

typedef enum {
    RM_LINEAR,    /* N(0, gain/sqrt(fan_in)) */
    RM_EMBED,     /* N(0, 1) */
    RM_HEAD,      /* N(0, 6/sqrt(fan_in)): large logit margins, as in the fixtures */
    RM_NORM_GAIN, /* 1 + N(0, 0.1) */
    RM_BIAS,      /* N(0, 0.02) */
    RM_SCALE,     /* U(0.2, 0.6): layer scales, ConvNeXt gamma */
    RM_SNAKE,     /* N(0, 0.2): SnakeBeta log alpha / log beta */
    RM_USAGE,     /* U(0.5, 2): codebook cluster usage */
    RM_EMBED_SUM, /* N(0, 1) * usage[row], usage being the sibling ...cluster_usage tensor's values */
    RM_ONE,       /* 1: codebook.initialized */
} rm_init;

typedef struct {
    char name[112];
    st_dtype dtype;
    int n_dims;
    int64_t shape[4];
    rm_init init;
    float fan_in; /* RM_LINEAR / RM_HEAD */
    float gain;   /* extra factor for RM_LINEAR */
} rm_tensor;

typedef struct {
    rm_tensor *t;
    int n, cap;
} rm_list;

/* Preset shapes: "0.6B", "1.7B", "tiny" (= golden tiny-a), "tiny-b". -1 for an unknown name. */
int rm_preset(const char *shape, qt_config *c, qt_codec_config *cc);

/* Tensor lists of model.safetensors (BF16) and speech_tokenizer/model.safetensors (F32), sorted by name. */
int rm_model_tensors(const qt_config *c, rm_list *out);
int rm_codec_tensors(const qt_codec_config *c, rm_list *out);
void rm_list_free(rm_list *l);
uint64_t rm_list_bytes(const rm_list *l);
uint64_t rm_list_params(const rm_list *l);

/* config.json / speech_tokenizer/config.json text for these configs, in the release's field layout.
 * `full_speaker` writes every speaker-encoder field (the tiny fixtures do; the real release stores only
 * enc_dim and sample_rate). Caller frees. */
char *rm_config_json(const qt_config *c, int full_speaker);
char *rm_codec_config_json(const qt_codec_config *c);

/* Whisper in the transformers layout (openai/whisper-*): "whisper-tiny", "whisper-base", "whisper-small"
 * (80 mel bins, the v2 vocabulary), F32 weights. */
typedef struct {
    const char *name;
    int n_mels, d, enc_layers, dec_layers, heads, n_vocab;
} rm_whisper;

int rm_whisper_preset(const char *shape, rm_whisper *w); /* -1 for an unknown name */
int rm_whisper_tensors(const rm_whisper *w, rm_list *out);
char *rm_whisper_config_json(const rm_whisper *w); /* config.json text; caller frees */

typedef void (*rm_progress_fn)(void *ctx, uint64_t done_bytes, uint64_t total_bytes);

/* Writes `path` atomically (temp file + rename): header, then every tensor's seeded-random data. */
int rm_write_safetensors(const char *path, const rm_list *l, uint64_t seed, int n_threads,
                         rm_progress_fn progress, void *progress_ctx, qt_error *err);

/* Writes a text file atomically (temp + rename). */
int rm_write_text(const char *path, const char *text, qt_error *err);

#endif
