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

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
