/* config.c — reading config.json and speech_tokenizer/config.json with jansson into the structs of config.h.
 *
 * Reads fields by name, ignores everything else. Required fields produce "<file>: field '<path>' is missing"
 * (or "... must be an integer", ...) so a user sees exactly which file and key is wrong. This file must not
 * guess values for fields that change the model's shape: only fields the real releases omit get defaults.
 */
#include "engine/config.h"
#include "engine/json_error.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The first failure wins; later lookups become no-ops so one pass can read every field. */
typedef struct {
    const char *label;
    const char *prefix; /* "talker_config." etc., for messages */
    qt_error *err;
    int failed;
} reader;

static int rd_fail(reader *r, const char *key, const char *fault)
{
    if (!r->failed) qt_fail(r->err, QT_ERR_CORRUPT, "%s: field '%s%s' %s", r->label, r->prefix, key, fault);
    r->failed = 1;
    return -1;
}

static json_t *rd_get(reader *r, json_t *obj, const char *key, int required)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    if (v && json_is_null(v)) v = NULL;
    if (!v && required) rd_fail(r, key, "is missing");
    return v;
}

static void rd_int(reader *r, json_t *obj, const char *key, int required, int dflt, int *out)
{
    *out = dflt;
    json_t *v = rd_get(r, obj, key, required);
    if (!v) return;
    if (json_is_integer(v)) {
        json_int_t x = json_integer_value(v);
        if (x < -2147483647 || x > 2147483647) {
            rd_fail(r, key, "is out of range");
            return;
        }
        *out = (int)x;
    } else if (json_is_boolean(v)) {
        *out = json_is_true(v);
    } else {
        rd_fail(r, key, "must be an integer");
    }
}

/* A positive size (a width, a count): zero or negative is as bad as missing. */
static void rd_pos(reader *r, json_t *obj, const char *key, int required, int dflt, int *out)
{
    rd_int(r, obj, key, required, dflt, out);
    if (!r->failed && *out <= 0 && (required || rd_get(r, obj, key, 0))) rd_fail(r, key, "must be positive");
}

static void rd_float(reader *r, json_t *obj, const char *key, int required, float dflt, float *out)
{
    *out = dflt;
    json_t *v = rd_get(r, obj, key, required);
    if (!v) return;
    if (!json_is_number(v)) {
        rd_fail(r, key, "must be a number");
        return;
    }
    *out = (float)json_number_value(v);
}

static void rd_bool(reader *r, json_t *obj, const char *key, int dflt, int *out)
{
    *out = dflt;
    json_t *v = rd_get(r, obj, key, 0);
    if (!v) return;
    if (!json_is_boolean(v))
        rd_fail(r, key, "must be true or false");
    else
        *out = json_is_true(v);
}

static void rd_str(reader *r, json_t *obj, const char *key, int required, const char *dflt, char *out,
                   size_t out_size)
{
    snprintf(out, out_size, "%s", dflt);
    json_t *v = rd_get(r, obj, key, required);
    if (!v) return;
    if (!json_is_string(v)) {
        rd_fail(r, key, "must be a string");
        return;
    }
    if (strlen(json_string_value(v)) >= out_size) {
        rd_fail(r, key, "is too long");
        return;
    }
    snprintf(out, out_size, "%s", json_string_value(v));
}

/* An integer array of 1..max entries; *n receives the count (n may be NULL when the count must equal max). */
static void rd_ints(reader *r, json_t *obj, const char *key, int required, int *out, int max, int *n,
                    const int *dflt, int n_dflt)
{
    if (dflt) memcpy(out, dflt, (size_t)n_dflt * sizeof *out);
    if (n) *n = dflt ? n_dflt : 0;
    json_t *v = rd_get(r, obj, key, required);
    if (!v) return;
    size_t len = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v) || len == 0 || (int)len > max || (!n && (int)len != max)) {
        char fault[64];
        snprintf(fault, sizeof fault, "must be an array of %s%d integers", n ? "at most " : "", max);
        rd_fail(r, key, fault);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        json_t *e = json_array_get(v, i);
        if (!json_is_integer(e)) {
            rd_fail(r, key, "must hold integers only");
            return;
        }
        out[i] = (int)json_integer_value(e);
    }
    if (n) *n = (int)len;
}

static json_t *rd_obj(reader *r, json_t *obj, const char *key, int required)
{
    json_t *v = rd_get(r, obj, key, required);
    if (v && !json_is_object(v)) {
        rd_fail(r, key, "must be an object");
        return NULL;
    }
    return v;
}

static void rd_named_ids(reader *r, json_t *obj, const char *key, int required, qt_named_id *out, int max,
                         int *n)
{
    *n = 0;
    json_t *m = rd_obj(r, obj, key, required);
    if (!m) return;
    const char *name;
    json_t *v;
    json_object_foreach(m, name, v)
    {
        if (*n == max) {
            rd_fail(r, key, "has too many entries");
            return;
        }
        if (strlen(name) >= QT_NAME_MAX) {
            rd_fail(r, key, "has a name that is too long");
            return;
        }
        /* spk_id values are lists ([id]) in CustomVoice models; take the first. */
        if (json_is_array(v) && json_array_size(v) > 0) v = json_array_get(v, 0);
        if (!json_is_integer(v)) {
            rd_fail(r, key, "must map names to integer ids");
            return;
        }
        snprintf(out[*n].name, QT_NAME_MAX, "%s", name);
        out[*n].id = (int)json_integer_value(v);
        (*n)++;
    }
}

static void rd_stack(reader *r, json_t *obj, qt_stack_config *s, int dflt_max_pos)
{
    rd_pos(r, obj, "hidden_size", 1, 0, &s->hidden);
    rd_pos(r, obj, "intermediate_size", 1, 0, &s->intermediate);
    rd_pos(r, obj, "num_hidden_layers", 1, 0, &s->n_layers);
    rd_pos(r, obj, "num_attention_heads", 1, 0, &s->n_heads);
    rd_pos(r, obj, "num_key_value_heads", 1, 0, &s->n_kv_heads);
    rd_pos(r, obj, "head_dim", 1, 0, &s->head_dim);
    rd_pos(r, obj, "vocab_size", 1, 0, &s->vocab_size);
    rd_pos(r, obj, "num_code_groups", 1, 0, &s->num_code_groups);
    rd_pos(r, obj, "max_position_embeddings", 0, dflt_max_pos, &s->max_position_embeddings);
    rd_float(r, obj, "rms_norm_eps", 1, 0, &s->rms_norm_eps);
    rd_float(r, obj, "rope_theta", 1, 0, &s->rope_theta);
    if (!r->failed && s->n_heads % s->n_kv_heads != 0)
        rd_fail(r, "num_key_value_heads", "must divide num_attention_heads");
}

static json_t *parse_json(const char *label, const char *json, size_t len, qt_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root) {
        qt_json_fail(err, label, &je);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        qt_fail(err, QT_ERR_CORRUPT, "%s: the top level is not a JSON object", label);
        return NULL;
    }
    return root;
}

int qt_config_parse(const char *label, const char *json, size_t len, qt_config *out, qt_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse_json(label, json, len, err);
    if (!root) return -1;
    reader r = {label, "", err, 0};

    char size_raw[16];
    rd_str(&r, root, "tts_model_size", 1, "", size_raw, sizeof size_raw);
    if (!strcmp(size_raw, "0b6"))
        snprintf(out->size, sizeof out->size, "0.6B");
    else if (!strcmp(size_raw, "1b7"))
        snprintf(out->size, sizeof out->size, "1.7B");
    else
        snprintf(out->size, sizeof out->size, "%.7s", size_raw);
    rd_str(&r, root, "tts_model_type", 0, "base", out->model_type, sizeof out->model_type);
    rd_str(&r, root, "tokenizer_type", 0, "qwen3_tts_tokenizer_12hz", out->tokenizer_type,
           sizeof out->tokenizer_type);
    rd_int(&r, root, "im_start_token_id", 1, 0, &out->im_start_id);
    rd_int(&r, root, "im_end_token_id", 1, 0, &out->im_end_id);
    rd_int(&r, root, "assistant_token_id", 1, 0, &out->assistant_id);
    rd_int(&r, root, "tts_pad_token_id", 1, 0, &out->tts_pad_id);
    rd_int(&r, root, "tts_bos_token_id", 1, 0, &out->tts_bos_id);
    rd_int(&r, root, "tts_eos_token_id", 1, 0, &out->tts_eos_id);

    /* talker_config */
    json_t *tk = rd_obj(&r, root, "talker_config", 1);
    r.prefix = "talker_config.";
    qt_talker_config *t = &out->talker;
    rd_stack(&r, tk, &t->stack, 32768);
    rd_pos(&r, tk, "text_vocab_size", 1, 0, &t->text_vocab_size);
    rd_pos(&r, tk, "text_hidden_size", 1, 0, &t->text_hidden_size);
    rd_int(&r, tk, "position_id_per_seconds", 0, 13, &t->position_id_per_seconds);
    rd_int(&r, tk, "codec_pad_id", 1, 0, &t->codec_pad_id);
    rd_int(&r, tk, "codec_bos_id", 1, 0, &t->codec_bos_id);
    rd_int(&r, tk, "codec_eos_token_id", 1, 0, &t->codec_eos_id);
    rd_int(&r, tk, "codec_think_id", 1, 0, &t->codec_think_id);
    rd_int(&r, tk, "codec_nothink_id", 1, 0, &t->codec_nothink_id);
    rd_int(&r, tk, "codec_think_bos_id", 1, 0, &t->codec_think_bos_id);
    rd_int(&r, tk, "codec_think_eos_id", 1, 0, &t->codec_think_eos_id);
    rd_named_ids(&r, tk, "codec_language_id", 1, t->languages, QT_MAX_LANGUAGES, &t->n_languages);
    rd_named_ids(&r, tk, "spk_id", 0, t->speakers, QT_MAX_SPEAKERS, &t->n_speakers);
    json_t *rs = rd_obj(&r, tk, "rope_scaling", 0);
    if (rs) {
        r.prefix = "talker_config.rope_scaling.";
        rd_ints(&r, rs, "mrope_section", 0, t->mrope_section, 3, NULL, NULL, 0);
        rd_bool(&r, rs, "interleaved", 0, &t->mrope_interleaved);
        if (!r.failed && t->mrope_section[0] + t->mrope_section[1] + t->mrope_section[2] != 0 &&
            2 * (t->mrope_section[0] + t->mrope_section[1] + t->mrope_section[2]) != t->stack.head_dim)
            rd_fail(&r, "mrope_section", "must sum to head_dim/2");
    }

    /* talker_config.code_predictor_config */
    r.prefix = "talker_config.";
    json_t *cp = rd_obj(&r, tk, "code_predictor_config", 1);
    r.prefix = "talker_config.code_predictor_config.";
    rd_stack(&r, cp, &out->code_predictor, 65536);

    /* speaker_encoder_config: the release stores enc_dim and sample_rate; the rest are the class defaults. */
    r.prefix = "";
    json_t *se = rd_obj(&r, root, "speaker_encoder_config", 1);
    r.prefix = "speaker_encoder_config.";
    qt_speaker_config *s = &out->speaker;
    static const int d_ch[5] = {512, 512, 512, 512, 1536}, d_k[5] = {5, 3, 3, 3, 1}, d_d[5] = {1, 2, 3, 4, 1};
    rd_pos(&r, se, "mel_dim", 0, 128, &s->mel_dim);
    rd_pos(&r, se, "enc_dim", 1, 0, &s->enc_dim);
    rd_ints(&r, se, "enc_channels", 0, s->enc_channels, 5, NULL, d_ch, 5);
    rd_ints(&r, se, "enc_kernel_sizes", 0, s->enc_kernel_sizes, 5, NULL, d_k, 5);
    rd_ints(&r, se, "enc_dilations", 0, s->enc_dilations, 5, NULL, d_d, 5);
    rd_pos(&r, se, "enc_attention_channels", 0, 128, &s->enc_attention_channels);
    rd_pos(&r, se, "enc_res2net_scale", 0, 8, &s->enc_res2net_scale);
    rd_pos(&r, se, "enc_se_channels", 0, 128, &s->enc_se_channels);
    rd_pos(&r, se, "sample_rate", 0, 24000, &s->sample_rate);

    json_decref(root);
    return r.failed ? -1 : 0;
}

int qt_codec_config_parse(const char *label, const char *json, size_t len, qt_codec_config *out,
                          qt_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *root = parse_json(label, json, len, err);
    if (!root) return -1;
    reader r = {label, "", err, 0};

    rd_str(&r, root, "model_type", 0, "qwen3_tts_tokenizer_12hz", out->model_type, sizeof out->model_type);
    rd_pos(&r, root, "encoder_valid_num_quantizers", 1, 0, &out->encoder_valid_num_quantizers);
    rd_pos(&r, root, "input_sample_rate", 1, 0, &out->input_sample_rate);
    rd_pos(&r, root, "output_sample_rate", 1, 0, &out->output_sample_rate);
    rd_pos(&r, root, "encode_downsample_rate", 1, 0, &out->encode_downsample_rate);
    rd_pos(&r, root, "decode_upsample_rate", 1, 0, &out->decode_upsample_rate);

    json_t *dj = rd_obj(&r, root, "decoder_config", 1);
    r.prefix = "decoder_config.";
    qt_codec_decoder_config *d = &out->decoder;
    rd_pos(&r, dj, "latent_dim", 1, 0, &d->latent_dim);
    rd_pos(&r, dj, "codebook_dim", 1, 0, &d->codebook_dim);
    rd_pos(&r, dj, "codebook_size", 1, 0, &d->codebook_size);
    rd_pos(&r, dj, "decoder_dim", 1, 0, &d->decoder_dim);
    rd_pos(&r, dj, "hidden_size", 1, 0, &d->hidden);
    rd_pos(&r, dj, "intermediate_size", 1, 0, &d->intermediate);
    rd_pos(&r, dj, "num_hidden_layers", 1, 0, &d->n_layers);
    rd_pos(&r, dj, "num_attention_heads", 1, 0, &d->n_heads);
    rd_pos(&r, dj, "num_key_value_heads", 1, 0, &d->n_kv_heads);
    rd_pos(&r, dj, "head_dim", 1, 0, &d->head_dim);
    rd_pos(&r, dj, "max_position_embeddings", 0, 8000, &d->max_position_embeddings);
    rd_pos(&r, dj, "sliding_window", 1, 0, &d->sliding_window);
    rd_pos(&r, dj, "num_quantizers", 1, 0, &d->num_quantizers);
    rd_pos(&r, dj, "num_semantic_quantizers", 0, 1, &d->num_semantic_quantizers);
    rd_pos(&r, dj, "semantic_codebook_size", 0, 4096, &d->semantic_codebook_size);
    rd_pos(&r, dj, "vector_quantization_hidden_dimension", 0, d->codebook_dim, &d->vq_hidden_dim);
    rd_ints(&r, dj, "upsample_rates", 1, d->upsample_rates, 8, &d->n_upsample_rates, NULL, 0);
    rd_ints(&r, dj, "upsampling_ratios", 1, d->upsampling_ratios, 8, &d->n_upsampling_ratios, NULL, 0);
    rd_float(&r, dj, "rms_norm_eps", 1, 0, &d->rms_norm_eps);
    rd_float(&r, dj, "rope_theta", 1, 0, &d->rope_theta);
    rd_float(&r, dj, "layer_scale_initial_scale", 0, 0.01f, &d->layer_scale_initial_scale);

    r.prefix = "";
    json_t *ej = rd_obj(&r, root, "encoder_config", 1);
    r.prefix = "encoder_config.";
    qt_codec_encoder_config *e = &out->encoder;
    static const int d_up[4] = {8, 6, 5, 4};
    rd_pos(&r, ej, "sampling_rate", 0, 24000, &e->sampling_rate);
    rd_float(&r, ej, "_frame_rate", 0, 12.5f, &e->frame_rate);
    rd_pos(&r, ej, "audio_channels", 0, 1, &e->audio_channels);
    rd_pos(&r, ej, "num_filters", 1, 0, &e->num_filters);
    rd_pos(&r, ej, "kernel_size", 0, 7, &e->kernel_size);
    rd_pos(&r, ej, "last_kernel_size", 0, 3, &e->last_kernel_size);
    rd_pos(&r, ej, "residual_kernel_size", 0, 3, &e->residual_kernel_size);
    rd_pos(&r, ej, "num_residual_layers", 0, 1, &e->num_residual_layers);
    rd_pos(&r, ej, "dilation_growth_rate", 0, 2, &e->dilation_growth_rate);
    rd_pos(&r, ej, "compress", 0, 2, &e->compress);
    rd_ints(&r, ej, "upsampling_ratios", 0, e->upsampling_ratios, 8, &e->n_upsampling_ratios, d_up, 4);
    rd_bool(&r, ej, "use_causal_conv", 1, &e->use_causal_conv);
    rd_bool(&r, ej, "use_conv_shortcut", 0, &e->use_conv_shortcut);
    char pad_mode[16];
    rd_str(&r, ej, "pad_mode", 0, "constant", pad_mode, sizeof pad_mode);
    e->pad_constant = !strcmp(pad_mode, "constant");
    rd_pos(&r, ej, "hidden_size", 1, 0, &e->hidden);
    rd_pos(&r, ej, "intermediate_size", 1, 0, &e->intermediate);
    rd_pos(&r, ej, "num_hidden_layers", 1, 0, &e->n_layers);
    rd_pos(&r, ej, "num_attention_heads", 1, 0, &e->n_heads);
    rd_pos(&r, ej, "num_key_value_heads", 0, e->n_heads, &e->n_kv_heads);
    rd_pos(&r, ej, "head_dim", 0, e->n_heads ? e->hidden / e->n_heads : 0, &e->head_dim);
    rd_pos(&r, ej, "max_position_embeddings", 0, 8000, &e->max_position_embeddings);
    rd_pos(&r, ej, "sliding_window", 0, 250, &e->sliding_window);
    rd_pos(&r, ej, "codebook_size", 1, 0, &e->codebook_size);
    rd_pos(&r, ej, "codebook_dim", 1, 0, &e->codebook_dim);
    rd_pos(&r, ej, "vector_quantization_hidden_dimension", 0, e->codebook_dim, &e->vq_hidden_dim);
    rd_pos(&r, ej, "num_quantizers", 1, 0, &e->num_quantizers);
    rd_pos(&r, ej, "num_semantic_quantizers", 0, 1, &e->num_semantic_quantizers);
    rd_pos(&r, ej, "upsample_groups", 0, 512, &e->upsample_groups);
    rd_float(&r, ej, "norm_eps", 0, 1e-5f, &e->norm_eps);
    rd_float(&r, ej, "rope_theta", 0, 10000.0f, &e->rope_theta);
    rd_float(&r, ej, "layer_scale_initial_scale", 0, 0.01f, &e->layer_scale_initial_scale);
    rd_float(&r, ej, "trim_right_ratio", 0, 1.0f, &e->trim_right_ratio);

    r.prefix = "";
    if (!r.failed && out->encoder_valid_num_quantizers > e->num_quantizers)
        rd_fail(&r, "encoder_valid_num_quantizers", "exceeds encoder_config.num_quantizers");

    json_decref(root);
    return r.failed ? -1 : 0;
}

/* Reads dir/config.json whole; the caller frees *text. */
static int read_config_file(const char *dir, char *path, size_t path_size, char **text, size_t *len,
                            qt_error *err)
{
    if ((size_t)snprintf(path, path_size, "%s/config.json", dir) >= path_size)
        return qt_fail(err, QT_ERR_INVALID, "%s: path too long", dir);
    FILE *f = fopen(path, "rb");
    if (!f) return qt_fail(err, QT_ERR_NOT_FOUND, "%s: cannot open (%s)", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16384;
            if (ncap > (64u << 20)) {
                fclose(f);
                free(buf);
                return qt_fail(err, QT_ERR_CORRUPT, "%s: larger than 64 MiB, not a config file", path);
            }
            char *nb = realloc(buf, ncap);
            if (!nb) {
                fclose(f);
                free(buf);
                return qt_fail(err, QT_ERR_NOMEM, "%s: out of memory reading the file", path);
            }
            buf = nb;
            cap = ncap;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return qt_fail(err, QT_ERR_IO, "%s: read error", path);
    }
    *text = buf;
    *len = n;
    return 0;
}

int qt_config_load(const char *model_dir, qt_config *out, qt_error *err)
{
    char path[4096];
    char *text;
    size_t len;
    if (read_config_file(model_dir, path, sizeof path, &text, &len, err)) return -1;
    int rc = qt_config_parse(path, text, len, out, err);
    free(text);
    return rc;
}

int qt_codec_config_load(const char *speech_tokenizer_dir, qt_codec_config *out, qt_error *err)
{
    char path[4096];
    char *text;
    size_t len;
    if (read_config_file(speech_tokenizer_dir, path, sizeof path, &text, &len, err)) return -1;
    int rc = qt_codec_config_parse(path, text, len, out, err);
    free(text);
    return rc;
}

int qt_config_language_id(const qt_config *c, const char *name)
{
    for (int i = 0; i < c->talker.n_languages; i++)
        if (!strcasecmp(c->talker.languages[i].name, name)) return c->talker.languages[i].id;
    return -1;
}
