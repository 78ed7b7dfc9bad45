/* models.c — see models.h. The models themselves are rules.h's table; the only mutable state is a
 * studio_models context (per-model progress, the background thread, its cancel flag) behind one mutex and
 * condvar.
 * The downloading itself is hub_download.c's.
 */
#include "studio/models.h"
#include "engine/qt.h"
#include "studio/hub_download.h"
#include "studio/log.h"
#include "studio/studio_internal.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

const char *studio_dl_status_name(studio_dl_status s)
{
    switch (s) {
    case STUDIO_DL_DOWNLOADING:
        return "downloading";
    case STUDIO_DL_COMPLETE:
        return "complete";
    case STUDIO_DL_ERROR:
        return "error";
    default:
        return "idle";
    }
}

/* studio_fail with no field: these errors are about a model or a download, not a request field. */
#define fail(err, kind, ...) studio_fail(err, kind, NULL, __VA_ARGS__)

#define N_MODELS STUDIO_N_MODELS

/* m's row in rules.h's table; N_MODELS when m is not one of its rows. */
static size_t index_of(const studio_model *m)
{
    size_t i = 0;
    while (i < N_MODELS && studio_model_at(i) != m)
        i++;
    return i;
}

static int known(const studio_model *m)
{
    return m && index_of(m) < N_MODELS;
}

/* ---- the context ----------------------------------------------------------------------------------------
 */

typedef struct {
    studio_model_progress prog;
    int running;     /* a download (any thread of this process) is on */
    int thread_live; /* thread below was created and not yet joined */
    pthread_t thread;
    atomic_int cancel;
} model_slot;

struct studio_models {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    model_slot slot[N_MODELS];
};

studio_models *studio_models_new(void)
{
    studio_models *ms = calloc(1, sizeof *ms);
    if (!ms) return NULL;
    pthread_mutex_init(&ms->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ms->changed, &ca);
    pthread_condattr_destroy(&ca);
    return ms;
}

void studio_models_free(studio_models *ms)
{
    if (!ms) return;
    for (size_t i = 0; i < N_MODELS; i++) {
        pthread_mutex_lock(&ms->mu);
        int live = ms->slot[i].thread_live;
        pthread_t t = ms->slot[i].thread;
        if (live && ms->slot[i].running) atomic_store(&ms->slot[i].cancel, 1);
        ms->slot[i].thread_live = 0;
        pthread_mutex_unlock(&ms->mu);
        if (live) pthread_join(t, NULL);
    }
    pthread_cond_destroy(&ms->changed);
    pthread_mutex_destroy(&ms->mu);
    free(ms);
}

/* Updates a slot's progress (under the mutex) and wakes the waiters. A final state (complete, error) also
 * ends the slot's "running" in the same step, so a waiter that sees it can start the next download. */
static void set_progress(studio_models *ms, size_t i, studio_dl_status st, uint64_t current, uint64_t total,
                         const char *filename, const char *error)
{
    if (!ms) return;
    pthread_mutex_lock(&ms->mu);
    studio_model_progress *p = &ms->slot[i].prog;
    p->status = st;
    p->current = current;
    p->total = total;
    snprintf(p->filename, sizeof p->filename, "%s", filename ? filename : "");
    snprintf(p->error, sizeof p->error, "%s", error ? error : "");
    p->seq++;
    if (st == STUDIO_DL_COMPLETE || st == STUDIO_DL_ERROR) ms->slot[i].running = 0;
    pthread_cond_broadcast(&ms->changed);
    pthread_mutex_unlock(&ms->mu);
}

void studio_models_progress(studio_models *ms, const studio_model *m, studio_model_progress *out)
{
    memset(out, 0, sizeof *out);
    if (!ms || !known(m)) return;
    pthread_mutex_lock(&ms->mu);
    *out = ms->slot[index_of(m)].prog;
    pthread_mutex_unlock(&ms->mu);
}

int studio_models_progress_wait(studio_models *ms, const studio_model *m, uint64_t after_seq, int timeout_ms,
                                studio_model_progress *out)
{
    memset(out, 0, sizeof *out);
    if (!ms || !known(m)) return 0;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ms->mu);
    model_slot *s = &ms->slot[index_of(m)];
    while (s->prog.seq <= after_seq)
        if (pthread_cond_timedwait(&ms->changed, &ms->mu, &until) == ETIMEDOUT) break;
    *out = s->prog;
    pthread_mutex_unlock(&ms->mu);
    return out->seq > after_seq;
}

/* ---- state ----------------------------------------------------------------------------------------------
 */

/* Damage (issue 16 item 12): a release refs/main names, complete or not, whose files fail the engine's cheap
 * check. Said as downloaded + damaged, so a status page offers to download it again; the message names the
 * file relative to the snapshot. The check's verdict is kept per model with a signature of the snapshot's
 * files (size, mtime, inode of each, links followed), so /health and /models/status, which ask often, stat a
 * dozen files rather than parse headers each time. */

static uint64_t mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull; /* FNV-1a step, a word at a time */
}

/* The files of dir and of its sub-folders one level down (speech_tokenizer/). */
static uint64_t files_signature(const char *dir, int depth)
{
    uint64_t h = 0xcbf29ce484222325ull;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char path[2048];
        struct stat sb;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        for (const char *c = e->d_name; *c; c++)
            h = mix(h, (unsigned char)*c);
        if (stat(path, &sb) != 0) {
            h = mix(h, 1); /* a dangling link */
            continue;
        }
        if (S_ISDIR(sb.st_mode)) {
            if (depth > 0) h = mix(h, files_signature(path, depth - 1));
            continue;
        }
        h = mix(mix(mix(h, (uint64_t)sb.st_size), (uint64_t)sb.st_ino),
                (uint64_t)sb.st_mtim.tv_sec * 1000000000ull + (uint64_t)sb.st_mtim.tv_nsec);
    }
    if (d) closedir(d);
    return h;
}

typedef struct {
    char dir[1024];
    uint64_t signature;
    int ok;
    char problem[512];
} check_memo;

static pthread_mutex_t memo_mu = PTHREAD_MUTEX_INITIALIZER;
static check_memo memo[N_MODELS];

static void check_files(const char *cache, const studio_model *m, studio_model_state *out)
{
    char snap[1024];
    if (!out->downloaded && !studio_hub_snapshot_named(cache, m->repo_id, snap, sizeof snap)) return;
    const char *dir = out->downloaded ? out->path : snap;
    uint64_t sig = files_signature(dir, 1);
    check_memo *cm = &memo[index_of(m)];
    pthread_mutex_lock(&memo_mu);
    int known_verdict = !strcmp(cm->dir, dir) && cm->signature == sig;
    int ok = cm->ok;
    snprintf(out->problem, sizeof out->problem, "%s", cm->problem);
    pthread_mutex_unlock(&memo_mu);
    if (!known_verdict) {
        qt_error qerr = {0};
        ok = qt_model_check(dir, &qerr) == 0;
        char *at = ok ? NULL : strstr(qerr.msg, dir);
        size_t skip = strlen(dir);
        if (at) memmove(at, at + skip + (at[skip] == '/'), strlen(at + skip + (at[skip] == '/')) + 1);
        snprintf(out->problem, sizeof out->problem, "%s", ok ? "" : qerr.msg);
        if (!ok) log_warn("model %s is damaged: %s", m->name, out->problem);
        pthread_mutex_lock(&memo_mu);
        snprintf(cm->dir, sizeof cm->dir, "%s", dir);
        cm->signature = sig;
        cm->ok = ok;
        snprintf(cm->problem, sizeof cm->problem, "%s", out->problem);
        pthread_mutex_unlock(&memo_mu);
    }
    if (ok) {
        out->problem[0] = '\0';
        return;
    }
    if (!out->downloaded) snprintf(out->path, sizeof out->path, "%s", snap);
    out->downloaded = 1;
    out->damaged = 1;
}

int studio_models_state(studio_models *ms, const studio_model *m, studio_model_state *out, studio_error *err)
{
    memset(out, 0, sizeof *out);
    if (!known(m)) return fail(err, STUDIO_NOT_FOUND, "unknown model");
    char *cache = qt_hub_cache_dir(), *dir = NULL;
    if (!cache || !(dir = qt_hub_repo_dir(cache, m->repo_id))) {
        free(cache);
        return fail(err, STUDIO_INTERNAL, "%s: out of memory", m->name);
    }
    snprintf(out->cache_dir, sizeof out->cache_dir, "%s", dir);
    if (studio_hub_snapshot_complete(cache, m->repo_id, NULL, 0)) {
        qt_error qerr = {0};
        if (qt_resolve_model_dir(m->repo_id, out->path, sizeof out->path, &qerr) == 0)
            out->downloaded = 1;
        else
            out->path[0] = '\0';
    }
    if (!m->whisper) check_files(cache, m, out);
    out->size_on_disk = studio_hub_disk_usage(cache, m->repo_id);
    if (ms) {
        pthread_mutex_lock(&ms->mu);
        out->downloading = ms->slot[index_of(m)].running;
        pthread_mutex_unlock(&ms->mu);
    }
    if (!out->downloading && !out->downloaded)
        out->downloading = studio_hub_busy(cache, m->repo_id); /* another process's download */
    free(dir);
    free(cache);
    return 0;
}

/* ---- downloads ------------------------------------------------------------------------------------------
 */

typedef struct {
    studio_models *ms;
    const studio_model *m;
    studio_model_progress_fn fn;
    void *user;
} dl_ctx;

static void on_hub_progress(void *user, uint64_t current, uint64_t total, const char *filename)
{
    dl_ctx *c = user;
    set_progress(c->ms, index_of(c->m), STUDIO_DL_DOWNLOADING, current, total, filename, NULL);
    if (c->fn) c->fn(c->m->name, current, total, filename, STUDIO_DL_DOWNLOADING, c->user);
}

/* The download proper; the slot is already marked running. */
static int run_download(dl_ctx *c, atomic_int *cancel, studio_error *err)
{
    size_t i = index_of(c->m);
    studio_hub_params p = studio_hub_default_params();
    p.progress = on_hub_progress;
    p.user = c;
    p.cancel = cancel;
    char snapshot[1024];
    studio_model_state st;
    if (studio_models_state(NULL, c->m, &st, NULL) == 0 && st.damaged) {
        p.repair = 1; /* check what is there against its digests and fetch the bad files again */
        log_warn("model %s is damaged (%s): downloading it again", c->m->name, st.problem);
    }
    set_progress(c->ms, i, STUDIO_DL_DOWNLOADING, 0, 0, "", NULL);
    int rc = studio_hub_download(c->m->repo_id, &p, snapshot, sizeof snapshot, err);
    if (rc == 0) {
        qt_error qerr = {0};
        char resolved[1024];
        if (qt_resolve_model_dir(c->m->repo_id, resolved, sizeof resolved, &qerr) != 0)
            rc = fail(err, STUDIO_INTERNAL, "%s: downloaded, but the engine cannot find it: %s", c->m->name,
                      qerr.msg);
    }
    char *cache = qt_hub_cache_dir();
    uint64_t bytes = cache ? studio_hub_disk_usage(cache, c->m->repo_id) : 0;
    free(cache);
    if (rc == 0) {
        set_progress(c->ms, i, STUDIO_DL_COMPLETE, bytes, bytes, "", NULL);
        if (c->fn) c->fn(c->m->name, bytes, bytes, "", STUDIO_DL_COMPLETE, c->user);
        log_info("model %s is ready at %s", c->m->name, snapshot);
    } else {
        set_progress(c->ms, i, STUDIO_DL_ERROR, 0, 0, "", err->msg);
        if (c->fn) c->fn(c->m->name, 0, 0, "", STUDIO_DL_ERROR, c->user);
        log_error("model %s: download failed: %s", c->m->name, err->msg);
    }
    return rc;
}

/* Marks a slot running; -1 (CONFLICT) if it already is. Joins a finished earlier thread first. */
static int claim(studio_models *ms, const studio_model *m, studio_error *err)
{
    if (!ms) return 0;
    model_slot *s = &ms->slot[index_of(m)];
    pthread_mutex_lock(&ms->mu);
    if (s->running) {
        pthread_mutex_unlock(&ms->mu);
        return fail(err, STUDIO_CONFLICT, "%s: a download is already in progress", m->name);
    }
    int join = s->thread_live;
    pthread_t t = s->thread;
    s->thread_live = 0;
    s->running = 1;
    atomic_store(&s->cancel, 0);
    pthread_mutex_unlock(&ms->mu);
    if (join) pthread_join(t, NULL); /* it has finished: running was 0 */
    return 0;
}

static void release(studio_models *ms, const studio_model *m)
{
    if (!ms) return;
    pthread_mutex_lock(&ms->mu);
    ms->slot[index_of(m)].running = 0;
    pthread_cond_broadcast(&ms->changed);
    pthread_mutex_unlock(&ms->mu);
}

int studio_models_download(studio_models *ms, const studio_model *m, studio_model_progress_fn fn, void *user,
                           studio_error *err)
{
    studio_error local_err;
    if (!err) err = &local_err;
    if (!known(m)) return fail(err, STUDIO_NOT_FOUND, "unknown model");
    if (claim(ms, m, err) != 0) return -1;
    dl_ctx c = {ms, m, fn, user};
    atomic_int local_cancel = 0;
    return run_download(&c, ms ? &ms->slot[index_of(m)].cancel : &local_cancel, err); /* ends "running" */
}

typedef struct {
    studio_models *ms;
    const studio_model *m;
} thread_arg;

static void *download_thread(void *arg)
{
    thread_arg a = *(thread_arg *)arg;
    free(arg);
    dl_ctx c = {a.ms, a.m, NULL, NULL};
    studio_error err = {0};
    run_download(&c, &a.ms->slot[index_of(a.m)].cancel, &err); /* its final state ends "running" */
    return NULL;
}

int studio_models_download_start(studio_models *ms, const studio_model *m, studio_error *err)
{
    if (!ms) return fail(err, STUDIO_INTERNAL, "background downloads need a studio_models context");
    if (!known(m)) return fail(err, STUDIO_NOT_FOUND, "unknown model");
    if (claim(ms, m, err) != 0) return -1;
    thread_arg *a = malloc(sizeof *a);
    if (!a) {
        release(ms, m);
        return fail(err, STUDIO_INTERNAL, "%s: out of memory", m->name);
    }
    a->ms = ms;
    a->m = m;
    /* the first event is set before the thread runs, so a poller that starts now sees "downloading" */
    set_progress(ms, index_of(m), STUDIO_DL_DOWNLOADING, 0, 0, "", NULL);
    pthread_mutex_lock(&ms->mu);
    model_slot *s = &ms->slot[index_of(m)];
    int rc = pthread_create(&s->thread, NULL, download_thread, a);
    s->thread_live = rc == 0;
    pthread_mutex_unlock(&ms->mu);
    if (rc != 0) {
        free(a);
        release(ms, m);
        set_progress(ms, index_of(m), STUDIO_DL_ERROR, 0, 0, "", "cannot start a download thread");
        return fail(err, STUDIO_INTERNAL, "%s: cannot start a download thread (%s)", m->name, strerror(rc));
    }
    return 0;
}

int studio_models_delete(studio_models *ms, const studio_model *m, studio_error *err)
{
    if (!known(m)) return fail(err, STUDIO_NOT_FOUND, "unknown model");
    if (claim(ms, m, err) != 0) return -1;
    char *cache = qt_hub_cache_dir();
    int rc = cache ? studio_hub_remove(cache, m->repo_id, err) : fail(err, STUDIO_INTERNAL, "out of memory");
    free(cache);
    if (rc == 0) {
        log_info("model %s removed from the cache", m->name);
        set_progress(ms, index_of(m), STUDIO_DL_IDLE, 0, 0, "", NULL);
    }
    release(ms, m);
    return rc;
}
