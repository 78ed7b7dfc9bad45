/* wh_config.c — Whisper's config.json and generation_config.json (transformers' names) into wh_config and the
 * suppress list; errors, the first fault only, name the file and the field.
 *
 * Every size that decides an allocation is bounded here, so a hostile file cannot make the loader ask for
 * terabytes; the shape must be one the official code can run: 30 s windows (max_source_positions 1500).
 * Takes bytes, not paths, so the fuzz target drives it directly.
 */
#include "whisper/wh_config.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static int get_int(const json_t *root, const char *label, const char *key, int lo, int hi, int *out,
                   wh_error *err)
{
    const json_t *v = json_object_get(root, key);
    if (!v) return wh_fail(err, WH_ERR_CORRUPT, "%s: field '%s' is missing", label, key);
    if (!json_is_integer(v))
        return wh_fail(err, WH_ERR_CORRUPT, "%s: field '%s' must be an integer", label, key);
    json_int_t x = json_integer_value(v);
    if (x < lo || x > hi)
        return wh_fail(err, WH_ERR_CORRUPT, "%s: field '%s' is %lld, outside %d..%d", label, key,
                       (long long)x, lo, hi);
    *out = (int)x;
    return 0;
}

int wh_config_parse(const char *json, size_t len, const char *label, wh_config *c, wh_error *err)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root && json_error_code(&je) == json_error_out_of_memory)
        return wh_fail(err, WH_ERR_NOMEM, "%s: out of memory while reading it", label);
    if (!root)
        return wh_fail(err, WH_ERR_CORRUPT, "%s: not valid JSON (line %d: %s)", label, je.line, je.text);
    int rc = -1;
    memset(c, 0, sizeof *c);
    if (!json_is_object(root)) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: not a JSON object", label);
        goto done;
    }
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    if (mt && strcmp(mt, "whisper")) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: model_type is \"%s\", not \"whisper\"", label, mt);
        goto done;
    }
    const char *act = json_string_value(json_object_get(root, "activation_function"));
    if (act && strcmp(act, "gelu")) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: activation_function is \"%s\"; Whisper uses \"gelu\"", label, act);
        goto done;
    }
    if (json_is_true(json_object_get(root, "scale_embedding"))) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: scale_embedding is true, which no Whisper release uses", label);
        goto done;
    }
    if (get_int(root, label, "num_mel_bins", 1, 256, &c->n_mels, err) ||
        get_int(root, label, "d_model", 2, 8192, &c->d, err) ||
        get_int(root, label, "encoder_layers", 1, 256, &c->n_audio_layers, err) ||
        get_int(root, label, "decoder_layers", 1, 256, &c->n_text_layers, err) ||
        get_int(root, label, "encoder_attention_heads", 1, 256, &c->n_audio_heads, err) ||
        get_int(root, label, "decoder_attention_heads", 1, 256, &c->n_text_heads, err) ||
        get_int(root, label, "encoder_ffn_dim", 1, 65536, &c->audio_ffn, err) ||
        get_int(root, label, "decoder_ffn_dim", 1, 65536, &c->text_ffn, err) ||
        get_int(root, label, "max_source_positions", 1, 1 << 16, &c->n_audio_ctx, err) ||
        get_int(root, label, "max_target_positions", 8, 1 << 16, &c->n_text_ctx, err) ||
        get_int(root, label, "vocab_size", 256, 1 << 20, &c->n_vocab, err))
        goto done;
    if (c->n_audio_ctx * 2 != WH_N_FRAMES) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: max_source_positions is %d; 30 s windows need 1500", label,
                c->n_audio_ctx);
        goto done;
    }
    if (c->d % c->n_audio_heads || c->d % c->n_text_heads) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: d_model %d is not a multiple of the attention heads (%d, %d)",
                label, c->d, c->n_audio_heads, c->n_text_heads);
        goto done;
    }
    rc = 0;
done:
    json_decref(root);
    return rc;
}

int wh_generation_config_parse(const char *json, size_t len, const char *label, int32_t **suppress, int *n,
                               wh_error *err)
{
    *suppress = NULL;
    *n = 0;
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root && json_error_code(&je) == json_error_out_of_memory)
        return wh_fail(err, WH_ERR_NOMEM, "%s: out of memory while reading it", label);
    if (!root)
        return wh_fail(err, WH_ERR_CORRUPT, "%s: not valid JSON (line %d: %s)", label, je.line, je.text);
    int rc = -1;
    const json_t *list = json_object_get(root, "suppress_tokens");
    if (!json_is_object(root)) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: not a JSON object", label);
        goto done;
    }
    if (list && !json_is_null(list) && !json_is_array(list)) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: field 'suppress_tokens' is not a list of token ids", label);
        goto done;
    }
    size_t k = json_array_size(list);
    if (k > (1 << 20)) {
        wh_fail(err, WH_ERR_CORRUPT, "%s: field 'suppress_tokens' has %zu entries", label, k);
        goto done;
    }
    *suppress = malloc((k ? k : 1) * sizeof **suppress);
    if (!*suppress) {
        wh_fail(err, WH_ERR_NOMEM, "%s: out of memory for the suppress list", label);
        goto done;
    }
    for (size_t i = 0; i < k; i++) {
        const json_t *v = json_array_get(list, i);
        json_int_t x = json_integer_value(v);
        if (!json_is_integer(v) || x < 0 || x >= (1 << 20)) {
            wh_fail(err, WH_ERR_CORRUPT, "%s: suppress_tokens[%zu] is not a token id", label, i);
            free(*suppress);
            *suppress = NULL;
            goto done;
        }
        (*suppress)[i] = (int32_t)x;
    }
    *n = (int)k;
    rc = 0;
done:
    json_decref(root);
    return rc;
}
