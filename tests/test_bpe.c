/* test_bpe.c — the Qwen BPE tokenizer (bpe.c) against ids from independent implementations.
 *
 *  - golden tokenizer_cases.json (HF tokenizers): the model dir (vocab.json + merges.txt + tokenizer_config)
 *    gives transformers' ids (<tts_pad> is an added token there), a tokenizer.json built from the same files
 *    without the TTS tokens gives HF tokenizers' ids;
 *  - tests/data/bpe_cases.json (transformers.js, tools/gen_bpe_cases.mjs): our own hard cases and 400 seeded
 *    random strings;
 *  - decoding gives back the NFC text; the scan and heap merge loops agree; long inputs round-trip;
 *  - merge order on a hand-made vocabulary; bad UTF-8, missing and malformed files fail with their message.
 * Without the golden fixtures the parts that need the real vocabulary are skipped (exit 77 if all else
 * passed).
 */
#include "engine/bpe.h"
#include "engine/qt.h"
#include "test_util.h"

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utf8proc.h>

#define FAIL(...)                                                                                            \
    do {                                                                                                     \
        failures++;                                                                                          \
        printf("FAIL (line %d): ", __LINE__);                                                                \
        printf(__VA_ARGS__);                                                                                 \
        printf("\n");                                                                                        \
    } while (0)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The text as a C literal-ish string for failure messages. */
static const char *show(const char *s)
{
    static char buf[400];
    size_t o = 0;
    for (; *s && o < sizeof buf - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n' || c == '\r' || c == '\t' || c < 0x20 || c == 0x7f)
            o += (size_t)snprintf(buf + o, sizeof buf - o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o] = 0;
    return buf;
}

static void print_ids(const char *label, const int32_t *ids, size_t n)
{
    printf("    %s [", label);
    for (size_t i = 0; i < n; i++)
        printf("%s%d", i ? " " : "", ids[i]);
    printf("]\n");
}

static bool ids_equal_json(const int32_t *ids, size_t n, const json_t *want)
{
    if (json_array_size(want) != n) return false;
    for (size_t i = 0; i < n; i++)
        if (json_integer_value(json_array_get(want, i)) != ids[i]) return false;
    return true;
}

static void json_ids_print(const char *label, const json_t *want)
{
    printf("    %s [", label);
    for (size_t i = 0; i < json_array_size(want); i++)
        printf("%s%lld", i ? " " : "", (long long)json_integer_value(json_array_get(want, i)));
    printf("]\n");
}

static char *nfc(const char *s)
{
    return (char *)utf8proc_NFC((const utf8proc_uint8_t *)s);
}

/* Tokenizes every case of a fixture and compares with cases[i][key] (falling back to "ids"); also checks that
 * decoding gives back the NFC text. Returns the number of exact cases. */
static int run_cases(const qt_tokenizer *t, const json_t *cases, const char *key, const char *label)
{
    int exact = 0;
    size_t i;
    const json_t *c;
    json_array_foreach(cases, i, c)
    {
        const char *text = json_string_value(json_object_get(c, "text"));
        const json_t *want = json_object_get(c, key);
        if (!want) want = json_object_get(c, "ids");
        int32_t *ids = NULL;
        size_t n = 0;
        qt_error err = {0};
        if (!text || !want) {
            FAIL("%s case %zu has no text or ids", label, i);
            continue;
        }
        if (qt_tokenize(t, text, &ids, &n, &err)) {
            FAIL("%s case %zu \"%s\": qt_tokenize failed: %s", label, i, show(text), err.msg);
            continue;
        }
        if (ids_equal_json(ids, n, want)) {
            exact++;
        } else {
            FAIL("%s case %zu \"%s\": ids differ", label, i, show(text));
            json_ids_print("expected", want);
            print_ids("got     ", ids, n);
        }
        char *back = qt_detokenize(t, ids, n, &err);
        char *norm = nfc(text);
        if (!back || !norm || strcmp(back, norm))
            FAIL("%s case %zu: decode gives \"%s\", expected the NFC text", label, i,
                 back ? show(back) : err.msg);
        free(back);
        free(norm);
        free(ids);
    }
    printf("%s: %d/%zu exact\n", label, exact, json_array_size(cases));
    return exact;
}

/* ---- helpers that write tokenizer files --------------------------------------------------------------- */

static void put_utf8(char **o, uint32_t cp)
{
    uint8_t buf[4];
    utf8proc_ssize_t k = utf8proc_encode_char((utf8proc_int32_t)cp, buf);
    memcpy(*o, buf, (size_t)k);
    *o += k;
}

/* Raw bytes -> the byte-level spelling vocab.json uses (NUL-terminated, static). */
static const char *bl(const char *raw)
{
    static char buf[4][256];
    static int k;
    char *o = buf[k = (k + 1) % 4], *start = o;
    for (const uint8_t *p = (const uint8_t *)raw; *p; p++)
        put_utf8(&o, bpe_byte_to_codepoint(*p));
    *o = 0;
    return start;
}

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fputs(text, f) < 0 || fclose(f)) {
        FAIL("cannot write %s", path);
        return;
    }
}

static void remove_files(const char *dir)
{
    const char *names[] = {"vocab.json", "merges.txt", "tokenizer_config.json", "tokenizer.json"};
    char path[4200];
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
}

/* A small vocabulary: the 256 bytes (ids 0..255 in byte order), then `extra` tokens (raw text) 256.. */
static json_t *small_vocab(const char *const *extra, int n_extra)
{
    json_t *v = json_object();
    for (int b = 0; b < 256; b++) {
        char s[2] = {(char)b, 0};
        if (b == 0) { /* a NUL byte cannot go through bl(); its character is U+0100 */
            json_object_set_new(v, "\xc4\x80", json_integer(0));
            continue;
        }
        json_object_set_new(v, bl(s), json_integer(b));
    }
    for (int i = 0; i < n_extra; i++)
        json_object_set_new(v, bl(extra[i]), json_integer(256 + i));
    return v;
}

static void write_json(const char *dir, const char *name, json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    write_text(dir, name, s ? s : "");
    free(s);
}

/* ---- tests -------------------------------------------------------------------------------------------- */

/* Merge order on a hand-made vocabulary: lowest rank first, leftmost first among equals, and both file
 * formats read the same. */
static void test_small_vocab(const char *dir)
{
    const char *extra[] = {"bc", "ab", "aa", "aaa", "abc", " a", "<x>", "cc"};
    /* ranks: "b c" 0, "a b" 1, "a a" 2, "aa a" 3, "a bc" 4, "Ġ a" 5, "c c" 6 */
    const char *merges[][2] = {{"b", "c"},  {"a", "b"}, {"a", "a"}, {"aa", "a"},
                               {"a", "bc"}, {" ", "a"}, {"c", "c"}};
    size_t n_merges = sizeof merges / sizeof *merges;
    json_t *vocab = small_vocab(extra, 8);
    write_json(dir, "vocab.json", vocab);
    char txt[1024] = "#version: 0.2\n";
    for (size_t i = 0; i < n_merges; i++) {
        strcat(txt, bl(merges[i][0]));
        strcat(txt, " ");
        strcat(txt, bl(merges[i][1]));
        strcat(txt, i % 2 ? "\r\n" : "\n"); /* CRLF lines are read too */
    }
    write_text(dir, "merges.txt", txt);
    /* added tokens with the flags HF honours: lstrip/rstrip swallow white space beside them, single_word
     * matches only between non-word characters, normalized ones match the NFC text */
    const char *config = "{\"added_tokens_decoder\": {\"262\": {\"content\": \"<x>\", \"special\": true},"
                         "\"300\": {\"content\": \"<L>\", \"lstrip\": true},"
                         "\"301\": {\"content\": \"<R>\", \"rstrip\": true},"
                         "\"302\": {\"content\": \"\u00e9\", \"normalized\": true},"
                         "\"303\": {\"content\": \"<W>\", \"single_word\": true}}}";
    write_text(dir, "tokenizer_config.json", config);

    struct {
        const char *text;
        int32_t want[8];
        size_t n;
    } cases[] = {
        {"abc", {256 + 4}, 1},                       /* b c (0), then a bc (4) — not a b (1) first */
        {"ab", {257}, 1},                            /* a b */
        {"aaa", {259}, 1},                           /* a a (2), then aa a (3) */
        {"aaaa", {258, 258}, 2},                     /* aa a a: "a a" (2) beats "aa a" (3), giving aa aa */
        {"ccc", {263, 'c'}, 2},                      /* c c twice: the leftmost merges first */
        {"ccccc", {263, 263, 'c'}, 3},               /* and again left to right */
        {"abab", {257, 257}, 2},                     /* one piece, a b twice */
        {" a", {261}, 1},                            /* Ġ a */
        {"x<x>y", {'x', 262, 'y'}, 3},               /* added token split out before BPE */
        {"<x><x>", {262, 262}, 2},                   /* back to back */
        {"<x", {'<', 'x'}, 2},                       /* a prefix of an added token is text */
        {"a <L>b", {'a', 300, 'b'}, 3},              /* lstrip takes the space */
        {"a\xe3\x80\x80\t<L>b", {'a', 300, 'b'}, 3}, /* ... any White_Space (U+3000) */
        {"a<R>  \n b", {'a', 301, 'b'}, 3},          /* rstrip takes "  \n " */
        {"e\xcc\x81", {302}, 1},                     /* e + U+0301 -> NFC é -> the normalized token */
        {"x <W> y", {'x', ' ', 303, ' ', 'y'}, 5},   /* single word: spaces around */
        {"x<W>y", {'x', '<', 'W', '>', 'y'}, 5},     /* inside a word: plain text */
    };
    for (int pass = 0; pass < 2; pass++) {
        if (pass == 1) { /* the same as a tokenizer.json (with "a b" string merges) */
            remove_files(dir);
            json_t *mj = json_array();
            for (size_t i = 0; i < n_merges; i++) {
                char s[64];
                snprintf(s, sizeof s, "%s %s", bl(merges[i][0]), bl(merges[i][1]));
                json_array_append_new(mj, json_string(s));
            }
            json_t *root =
                json_pack("{s:[{s:i,s:s,s:b,s:b,s:b,s:b,s:b}],s:{s:s},s:{s:s,s:[{s:s,s:{s:s},s:s,s:b},{s:s,s:"
                          "b,s:b,s:b}]},"
                          "s:{s:s,s:n,s:O,s:o,s:b}}",
                          "added_tokens", "id", 262, "content", "<x>", "single_word", 0, "lstrip", 0,
                          "rstrip", 0, "normalized", 0, "special", 1, "normalizer", "type", "NFC",
                          "pre_tokenizer", "type", "Sequence", "pretokenizers", "type", "Split", "pattern",
                          "Regex", bpe_qwen2_pattern, "behavior", "Isolated", "invert", 0, "type",
                          "ByteLevel", "add_prefix_space", 0, "trim_offsets", 0, "use_regex", 0, "model",
                          "type", "BPE", "dropout", "vocab", vocab, "merges", mj, "ignore_merges", 0);
            write_json(dir, "tokenizer.json", root);
            json_decref(root);
            write_text(dir, "tokenizer_config.json", config); /* its added tokens join tokenizer.json's */
        }
        qt_error err = {0};
        qt_tokenizer *t = qt_tokenizer_load(dir, &err);
        if (!t) {
            FAIL("small vocab (%s): load failed: %s", pass ? "tokenizer.json" : "vocab+merges", err.msg);
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
            int32_t *ids = NULL;
            size_t n = 0;
            if (qt_tokenize(t, cases[i].text, &ids, &n, &err)) {
                FAIL("small vocab \"%s\": %s", cases[i].text, err.msg);
                continue;
            }
            if (n != cases[i].n || memcmp(ids, cases[i].want, n * sizeof *ids)) {
                FAIL("small vocab (%s) \"%s\": ids differ", pass ? "tokenizer.json" : "vocab+merges",
                     cases[i].text);
                print_ids("expected", cases[i].want, cases[i].n);
                print_ids("got     ", ids, n);
            }
            free(ids);
        }
        if (qt_tokenizer_token_id(t, "<x>") != 262 || qt_tokenizer_token_id(t, "aaa") != 259 ||
            qt_tokenizer_token_id(t, "zzz") != -1)
            FAIL("small vocab: token_id lookups wrong (<x> %d, aaa %d, zzz %d)",
                 qt_tokenizer_token_id(t, "<x>"), qt_tokenizer_token_id(t, "aaa"),
                 qt_tokenizer_token_id(t, "zzz"));
        qt_tokenizer_free(t);
    }
    json_decref(vocab);
    remove_files(dir);
    printf("small vocabulary: merge order and both file formats checked\n");
}

static void expect_load_error(const char *dir, qt_error_kind kind, const char *needle, const char *what)
{
    qt_error err = {0};
    qt_tokenizer *t = qt_tokenizer_load(dir, &err);
    if (t) {
        FAIL("%s: loaded, expected an error containing \"%s\"", what, needle);
        qt_tokenizer_free(t);
    } else if (err.kind != kind || !strstr(err.msg, needle)) {
        FAIL("%s: error kind %d \"%s\", expected kind %d containing \"%s\"", what, err.kind, err.msg, kind,
             needle);
    } else {
        printf("  %-34s -> %s\n", what, err.msg);
    }
}

static void test_bad_files(const char *dir)
{
    printf("bad files:\n");
    expect_load_error("/nonexistent/voicebox-model", QT_ERR_NOT_FOUND, "no such file", "missing directory");
    expect_load_error(dir, QT_ERR_NOT_FOUND, "no tokenizer.json, nor vocab.json and merges.txt",
                      "empty directory");

    const char *extra[] = {"ab"};
    json_t *vocab = small_vocab(extra, 1);
    char *good = json_dumps(vocab, JSON_COMPACT);
    char merges[64];
    snprintf(merges, sizeof merges, "#version: 0.2\n%s %s\n", bl("a"), bl("b"));

    write_text(dir, "vocab.json", good);
    write_text(dir, "merges.txt", merges);
    qt_error err = {0};
    qt_tokenizer *t = qt_tokenizer_load(dir, &err);
    if (!t) FAIL("the good small vocab does not load: %s", err.msg);
    qt_tokenizer_free(t);

    good[strlen(good) / 2] = 0; /* truncated in the middle */
    write_text(dir, "vocab.json", good);
    expect_load_error(dir, QT_ERR_CORRUPT, "not valid JSON", "truncated vocab.json");
    write_text(dir, "vocab.json", "[1, 2, 3]");
    expect_load_error(dir, QT_ERR_CORRUPT, "not a JSON object", "vocab.json an array");

    json_t *v2 = json_deep_copy(vocab);
    json_object_set_new(v2, "\xe4\xb8\xad", json_integer(300)); /* 中: not one of the byte characters */
    write_json(dir, "vocab.json", v2);
    expect_load_error(dir, QT_ERR_CORRUPT, "not written in byte-level characters", "non-byte-level token");
    json_decref(v2);

    v2 = json_deep_copy(vocab);
    json_object_set_new(v2, "xyz", json_string("7"));
    write_json(dir, "vocab.json", v2);
    expect_load_error(dir, QT_ERR_CORRUPT, "has no valid id", "id not an integer");
    json_object_set_new(v2, "xyz", json_integer(-4));
    write_json(dir, "vocab.json", v2);
    expect_load_error(dir, QT_ERR_CORRUPT, "has no valid id", "negative id");
    json_object_set_new(v2, "xyz", json_integer(5));
    write_json(dir, "vocab.json", v2);
    expect_load_error(dir, QT_ERR_CORRUPT, "is given to two tokens", "duplicate id");
    json_decref(v2);

    v2 = json_deep_copy(vocab);
    json_object_del(v2, bl("A"));
    write_json(dir, "vocab.json", v2);
    expect_load_error(dir, QT_ERR_CORRUPT, "no token for byte 0x41", "a byte missing");
    json_decref(v2);

    write_json(dir, "vocab.json", vocab);
    write_text(dir, "merges.txt", "#version: 0.2\nab\n");
    expect_load_error(dir, QT_ERR_CORRUPT, "line 2 is not \"left right\"", "merge line without a space");
    write_text(dir, "merges.txt", "a b c\n");
    expect_load_error(dir, QT_ERR_CORRUPT, "line 1 is not \"left right\"", "merge line with two spaces");
    write_text(dir, "merges.txt", "b c\n");
    expect_load_error(dir, QT_ERR_CORRUPT, "names a token not in the vocabulary",
                      "merge result not in vocab");
    write_text(dir, "merges.txt", "zz q\n");
    expect_load_error(dir, QT_ERR_CORRUPT, "names a token not in the vocabulary", "merge of unknown tokens");

    write_text(dir, "merges.txt", merges);
    write_text(dir, "tokenizer_config.json", "{\"added_tokens_decoder\": {\"x\": {\"content\": \"<a>\"}}}");
    expect_load_error(dir, QT_ERR_CORRUPT, "is not an id with an object", "added token with a bad id");
    write_text(dir, "tokenizer_config.json", "{\"added_tokens_decoder\": {\"300\": {\"content\": 5}}}");
    expect_load_error(dir, QT_ERR_CORRUPT, "has no \"content\" string", "added token without content");
    write_text(dir, "tokenizer_config.json", "{\"added_tokens_decoder\": ");
    expect_load_error(dir, QT_ERR_CORRUPT, "not valid JSON", "truncated tokenizer_config.json");
    remove_files(dir);

    json_t *root = json_pack("{s:{s:s},s:{s:s,s:O,s:[]}}", "normalizer", "type", "NFKC", "model", "type",
                             "BPE", "vocab", vocab, "merges");
    write_json(dir, "tokenizer.json", root);
    expect_load_error(dir, QT_ERR_CORRUPT, "normalizer \"NFKC\" is not supported", "tokenizer.json NFKC");
    json_object_set_new(root, "normalizer", json_null());
    write_json(dir, "tokenizer.json", root);
    expect_load_error(dir, QT_ERR_CORRUPT, "is not the Qwen2 Split regex",
                      "tokenizer.json other pre-tokenizer");
    json_decref(root);
    char file[4200];
    snprintf(file, sizeof file, "%s/tokenizer.json", dir);
    expect_load_error(file, QT_ERR_CORRUPT, "is not the Qwen2 Split regex", "tokenizer.json given as a file");
    remove_files(dir);
    free(good);
    json_decref(vocab);
}

static void test_bad_text(const qt_tokenizer *t)
{
    static const struct {
        const char *text;
        size_t at;
    } bad[] = {
        {"\xff", 0},
        {"abc\x80", 3},
        {"ok \xc0\xaf", 3},                 /* overlong '/' */
        {"x\xed\xa0\x80", 1},               /* a UTF-16 surrogate */
        {"\xe2\x82", 0},                    /* truncated € */
        {"\xf4\x90\x80\x80", 0},            /* above U+10FFFF */
        {"<|im_start|>\xfe<|im_end|>", 12}, /* inside a special-token text */
    };
    printf("bad text:\n");
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        int32_t *ids = (int32_t *)1;
        size_t n = 99;
        qt_error err = {0};
        char want[64];
        snprintf(want, sizeof want, "invalid UTF-8 at byte %zu", bad[i].at);
        int rc = qt_tokenize(t, bad[i].text, &ids, &n, &err);
        if (rc != -1 || err.kind != QT_ERR_INVALID || !strstr(err.msg, want) || ids || n)
            FAIL("bad text \"%s\": rc %d kind %d \"%s\", expected -1 and \"%s\"", show(bad[i].text), rc,
                 err.kind, err.msg, want);
        else
            printf("  \"%s\" -> %s\n", show(bad[i].text), err.msg);
    }
    qt_error err = {0};
    int32_t *ids;
    size_t n;
    if (qt_tokenize(t, NULL, &ids, &n, &err) != -1 || err.kind != QT_ERR_INVALID) FAIL("NULL text accepted");
    int32_t bad_id = 1 << 30;
    char *s = qt_detokenize(t, &bad_id, 1, &err);
    if (s || err.kind != QT_ERR_INVALID || !strstr(err.msg, "is not a token"))
        FAIL("decoding id %d: got %s / \"%s\"", bad_id, s ? "text" : "NULL", err.msg);
    free(s);
}

/* The scan (short pieces) and the heap (long pieces) must merge identically. */
static int cmp_scan_heap(const qt_tokenizer *t, const uint8_t *p, size_t n)
{
    int32_t a[64], b[64];
    int na = bpe_merge_piece(t, p, n, a, BPE_MERGE_SCAN);
    int nb = bpe_merge_piece(t, p, n, b, BPE_MERGE_HEAP);
    if (na != nb || na < 0 || memcmp(a, b, (size_t)na * sizeof *a)) {
        FAIL("scan and heap merges differ on \"%.*s\"", (int)n, (const char *)p);
        print_ids("scan", a, na < 0 ? 0 : (size_t)na);
        print_ids("heap", b, nb < 0 ? 0 : (size_t)nb);
        return 0;
    }
    return 1;
}

static void test_scan_vs_heap(const qt_tokenizer *t, const json_t *case_sets[2])
{
    /* every substring window of the case texts (up to 48 bytes, at many offsets) */
    int compared = 0;
    unsigned seed = 12345;
    for (int s = 0; s < 2; s++) {
        size_t i;
        const json_t *c;
        json_array_foreach(case_sets[s], i, c)
        {
            const char *text = json_string_value(json_object_get(c, "text"));
            size_t n = strlen(text);
            for (size_t k = 0; k < n && k < 400; k++) {
                seed = seed * 1103515245u + 12345u;
                size_t len = 1 + (seed >> 16) % 48;
                if (len > n - k) len = n - k;
                compared += cmp_scan_heap(t, (const uint8_t *)text + k, len);
            }
        }
    }
    printf("scan vs heap merge: %d pieces identical\n", compared);
}

static void test_token_ids(const qt_tokenizer *t)
{
    /* docs/engine.md §1.6: the ids the talker looks up */
    struct {
        const char *text;
        int32_t id;
    } want[] = {
        {"<|im_start|>", 151644},   {"<|im_end|>", 151645}, {"<tts_pad>", 151671}, {"<tts_text_bos>", 151672},
        {"<tts_text_eod>", 151673}, {"assistant", 77091},   {"\n", 198},           {"user", 872},
        {"not-a-token-at-all", -1}};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) {
        int32_t got = qt_tokenizer_token_id(t, want[i].text);
        if (got != want[i].id)
            FAIL("token_id(\"%s\") = %d, expected %d", show(want[i].text), got, want[i].id);
    }
    if (qt_tokenizer_n_ids(t) != 151676)
        FAIL("n_ids %d, expected 151676 (151643 BPE + 33 added)", qt_tokenizer_n_ids(t));
}

/* Long single pieces (heap path, big regex matches) tokenize and decode back unchanged. */
static void test_long_inputs(const qt_tokenizer *t)
{
    const char *units[] = {"abcdefghij", " ",   "1234567890", "\xf0\x9f\x98\x80", "\xe4\xb8\xad\xe6\x96\x87",
                           "!?",         "\r\n"};
    size_t size = 100000;
    char *text = malloc(size + 8);
    for (size_t u = 0; u < sizeof units / sizeof *units; u++) {
        size_t ul = strlen(units[u]), n = 0;
        while (n + ul <= size) {
            memcpy(text + n, units[u], ul);
            n += ul;
        }
        text[n] = 0;
        int32_t *ids = NULL;
        size_t n_ids = 0;
        qt_error err = {0};
        double t0 = now_ms();
        if (qt_tokenize(t, text, &ids, &n_ids, &err)) {
            FAIL("long input of \"%s\" x %zu: %s", show(units[u]), n / ul, err.msg);
            continue;
        }
        double ms = now_ms() - t0;
        char *back = qt_detokenize(t, ids, n_ids, &err);
        if (!back || strcmp(back, text))
            FAIL("long input of \"%s\": decoding does not give the text back", show(units[u]));
        else
            printf("long input \"%s\" x %zu: %zu ids in %.1f ms, round-trips\n", show(units[u]), n / ul,
                   n_ids, ms);
        free(back);
        free(ids);
    }
    free(text);
}

/* One tokenizer shared by threads gives every thread the ids it gives one (it is read-only once loaded). */
typedef struct {
    const qt_tokenizer *t;
    const json_t *cases;
    int mismatches;
} thread_job;

static void *thread_main(void *arg)
{
    thread_job *j = arg;
    for (int round = 0; round < 5; round++) {
        size_t i;
        const json_t *c;
        json_array_foreach(j->cases, i, c)
        {
            int32_t *ids = NULL;
            size_t n = 0;
            qt_error err = {0};
            if (qt_tokenize(j->t, json_string_value(json_object_get(c, "text")), &ids, &n, &err) ||
                !ids_equal_json(ids, n, json_object_get(c, "ids")))
                j->mismatches++;
            free(ids);
        }
    }
    return NULL;
}

static void test_threads(const qt_tokenizer *t, const json_t *cases)
{
    enum { N = 4 };
    pthread_t th[N];
    thread_job jobs[N];
    int started = 0, bad = 0;
    for (int i = 0; i < N; i++) {
        jobs[i] = (thread_job){t, cases, 0};
        if (pthread_create(&th[i], NULL, thread_main, &jobs[i]) == 0) started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        bad += jobs[i].mismatches;
    }
    if (started != N || bad)
        FAIL("%d threads sharing one tokenizer (%d started): %d cases differ from the fixture", N, started,
             bad);
    else
        printf("%d threads sharing one tokenizer: all %zu cases x 5 rounds exact in each\n", N,
               json_array_size(cases));
}

static json_t *load_cases(const char *path)
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) FAIL("%s: %s (line %d)", path, je.text, je.line);
    return root;
}

int main(void)
{
    char tmp[] = "/tmp/test_bpe.XXXXXX";
    if (!mkdtemp(tmp)) {
        printf("FAIL: mkdtemp\n");
        return 1;
    }
    test_small_vocab(tmp);
    test_bad_files(tmp);

    const char *golden = golden_dir();
    char model[4096], path[4200];
    snprintf(model, sizeof model, "%s/tiny-a", golden);
    snprintf(path, sizeof path, "%s/vocab.json", model);
    struct stat st;
    if (!*golden || stat(path, &st) != 0) {
        rmdir(tmp);
        printf("golden fixtures not found (%s): the real-vocabulary tests are skipped\n", golden);
        return failures ? 1 : 77;
    }

    qt_error err = {0};
    double t0 = now_ms();
    qt_tokenizer *t = qt_tokenizer_load(model, &err);
    double load_ms = now_ms() - t0;
    if (!t) {
        printf("FAIL: loading %s: %s\n", model, err.msg);
        return 1;
    }
    printf("loaded %s (vocab.json + merges.txt + tokenizer_config.json) in %.1f ms\n", model, load_ms);

    snprintf(path, sizeof path, "%s/tokenizer_cases.json", golden);
    json_t *golden_cases = load_cases(path);
    char data[4200];
    snprintf(data, sizeof data, "%s", __FILE__);
    char *slash = strrchr(data, '/');
    snprintf(slash ? slash + 1 : data, sizeof data - (size_t)(slash ? slash + 1 - data : 0),
             "data/bpe_cases.json");
    json_t *hard = load_cases(data);
    const json_t *gc = json_object_get(golden_cases, "cases"), *hc = json_object_get(hard, "cases");
    if (!json_is_array(gc) || !json_is_array(hc)) {
        FAIL("fixture files without a \"cases\" array");
    } else {
        /* model dir: <tts_pad> is an added token, so transformers' ids apply where the fixture has them */
        run_cases(t, gc, "transformers_tokenizer_ids", "golden tokenizer_cases.json, model dir");
        run_cases(t, hc, "ids", "tests/data/bpe_cases.json (transformers.js), model dir");
        const json_t *sets[2] = {gc, hc};
        test_scan_vs_heap(t, sets);
        test_threads(t, hc);
    }
    test_token_ids(t);
    test_bad_text(t);
    test_long_inputs(t);
    qt_tokenizer_free(t);

    /* The same files as a Qwen3 tokenizer.json: added tokens only up to </think> (151668), as the Qwen3 file
     * has them; then HF tokenizers' own "ids" apply to every golden case. */
    json_t *vocab = json_load_file((snprintf(path, sizeof path, "%s/vocab.json", model), path), 0, NULL);
    json_t *config =
        json_load_file((snprintf(path, sizeof path, "%s/tokenizer_config.json", model), path), 0, NULL);
    snprintf(path, sizeof path, "%s/merges.txt", model);
    FILE *mf = fopen(path, "r");
    json_t *merges = json_array(), *added = json_array();
    char line[1024];
    while (mf && fgets(line, sizeof line, mf)) {
        line[strcspn(line, "\r\n")] = 0;
        char *sp = strchr(line, ' ');
        if (!strncmp(line, "#version", 8) || !sp) continue;
        *sp = 0;
        json_array_append_new(merges, json_pack("[s,s]", line, sp + 1));
    }
    if (mf) fclose(mf);
    const char *key;
    json_t *v;
    json_object_foreach(json_object_get(config, "added_tokens_decoder"), key, v)
    {
        if (atoi(key) > 151668) continue;
        json_t *a = json_deep_copy(v);
        json_object_set_new(a, "id", json_integer(atoi(key)));
        json_array_append_new(added, a);
    }
    json_t *root =
        json_pack("{s:s,s:o,s:{s:s},s:{s:s,s:[{s:s,s:{s:s},s:s,s:b},{s:s,s:b,s:b,s:b}]},"
                  "s:{s:s,s:n,s:n,s:b,s:b,s:b,s:o,s:o}}",
                  "version", "1.0", "added_tokens", added, "normalizer", "type", "NFC", "pre_tokenizer",
                  "type", "Sequence", "pretokenizers", "type", "Split", "pattern", "Regex", bpe_qwen2_pattern,
                  "behavior", "Isolated", "invert", 0, "type", "ByteLevel", "add_prefix_space", 0,
                  "trim_offsets", 0, "use_regex", 0, "model", "type", "BPE", "dropout", "unk_token",
                  "fuse_unk", 0, "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", merges);
    if (!root) {
        FAIL("could not build a tokenizer.json from %s", model);
    } else {
        write_json(tmp, "tokenizer.json", root);
        json_decref(root);
        snprintf(path, sizeof path, "%s/tokenizer.json", tmp);
        t0 = now_ms();
        t = qt_tokenizer_load(path, &err);
        printf("loaded the equivalent tokenizer.json in %.1f ms\n", now_ms() - t0);
        if (!t)
            FAIL("loading the built tokenizer.json: %s", err.msg);
        else if (gc)
            run_cases(t, gc, "ids", "golden tokenizer_cases.json, tokenizer.json");
        qt_tokenizer_free(t);
        /* a directory with tokenizer.json and tokenizer_config.json: the config's <tts_pad> is added */
        char *cfg = json_dumps(config, JSON_COMPACT);
        write_text(tmp, "tokenizer_config.json", cfg ? cfg : "");
        free(cfg);
        t = qt_tokenizer_load(tmp, &err);
        if (!t)
            FAIL("loading %s (tokenizer.json + tokenizer_config.json): %s", tmp, err.msg);
        else if (gc)
            run_cases(t, gc, "transformers_tokenizer_ids",
                      "golden tokenizer_cases.json, tokenizer.json + config");
        qt_tokenizer_free(t);
    }
    json_decref(config);
    remove_files(tmp);

    /* vocab.json as json.dumps(ensure_ascii=True, indent=2) would write it (\uXXXX escapes, line breaks):
     * the direct reader gives the same ids */
    snprintf(path, sizeof path, "%s/vocab.json", model);
    json_t *v2 = json_load_file(path, 0, NULL);
    char *text = v2 ? json_dumps(v2, JSON_ENSURE_ASCII | JSON_INDENT(2)) : NULL;
    if (!text || !strstr(text, "\\u0120")) {
        FAIL("could not write an ASCII-escaped vocab.json");
    } else {
        write_text(tmp, "vocab.json", text);
        char target[4200], link_path[4200];
        const char *names[] = {"merges.txt", "tokenizer_config.json"};
        for (int i = 0; i < 2; i++) {
            snprintf(target, sizeof target, "%s/%s", model, names[i]);
            snprintf(link_path, sizeof link_path, "%s/%s", tmp, names[i]);
            if (symlink(target, link_path)) FAIL("symlink %s", link_path);
        }
        t = qt_tokenizer_load(tmp, &err);
        if (!t)
            FAIL("loading the ASCII-escaped vocab.json: %s", err.msg);
        else if (gc)
            run_cases(t, gc, "transformers_tokenizer_ids", "golden tokenizer_cases.json, escaped vocab.json");
        qt_tokenizer_free(t);
    }
    free(text);
    json_decref(v2);
    remove_files(tmp);
    rmdir(tmp);
    json_decref(golden_cases);
    json_decref(hard);

    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("all tokenizer checks passed\n");
    return 0;
}
