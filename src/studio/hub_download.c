/* hub_download.c — see hub_download.h. libcurl for HTTP, OpenSSL EVP for the checksums, jansson for the
 * file list. Everything that arrives from the network (paths, etags, commits) is checked before it becomes
 * part of a file name: a hostile endpoint must not be able to write outside the repo's cache folder.
 */
#include "studio/hub_download.h"
#include "engine/qt.h"
#include "studio/log.h"
#include "studio/studio_internal.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_ENDPOINT "https://huggingface.co"
#define API_MAX_BYTES (16u << 20)
#define MAX_ATTEMPTS 6 /* per file; each retry resumes from the .incomplete size */

/* studio_fail with no field: these errors are about a model or a download, not a request field. */
#define fail(err, kind, ...) studio_fail(err, kind, NULL, __VA_ARGS__)

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- paths ----------------------------------------------------------------------------------------------
 */

studio_hub_params studio_hub_default_params(void)
{
    studio_hub_params p = {0};
    return p;
}

/* A file path inside a repo, as the Hub lists it: relative, '/'-separated, no "." or ".." parts. */
static int safe_repo_path(const char *p)
{
    if (!*p || *p == '/' || strlen(p) > 512) return 0;
    const char *seg = p;
    for (const char *c = p;; c++) {
        if (*c == '/' || *c == '\0') {
            size_t len = (size_t)(c - seg);
            if (len == 0 || (len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
                return 0;
            if (*c == '\0') return 1;
            seg = c + 1;
        } else if ((unsigned char)*c < 0x20 || *c == '\\') {
            return 0;
        }
    }
}

static int safe_name_char(int c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.';
}

static int safe_token(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (; *s; s++)
        if (!safe_name_char((unsigned char)*s)) return 0;
    return 1;
}

static int is_hex(const char *s, size_t len)
{
    if (strlen(s) != len) return 0;
    for (size_t i = 0; i < len; i++)
        if (!isxdigit((unsigned char)s[i])) return 0;
    return 1;
}

/* mkdir -p of path's parent folders (and path itself when whole is set). */
static int mkdirs(const char *path, int whole)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    for (char *p = copy + 1;; p++) {
        if (*p != '/' && *p != '\0') continue;
        if (*p == '\0' && !whole) break;
        char saved = *p;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        if (saved == '\0') break;
        *p = saved;
    }
    free(copy);
    return 0;
}

static char *read_small_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    return strdup(buf);
}

/* Writes content to path via a temp file and rename. */
static int write_atomic(const char *path, const char *content)
{
    char *tmp = NULL;
    if (asprintf(&tmp, "%s.tmp-%d", path, (int)getpid()) < 0) return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    size_t len = strlen(content);
    int ok = fd >= 0 && write(fd, content, len) == (ssize_t)len && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0) ok = 0;
    if (ok && rename(tmp, path) != 0) ok = 0;
    if (!ok) unlink(tmp);
    free(tmp);
    return ok ? 0 : -1;
}

/* ---- completeness (offline) -----------------------------------------------------------------------------
 */

static int dangling_links;

static int check_link(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    struct stat st;
    if (type == FTW_SL && stat(path, &st) != 0) dangling_links++;
    return 0;
}

static int is_regular(const char *dir, const char *rel)
{
    char path[4096];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* A Whisper release (config.json's model_type "whisper") has no speech tokenizer; it needs its tokenizer and
 * generation files instead. */
static int is_whisper(const char *dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/config.json", dir);
    json_t *root = json_load_file(path, 0, NULL);
    const char *mt = json_string_value(json_object_get(root, "model_type"));
    int yes = mt && !strcmp(mt, "whisper");
    json_decref(root);
    return yes;
}

static pthread_mutex_t nftw_mutex = PTHREAD_MUTEX_INITIALIZER; /* nftw callbacks have no user pointer */

int studio_hub_snapshot_named(const char *cache_dir, const char *repo_id, char *snapshot, size_t size)
{
    char *repo_dir = qt_hub_repo_dir(cache_dir, repo_id), *ref = NULL, *ref_path = NULL;
    int found = 0;
    if (repo_dir && asprintf(&ref_path, "%s/refs/main", repo_dir) >= 0) {
        ref = read_small_file(ref_path);
        struct stat st;
        char path[4096];
        snprintf(path, sizeof path, "%s/snapshots/%s", repo_dir, ref ? ref : "");
        found = ref && safe_token(ref, 128) && stat(path, &st) == 0 && S_ISDIR(st.st_mode);
        if (found) snprintf(snapshot, size, "%s", path);
    } else {
        ref_path = NULL;
    }
    free(repo_dir);
    free(ref_path);
    free(ref);
    return found;
}

int studio_hub_snapshot_complete(const char *cache_dir, const char *repo_id, char *snapshot, size_t size)
{
    char *repo_dir = qt_hub_repo_dir(cache_dir, repo_id), *ref = NULL, *ref_path = NULL, *snap = NULL;
    int complete = 0;
    if (!repo_dir || asprintf(&ref_path, "%s/refs/main", repo_dir) < 0) {
        ref_path = NULL;
        goto done;
    }
    ref = read_small_file(ref_path);
    if (!ref || !safe_token(ref, 128) || asprintf(&snap, "%s/snapshots/%s", repo_dir, ref) < 0) {
        snap = NULL;
        goto done;
    }
    if (!is_regular(snap, "config.json") ||
        !(is_regular(snap, "model.safetensors") || is_regular(snap, "model.safetensors.index.json")))
        goto done;
    if (is_whisper(snap) ? !is_regular(snap, "generation_config.json") ||
                               !(is_regular(snap, "tokenizer.json") || is_regular(snap, "vocab.json"))
                         : !is_regular(snap, "speech_tokenizer/config.json") ||
                               !is_regular(snap, "speech_tokenizer/model.safetensors"))
        goto done;
    pthread_mutex_lock(&nftw_mutex);
    dangling_links = 0;
    int rc = nftw(snap, check_link, 16, FTW_PHYS);
    int dangling = dangling_links;
    pthread_mutex_unlock(&nftw_mutex);
    if (rc != 0 || dangling) goto done;
    complete = 1;
    if (snapshot) snprintf(snapshot, size, "%s", snap);
done:
    free(repo_dir);
    free(ref_path);
    free(ref);
    free(snap);
    return complete;
}

static uint64_t usage_bytes;

static int add_usage(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)path;
    (void)ftw;
    if (type == FTW_F && S_ISREG(sb->st_mode)) usage_bytes += (uint64_t)sb->st_size;
    return 0;
}

uint64_t studio_hub_disk_usage(const char *cache_dir, const char *repo_id)
{
    char *repo_dir = qt_hub_repo_dir(cache_dir, repo_id), *blobs = NULL;
    if (!repo_dir || asprintf(&blobs, "%s/blobs", repo_dir) < 0) {
        free(repo_dir);
        return 0;
    }
    pthread_mutex_lock(&nftw_mutex);
    usage_bytes = 0;
    nftw(blobs, add_usage, 16, FTW_PHYS);
    uint64_t total = usage_bytes;
    pthread_mutex_unlock(&nftw_mutex);
    free(blobs);
    free(repo_dir);
    return total;
}

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)type;
    (void)ftw;
    return remove(path) != 0 && errno != ENOENT ? -1 : 0;
}

static int remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0) return errno == ENOENT ? 0 : -1;
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* ---- the per-repo lock -------------------------------------------------------------------------------- */

/* Returns the locked fd, -1 on error, -2 when another holder has it. */
static int lock_repo(const char *cache_dir, const char *repo_id)
{
    char *dir = qt_hub_repo_dir(cache_dir, repo_id), *path = NULL;
    int fd = -1;
    if (!dir) return -1;
    const char *base = strrchr(dir, '/') + 1;
    if (asprintf(&path, "%s/.locks/%s/voicebox.lock", cache_dir, base) < 0) {
        path = NULL;
        goto done;
    }
    if (mkdirs(path, 0) != 0) goto done;
    fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int busy = errno == EWOULDBLOCK;
        close(fd);
        fd = busy ? -2 : -1;
    }
done:
    free(dir);
    free(path);
    return fd;
}

static void unlock_repo(int fd)
{
    if (fd >= 0) {
        flock(fd, LOCK_UN);
        close(fd);
    }
}

int studio_hub_busy(const char *cache_dir, const char *repo_id)
{
    char *dir = qt_hub_repo_dir(cache_dir, repo_id), *path = NULL;
    int busy = 0;
    if (dir && asprintf(&path, "%s/.locks/%s/voicebox.lock", cache_dir, strrchr(dir, '/') + 1) >= 0) {
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd >= 0) {
            busy = flock(fd, LOCK_EX | LOCK_NB) != 0 && errno == EWOULDBLOCK;
            close(fd); /* also drops the lock if we got it */
        }
        free(path);
    }
    free(dir);
    return busy;
}

int studio_hub_remove(const char *cache_dir, const char *repo_id, studio_error *err)
{
    char *dir = qt_hub_repo_dir(cache_dir, repo_id), *locks = NULL;
    int rc = -1, lock = -1;
    struct stat st;
    if (!dir) {
        fail(err, STUDIO_INVALID, "%s: not a Hub repo id", repo_id ? repo_id : "(null)");
        goto done;
    }
    if (lstat(dir, &st) != 0) {
        fail(err, STUDIO_NOT_FOUND, "%s: not in the Hugging Face cache %s", repo_id, cache_dir);
        goto done;
    }
    lock = lock_repo(cache_dir, repo_id);
    if (lock == -2) {
        fail(err, STUDIO_CONFLICT, "%s: a download is in progress; try again when it ends", repo_id);
        goto done;
    }
    if (remove_tree(dir) != 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot remove %s (%s)", repo_id, dir, strerror(errno));
        goto done;
    }
    if (asprintf(&locks, "%s/.locks/%s", cache_dir, strrchr(dir, '/') + 1) >= 0)
        remove_tree(locks);
    else
        locks = NULL;
    rc = 0;
done:
    unlock_repo(lock);
    free(dir);
    free(locks);
    return rc;
}

/* ---- HTTP ------------------------------------------------------------------------------------------------
 */

typedef struct {
    long status;
    char commit[64];
    char etag[160];
    char linked_etag[160];
    char location[2048];
    char error_code[64];
    int64_t linked_size, content_length;
    int64_t range_start; /* from Content-Range, -1 if none */
} http_meta;

static void meta_reset(http_meta *m)
{
    memset(m, 0, sizeof *m);
    m->linked_size = m->content_length = m->range_start = -1;
}

/* "W/\"abc\"" -> "abc" */
static void copy_etag(char *dst, size_t size, const char *v)
{
    if (!strncmp(v, "W/", 2)) v += 2;
    while (*v == '"')
        v++;
    snprintf(dst, size, "%s", v);
    char *q = strchr(dst, '"');
    if (q) *q = '\0';
}

static size_t on_header(char *buf, size_t size, size_t n, void *user)
{
    http_meta *m = user;
    size_t len = size * n;
    char line[2300];
    if (len >= sizeof line) return len;
    memcpy(line, buf, len);
    line[len] = '\0';
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        line[--len] = '\0';
    if (!strncmp(line, "HTTP/", 5)) { /* a new response (after a redirect): forget the old headers */
        meta_reset(m);
        return size * n;
    }
    char *colon = strchr(line, ':');
    if (!colon) return size * n;
    *colon = '\0';
    char *v = colon + 1;
    while (*v == ' ' || *v == '\t')
        v++;
    if (!strcasecmp(line, "X-Repo-Commit"))
        snprintf(m->commit, sizeof m->commit, "%s", v);
    else if (!strcasecmp(line, "ETag"))
        copy_etag(m->etag, sizeof m->etag, v);
    else if (!strcasecmp(line, "X-Linked-Etag"))
        copy_etag(m->linked_etag, sizeof m->linked_etag, v);
    else if (!strcasecmp(line, "X-Linked-Size"))
        m->linked_size = strtoll(v, NULL, 10);
    else if (!strcasecmp(line, "Content-Length"))
        m->content_length = strtoll(v, NULL, 10);
    else if (!strcasecmp(line, "Location"))
        snprintf(m->location, sizeof m->location, "%s", v);
    else if (!strcasecmp(line, "X-Error-Code"))
        snprintf(m->error_code, sizeof m->error_code, "%s", v);
    else if (!strcasecmp(line, "Content-Range") && !strncmp(v, "bytes ", 6) && isdigit((unsigned char)v[6]))
        m->range_start = strtoll(v + 6, NULL, 10);
    return size * n;
}

typedef struct {
    CURL *curl;
    struct curl_slist *headers;
    const studio_hub_params *p;
    const char *repo_id;
    char errbuf[CURL_ERROR_SIZE];
} session;

static int on_xfer(void *user, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    const session *s = user;
    return s->p->cancel && atomic_load(s->p->cancel) ? 1 : 0;
}

static void setup(session *s, const char *url, http_meta *m)
{
    curl_easy_reset(s->curl);
    meta_reset(m);
    s->errbuf[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_URL, url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "voicebox/" VOICEBOX_VERSION);
    curl_easy_setopt(s->curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(s->curl, CURLOPT_HEADERDATA, m);
    curl_easy_setopt(s->curl, CURLOPT_ERRORBUFFER, s->errbuf);
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT, 20L);
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_LIMIT, 1L); /* a stalled transfer fails after a minute */
    curl_easy_setopt(s->curl, CURLOPT_LOW_SPEED_TIME, 60L);
    curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, on_xfer);
    curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(s->curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(s->curl, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
}

static const char *curl_reason(const session *s, CURLcode rc)
{
    return s->errbuf[0] ? s->errbuf : curl_easy_strerror(rc);
}

static int cancelled(const session *s)
{
    return s->p->cancel && atomic_load(s->p->cancel);
}

/* Maps a Hub error answer to an error. */
static int http_fail(session *s, const http_meta *m, const char *what, studio_error *err)
{
    if (!strcmp(m->error_code, "RepoNotFound") || (m->status == 401 && !m->error_code[0]))
        return fail(err, STUDIO_NOT_FOUND, "%s: the Hub at %s has no such repository (HTTP %ld)", s->repo_id,
                    s->p->endpoint, m->status);
    if (!strcmp(m->error_code, "RevisionNotFound") || !strcmp(m->error_code, "EntryNotFound"))
        return fail(err, STUDIO_NOT_FOUND, "%s: %s not found on the Hub (%s)", s->repo_id, what,
                    m->error_code);
    return fail(err, STUDIO_INTERNAL, "%s: %s: the Hub answered HTTP %ld", s->repo_id, what, m->status);
}

typedef struct {
    char *data;
    size_t len;
} membuf;

static size_t on_body_mem(char *buf, size_t size, size_t n, void *user)
{
    membuf *b = user;
    size_t len = size * n;
    if (b->len + len > API_MAX_BYTES) return 0;
    char *grown = realloc(b->data, b->len + len + 1);
    if (!grown) return 0;
    memcpy(grown + b->len, buf, len);
    b->data = grown;
    b->len += len;
    b->data[b->len] = '\0';
    return len;
}

/* ---- the file list ------------------------------------------------------------------------------------- */

typedef struct {
    char *path;     /* as listed by the Hub */
    char etag[160]; /* blob name */
    char url[2048]; /* where to GET it (the LFS redirect target, or the resolve URL) */
    uint64_t size;
} repo_file;

static void free_files(repo_file *files, size_t n)
{
    for (size_t i = 0; files && i < n; i++)
        free(files[i].path);
    free(files);
}

static int fetch_file_list(session *s, char commit[64], repo_file **out, size_t *n_out, studio_error *err)
{
    char *url = NULL;
    membuf body = {0};
    json_t *root = NULL;
    repo_file *files = NULL;
    size_t n = 0;
    http_meta m;

    if (asprintf(&url, "%s/api/models/%s/revision/main", s->p->endpoint, s->repo_id) < 0) {
        url = NULL;
        fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
        goto fail;
    }
    setup(s, url, &m);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body_mem);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 1L);
    CURLcode rc = curl_easy_perform(s->curl);
    if (rc != CURLE_OK) {
        fail(err, STUDIO_INTERNAL, "%s: cannot reach the Hub at %s (%s)", s->repo_id, s->p->endpoint,
             curl_reason(s, rc));
        goto fail;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &m.status);
    if (m.status != 200) {
        http_fail(s, &m, "the file list", err);
        goto fail;
    }
    json_error_t jerr;
    root = json_loadb(body.data ? body.data : "", body.len, 0, &jerr);
    const char *sha = json_string_value(json_object_get(root, "sha"));
    json_t *siblings = json_object_get(root, "siblings");
    if (!sha || !is_hex(sha, 40) || !json_is_array(siblings)) {
        fail(err, STUDIO_INTERNAL,
             "%s: the Hub's file list is not what was expected (no 'sha' or 'siblings')", s->repo_id);
        goto fail;
    }
    snprintf(commit, 64, "%s", sha);
    files = calloc(json_array_size(siblings) + 1, sizeof *files);
    if (!files) {
        fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
        goto fail;
    }
    size_t i;
    json_t *sib;
    json_array_foreach(siblings, i, sib)
    {
        const char *name = json_string_value(json_object_get(sib, "rfilename"));
        if (!name || !safe_repo_path(name)) {
            fail(err, STUDIO_INTERNAL, "%s: the Hub listed an unsafe file name '%s'", s->repo_id,
                 name ? name : "(none)");
            goto fail;
        }
        files[n].path = strdup(name);
        if (!files[n++].path) {
            fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
            goto fail;
        }
    }
    *out = files;
    *n_out = n;
    json_decref(root);
    free(body.data);
    free(url);
    return 0;
fail:
    free_files(files, n);
    json_decref(root);
    free(body.data);
    free(url);
    return -1;
}

/* HEAD on the resolve URL: etag, size and where to download from (huggingface_hub's get_hf_file_metadata). */
static int fetch_file_meta(session *s, const char *commit, repo_file *f, studio_error *err)
{
    char *url = NULL, *esc_path = NULL;
    size_t cap = strlen(f->path) * 3 + 1, len = 0;
    http_meta m;
    int ret = -1;

    esc_path = malloc(cap);
    if (!esc_path) {
        fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
        goto done;
    }
    for (const char *c = f->path; *c; c++) { /* percent-encode each segment, keep the slashes */
        if (isalnum((unsigned char)*c) || strchr("/-_.~", *c))
            esc_path[len++] = *c;
        else
            len += (size_t)sprintf(esc_path + len, "%%%02X", (unsigned char)*c);
    }
    esc_path[len] = '\0';
    if (asprintf(&url, "%s/%s/resolve/%s/%s", s->p->endpoint, s->repo_id, commit, esc_path) < 0) {
        url = NULL;
        fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
        goto done;
    }
    for (int hop = 0;; hop++) {
        setup(s, url, &m);
        curl_easy_setopt(s->curl, CURLOPT_NOBODY, 1L);
        CURLcode rc = curl_easy_perform(s->curl);
        if (rc != CURLE_OK) {
            fail(err, STUDIO_INTERNAL, "%s: %s: cannot reach the Hub (%s)", s->repo_id, f->path,
                 curl_reason(s, rc));
            goto done;
        }
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &m.status);
        /* follow relative redirects (renamed repos) only; an absolute one is the LFS CDN to GET from */
        if (m.status >= 300 && m.status < 400 && m.location[0] == '/' && hop < 5) {
            char *next = NULL;
            curl_easy_getinfo(s->curl, CURLINFO_REDIRECT_URL, &next);
            if (!next) break;
            free(url);
            url = strdup(next);
            if (!url) {
                fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
                goto done;
            }
            continue;
        }
        break;
    }
    if (m.status >= 400 || m.status < 200) {
        http_fail(s, &m, f->path, err);
        goto done;
    }
    const char *etag = m.linked_etag[0] ? m.linked_etag : m.etag;
    int64_t size = m.linked_size >= 0 ? m.linked_size : m.content_length;
    if (!safe_token(etag, sizeof f->etag - 16) || size < 0) {
        fail(err, STUDIO_INTERNAL, "%s: %s: the Hub sent no usable ETag or size", s->repo_id, f->path);
        goto done;
    }
    if (m.commit[0] && strcmp(m.commit, commit)) {
        fail(err, STUDIO_INTERNAL, "%s: %s: the Hub answered for commit %s, not %s", s->repo_id, f->path,
             m.commit, commit);
        goto done;
    }
    snprintf(f->etag, sizeof f->etag, "%s", etag);
    f->size = (uint64_t)size;
    snprintf(f->url, sizeof f->url, "%s", m.status >= 300 && m.location[0] ? m.location : url);
    ret = 0;
done:
    free(esc_path);
    free(url);
    return ret;
}

/* ---- one blob ------------------------------------------------------------------------------------------ */

typedef struct {
    session *s;
    repo_file *f;
    int fd;
    uint64_t have;  /* bytes in the .incomplete file */
    uint64_t base;  /* bytes of the repo done before this file */
    uint64_t total; /* bytes of the whole repo */
    uint64_t last_report;
    int checked;     /* the response status was looked at */
    long bad_status; /* an HTTP error answer, not written to the file */
    int bad_range;   /* a 206 that did not start where the file ends */
    int io_errno;
    http_meta *m;
} blob_dl;

static void report(const session *s, uint64_t current, uint64_t total, const char *filename)
{
    if (s->p->progress) s->p->progress(s->p->user, current, total, filename);
}

static size_t on_body_file(char *buf, size_t size, size_t n, void *user)
{
    blob_dl *d = user;
    size_t len = size * n;
    if (!d->checked) {
        long status = 0;
        curl_easy_getinfo(d->s->curl, CURLINFO_RESPONSE_CODE, &status);
        d->checked = 1;
        if (status == 200 && d->have > 0) { /* the server ignored our Range: start over */
            if (ftruncate(d->fd, 0) != 0 || lseek(d->fd, 0, SEEK_SET) != 0) {
                d->io_errno = errno;
                return 0;
            }
            d->have = 0;
        } else if (status == 206 && d->m->range_start != (int64_t)d->have) {
            d->bad_range = 1;
            return 0;
        } else if (status != 200 && status != 206) {
            d->bad_status = status;
            return 0;
        }
    }
    if (d->have + len > d->f->size) { /* more than the Hub announced: refuse rather than fill the disk */
        d->bad_range = 1;
        return 0;
    }
    for (size_t off = 0; off < len;) {
        ssize_t w = write(d->fd, buf + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            d->io_errno = errno ? errno : EIO;
            return 0;
        }
        off += (size_t)w;
    }
    d->have += len;
    if (d->have - d->last_report >= (256u << 10) || d->have == d->f->size) {
        d->last_report = d->have;
        report(d->s, d->base + d->have, d->total, d->f->path);
    }
    return len;
}

static int hash_file(const char *path, const char *etag, uint64_t size, char *got, size_t got_size)
{
    int sha256 = is_hex(etag, 64), gitsha1 = is_hex(etag, 40);
    if (!sha256 && !gitsha1) return 1; /* an etag that is not a digest: only the size can be checked */
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestInit_ex(ctx, sha256 ? EVP_sha256() : EVP_sha1(), NULL);
    if (ok && gitsha1) { /* git's blob id: sha1("blob <size>\0" <content>) */
        char hdr[40];
        int hl = snprintf(hdr, sizeof hdr, "blob %llu", (unsigned long long)size);
        ok = EVP_DigestUpdate(ctx, hdr, (size_t)hl + 1);
    }
    size_t buf_size = 1 << 20;
    unsigned char *buf = malloc(buf_size);
    ok = ok && buf;
    ssize_t r;
    while (ok && (r = read(fd, buf, buf_size)) != 0) {
        if (r < 0) {
            if (errno == EINTR) continue;
            ok = 0;
            break;
        }
        ok = EVP_DigestUpdate(ctx, buf, (size_t)r);
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned md_len = 0;
    ok = ok && EVP_DigestFinal_ex(ctx, md, &md_len);
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    if (!ok) return -1;
    for (unsigned i = 0; i < md_len && 2 * i + 2 < got_size; i++)
        sprintf(got + 2 * i, "%02x", md[i]);
    return strcasecmp(got, etag) == 0 ? 0 : 2;
}

static int transient(CURLcode rc)
{
    return rc == CURLE_PARTIAL_FILE || rc == CURLE_RECV_ERROR || rc == CURLE_SEND_ERROR ||
           rc == CURLE_GOT_NOTHING || rc == CURLE_OPERATION_TIMEDOUT || rc == CURLE_COULDNT_CONNECT ||
           rc == CURLE_HTTP2 || rc == CURLE_HTTP2_STREAM;
}

/* One try at a blob. *resumed: the .incomplete file had bytes when it started; *mismatch: the checksum
 * failed (the partial file is then gone). */
/* How one request for a blob's bytes ended. err holds the reason for every outcome but XFER_DONE, so the
 * caller that gives up on a XFER_RETRY or XFER_RESTART reports why. */
typedef enum {
    XFER_DONE,    /* the partial file holds all the blob's bytes */
    XFER_RETRY,   /* the transfer broke off (a transient fault): ask again from where the file ends */
    XFER_RESTART, /* the server disagrees with our partial file (416, a range that does not fit): from byte 0
                   */
    XFER_FAILED,  /* no point in asking again */
} xfer_outcome;

/* One GET of the blob from byte d->have on, appended to the partial file. */
static xfer_outcome transfer(blob_dl *d, const char *part, studio_error *err)
{
    session *s = d->s;
    repo_file *f = d->f;
    if (lseek(d->fd, (off_t)d->have, SEEK_SET) < 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot seek in %s (%s)", s->repo_id, part, strerror(errno));
        return XFER_FAILED;
    }
    if (d->have > 0)
        log_info("%s: %s: resuming at byte %llu of %llu", s->repo_id, f->path, (unsigned long long)d->have,
                 (unsigned long long)f->size);
    char range[64];
    snprintf(range, sizeof range, "%llu-", (unsigned long long)d->have);
    setup(s, f->url, d->m);
    curl_easy_setopt(s->curl, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_body_file);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, d);
    if (d->have > 0) curl_easy_setopt(s->curl, CURLOPT_RANGE, range);
    d->checked = 0;
    d->bad_status = 0;
    d->bad_range = 0;
    d->io_errno = 0;
    CURLcode rc = curl_easy_perform(s->curl);
    if (cancelled(s)) {
        fail(err, STUDIO_INTERNAL, "%s: download cancelled", s->repo_id);
        return XFER_FAILED;
    }
    if (d->io_errno) {
        fail(err, STUDIO_INTERNAL, "%s: cannot write %s (%s)", s->repo_id, part, strerror(d->io_errno));
        return XFER_FAILED;
    }
    if (d->bad_status || d->bad_range) {
        long status = d->bad_status;
        if (!status) curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        d->m->status = status;
        http_fail(s, d->m, f->path, err);
        return status == 416 || d->bad_range ? XFER_RESTART : XFER_FAILED;
    }
    if (rc == CURLE_OK && !d->checked) { /* an empty body: fine only for an empty file */
        long status = 0;
        curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status != 200 && status != 206) {
            d->m->status = status;
            http_fail(s, d->m, f->path, err);
            return status == 416 ? XFER_RESTART : XFER_FAILED; /* a 416 usually comes without a body */
        }
        if (d->have < f->size && f->size > 0) {
            fail(err, STUDIO_INTERNAL, "%s: %s: the Hub sent no data", s->repo_id, f->path);
            return XFER_FAILED;
        }
    }
    if (rc == CURLE_OK && d->have == f->size) return XFER_DONE;
    fail(err, STUDIO_INTERNAL, "%s: %s: download failed at byte %llu of %llu (%s)", s->repo_id, f->path,
         (unsigned long long)d->have, (unsigned long long)f->size,
         rc != CURLE_OK ? curl_reason(s, rc) : "connection closed early");
    return rc != CURLE_OK && !transient(rc) ? XFER_FAILED : XFER_RETRY;
}

/* Empties the partial file, to fetch the blob from its first byte. */
static int restart_partial(blob_dl *d, const char *part, studio_error *err)
{
    if (ftruncate(d->fd, 0) != 0)
        return fail(err, STUDIO_INTERNAL, "%s: cannot truncate %s (%s)", d->s->repo_id, part,
                    strerror(errno));
    d->have = 0;
    return 0;
}

/* The partial file holds every byte: flush and close it (fd is closed whatever happens), check its digest
 * and rename it into place as the blob. *mismatch is set when the digest is wrong (the file is removed). */
static int finish_partial(session *s, const repo_file *f, int fd, const char *part, const char *blob,
                          int *mismatch, studio_error *err)
{
    int sync_errno = fsync(fd) == 0 ? 0 : errno;
    int close_errno = close(fd) == 0 ? 0 : errno;
    if (sync_errno || close_errno)
        return fail(err, STUDIO_INTERNAL, "%s: cannot flush %s (%s)", s->repo_id, part,
                    strerror(sync_errno ? sync_errno : close_errno));
    char got[2 * EVP_MAX_MD_SIZE + 1] = "";
    int h = hash_file(part, f->etag, f->size, got, sizeof got);
    if (h < 0)
        return fail(err, STUDIO_INTERNAL, "%s: cannot read back %s (%s)", s->repo_id, part, strerror(errno));
    if (h == 2) {
        *mismatch = 1;
        unlink(part); /* a corrupt copy is useless for resuming as well */
        return fail(err, STUDIO_INTERNAL, "%s: %s: checksum mismatch, expected %s, got %s", s->repo_id,
                    f->path, f->etag, got);
    }
    if (rename(part, blob) != 0)
        return fail(err, STUDIO_INTERNAL, "%s: cannot rename %s into place (%s)", s->repo_id, part,
                    strerror(errno));
    return 0;
}

/* Fetches blobs/<etag> through blobs/<etag>.incomplete, resuming what is there. *resumed tells whether a
 * partial file was found, *mismatch whether the result failed its digest. */
static int fetch_blob_once(session *s, const char *repo_dir, repo_file *f, uint64_t base, uint64_t total,
                           int *resumed, int *mismatch, studio_error *err)
{
    char *blob = NULL, *part = NULL;
    int fd = -1, ret = -1;
    struct stat st;
    http_meta m;

    if (asprintf(&blob, "%s/blobs/%s", repo_dir, f->etag) < 0 || asprintf(&part, "%s.incomplete", blob) < 0) {
        fail(err, STUDIO_INTERNAL, "%s: out of memory", s->repo_id);
        goto done;
    }
    if (stat(blob, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size == f->size) {
        char got[2 * EVP_MAX_MD_SIZE + 1] = "";
        if (!s->p->repair || hash_file(blob, f->etag, f->size, got, sizeof got) != 2) {
            ret = 0; /* already there (shared with another file or an earlier run) */
            goto done;
        }
        log_warn("%s: %s does not match its checksum (got %s, expected %s); fetching it again", s->repo_id,
                 f->path, got, f->etag);
        unlink(blob);
    }
    if (mkdirs(blob, 0) != 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot create %s/blobs (%s)", s->repo_id, repo_dir, strerror(errno));
        goto done;
    }
    fd = open(part, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0 || fstat(fd, &st) != 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot open %s (%s)", s->repo_id, part, strerror(errno));
        goto done;
    }
    blob_dl d = {
        .s = s, .f = f, .fd = fd, .have = (uint64_t)st.st_size, .base = base, .total = total, .m = &m};
    *resumed = d.have > 0;
    if (d.have > f->size && restart_partial(&d, part, err) != 0) goto done;
    for (int attempt = 1; d.have < f->size; attempt++) {
        xfer_outcome o = transfer(&d, part, err);
        if (o == XFER_FAILED) goto done;
        if (o == XFER_RESTART && restart_partial(&d, part, err) != 0) goto done;
        if (o != XFER_DONE && attempt >= MAX_ATTEMPTS) goto done; /* err says why the last one failed */
        if (o == XFER_RETRY) {
            log_warn("%s; retrying", err->msg);
            struct timespec pause = {0, 200000000L * attempt};
            nanosleep(&pause, NULL);
        }
    }
    ret = finish_partial(s, f, fd, part, blob, mismatch, err);
    fd = -1; /* finish_partial closed it */
done:
    if (fd >= 0) close(fd);
    free(blob);
    free(part);
    return ret;
}

/* A partial file left by someone else may be wrong; then the blob is fetched once more from byte 0. */
static int fetch_blob(session *s, const char *repo_dir, repo_file *f, uint64_t base, uint64_t total,
                      studio_error *err)
{
    int resumed = 0, mismatch = 0;
    if (fetch_blob_once(s, repo_dir, f, base, total, &resumed, &mismatch, err) == 0) return 0;
    if (!resumed || !mismatch || cancelled(s)) return -1;
    log_warn("%s; the partial file it resumed was bad, downloading it again from the start", err->msg);
    return fetch_blob_once(s, repo_dir, f, base, total, &resumed, &mismatch, err);
}

/* snapshots/<commit>/<path> -> ../../blobs/<etag>, with one more ../ per folder in path. */
static int link_snapshot(const char *repo_dir, const char *commit, const repo_file *f, studio_error *err,
                         const char *repo_id)
{
    char *link = NULL, *target = NULL;
    int ret = -1;
    size_t depth = 2;
    for (const char *c = f->path; *c; c++)
        depth += *c == '/';
    size_t tlen = depth * 3 + strlen("blobs/") + strlen(f->etag) + 1;
    target = malloc(tlen);
    if (!target || asprintf(&link, "%s/snapshots/%s/%s", repo_dir, commit, f->path) < 0) {
        link = NULL;
        fail(err, STUDIO_INTERNAL, "%s: out of memory", repo_id);
        goto done;
    }
    target[0] = '\0';
    for (size_t i = 0; i < depth; i++)
        strcat(target, "../");
    strcat(target, "blobs/");
    strcat(target, f->etag);
    char current[1024];
    ssize_t n = readlink(link, current, sizeof current - 1);
    if (n >= 0) {
        current[n] = '\0';
        if (!strcmp(current, target)) {
            ret = 0;
            goto done;
        }
    }
    if (mkdirs(link, 0) != 0 || (unlink(link) != 0 && errno != ENOENT) || symlink(target, link) != 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot link %s (%s)", repo_id, link, strerror(errno));
        goto done;
    }
    ret = 0;
done:
    free(link);
    free(target);
    return ret;
}

/* ---- the whole repo ------------------------------------------------------------------------------------ */

int studio_hub_download(const char *repo_id, const studio_hub_params *params, char *snapshot, size_t size,
                        studio_error *err)
{
    studio_hub_params p = params ? *params : studio_hub_default_params();
    char *cache = NULL, *endpoint = NULL, *repo_dir = NULL, *ref = NULL;
    repo_file *files = NULL;
    size_t n_files = 0;
    session s = {.p = &p, .repo_id = repo_id};
    int lock = -1, ret = -1;
    studio_error local_err;
    if (!err) err = &local_err;

    cache = p.cache_dir ? strdup(p.cache_dir) : qt_hub_cache_dir();
    const char *ep = p.endpoint ? p.endpoint : getenv("HF_ENDPOINT");
    endpoint = strdup(ep && *ep ? ep : DEFAULT_ENDPOINT);
    if (!cache || !endpoint) {
        fail(err, STUDIO_INTERNAL, "%s: out of memory", repo_id);
        goto done;
    }
    for (size_t l = strlen(endpoint); l > 0 && endpoint[l - 1] == '/'; l--)
        endpoint[l - 1] = '\0';
    p.cache_dir = cache;
    p.endpoint = endpoint;
    repo_dir = qt_hub_repo_dir(cache, repo_id);
    if (!repo_dir) {
        fail(err, STUDIO_INVALID, "%s: not a Hub repo id (expected org/name)", repo_id ? repo_id : "(null)");
        goto done;
    }
    if (!p.repair && studio_hub_snapshot_complete(cache, repo_id, snapshot, size)) {
        ret = 0; /* fully offline once downloaded */
        goto done;
    }
    const char *offline = getenv("HF_HUB_OFFLINE");
    if (offline && *offline && strcmp(offline, "0")) {
        fail(err, STUDIO_NOT_FOUND, "%s: not in the Hugging Face cache %s and HF_HUB_OFFLINE is set", repo_id,
             cache);
        goto done;
    }
    lock = lock_repo(cache, repo_id);
    if (lock == -2) {
        fail(err, STUDIO_CONFLICT, "%s: another download of this model is already running", repo_id);
        goto done;
    }
    if (lock < 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot create the lock file under %s/.locks (%s)", repo_id, cache,
             strerror(errno));
        goto done;
    }
    if (!p.repair && studio_hub_snapshot_complete(cache, repo_id, snapshot, size)) { /* done meanwhile */
        ret = 0;
        goto done;
    }
    pthread_once(&curl_once, curl_init_once);
    s.curl = curl_easy_init();
    if (!s.curl) {
        fail(err, STUDIO_INTERNAL, "%s: libcurl failed to start", repo_id);
        goto done;
    }
    const char *token = getenv("HF_TOKEN");
    if (token && *token) {
        char *auth = NULL;
        if (asprintf(&auth, "Authorization: Bearer %s", token) >= 0) {
            s.headers = curl_slist_append(s.headers, auth);
            free(auth);
        }
    }
    char commit[64];
    if (fetch_file_list(&s, commit, &files, &n_files, err) != 0) goto done;
    log_info("%s: commit %s, %zu files, from %s", repo_id, commit, n_files, endpoint);
    uint64_t total = 0, done_bytes = 0;
    for (size_t i = 0; i < n_files; i++) {
        if (cancelled(&s)) {
            fail(err, STUDIO_INTERNAL, "%s: download cancelled", repo_id);
            goto done;
        }
        if (fetch_file_meta(&s, commit, &files[i], err) != 0) goto done;
        total += files[i].size;
    }
    report(&s, 0, total, "");
    for (size_t i = 0; i < n_files; i++) {
        if (fetch_blob(&s, repo_dir, &files[i], done_bytes, total, err) != 0 ||
            link_snapshot(repo_dir, commit, &files[i], err, repo_id) != 0)
            goto done;
        done_bytes += files[i].size;
        report(&s, done_bytes, total, files[i].path);
    }
    if (asprintf(&ref, "%s/refs/main", repo_dir) < 0 || mkdirs(ref, 0) != 0 ||
        write_atomic(ref, commit) != 0) {
        fail(err, STUDIO_INTERNAL, "%s: cannot write %s/refs/main (%s)", repo_id, repo_dir, strerror(errno));
        goto done;
    }
    if (!studio_hub_snapshot_complete(cache, repo_id, snapshot, size)) {
        fail(err, STUDIO_INVALID,
             "%s: downloaded commit %s, but it is not a Qwen3-TTS or Whisper release (config.json, "
             "model.safetensors or "
             "speech_tokenizer/ missing)",
             repo_id, commit);
        goto done;
    }
    log_info("%s: downloaded %llu bytes into %s", repo_id, (unsigned long long)total, repo_dir);
    ret = 0;
done:
    if (s.curl) curl_easy_cleanup(s.curl);
    curl_slist_free_all(s.headers);
    unlock_repo(lock);
    free_files(files, n_files);
    free(cache);
    free(endpoint);
    free(repo_dir);
    free(ref);
    return ret;
}
