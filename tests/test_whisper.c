/* test_whisper.c — the Whisper engine against the official OpenAI code (tools/gen_whisper_fixtures.py) on
 * two tiny random models in the transformers layout: model-80 (80 mel bins, v2 vocabulary, F32) and
 * model-128 (128 mel bins, large-v3 vocabulary, F16).
 *
 * For each: log-mel of 4 s of real speech (jfk.wav) <= 1e-4; encoder output from the reference mel <= 1e-4;
 * teacher-forced logits (sot sequence at once, then token by token through the KV cache) <= 1e-3 at the
 * stored columns and in each row's max and logsumexp; language probabilities <= 1e-4; greedy tokens
 * identical; and wh_transcribe end to end on the audio giving those tokens. Errors print even on a pass.
 */
#include "audio/audio.h"
#include "test_util.h"
#include "whisper/wh_internal.h"
#include "whisper/wh_ops.h"

#include <jansson.h>

static char data_dir[4096];

static float *read_f32(const char *dir, const char *name, size_t n)
{
    char path[4300];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t size;
    float *v = read_file(path, &size);
    if (!v || size != n * sizeof(float)) {
        fprintf(stderr, "FAIL %s: %zu bytes, expected %zu\n", path, size, n * sizeof(float));
        exit(1);
    }
    return v;
}

static void check_model(const char *name, const float *pcm, size_t n_pcm)
{
    char dir[4200], path[4300];
    snprintf(dir, sizeof dir, "%s/%s", data_dir, name);
    snprintf(path, sizeof path, "%s/ref.json", dir);
    json_error_t je;
    json_t *ref = json_load_file(path, 0, &je);
    if (!ref) {
        fprintf(stderr, "FAIL %s: %s\n", path, je.text);
        exit(1);
    }
    wh_error err = {0};
    wh_load_params lp = wh_load_default_params();
    lp.n_threads = 2;
    wh_model *m = wh_model_load(dir, &lp, &err);
    if (!m) {
        fprintf(stderr, "FAIL loading %s: %s\n", dir, err.msg);
        exit(1);
    }
    const wh_config *c = &m->c;
    CHECK(c->n_mels == json_integer_value(json_object_get(ref, "n_mels")), "%s: n_mels %d", name, c->n_mels);
    CHECK(c->n_vocab == json_integer_value(json_object_get(ref, "n_vocab")), "%s: n_vocab %d", name,
          c->n_vocab);

    /* log-mel: the stored frames, then the constant floor */
    int frames = (int)json_integer_value(json_object_get(ref, "mel_frames"));
    float tail = (float)json_real_value(json_object_get(ref, "mel_tail_value"));
    float *want_mel = read_f32(dir, "mel.f32", (size_t)c->n_mels * frames);
    float *mel = malloc((size_t)c->n_mels * WH_N_FRAMES * sizeof *mel);
    float *ref_mel = malloc((size_t)c->n_mels * WH_N_FRAMES * sizeof *ref_mel);
    CHECK(wh_log_mel(m, pcm, n_pcm, mel, &err) == 0, "%s: log-mel: %s", name, err.msg);
    double worst = 0;
    for (int b = 0; b < c->n_mels; b++)
        for (int t = 0; t < WH_N_FRAMES; t++) {
            float want = t < frames ? want_mel[(size_t)b * frames + t] : tail;
            ref_mel[(size_t)b * WH_N_FRAMES + t] = want;
            double e = fabs(mel[(size_t)b * WH_N_FRAMES + t] - want);
            if (e > worst) worst = e;
        }
    printf("%s: log-mel max |error| %.3g\n", name, worst);
    CHECK(worst <= 1e-4, "%s: log-mel error %.3g > 1e-4", name, worst);

    /* encoder, from the reference mel */
    size_t n_enc = (size_t)c->n_audio_ctx * c->d;
    float *want_enc = read_f32(dir, "encoder.f32", n_enc);
    float *enc = malloc(n_enc * sizeof *enc);
    CHECK(wh_encode(m, ref_mel, enc, &err) == 0, "%s: encode: %s", name, err.msg);
    size_t at;
    worst = max_abs_error(enc, want_enc, n_enc, &at);
    printf("%s: encoder max |error| %.3g (at %zu)\n", name, worst, at);
    CHECK(worst <= 1e-4, "%s: encoder error %.3g > 1e-4 at %zu (%g vs %g)", name, worst, at, enc[at],
          want_enc[at]);

    /* teacher-forced logits, on the reference encoder output */
    wh_decoder *dec = wh_decoder_new(m, want_enc, &err);
    CHECK(dec != NULL, "%s: decoder: %s", name, err.msg);
    const json_t *tf = json_object_get(ref, "teacher_forced");
    const json_t *toks = json_object_get(tf, "tokens"), *cols = json_object_get(tf, "columns");
    int n_tok = (int)json_array_size(toks);
    int32_t *ids = malloc((size_t)n_tok * sizeof *ids);
    for (int i = 0; i < n_tok; i++)
        ids[i] = (int32_t)json_integer_value(json_array_get(toks, (size_t)i));
    float *logits = malloc((size_t)n_tok * c->n_vocab * sizeof *logits);
    int32_t sot[4];
    int n_sot = wh_sot_sequence(m, wh_language_index(m, "en"), sot);
    CHECK(n_sot == 4 && !memcmp(sot, ids, sizeof sot), "%s: sot sequence %d %d %d %d", name, sot[0], sot[1],
          sot[2], sot[3]);
    CHECK(wh_decoder_feed(dec, ids, 4, logits, true, &err) == 0, "%s: feed: %s", name, err.msg);
    for (int i = 4; i < n_tok; i++)
        CHECK(wh_decoder_feed(dec, ids + i, 1, logits + (size_t)i * c->n_vocab, false, &err) == 0,
              "%s: feed: %s", name, err.msg);
    worst = 0;
    double worst_stat = 0;
    for (int t = 0; t < n_tok; t++) {
        const float *row = logits + (size_t)t * c->n_vocab;
        const json_t *want_row = json_array_get(json_object_get(tf, "logits"), (size_t)t);
        for (size_t k = 0; k < json_array_size(cols); k++) {
            double e = fabs(row[json_integer_value(json_array_get(cols, k))] -
                            json_real_value(json_array_get(want_row, k)));
            if (e > worst) worst = e;
        }
        double mx = row[0], s = 0;
        for (int v = 1; v < c->n_vocab; v++)
            if (row[v] > mx) mx = row[v];
        for (int v = 0; v < c->n_vocab; v++)
            s += exp(row[v] - mx);
        double e1 = fabs(mx - json_real_value(json_array_get(json_object_get(tf, "row_max"), (size_t)t)));
        double e2 = fabs(mx + log(s) -
                         json_real_value(json_array_get(json_object_get(tf, "row_logsumexp"), (size_t)t)));
        if (e1 > worst_stat) worst_stat = e1;
        if (e2 > worst_stat) worst_stat = e2;
    }
    printf("%s: teacher-forced logits (%d tokens, %zu columns) max |error| %.3g; row max/logsumexp %.3g\n",
           name, n_tok, json_array_size(cols), worst, worst_stat);
    CHECK(worst <= 1e-3 && worst_stat <= 1e-3, "%s: logits error %.3g / %.3g > 1e-3", name, worst,
          worst_stat);

    /* language probabilities */
    float probs[WH_MAX_LANGS];
    CHECK(wh_detect_language(dec, probs, &err) == 0, "%s: detect: %s", name, err.msg);
    const json_t *want_probs = json_object_get(ref, "language_probs");
    CHECK((int)json_object_size(want_probs) == m->n_langs, "%s: %d languages, the reference has %zu", name,
          m->n_langs, json_object_size(want_probs));
    worst = 0;
    int best = 0;
    for (int i = 0; i < m->n_langs; i++) {
        const json_t *v = json_object_get(want_probs, wh_language_code(m, i));
        CHECK(v != NULL, "%s: language %s not in the reference", name, wh_language_code(m, i));
        double e = fabs(probs[i] - json_real_value(v));
        if (e > worst) worst = e;
        if (probs[i] > probs[best]) best = i;
    }
    printf("%s: language probabilities max |error| %.3g (detected %s)\n", name, worst,
           wh_language_code(m, best));
    CHECK(worst <= 1e-4, "%s: language probability error %.3g > 1e-4", name, worst);
    CHECK(m->lang_id[best] == json_integer_value(json_object_get(ref, "detected_language_token")),
          "%s: detected token %d", name, m->lang_id[best]);

    /* greedy decoding */
    const json_t *g = json_object_get(ref, "greedy");
    const char *glang = json_string_value(json_object_get(g, "language"));
    int lang = glang ? wh_language_index(m, glang) : best;
    int max_tokens = (int)json_integer_value(json_object_get(g, "sample_len"));
    int32_t *got;
    int n_got = 0;
    CHECK(wh_greedy(dec, lang, max_tokens, NULL, &got, &n_got, &err) == 0, "%s: greedy: %s", name, err.msg);
    const json_t *want_tok = json_object_get(g, "tokens");
    bool same = n_got == (int)json_array_size(want_tok);
    for (int i = 0; same && i < n_got; i++)
        same = got[i] == json_integer_value(json_array_get(want_tok, (size_t)i));
    printf("%s: greedy %d tokens (reference %zu), %s\n", name, n_got, json_array_size(want_tok),
           same ? "identical" : "DIFFERENT");
    CHECK(same, "%s: greedy tokens differ", name);

    /* end to end from the samples */
    wh_params p = wh_default_params();
    p.language = glang;
    p.max_tokens = max_tokens;
    wh_result r;
    CHECK(wh_transcribe(m, pcm, n_pcm, &p, &r, &err) == 0, "%s: transcribe: %s", name, err.msg);
    same = r.n_tokens == (size_t)n_got && !memcmp(r.tokens, got, (size_t)n_got * sizeof *got);
    CHECK(same, "%s: wh_transcribe gave %zu tokens, not the greedy ones", name, r.n_tokens);
    CHECK(!strcmp(r.text, json_string_value(json_object_get(g, "text"))), "%s: text \"%s\" vs \"%s\"", name,
          r.text, json_string_value(json_object_get(g, "text")));
    CHECK(!strcmp(r.language, wh_language_code(m, lang)), "%s: language %s", name, r.language);
    printf("%s: transcribe: %zu tokens, language %s, mel %.0f ms, encoder %.0f ms, decoder %.0f ms\n", name,
           r.n_tokens, r.language, r.mel_s * 1e3, r.encode_s * 1e3, r.decode_s * 1e3);
    wh_result_free(&r);

    /* bad input */
    p.language = "xx";
    CHECK(wh_transcribe(m, pcm, n_pcm, &p, &r, &err) == -1 && err.kind == WH_ERR_INVALID,
          "%s: unknown language accepted", name);
    p.language = NULL;
    CHECK(wh_transcribe(m, pcm, 0, &p, &r, &err) == -1 && err.kind == WH_ERR_INVALID,
          "%s: no samples accepted", name);

    free(got);
    free(ids);
    free(logits);
    wh_decoder_free(dec);
    free(enc);
    free(want_enc);
    free(mel);
    free(ref_mel);
    free(want_mel);
    wh_model_free(m);
    json_decref(ref);
}

/* The AVX2 softmax against the plain one (libm expf) on rows of every tail length and an attention row. */
static void check_softmax(void)
{
    static float a[1500], b[1500];
    double worst = 0;
    unsigned seed = 1;
    int lens[] = {1, 2, 7, 8, 9, 15, 16, 17, 31, 448, 1500};
    for (size_t t = 0; t < sizeof lens / sizeof *lens; t++) {
        int n = lens[t];
        for (int i = 0; i < n; i++) {
            seed = seed * 1103515245u + 12345u;
            a[i] = b[i] = ((float)(seed >> 8) / (float)(1u << 24) - 0.5f) * 60.0f; /* logits over +-30 */
        }
        wh_softmax_scalar(a, n);
        wh_softmax_avx2(b, n);
        size_t at;
        double e = max_abs_error(b, a, (size_t)n, &at);
        if (e > worst) worst = e;
    }
    printf("softmax: AVX2 vs libm max |error| %.3g\n", worst);
    CHECK(worst <= 1e-6, "softmax: AVX2 differs from the plain version by %.3g", worst);
}

int main(void)
{
    check_softmax();
    snprintf(data_dir, sizeof data_dir, "%s", __FILE__);
    char *slash = strrchr(data_dir, '/');
    snprintf(slash ? slash + 1 : data_dir, sizeof data_dir - (size_t)(slash ? slash + 1 - data_dir : 0),
             "data/whisper");
    char wav[4200];
    snprintf(wav, sizeof wav, "%s/jfk.wav", data_dir);
    audio_buf a = {0};
    audio_error aerr = {0};
    if (audio_decode_file(wav, WH_SAMPLE_RATE, &a, &aerr)) {
        fprintf(stderr, "FAIL %s: %s\n", wav, aerr.msg);
        return 1;
    }
    check_model("model-80", a.samples, a.n);
    check_model("model-128", a.samples, a.n);
    audio_buf_free(&a);
    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
