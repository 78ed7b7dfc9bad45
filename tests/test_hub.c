/* test_hub.c — model location: directories, and Hub repo ids in a fake Hugging Face cache laid out exactly as
 * huggingface_hub writes it (refs/main, snapshots/<commit>/ with symlinks into blobs/), under each of the
 * environment variables that choose the cache. */
#include "engine/qt.h"
#include "test_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* snprintf for test paths: a temp dir is short, and a truncated path would only fail the check it feeds. */
__attribute__((format(printf, 3, 4))) static void fmt(char *dst, size_t size, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    vsnprintf(dst, size, f, ap);
    va_end(ap);
}

static void put(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f) {
        perror(path);
        exit(1);
    }
    fputs(text, f);
    fclose(f);
}

#define REPO "Qwen/Qwen3-TTS-12Hz-0.6B-Base"
#define COMMIT "0123456789abcdef0123456789abcdef01234567"
#define OLD "fedcba9876543210fedcba9876543210fedcba98"

/* mkdir -p */
static void make_dirs(const char *path)
{
    char p[1024];
    fmt(p, sizeof p, "%s", path);
    for (char *s = strchr(p + 1, '/'); s; s = strchr(s + 1, '/')) {
        *s = 0;
        mkdir(p, 0755);
        *s = '/';
    }
    mkdir(p, 0755);
}

/* <cache>/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base with two snapshots; refs/main names COMMIT. The folders
 * up to <cache> are made as needed. */
static void make_cache(const char *cache)
{
    char p[1024], q[1024];
    make_dirs(cache);
    fmt(p, sizeof p, "%s/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base", cache);
    mkdir(p, 0755);
    fmt(q, sizeof q, "%s/blobs", p);
    mkdir(q, 0755);
    fmt(q, sizeof q, "%s/refs", p);
    mkdir(q, 0755);
    fmt(q, sizeof q, "%s/snapshots", p);
    mkdir(q, 0755);
    fmt(q, sizeof q, "%s/blobs/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", p);
    put(q, "{\"tts_model_size\": \"0b6\"}\n");
    const char *commits[2] = {COMMIT, OLD};
    for (int i = 0; i < 2; i++) {
        fmt(q, sizeof q, "%s/snapshots/%s", p, commits[i]);
        mkdir(q, 0755);
        fmt(q, sizeof q, "%s/snapshots/%s/config.json", p, commits[i]);
        if (symlink("../../blobs/9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", q))
            perror("symlink");
    }
    fmt(q, sizeof q, "%s/refs/main", p);
    put(q, COMMIT); /* the Hub writes the hash without a newline */
}

static void expect_ok(const char *in, const char *want)
{
    char out[4096];
    qt_error err = {0};
    int rc = qt_resolve_model_dir(in, out, sizeof out, &err);
    CHECK(rc == 0 && !strcmp(out, want), "resolve '%s': expected '%s', got %s", in, want, rc ? err.msg : out);
}

/* REPO resolves to the snapshot `commit` of the cache at `cache`. */
static void expect_snapshot(const char *cache, const char *commit)
{
    char want[2048];
    fmt(want, sizeof want, "%s/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base/snapshots/%s", cache, commit);
    expect_ok(REPO, want);
}

static void expect_fail(const char *in, qt_error_kind kind, const char *want)
{
    char out[4096];
    qt_error err = {0};
    int rc = qt_resolve_model_dir(in, out, sizeof out, &err);
    CHECK(rc == -1 && err.kind == kind && !strcmp(err.msg, want),
          "resolve '%s': expected failure '%s', got %s", in, want, rc ? err.msg : out);
    if (rc == -1) printf("ok error: %s\n", err.msg);
}

/* The one name mapping the engine's reader and the studio's downloader share: an id that could name a path
 * outside the cache gets none. */
static void test_repo_dir(void)
{
    char *d = qt_hub_repo_dir("/c", "Qwen/Qwen3-TTS-12Hz-1.7B-Base");
    CHECK(d && !strcmp(d, "/c/models--Qwen--Qwen3-TTS-12Hz-1.7B-Base"), "repo dir: got %s", d ? d : "(null)");
    free(d);
    const char *bad[] = {"Qwen", "/Qwen", "Qwen/", "../x",   "x/..", ".x/y",
                         "x/.y", "a/b/c", "a b/c", "a/b\\c", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        d = qt_hub_repo_dir("/c", bad[i]);
        CHECK(!d, "repo id '%s': expected no dir, got %s", bad[i], d);
        free(d);
    }
    CHECK(!qt_hub_repo_dir(NULL, "a/b") && !qt_hub_repo_dir("/c", NULL), "NULL arguments give no dir");
}

int main(void)
{
    test_repo_dir();
    char tmp[256], cache[512], want[2048], msg[4096], path[1024];
    fmt(tmp, sizeof tmp, "/tmp/voicebox-hub-XXXXXX");
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HOME");
    unsetenv("XDG_CACHE_HOME");

    /* A directory is used as it is, whatever the cache holds. */
    expect_ok(tmp, tmp);

    /* HF_HUB_CACHE */
    fmt(cache, sizeof cache, "%s/hubcache", tmp);
    make_cache(cache);
    setenv("HF_HUB_CACHE", cache, 1);
    expect_snapshot(cache, COMMIT);
    char out[4096];
    qt_error err = {0};
    if (qt_resolve_model_dir(REPO, out, sizeof out, &err) == 0) {
        fmt(path, sizeof path, "%s/config.json", out);
        FILE *f = fopen(path, "r");
        CHECK(f != NULL, "config.json must be readable through the snapshot symlink at %s", path);
        if (f) fclose(f);
    }
    fmt(msg, sizeof msg,
        "Qwen/Qwen3-TTS-12Hz-1.7B-Base: not a directory, and not in the Hugging Face cache "
        "(%s/models--Qwen--Qwen3-TTS-12Hz-1.7B-Base does not exist); download it with `huggingface-cli "
        "download Qwen/Qwen3-TTS-12Hz-1.7B-Base` or give the model's directory",
        cache);
    expect_fail("Qwen/Qwen3-TTS-12Hz-1.7B-Base", QT_ERR_NOT_FOUND, msg);
    expect_fail("/no/such/dir", QT_ERR_NOT_FOUND, "/no/such/dir: no such model directory");
    expect_fail("./relative-missing", QT_ERR_NOT_FOUND, "./relative-missing: no such model directory");
    expect_fail("", QT_ERR_INVALID, "no model given (a directory or a Hub repo id)");

    /* refs/main with a trailing newline (written by hand) still works. */
    fmt(path, sizeof path, "%s/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base/refs/main", cache);
    put(path, OLD "\n");
    expect_snapshot(cache, OLD);

    /* refs/main pointing at a snapshot that was deleted. */
    put(path, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
    expect_fail(REPO, QT_ERR_NOT_FOUND,
                "Qwen/Qwen3-TTS-12Hz-0.6B-Base: the cache's refs/main names snapshot "
                "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa, which is missing");

    /* No refs/main: two snapshots are ambiguous. */
    unlink(path);
    fmt(msg, sizeof msg,
        "Qwen/Qwen3-TTS-12Hz-0.6B-Base: the cache has no readable refs/main and 2 snapshots in "
        "%s/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base/snapshots; give the snapshot directory instead",
        cache);
    expect_fail(REPO, QT_ERR_NOT_FOUND, msg);

    /* HF_HOME/hub when HF_HUB_CACHE is unset; HF_HUB_CACHE wins over HF_HOME. */
    char home[512];
    fmt(home, sizeof home, "%s/hfhome", tmp);
    fmt(cache, sizeof cache, "%s/hub", home);
    make_cache(cache);
    setenv("HF_HOME", home, 1);
    CHECK(qt_resolve_model_dir(REPO, out, sizeof out, &err) == -1,
          "HF_HUB_CACHE must take precedence over HF_HOME (got %s)", out);
    unsetenv("HF_HUB_CACHE");
    expect_snapshot(cache, COMMIT);

    /* XDG_CACHE_HOME/huggingface/hub, then ~/.cache/huggingface/hub. */
    unsetenv("HF_HOME");
    fmt(home, sizeof home, "%s/xdg", tmp);
    fmt(cache, sizeof cache, "%s/huggingface/hub", home);
    make_cache(cache);
    setenv("XDG_CACHE_HOME", home, 1);
    expect_snapshot(cache, COMMIT);
    unsetenv("XDG_CACHE_HOME");
    fmt(home, sizeof home, "%s/home", tmp);
    fmt(cache, sizeof cache, "%s/.cache/huggingface/hub", home);
    make_cache(cache);
    setenv("HOME", home, 1);
    expect_snapshot(cache, COMMIT);

    /* speech_tokenizer/: a real directory, and a symlink stored as a file holding its target. */
    fmt(path, sizeof path, "%s/model", tmp);
    mkdir(path, 0755);
    fmt(path, sizeof path, "%s/codec", tmp);
    mkdir(path, 0755);
    fmt(path, sizeof path, "%s/model/speech_tokenizer", tmp);
    put(path, "../codec");
    fmt(path, sizeof path, "%s/model", tmp);
    fmt(want, sizeof want, "%s/model/../codec", tmp);
    int rc = qt_speech_tokenizer_dir(path, out, sizeof out, &err);
    CHECK(rc == 0 && !strcmp(out, want), "speech_tokenizer as a link file: expected '%s', got '%s'", want,
          rc ? err.msg : out);
    fmt(path, sizeof path, "%s/codec", tmp);
    rc = qt_speech_tokenizer_dir(path, out, sizeof out, &err);
    fmt(msg, sizeof msg,
        "%s/codec/speech_tokenizer: missing (every Qwen3-TTS release has a speech_tokenizer/ folder)", tmp);
    CHECK(rc == -1 && !strcmp(err.msg, msg), "no speech_tokenizer: expected '%s', got '%s'", msg, err.msg);
    fmt(path, sizeof path, "%s/codec/speech_tokenizer", tmp);
    mkdir(path, 0755);
    fmt(path, sizeof path, "%s/codec", tmp);
    fmt(want, sizeof want, "%s/codec/speech_tokenizer", tmp);
    rc = qt_speech_tokenizer_dir(path, out, sizeof out, &err);
    CHECK(rc == 0 && !strcmp(out, want), "speech_tokenizer dir: expected '%s', got '%s'", want,
          rc ? err.msg : out);

    char cmd[400];
    fmt(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    if (failures) {
        fprintf(stderr, "test_hub: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_hub: all checks passed\n");
    return 0;
}
