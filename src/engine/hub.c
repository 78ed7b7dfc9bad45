/* hub.c — where a model lives: a directory path, or a Hub repo id found in the Hugging Face cache.
 *
 * The cache is read exactly as huggingface_hub lays it out, so models downloaded by Python tools are reused:
 *   <cache>/models--<Org>--<Name>/refs/main          holds the commit hash
 *   <cache>/models--<Org>--<Name>/snapshots/<hash>/  the files (symlinks into ../../blobs/)
 * with <cache> = $HF_HUB_CACHE, else $HUGGINGFACE_HUB_CACHE (its older name), else $HF_HOME/hub, else
 * ${XDG_CACHE_HOME:-~/.cache}/huggingface/hub. This file never downloads anything and never writes.
 */
#include "engine/qt.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* "Org/Name": one slash, both parts non-empty and not starting with '.' (so never "." or ".."), only the
 * characters the Hub allows in names. */
static int looks_like_repo_id(const char *s)
{
    const char *slash = s ? strchr(s, '/') : NULL;
    if (!slash || slash == s || !slash[1] || strchr(slash + 1, '/')) return 0;
    if (s[0] == '.' || slash[1] == '.') return 0;
    for (const char *p = s; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("/-_.", *p)) return 0;
    return 1;
}

char *qt_hub_cache_dir(void)
{
    /* the order of huggingface_hub's constants.py */
    char *out = NULL;
    const char *v;
    if ((v = getenv("HF_HUB_CACHE")) && *v) return strdup(v);
    if ((v = getenv("HUGGINGFACE_HUB_CACHE")) && *v) return strdup(v);
    if ((v = getenv("HF_HOME")) && *v) return asprintf(&out, "%s/hub", v) < 0 ? NULL : out;
    if ((v = getenv("XDG_CACHE_HOME")) && *v) return asprintf(&out, "%s/huggingface/hub", v) < 0 ? NULL : out;
    v = getenv("HOME");
    return asprintf(&out, "%s/.cache/huggingface/hub", v && *v ? v : "/") < 0 ? NULL : out;
}

char *qt_hub_repo_dir(const char *cache_dir, const char *repo_id)
{
    if (!cache_dir || !looks_like_repo_id(repo_id)) return NULL;
    const char *slash = strchr(repo_id, '/');
    char *out = NULL; /* models--Org--Name: the id's '/' becomes "--" */
    if (asprintf(&out, "%s/models--%.*s--%s", cache_dir, (int)(slash - repo_id), repo_id, slash + 1) < 0)
        return NULL;
    return out;
}

/* refs/main's commit hash: one line of hex (the Hub writes 40 characters, no newline). */
static int read_ref(const char *path, char *hash, size_t size)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(hash, 1, size - 1, f);
    fclose(f);
    hash[n] = 0;
    while (n && isspace((unsigned char)hash[n - 1]))
        hash[--n] = 0;
    if (n == 0) return -1;
    for (size_t i = 0; i < n; i++)
        if (!isxdigit((unsigned char)hash[i])) return -1;
    return 0;
}

int qt_resolve_model_dir(const char *path_or_repo, char *out, size_t out_size, qt_error *err)
{
    if (!path_or_repo || !*path_or_repo)
        return qt_fail(err, QT_ERR_INVALID, "no model given (a directory or a Hub repo id)");
    if (is_dir(path_or_repo)) {
        if ((size_t)snprintf(out, out_size, "%s", path_or_repo) >= out_size)
            return qt_fail(err, QT_ERR_INVALID, "%s: path too long", path_or_repo);
        return 0;
    }
    if (!looks_like_repo_id(path_or_repo))
        return qt_fail(err, QT_ERR_NOT_FOUND, "%s: no such model directory", path_or_repo);

    char repo[4096], ref[4600], hash[128], snap[4800];
    char *cache = qt_hub_cache_dir(), *dir = qt_hub_repo_dir(cache, path_or_repo);
    int fits = dir && (size_t)snprintf(repo, sizeof repo, "%s", dir) < sizeof repo;
    free(cache);
    free(dir);
    if (!fits) return qt_fail(err, QT_ERR_INVALID, "%s: Hugging Face cache path too long", path_or_repo);
    if (!is_dir(repo))
        return qt_fail(
            err, QT_ERR_NOT_FOUND,
            "%s: not a directory, and not in the Hugging Face cache (%s does not exist); download it "
            "with `huggingface-cli download %s` or give the model's directory",
            path_or_repo, repo, path_or_repo);
    snprintf(ref, sizeof ref, "%s/refs/main", repo);
    if (read_ref(ref, hash, sizeof hash) == 0) {
        snprintf(snap, sizeof snap, "%s/snapshots/%s", repo, hash);
        if (!is_dir(snap))
            return qt_fail(err, QT_ERR_NOT_FOUND,
                           "%s: the cache's refs/main names snapshot %s, which is missing", path_or_repo,
                           hash);
    } else {
        /* No usable refs/main (a cache filled by revision): accept a single snapshot, refuse to guess among
         * several. */
        snprintf(snap, sizeof snap, "%s/snapshots", repo);
        DIR *d = opendir(snap);
        int n = 0;
        char only[256] = "";
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            n++;
            snprintf(only, sizeof only, "%s", e->d_name);
        }
        if (d) closedir(d);
        if (n != 1)
            return qt_fail(
                err, QT_ERR_NOT_FOUND,
                "%s: the cache has no readable refs/main and %d snapshots in %s; give the snapshot "
                "directory instead",
                path_or_repo, n, snap);
        snprintf(snap, sizeof snap, "%s/snapshots/%s", repo, only);
    }
    if ((size_t)snprintf(out, out_size, "%s", snap) >= out_size)
        return qt_fail(err, QT_ERR_INVALID, "%s: path too long", snap);
    return 0;
}

int qt_speech_tokenizer_dir(const char *model_dir, char *out, size_t out_size, qt_error *err)
{
    char path[4096];
    if ((size_t)snprintf(path, sizeof path, "%s/speech_tokenizer", model_dir) >= sizeof path)
        return qt_fail(err, QT_ERR_INVALID, "%s: path too long", model_dir);
    struct stat st;
    if (stat(path, &st) != 0)
        return qt_fail(err, QT_ERR_NOT_FOUND,
                       "%s: missing (every Qwen3-TTS release has a speech_tokenizer/ folder)", path);
    if (S_ISDIR(st.st_mode)) {
        if ((size_t)snprintf(out, out_size, "%s", path) >= out_size)
            return qt_fail(err, QT_ERR_INVALID, "%s: path too long", path);
        return 0;
    }
    /* A symlink checked out as a plain file (git with core.symlinks=false) holds its relative target. */
    if (S_ISREG(st.st_mode) && st.st_size > 0 && st.st_size < 1024) {
        char target[1024];
        FILE *f = fopen(path, "r");
        size_t n = f ? fread(target, 1, sizeof target - 1, f) : 0;
        if (f) fclose(f);
        target[n] = 0;
        while (n && (target[n - 1] == '\n' || target[n - 1] == '\r'))
            target[--n] = 0;
        if (n && !memchr(target, 0, n)) {
            char linked[4096 + 1024];
            if (target[0] == '/')
                snprintf(linked, sizeof linked, "%s", target);
            else
                snprintf(linked, sizeof linked, "%s/%s", model_dir, target);
            if (is_dir(linked)) {
                if ((size_t)snprintf(out, out_size, "%s", linked) >= out_size)
                    return qt_fail(err, QT_ERR_INVALID, "%s: path too long", linked);
                return 0;
            }
        }
    }
    return qt_fail(err, QT_ERR_NOT_FOUND, "%s: not a directory", path);
}
