/* test_whisper_tokenizer.c — the engine's byte-level BPE reading Whisper's tokenizer files (vocab.json and
 * merges.txt converted from multilingual.tiktoken as transformers converts it, WhisperTokenizer's
 * tokenizer_config.json) against the official tokenizer's ids (tests/data/whisper/tokenizer_cases.json, from
 * tools/gen_whisper_fixtures.py): every string identical, special tokens included; decoding gives the text
 * back. Also the same vocabulary as a tokenizer.json with GPT-2's ByteLevel pre-tokenizer, as the Hub's
 * Whisper repos ship it.
 */
#include "engine/qt.h"
#include "test_util.h"

#include <jansson.h>
#include <stdbool.h>
#include <unistd.h>

static int run_cases(const qt_tokenizer *t, const json_t *cases, const char *what)
{
    int bad = 0;
    for (size_t i = 0; i < json_array_size(cases); i++) {
        const json_t *c = json_array_get(cases, i);
        const char *text = json_string_value(json_object_get(c, "text"));
        const json_t *want = json_object_get(c, "ids");
        int32_t *ids = NULL;
        size_t n = 0;
        qt_error err = {0};
        if (qt_tokenize(t, text, &ids, &n, &err)) {
            CHECK(0, "%s: \"%s\": %s", what, text, err.msg);
            bad++;
            continue;
        }
        bool same = n == json_array_size(want);
        for (size_t k = 0; same && k < n; k++)
            same = ids[k] == json_integer_value(json_array_get(want, k));
        if (!same) {
            fprintf(stderr, "FAIL %s: \"%s\": got", what, text);
            for (size_t k = 0; k < n; k++)
                fprintf(stderr, " %d", ids[k]);
            fprintf(stderr, "; expected");
            for (size_t k = 0; k < json_array_size(want); k++)
                fprintf(stderr, " %lld", (long long)json_integer_value(json_array_get(want, k)));
            fputc('\n', stderr);
            failures++;
            bad++;
        }
        char *back = qt_detokenize(t, ids, n, &err);
        CHECK(back && !strcmp(back, text), "%s: \"%s\" decodes to \"%s\"", what, text, back ? back : err.msg);
        free(back);
        free(ids);
    }
    printf("%s: %zu strings, %d differ\n", what, json_array_size(cases), bad);
    return bad;
}

/* vocab.json + merges.txt + tokenizer_config.json's added tokens as one tokenizer.json (ByteLevel with its
 * regex, no normaliser), written to a temp file. */
static int write_tokenizer_json(const char *dir, const char *out)
{
    char p[4300];
    snprintf(p, sizeof p, "%s/vocab.json", dir);
    json_t *vocab = json_load_file(p, 0, NULL);
    snprintf(p, sizeof p, "%s/merges.txt", dir);
    size_t size;
    char *merges = read_file(p, &size);
    snprintf(p, sizeof p, "%s/tokenizer_config.json", dir);
    json_t *cfg = json_load_file(p, 0, NULL);
    if (!vocab || !merges || !cfg) return -1;
    json_t *ml = json_array();
    for (char *line = strtok(merges, "\n"); line; line = strtok(NULL, "\n"))
        if (strncmp(line, "#version", 8)) json_array_append_new(ml, json_string(line));
    json_t *added = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(cfg, "added_tokens_decoder"), key, v)
    {
        json_t *a = json_deep_copy(v);
        json_object_set_new(a, "id", json_integer(atoi(key)));
        json_array_append_new(added, a);
    }
    json_t *root =
        json_pack("{s:o, s:n, s:{s:s, s:b, s:b, s:b}, s:{s:s, s:o, s:o}}", "added_tokens", added,
                  "normalizer", "pre_tokenizer", "type", "ByteLevel", "add_prefix_space", 0, "trim_offsets",
                  1, "use_regex", 1, "model", "type", "BPE", "vocab", vocab, "merges", ml);
    int rc = json_dump_file(root, out, 0);
    json_decref(root);
    json_decref(cfg);
    free(merges);
    return rc;
}

int main(void)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", __FILE__);
    char *slash = strrchr(dir, '/');
    snprintf(slash ? slash + 1 : dir, sizeof dir - (size_t)(slash ? slash + 1 - dir : 0), "data/whisper");
    char path[4200], model[4200];
    snprintf(path, sizeof path, "%s/tokenizer_cases.json", dir);
    snprintf(model, sizeof model, "%s/model-80", dir);
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    const json_t *cases = json_object_get(root, "cases");
    if (!json_is_array(cases) || json_array_size(cases) < 100) {
        fprintf(stderr, "FAIL %s: no \"cases\" array of at least 100 (%s)\n", path, je.text);
        return 1;
    }
    qt_error err = {0};
    qt_tokenizer *t = qt_tokenizer_load(model, &err);
    if (!t) {
        fprintf(stderr, "FAIL loading %s: %s\n", model, err.msg);
        return 1;
    }
    CHECK(qt_tokenizer_n_ids(t) == 51865, "n_ids %d, expected 51865", qt_tokenizer_n_ids(t));
    CHECK(qt_tokenizer_token_id(t, "<|startoftranscript|>") == 50258, "sot id %d",
          qt_tokenizer_token_id(t, "<|startoftranscript|>"));
    int32_t empty = 50256; /* tiktoken's empty token: kept, decodes to nothing */
    char *s = qt_detokenize(t, &empty, 1, &err);
    CHECK(s && !*s, "id 50256 decodes to \"%s\"", s ? s : err.msg);
    free(s);
    run_cases(t, cases, "vocab.json + merges.txt");
    qt_tokenizer_free(t);

    char tmp[] = "/tmp/vb_whisper_tok_XXXXXX.json";
    int fd = mkstemps(tmp, 5);
    if (fd < 0 || write_tokenizer_json(model, tmp)) {
        fprintf(stderr, "FAIL writing %s\n", tmp);
        return 1;
    }
    close(fd);
    t = qt_tokenizer_load(tmp, &err);
    CHECK(t != NULL, "loading the tokenizer.json: %s", err.msg);
    if (t) run_cases(t, cases, "tokenizer.json (ByteLevel)");
    qt_tokenizer_free(t);
    unlink(tmp);
    json_decref(root);
    return failures ? 1 : 0;
}
