/* test_config.c — config.json and speech_tokenizer/config.json parsing, against the golden tiny models,
 * plus the errors for missing, mistyped and unreadable fields (each message checked). */
#include "engine/config.h"
#include "test_util.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_INT(what, got, want)                                                                           \
    do {                                                                                                     \
        long long g_ = (long long)(got), w_ = (long long)(want);                                             \
        if (g_ != w_) {                                                                                      \
            fprintf(stderr, "FAIL %s: expected %lld, got %lld\n", what, w_, g_);                             \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

#define CHECK_STR(what, got, want)                                                                           \
    do {                                                                                                     \
        if (strcmp((got), (want))) {                                                                         \
            fprintf(stderr, "FAIL %s: expected '%s', got '%s'\n", what, want, got);                          \
            failures++;                                                                                      \
        }                                                                                                    \
    } while (0)

static void check_tiny(const char *dir, const char *size, int hidden, int intermediate, int enc_dim)
{
    qt_config c;
    qt_error err = {0};
    if (qt_config_load(dir, &c, &err)) {
        fprintf(stderr, "FAIL load %s: %s\n", dir, err.msg);
        failures++;
        return;
    }
    CHECK_STR("size", c.size, size);
    CHECK_STR("model_type", c.model_type, "base");
    CHECK_INT("im_start", c.im_start_id, 151644);
    CHECK_INT("im_end", c.im_end_id, 151645);
    CHECK_INT("assistant", c.assistant_id, 77091);
    CHECK_INT("tts_pad", c.tts_pad_id, 151671);
    CHECK_INT("tts_bos", c.tts_bos_id, 151672);
    CHECK_INT("tts_eos", c.tts_eos_id, 151673);
    const qt_talker_config *t = &c.talker;
    CHECK_INT("talker hidden", t->stack.hidden, hidden);
    CHECK_INT("talker intermediate", t->stack.intermediate, intermediate);
    CHECK_INT("talker layers", t->stack.n_layers, 2);
    CHECK_INT("talker heads", t->stack.n_heads, 4);
    CHECK_INT("talker kv heads", t->stack.n_kv_heads, 2);
    CHECK_INT("talker head_dim", t->stack.head_dim, 16);
    CHECK_INT("talker vocab", t->stack.vocab_size, 3072);
    CHECK_INT("talker code groups", t->stack.num_code_groups, 16);
    CHECK_INT("talker max pos", t->stack.max_position_embeddings, 32768);
    CHECK_INT("talker eps*1e9", (long long)(t->stack.rms_norm_eps * 1e9f + 0.5f), 1000);
    CHECK_INT("talker rope_theta", (long long)t->stack.rope_theta, 1000000);
    CHECK_INT("text vocab", t->text_vocab_size, 151936);
    CHECK_INT("text hidden", t->text_hidden_size, 8);
    CHECK_INT("mrope[0]", t->mrope_section[0], 4);
    CHECK_INT("mrope[1]", t->mrope_section[1], 2);
    CHECK_INT("mrope[2]", t->mrope_section[2], 2);
    CHECK_INT("mrope interleaved", t->mrope_interleaved, 1);
    CHECK_INT("codec pad", t->codec_pad_id, 2148);
    CHECK_INT("codec bos", t->codec_bos_id, 2149);
    CHECK_INT("codec eos", t->codec_eos_id, 2150);
    CHECK_INT("codec think", t->codec_think_id, 2154);
    CHECK_INT("codec nothink", t->codec_nothink_id, 2155);
    CHECK_INT("codec think_bos", t->codec_think_bos_id, 2156);
    CHECK_INT("codec think_eos", t->codec_think_eos_id, 2157);
    CHECK_INT("languages", t->n_languages, 10);
    CHECK_INT("speakers", t->n_speakers, 0);
    CHECK_INT("english", qt_config_language_id(&c, "English"), 2050);
    CHECK_INT("chinese", qt_config_language_id(&c, "chinese"), 2055);
    CHECK_INT("russian", qt_config_language_id(&c, "RUSSIAN"), 2069);
    CHECK_INT("klingon", qt_config_language_id(&c, "klingon"), -1);
    const qt_stack_config *cp = &c.code_predictor;
    CHECK_INT("cp hidden", cp->hidden, 32);
    CHECK_INT("cp intermediate", cp->intermediate, 96);
    CHECK_INT("cp layers", cp->n_layers, 2);
    CHECK_INT("cp vocab", cp->vocab_size, 2048);
    CHECK_INT("cp code groups", cp->num_code_groups, 16);
    CHECK_INT("cp max pos", cp->max_position_embeddings, 65536);
    const qt_speaker_config *s = &c.speaker;
    CHECK_INT("spk mel", s->mel_dim, 128);
    CHECK_INT("spk enc_dim", s->enc_dim, enc_dim);
    CHECK_INT("spk ch[4]", s->enc_channels[4], 96);
    CHECK_INT("spk k[0]", s->enc_kernel_sizes[0], 5);
    CHECK_INT("spk d[3]", s->enc_dilations[3], 4);
    CHECK_INT("spk att", s->enc_attention_channels, 16);
    CHECK_INT("spk res2net", s->enc_res2net_scale, 8);
    CHECK_INT("spk se", s->enc_se_channels, 16);
    CHECK_INT("spk sr", s->sample_rate, 24000);
}

static void check_codec(const char *dir)
{
    qt_codec_config c;
    qt_error err = {0};
    if (qt_codec_config_load(dir, &c, &err)) {
        fprintf(stderr, "FAIL load %s: %s\n", dir, err.msg);
        failures++;
        return;
    }
    CHECK_STR("codec model_type", c.model_type, "qwen3_tts_tokenizer_12hz");
    CHECK_INT("valid quantizers", c.encoder_valid_num_quantizers, 16);
    CHECK_INT("in sr", c.input_sample_rate, 24000);
    CHECK_INT("decode rate", c.decode_upsample_rate, 1920);
    CHECK_INT("dec latent", c.decoder.latent_dim, 32);
    CHECK_INT("dec codebook_dim", c.decoder.codebook_dim, 16);
    CHECK_INT("dec decoder_dim", c.decoder.decoder_dim, 64);
    CHECK_INT("dec window", c.decoder.sliding_window, 72);
    CHECK_INT("dec n_up", c.decoder.n_upsample_rates, 4);
    CHECK_INT("dec up[0]", c.decoder.upsample_rates[0], 8);
    CHECK_INT("dec up[3]", c.decoder.upsample_rates[3], 3);
    CHECK_INT("dec n_ratios", c.decoder.n_upsampling_ratios, 2);
    CHECK_INT("dec vq hidden", c.decoder.vq_hidden_dim, 16);
    CHECK_INT("dec eps*1e8", (long long)(c.decoder.rms_norm_eps * 1e8f + 0.5f), 1000);
    CHECK_INT("enc filters", c.encoder.num_filters, 4);
    CHECK_INT("enc hidden", c.encoder.hidden, 32);
    CHECK_INT("enc layers", c.encoder.n_layers, 2);
    CHECK_INT("enc heads", c.encoder.n_heads, 2);
    CHECK_INT("enc head_dim", c.encoder.head_dim, 16);
    CHECK_INT("enc quantizers", c.encoder.num_quantizers, 32);
    CHECK_INT("enc codebook_dim", c.encoder.codebook_dim, 8);
    CHECK_INT("enc ratios[0]", c.encoder.upsampling_ratios[0], 8);
    CHECK_INT("enc ratios[3]", c.encoder.upsampling_ratios[3], 4);
    CHECK_INT("enc causal", c.encoder.use_causal_conv, 1);
    CHECK_INT("enc pad constant", c.encoder.pad_constant, 1);
    CHECK_INT("enc window", c.encoder.sliding_window, 250);
    CHECK_INT("enc frame rate*10", (long long)(c.encoder.frame_rate * 10), 125);
}

/* Parses `root` after `edit` and expects failure with exactly `want` as the message. */
static void expect_error(int codec, json_t *root, const char *want)
{
    char *text = json_dumps(root, 0);
    qt_error err = {0};
    qt_config c;
    qt_codec_config cc;
    int rc = codec ? qt_codec_config_parse("cfg.json", text, strlen(text), &cc, &err)
                   : qt_config_parse("cfg.json", text, strlen(text), &c, &err);
    if (rc != -1 || strcmp(err.msg, want)) {
        fprintf(stderr, "FAIL error case: expected -1 '%s', got %d '%s'\n", want, rc, err.msg);
        failures++;
    } else {
        printf("ok error: %s\n", err.msg);
        fflush(stdout);
    }
    free(text);
}

/* A copy of `orig` with the field at the dotted path `field` set to the JSON text `value`, or removed when
 * value is NULL. */
static json_t *edited(const json_t *orig, const char *field, const char *value)
{
    json_t *j = json_deep_copy(orig), *parent = j;
    char path[256];
    snprintf(path, sizeof path, "%s", field);
    char *key = path;
    for (char *dot; (dot = strchr(key, '.')); key = dot + 1) {
        *dot = 0;
        parent = json_object_get(parent, key);
    }
    if (value)
        json_object_set_new(parent, key, json_loads(value, JSON_DECODE_ANY, NULL));
    else
        json_object_del(parent, key);
    return j;
}

static json_t *load_json(const char *golden, const char *rel)
{
    char path[4096];
    size_t len;
    snprintf(path, sizeof path, "%s/%s", golden, rel);
    char *text = read_file(path, &len);
    json_t *j = json_loadb(text, len, 0, NULL);
    free(text);
    return j;
}

/* One edit of a golden config.json (a talker's, or the codec's) and the exact message it must give. */
static const struct {
    int codec;
    const char *field, *value, *want;
} bad_edits[] = {
    {0, "talker_config.hidden_size", NULL, "cfg.json: field 'talker_config.hidden_size' is missing"},
    {0, "tts_eos_token_id", NULL, "cfg.json: field 'tts_eos_token_id' is missing"},
    {0, "talker_config.code_predictor_config.num_hidden_layers", "\"five\"",
     "cfg.json: field 'talker_config.code_predictor_config.num_hidden_layers' must be an integer"},
    {0, "talker_config.num_key_value_heads", "3",
     "cfg.json: field 'talker_config.num_key_value_heads' must divide num_attention_heads"},
    {0, "talker_config.head_dim", "0", "cfg.json: field 'talker_config.head_dim' must be positive"},
    {0, "speaker_encoder_config", NULL, "cfg.json: field 'speaker_encoder_config' is missing"},
    {1, "decoder_config.upsample_rates", NULL, "cfg.json: field 'decoder_config.upsample_rates' is missing"},
    {1, "decoder_config.upsample_rates", "[8, \"5\"]",
     "cfg.json: field 'decoder_config.upsample_rates' must hold integers only"},
    {1, "encoder_config.use_causal_conv", "1",
     "cfg.json: field 'encoder_config.use_causal_conv' must be true or false"},
};

static void error_cases(const char *golden)
{
    json_t *orig = load_json(golden, "tiny-a/config.json");
    json_t *codec_orig = load_json(golden, "speech_tokenizer/config.json");
    for (size_t i = 0; i < sizeof bad_edits / sizeof bad_edits[0]; i++) {
        json_t *j = edited(bad_edits[i].codec ? codec_orig : orig, bad_edits[i].field, bad_edits[i].value);
        expect_error(bad_edits[i].codec, j, bad_edits[i].want);
        json_decref(j);
    }
    json_decref(codec_orig);

    /* The real release stores only enc_dim and sample_rate: the rest must default to the class values. */
    json_t *j = edited(orig, "speaker_encoder_config", "{\"enc_dim\": 1024, \"sample_rate\": 24000}");
    json_object_set_new(j, "unknown_future_field", json_pack("[i,s]", 1, "x"));
    char *text = json_dumps(j, 0);
    qt_config c;
    qt_error err = {0};
    if (qt_config_parse("cfg.json", text, strlen(text), &c, &err)) {
        fprintf(stderr, "FAIL release-style speaker config: %s\n", err.msg);
        failures++;
    } else {
        CHECK_INT("default enc_channels[4]", c.speaker.enc_channels[4], 1536);
        CHECK_INT("default attention", c.speaker.enc_attention_channels, 128);
        CHECK_INT("default se", c.speaker.enc_se_channels, 128);
        CHECK_INT("enc_dim", c.speaker.enc_dim, 1024);
    }
    free(text);
    json_decref(j);

    j = edited(orig, "tts_model_size", "\"1b7\"");
    text = json_dumps(j, 0);
    if (qt_config_parse("cfg.json", text, strlen(text), &c, &err) == 0)
        CHECK_STR("size tag 1b7", c.size, "1.7B");
    else
        failures++;
    free(text);
    json_decref(j);
    json_decref(orig);

    /* Not JSON, not an object, no file. */
    qt_codec_config cc;
    if (qt_codec_config_parse("x.json", "{\"a\":", 5, &cc, &err) != -1 ||
        strncmp(err.msg, "x.json: not valid JSON (line 1", 30)) {
        fprintf(stderr, "FAIL non-JSON: got '%s'\n", err.msg);
        failures++;
    }
    if (qt_config_parse("x.json", "[1]", 3, &c, &err) != -1 ||
        strcmp(err.msg, "x.json: the top level is not a JSON object")) {
        fprintf(stderr, "FAIL array top: got '%s'\n", err.msg);
        failures++;
    }
    if (qt_config_load("/nonexistent-voicebox-dir", &c, &err) != -1 || err.kind != QT_ERR_NOT_FOUND ||
        strcmp(err.msg, "/nonexistent-voicebox-dir/config.json: cannot open (No such file or directory)")) {
        fprintf(stderr, "FAIL missing file: got '%s'\n", err.msg);
        failures++;
    }
}

int main(void)
{
    const char *golden = golden_dir();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tiny-a/config.json", golden);
    FILE *probe = fopen(dir, "r");
    if (!probe) {
        printf("golden fixtures not found at '%s': skipped\n", golden);
        return 77;
    }
    fclose(probe);

    snprintf(dir, sizeof dir, "%s/tiny-a", golden);
    check_tiny(dir, "0.6B", 32, 96, 32);
    snprintf(dir, sizeof dir, "%s/tiny-b", golden);
    check_tiny(dir, "1.7B", 64, 192, 64);
    snprintf(dir, sizeof dir, "%s/speech_tokenizer", golden);
    check_codec(dir);
    error_cases(golden);

    if (failures) {
        fprintf(stderr, "test_config: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_config: all checks passed\n");
    return 0;
}
