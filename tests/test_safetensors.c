/* test_safetensors.c — the safetensors reader: good files (built here and the golden fixtures), sharded sets,
 * and every kind of bad file the reader must refuse, each with its message checked word for word. */
#include "engine/safetensors.h"
#include "test_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];

/* Writes an 8-byte length, `header`, then `data_len` bytes (0,1,2,...) to tmp/name; returns the path. */
static const char *write_file(const char *name, uint64_t hlen_override, const char *header, size_t data_len)
{
    static char path[512];
    snprintf(path, sizeof path, "%s/%s", tmp, name);
    FILE *f = fopen(path, "wb");
    uint64_t hlen = hlen_override ? hlen_override : strlen(header);
    uint8_t len[8];
    for (int i = 0; i < 8; i++)
        len[i] = (uint8_t)(hlen >> (8 * i));
    fwrite(len, 1, 8, f);
    fwrite(header, 1, strlen(header), f);
    for (size_t i = 0; i < data_len; i++)
        fputc((int)(i & 0xff), f);
    fclose(f);
    return path;
}

/* Opens the file and expects failure with kind `kind` and message "<path>: <want>". */
static void expect_bad(const char *name, uint64_t hlen, const char *header, size_t data_len,
                       qt_error_kind kind, const char *want)
{
    const char *path = write_file(name, hlen, header, data_len);
    char full[1024];
    snprintf(full, sizeof full, "%s: %s", path, want);
    qt_error err = {0};
    st_file *f = st_open(path, &err);
    if (f || err.kind != kind || strcmp(err.msg, full)) {
        fprintf(stderr,
                "FAIL %s (header %s, %zu data bytes)\n  expected: %s (kind %d)\n  got:      %s (kind %d)\n",
                name, header, data_len, full, kind, f ? "<opened>" : err.msg, err.kind);
        failures++;
    } else {
        printf("ok %-14s %s\n", name, err.msg);
    }
    st_close(f);
}

static void good_file(void)
{
    const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
                    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[16,24]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0,3],\"data_offsets\":[24,24]},"
                    "\"s\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[24,32]}}";
    const char *path = write_file("good.safetensors", 0, h, 32);
    qt_error err = {0};
    st_file *f = st_open(path, &err);
    CHECK(f, "open good file: %s", err.msg);
    if (!f) return;
    CHECK(st_count(f) == 4, "count: expected 4, got %zu", st_count(f));
    const st_tensor *a = st_find(f, "a"), *b = st_find(f, "b"), *e = st_find(f, "e"), *s = st_find(f, "s");
    CHECK(a && b && e && s, "find a, b, e, s");
    CHECK(!st_find(f, "c") && !st_find(f, "__metadata__"), "absent names must not be found");
    if (a && b && e && s) {
        const uint8_t *base = a->data;
        CHECK(a->dtype == ST_F32 && a->n_dims == 1 && a->shape[0] == 4 && a->n_bytes == 16, "a's header");
        CHECK(base[0] == 0 && base[15] == 15, "a's data starts at data byte 0");
        CHECK((const uint8_t *)b->data - base == 16 && b->n_elements == 4 && b->n_bytes == 8, "b at 16");
        CHECK(e->n_elements == 0 && e->n_bytes == 0, "empty tensor");
        CHECK(s->n_dims == 0 && s->n_elements == 1 && s->n_bytes == 8 && ((const uint8_t *)s->data)[0] == 24,
              "scalar I64");
    }
    CHECK(!strcmp(st_at(f, 0)->name, "a") && !strcmp(st_at(f, 3)->name, "s") && !st_at(f, 4), "st_at order");
    CHECK(!strcmp(st_dtype_name(ST_BF16), "BF16") && st_dtype_size(ST_I64) == 8, "dtype names and sizes");

    int64_t want_b[2] = {2, -1}, want_bad[2] = {2, 3};
    CHECK(st_expect(f, "b", ST_BF16, 2, want_b, &err) == b, "st_expect b: %s", err.msg);
    char msg[1024];
    CHECK(!st_expect(f, "b", ST_BF16, 2, want_bad, &err), "st_expect must refuse [2,3]");
    snprintf(msg, sizeof msg, "%s: tensor 'b' is BF16 [2,2], expected BF16 [2,3]", path);
    CHECK(!strcmp(err.msg, msg) && err.kind == QT_ERR_MISMATCH, "expected '%s', got '%s'", msg, err.msg);
    CHECK(!st_expect(f, "a", ST_BF16, 1, want_bad, &err), "st_expect must refuse a dtype change");
    snprintf(msg, sizeof msg, "%s: tensor 'a' is F32 [4], expected BF16 [2]", path);
    CHECK(!strcmp(err.msg, msg), "expected '%s', got '%s'", msg, err.msg);
    CHECK(!st_expect(f, "zz", ST_F32, 1, want_bad, &err), "st_expect must refuse a missing tensor");
    snprintf(msg, sizeof msg, "%s: tensor 'zz' is missing", path);
    CHECK(!strcmp(err.msg, msg) && err.kind == QT_ERR_NOT_FOUND, "expected '%s', got '%s'", msg, err.msg);
    st_close(f);

    /* The same bytes through st_parse (what the fuzz target calls). */
    FILE *fp = fopen(path, "rb");
    uint8_t img[512];
    size_t n = fread(img, 1, sizeof img, fp);
    fclose(fp);
    f = st_parse("mem", img, n, &err);
    CHECK(f && st_count(f) == 4, "st_parse of the good image: %s", f ? "" : err.msg);
    st_close(f);
    f = st_parse("mem", img, n - 1, &err);
    CHECK(!f && !strcmp(err.msg, "mem: tensor 's' ends at data byte 32 but the file has only 31 data bytes "
                                 "(truncated?)"),
          "st_parse truncated by one: got '%s'", err.msg);
    st_close(f);
}

static void bad_files(void)
{
    const char *one = "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]}}";
    expect_bad("empty", 0, "", 0, QT_ERR_CORRUPT, "header is not a JSON object (not a safetensors file?)");
    {
        const char *path = write_file("tiny", 0, "", 0);
        truncate(path, 5);
        char full[600];
        snprintf(full, sizeof full, "%s: 5 bytes is too short for a safetensors file (truncated?)", path);
        qt_error err = {0};
        st_file *f = st_open(path, &err);
        CHECK(!f && !strcmp(err.msg, full), "5-byte file: expected '%s', got '%s'", full, err.msg);
        st_close(f);
    }
    expect_bad("truncated", 0, one, 20, QT_ERR_CORRUPT,
               "tensor 'w' ends at data byte 24 but the file has only 20 data bytes (truncated?)");
    expect_bad("past_end", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[250],\"data_offsets\":[1000,2000]}}", 24,
               QT_ERR_CORRUPT,
               "tensor 'w' ends at data byte 2000 but the file has only 24 data bytes (truncated?)");
    expect_bad("header_past", 1000, one, 24, QT_ERR_CORRUPT,
               "header length 1000 runs past the end of the 89-byte file (truncated?)");
    expect_bad("oversized", 1ull << 40, one, 24, QT_ERR_CORRUPT,
               "header length 1099511627776 exceeds the 100000000-byte limit (not a safetensors file?)");
    expect_bad("non_json", 0, "{\"w\": nope}", 0, QT_ERR_CORRUPT,
               "header is not valid JSON (byte 10: invalid token near 'nope')");
    expect_bad("not_object", 0, "[1,2,3]", 0, QT_ERR_CORRUPT,
               "header is not a JSON object (not a safetensors file?)");
    expect_bad("unknown_dtype", 0, "{\"w\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[0,24]}}", 24,
               QT_ERR_CORRUPT, "tensor 'w' has unknown dtype 'F64' (voicebox reads F32, F16, BF16, I64)");
    expect_bad("size_mismatch", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}", 24,
               QT_ERR_CORRUPT, "tensor 'w' is F32 [2,3], which needs 24 bytes, but its data_offsets span 20");
    expect_bad("overlap", 0,
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}",
               24, QT_ERR_CORRUPT, "tensors 'a' and 'b' overlap (data bytes 0..16 and 8..24)");
    expect_bad("descending", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,0]}}", 24,
               QT_ERR_CORRUPT,
               "tensor 'w' has data_offsets [8, 0] that are not an ascending pair of non-negative numbers");
    expect_bad("duplicate", 0,
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, QT_ERR_CORRUPT, "header is not valid JSON (byte 57: duplicate object key near '\"w\"')");
    expect_bad("many_dims", 0,
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               QT_ERR_CORRUPT, "tensor 'w' has 9 dimensions, more than 8");
    expect_bad("neg_shape", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
               QT_ERR_CORRUPT, "tensor 'w' has a shape entry that is not a non-negative integer");
    expect_bad("huge_shape", 0,
               "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,4]}}", 4,
               QT_ERR_CORRUPT, "tensor 'w' has a shape too large to exist");
    expect_bad("no_offsets", 0, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, QT_ERR_CORRUPT,
               "tensor 'w' has no data_offsets [begin, end]");
    expect_bad("no_dtype", 0, "{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, QT_ERR_CORRUPT,
               "tensor 'w' has no dtype string");
    expect_bad("entry_number", 0, "{\"w\":5}", 4, QT_ERR_CORRUPT, "header entry 'w' is not an object");

    qt_error err = {0};
    char want[600];
    snprintf(want, sizeof want, "%s/nope.safetensors: cannot open (No such file or directory)", tmp);
    snprintf(want + 300, 300, "%s/nope.safetensors", tmp);
    st_file *f = st_open(want + 300, &err);
    CHECK(!f && err.kind == QT_ERR_NOT_FOUND && !strcmp(err.msg, want), "missing file: got '%s'", err.msg);
}

static void sharded(void)
{
    char sub[512], path[700], want[1200];
    snprintf(sub, sizeof sub, "%s/sharded", tmp);
    mkdir(sub, 0755);
    const char *h1 = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    const char *h2 = "{\"y\":{\"dtype\":\"BF16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                     "\"z\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[6,8]}}";
    write_file("sharded/model-00001-of-00002.safetensors", 0, h1, 8);
    write_file("sharded/model-00002-of-00002.safetensors", 0, h2, 8);
    snprintf(path, sizeof path, "%s/model.safetensors.index.json", sub);
    FILE *fp = fopen(path, "w");
    fputs("{\"metadata\":{\"total_size\":16},\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\","
          "\"y\":\"model-00002-of-00002.safetensors\",\"z\":\"model-00002-of-00002.safetensors\"}}",
          fp);
    fclose(fp);
    qt_error err = {0};
    st_file *f = st_open(sub, &err); /* a directory holding an index */
    CHECK(f && st_count(f) == 3, "sharded dir: %s", f ? "wrong count" : err.msg);
    if (f) {
        const st_tensor *y = st_find(f, "y");
        CHECK(y && y->dtype == ST_BF16 && ((const uint8_t *)y->data)[5] == 5, "y from shard 2");
        const st_tensor *z = st_find(f, "z");
        CHECK(z && z->dtype == ST_F16 && ((const uint8_t *)z->data)[0] == 6, "z from shard 2");
        int64_t bad[1] = {7};
        st_expect(f, "z", ST_F16, 1, bad, &err);
        snprintf(want, sizeof want,
                 "%s/model-00002-of-00002.safetensors: tensor 'z' is F16 [1], expected F16 [7]", sub);
        CHECK(!strcmp(err.msg, want), "shard named in st_expect: expected '%s', got '%s'", want, err.msg);
    }
    st_close(f);

    /* The index lies about where a tensor lives. */
    fp = fopen(path, "w");
    fputs("{\"weight_map\":{\"x\":\"model-00002-of-00002.safetensors\"}}", fp);
    fclose(fp);
    f = st_open(path, &err);
    snprintf(want, sizeof want,
             "%s: tensor 'x' is listed in model-00002-of-00002.safetensors but that file does not hold it",
             path);
    CHECK(!f && !strcmp(err.msg, want), "lying index: expected '%s', got '%s'", want, err.msg);
    st_close(f);

    /* A shard that is not there. */
    fp = fopen(path, "w");
    fputs("{\"weight_map\":{\"x\":\"model-00003-of-00002.safetensors\"}}", fp);
    fclose(fp);
    f = st_open(sub, &err);
    snprintf(want, sizeof want,
             "%s/model-00003-of-00002.safetensors: cannot open (No such file or directory)", sub);
    CHECK(!f && err.kind == QT_ERR_NOT_FOUND && !strcmp(err.msg, want),
          "missing shard: expected '%s', got '%s'", want, err.msg);
    st_close(f);

    /* A shard path that escapes the directory. */
    fp = fopen(path, "w");
    fputs("{\"weight_map\":{\"x\":\"../good.safetensors\"}}", fp);
    fclose(fp);
    f = st_open(path, &err);
    snprintf(want, sizeof want, "%s: tensor 'x' maps to something that is not a file name beside the index",
             path);
    CHECK(!f && !strcmp(err.msg, want), "escaping shard: expected '%s', got '%s'", want, err.msg);
    st_close(f);

    /* The same tensor in two shards. */
    fp = fopen(path, "w");
    fputs("{\"weight_map\":{\"x\":\"model-00001-of-00002.safetensors\",\"w\":\"dup.safetensors\"}}", fp);
    fclose(fp);
    write_file("sharded/dup.safetensors", 0, h1, 8);
    f = st_open(path, &err);
    CHECK(!f && strstr(err.msg, ": tensor 'x' appears in two shards (also in "),
          "duplicate across shards: got '%s'", err.msg);
    st_close(f);

    /* A directory with neither file. */
    snprintf(path, sizeof path, "%s/emptydir", tmp);
    mkdir(path, 0755);
    f = st_open(path, &err);
    snprintf(want, sizeof want, "%s: no model.safetensors or model.safetensors.index.json in this directory",
             path);
    CHECK(!f && err.kind == QT_ERR_NOT_FOUND && !strcmp(err.msg, want), "empty dir: got '%s'", err.msg);
    st_close(f);
}

/* The golden tiny models are real files written by the official code. */
static int golden(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/tiny-a/model.safetensors", dir);
    if (access(path, R_OK) != 0) return 0;
    qt_error err = {0};
    snprintf(path, sizeof path, "%s/tiny-a", dir);
    st_file *f = st_open(path, &err);
    CHECK(f, "golden tiny-a: %s", err.msg);
    if (f) {
        CHECK(st_count(f) == 159, "tiny-a tensors: expected 159, got %zu", st_count(f));
        size_t bytes = 0;
        for (size_t i = 0; i < st_count(f); i++) {
            CHECK(st_at(f, i)->dtype == ST_BF16, "tiny-a '%s' should be BF16", st_at(f, i)->name);
            bytes += st_at(f, i)->n_bytes;
        }
        /* docs/engine.md §9.1: 3 493 324 parameters. */
        CHECK(bytes == 2 * 3493324u, "tiny-a bytes: expected %u, got %zu", 2 * 3493324u, bytes);
        printf("golden tiny-a: %zu tensors, %zu bytes\n", st_count(f), bytes);
        int64_t emb[2] = {151936, 8};
        CHECK(st_expect(f, "talker.model.text_embedding.weight", ST_BF16, 2, emb, &err), "%s", err.msg);
    }
    st_close(f);
    snprintf(path, sizeof path, "%s/expected/speech_tokenizer_golden.safetensors", dir);
    f = st_open(path, &err);
    CHECK(f, "golden codec file: %s", err.msg);
    if (f) {
        int64_t codes[2] = {43, 16};
        CHECK(st_expect(f, "ref_codes", ST_I64, 2, codes, &err), "%s", err.msg);
    }
    st_close(f);
    return 1;
}

int main(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/voicebox-st-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    good_file();
    bad_files();
    sharded();
    if (!golden(golden_dir())) printf("golden fixtures absent: golden checks skipped\n");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    if (failures) {
        fprintf(stderr, "test_safetensors: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_safetensors: all checks passed\n");
    return 0;
}
