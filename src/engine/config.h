/* config.h — config.json and speech_tokenizer/config.json as plain C structs (docs/engine.md §1.2, §1.5).
 *
 * Only the fields the engine reads are kept; unknown JSON fields are ignored. A field the engine cannot do
 * without is required (its absence is an error naming the file and the field); fields the real releases
 * leave out (the speaker encoder's architecture, some Mimi encoder fields) fall back to the defaults of the
 * official configuration classes. Loading does no model math and opens no weights.
 */
#ifndef QT_CONFIG_H
#define QT_CONFIG_H

#include "engine/qt.h"

#define QT_MAX_LANGUAGES 32
#define QT_MAX_SPEAKERS 64
#define QT_NAME_MAX 48

typedef struct {
    char name[QT_NAME_MAX]; /* lower case, as in the JSON ("english") */
    int id;                 /* codec token id */
} qt_named_id;

/* A Qwen3-style decoder stack: the talker and the code predictor share this shape. */
typedef struct {
    int hidden;       /* hidden_size */
    int intermediate; /* intermediate_size (SwiGLU) */
    int n_layers;     /* num_hidden_layers */
    int n_heads;      /* num_attention_heads */
    int n_kv_heads;   /* num_key_value_heads */
    int head_dim;
    int vocab_size; /* codec vocabulary of this stack's output head(s) */
    int num_code_groups;
    int max_position_embeddings;
    float rms_norm_eps;
    float rope_theta;
} qt_stack_config;

typedef struct {
    qt_stack_config stack; /* hidden 1024 (0.6B) / 2048 (1.7B); vocab 3072 */
    int text_vocab_size;   /* 151936 */
    int text_hidden_size;  /* 2048 */
    int mrope_section[3];  /* [24,20,20]; all zero when rope_scaling has none */
    int mrope_interleaved; /* rope_scaling.interleaved */
    int position_id_per_seconds;
    /* codec special ids (§1.2) */
    int codec_pad_id, codec_bos_id, codec_eos_id;
    int codec_think_id, codec_nothink_id, codec_think_bos_id, codec_think_eos_id;
    int n_languages;
    qt_named_id languages[QT_MAX_LANGUAGES]; /* codec_language_id, in file order */
    int n_speakers;                          /* spk_id: empty for Base models */
    qt_named_id speakers[QT_MAX_SPEAKERS];
} qt_talker_config;

/* ECAPA-TDNN (§3.4). The real Base config.json stores only enc_dim and sample_rate; the rest default. */
typedef struct {
    int mel_dim;                /* 128 */
    int enc_dim;                /* x-vector width = talker hidden */
    int enc_channels[5];        /* [512,512,512,512,1536] */
    int enc_kernel_sizes[5];    /* [5,3,3,3,1] */
    int enc_dilations[5];       /* [1,2,3,4,1] */
    int enc_attention_channels; /* 128 */
    int enc_res2net_scale;      /* 8 */
    int enc_se_channels;        /* 128 */
    int sample_rate;            /* 24000 */
} qt_speaker_config;

typedef struct {
    char size[8];        /* "0.6B" or "1.7B", from tts_model_size "0b6"/"1b7"; other values kept as written */
    char model_type[16]; /* tts_model_type: "base" (others are loaded but voicebox only runs Base) */
    char tokenizer_type[48];
    /* text special ids */
    int im_start_id, im_end_id, assistant_id;
    int tts_pad_id, tts_bos_id, tts_eos_id;
    qt_talker_config talker;
    qt_stack_config code_predictor; /* hidden 1024, 5 layers, vocab 2048, 16 code groups */
    qt_speaker_config speaker;
} qt_config;

/* speech_tokenizer/config.json: decoder_config (§7). */
typedef struct {
    int latent_dim;                    /* 1024 */
    int codebook_dim;                  /* 512 (semantic and acoustic halves of 256 each) */
    int codebook_size;                 /* 2048 */
    int decoder_dim;                   /* 1536 */
    int hidden;                        /* 512, transformer width */
    int intermediate;                  /* 1024 */
    int n_layers;                      /* 8 */
    int n_heads, n_kv_heads, head_dim; /* 16, 16, 64 */
    int max_position_embeddings;
    int sliding_window;          /* 72 */
    int num_quantizers;          /* 16 */
    int num_semantic_quantizers; /* 1 */
    int semantic_codebook_size;  /* 4096 (unused by decoding) */
    int vq_hidden_dim;           /* vector_quantization_hidden_dimension */
    int n_upsample_rates;
    int upsample_rates[8]; /* [8,5,4,3] */
    int n_upsampling_ratios;
    int upsampling_ratios[8]; /* [2,2] */
    float rms_norm_eps;       /* 1e-5 */
    float rope_theta;         /* 10000 */
    float layer_scale_initial_scale;
} qt_codec_decoder_config;

/* speech_tokenizer/config.json: encoder_config, a MimiConfig (§3.2). */
typedef struct {
    int sampling_rate;                                       /* 24000 */
    float frame_rate;                                        /* _frame_rate 12.5 */
    int audio_channels;                                      /* 1 */
    int num_filters;                                         /* 64 */
    int kernel_size, last_kernel_size, residual_kernel_size; /* 7, 3, 3 */
    int num_residual_layers;                                 /* 1 */
    int dilation_growth_rate;                                /* 2 */
    int compress;                                            /* 2 */
    int n_upsampling_ratios;
    int upsampling_ratios[8]; /* [8,6,5,4] (applied in reverse by the encoder: 4,5,6,8) */
    int use_causal_conv;
    int use_conv_shortcut;
    int pad_constant;                  /* pad_mode == "constant" */
    int hidden;                        /* 512 */
    int intermediate;                  /* 2048 */
    int n_layers;                      /* 8 */
    int n_heads, n_kv_heads, head_dim; /* 8, 8, 64 */
    int max_position_embeddings;
    int sliding_window;          /* 250 (§3.2: not applied by the reference) */
    int codebook_size;           /* 2048 */
    int codebook_dim;            /* 256 */
    int vq_hidden_dim;           /* 256 */
    int num_quantizers;          /* 32 */
    int num_semantic_quantizers; /* 1 */
    int upsample_groups;
    float norm_eps;   /* 1e-5 */
    float rope_theta; /* 10000 */
    float layer_scale_initial_scale;
    float trim_right_ratio;
} qt_codec_encoder_config;

typedef struct {
    char model_type[48];                              /* qwen3_tts_tokenizer_12hz */
    int encoder_valid_num_quantizers;                 /* 16 */
    int input_sample_rate, output_sample_rate;        /* 24000 */
    int encode_downsample_rate, decode_upsample_rate; /* 1920 */
    qt_codec_decoder_config decoder;
    qt_codec_encoder_config encoder;
} qt_codec_config;

/* model_dir/config.json -> *out. Unknown fields are ignored; a missing or mistyped required field is an error
 * naming the file and the field (QT_ERR_CORRUPT), a missing file QT_ERR_NOT_FOUND. */
int qt_config_load(const char *model_dir, qt_config *out, qt_error *err);

/* speech_tokenizer_dir/config.json -> *out (same rules). */
int qt_codec_config_load(const char *speech_tokenizer_dir, qt_codec_config *out, qt_error *err);

/* The same, from JSON text already in memory; `label` names it in errors. For tests and `dev random-model`.
 */
int qt_config_parse(const char *label, const char *json, size_t len, qt_config *out, qt_error *err);
int qt_codec_config_parse(const char *label, const char *json, size_t len, qt_codec_config *out,
                          qt_error *err);

/* Codec id of a language name (case-insensitive), or -1 when the model has no such language. */
int qt_config_language_id(const qt_config *c, const char *name);

#endif
