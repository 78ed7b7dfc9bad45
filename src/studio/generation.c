/* generation.c — the inference worker: FIFO queue, resident model, voice prompt via the cache, WAV + history.
 *
 * Locks: `mu` guards the queue and job states (held briefly, never during inference); `engine_mu` guards
 * the model and the prompt cache and is held by the worker for a whole job and by load/unload/clear.
 */
#include "studio/generation.h"

#include "audio/audio.h"
#include "engine/qt.h"
#include "studio/models.h"
#include "studio/log.h"
#include "studio/prompt_cache.h"
#include "studio/studio_internal.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES_CAP 8192

typedef enum { JOB_QUEUED, JOB_RUNNING, JOB_DONE } job_state;

typedef struct job {
    struct job *next;
    char id[37];
    char profile_id[37];
    char *text;
    char language[8];
    char model_size[8];
    char *instruct;
    long long seed;
    job_state state;
    int frames_done, max_frames;
    json_t *result;   /* generation JSON when done and successful */
    studio_error err; /* when done and failed */
    pthread_cond_t done;
} job;

struct studio_gen {
    studio *s;
    studio_prompt_cache *prompts;

    pthread_mutex_t mu;
    pthread_cond_t wake;
    job *head, *tail; /* queued jobs, FIFO */
    job *running;
    int quit;
    int joined;
    pthread_t worker;

    pthread_mutex_t engine_mu;
    qt_model *model;
    char model_size[8];
};

/* 1 when the model of this size has a complete snapshot in the Hub cache; its path goes to snapshot. */
static int downloaded(const char *size, char *snapshot, size_t snapshot_size)
{
    const studio_model *m = studio_model_find(size);
    studio_model_state st;
    if (!m || studio_models_state(NULL, m, &st, NULL) != 0 || !st.downloaded)
        return 0;
    if (snapshot)
        snprintf(snapshot, snapshot_size, "%s", st.path);
    return 1;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* ---- model residency (engine_mu held) ---- */

/* model_size is written with both locks held, so /health can read it under mu alone while a job runs. */
static void set_loaded(studio_gen *g, qt_model *m, const char *size)
{
    pthread_mutex_lock(&g->mu);
    g->model = m;
    snprintf(g->model_size, sizeof g->model_size, "%s", size);
    pthread_mutex_unlock(&g->mu);
}

static int ensure_model(studio_gen *g, const char *size, studio_error *err)
{
    if (g->model && !strcmp(g->model_size, size))
        return 0;
    const studio_model *sm = studio_model_find(size);
    if (!sm || strcmp(sm->size, size))
        return studio_fail(err, STUDIO_INVALID, "model_size", "model_size: must be %s, got \"%s\"",
                           studio_model_size_list(), size);
    char snapshot[4096];
    if (!downloaded(size, snapshot, sizeof snapshot))
        return studio_fail(err, STUDIO_NOT_READY, "model_size",
                           "Model %s (%s) is not downloaded; download it first with POST /models/download "
                           "{\"model_name\": \"%s\"}",
                           size, sm->name, sm->name);
    if (g->model) {
        log_info("Unloading %s model to load %s", g->model_size, size);
        qt_model *old = g->model;
        set_loaded(g, NULL, "");
        qt_model_free(old);
    }
    log_info("Loading TTS model %s from %s", size, snapshot);
    double t0 = now_ms();
    qt_load_params lp = qt_load_default_params();
    qt_error qerr = {0};
    qt_model *m = qt_model_load(snapshot, &lp, &qerr);
    if (!m)
        return studio_fail(err, STUDIO_INTERNAL, NULL, "loading the %s model failed: %s", size, qerr.msg);
    set_loaded(g, m, size);
    log_info("Loaded %s model in %.0f ms", size, now_ms() - t0);
    return 0;
}

int studio_gen_load_model(studio_gen *g, const char *size, studio_error *err)
{
    pthread_mutex_lock(&g->engine_mu);
    int rc = ensure_model(g, size ? size : studio_model_default()->size, err);
    pthread_mutex_unlock(&g->engine_mu);
    return rc;
}

void studio_gen_unload_model(studio_gen *g)
{
    pthread_mutex_lock(&g->engine_mu);
    qt_model *old = g->model;
    if (old)
        log_info("Unloaded %s model", g->model_size);
    set_loaded(g, NULL, "");
    qt_model_free(old);
    pthread_mutex_unlock(&g->engine_mu);
}

const char *studio_gen_loaded_size(studio_gen *g, char *out, size_t size)
{
    pthread_mutex_lock(&g->mu);
    snprintf(out, size, "%s", g->model_size);
    pthread_mutex_unlock(&g->mu);
    return out[0] ? out : NULL;
}

/* ---- the reference: one sample as stored, several normalised and joined ---- */

typedef struct {
    void *wav;  /* the reference as one WAV image: what the cache key hashes and, on a miss, what is cloned */
    size_t wav_size;
    char *text; /* its transcript */
} reference;

static void reference_free(reference *r)
{
    free(r->wav);
    free(r->text);
    memset(r, 0, sizeof *r);
}

static int read_whole(const char *path, void **out, size_t *size)
{
    /* regular files only, opened without blocking: a FIFO in a profile folder must not hang the take */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        close(fd);
        return -1;
    }
    int rc = -1;
    if (fseek(f, 0, SEEK_END) != 0)
        goto done;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
        goto done;
    *out = malloc((size_t)n + 1);
    if (*out && fread(*out, 1, (size_t)n, f) == (size_t)n) {
        *size = (size_t)n;
        rc = 0;
    } else {
        free(*out);
        *out = NULL;
    }
done:
    fclose(f);
    return rc;
}

#define REFERENCE_RMS 0.1f
#define REFERENCE_PEAK 0.95f

/* Several samples are decoded, loudness-normalised and joined into one WAV image. */
static int join_samples(json_t *samples, reference *r, studio_error *err)
{
    float *pcm = NULL;
    size_t n = 0;
    int rc = -1;
    for (size_t i = 0; i < json_array_size(samples); i++) {
        const char *path = json_string_value(json_object_get(json_array_get(samples, i), "audio_path"));
        audio_buf buf = {0};
        audio_error aerr;
        if (audio_decode_file(path, QT_SAMPLE_RATE, &buf, &aerr) != 0) {
            studio_fail(err, STUDIO_INTERNAL, NULL, "reading reference sample: %s", aerr.msg);
            goto done;
        }
        audio_normalize(buf.samples, buf.n, REFERENCE_RMS, REFERENCE_PEAK);
        float *grown = realloc(pcm, (n + buf.n) * sizeof *grown);
        if (!grown) {
            audio_buf_free(&buf);
            studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory while joining reference samples");
            goto done;
        }
        pcm = grown;
        memcpy(pcm + n, buf.samples, buf.n * sizeof *grown);
        n += buf.n;
        audio_buf_free(&buf);
    }
    audio_error aerr;
    if (audio_encode_wav16(pcm, n, QT_SAMPLE_RATE, &r->wav, &r->wav_size, &aerr) != 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "joining reference samples: %s", aerr.msg);
        goto done;
    }
    rc = 0;
done:
    free(pcm);
    return rc;
}

/* One sample -> its stored WAV as it is; several -> joined. Transcripts are joined with a space. */
static int build_reference(studio_gen *g, const char *profile_id, reference *r, studio_error *err)
{
    memset(r, 0, sizeof *r);
    json_t *samples = studio_sample_list(g->s, profile_id, err);
    if (!samples)
        return -1;
    size_t count = json_array_size(samples);
    if (count == 0) {
        json_decref(samples);
        return studio_fail(err, STUDIO_CONFLICT, "profile_id",
                           "Profile %s has no samples; add a reference sample before generating", profile_id);
    }
    size_t text_len = 0;
    for (size_t i = 0; i < count; i++)
        text_len += strlen(json_string_value(json_object_get(json_array_get(samples, i), "reference_text"))) + 1;
    r->text = calloc(text_len + 1, 1);
    if (!r->text) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory while building the reference");
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        if (i)
            strcat(r->text, " ");
        strcat(r->text, json_string_value(json_object_get(json_array_get(samples, i), "reference_text")));
    }
    if (count == 1) {
        const char *path = json_string_value(json_object_get(json_array_get(samples, 0), "audio_path"));
        if (read_whole(path, &r->wav, &r->wav_size) != 0) {
            studio_fail(err, STUDIO_INTERNAL, NULL, "reading reference sample %s failed", path);
            goto fail;
        }
    } else if (join_samples(samples, r, err) != 0) {
        goto fail;
    }
    json_decref(samples);
    return 0;
fail:
    json_decref(samples);
    reference_free(r);
    return -1;
}

/* ---- one job on the worker (engine_mu held) ---- */

static void on_progress(int frames_done, int max_frames, void *user)
{
    job *j = user;
    __atomic_store_n(&j->frames_done, frames_done, __ATOMIC_RELAXED);
    __atomic_store_n(&j->max_frames, max_frames, __ATOMIC_RELAXED);
}

/* A ceiling on frames from the text length: speech runs at ~15 characters a second; allow four times
 * that so slow voices are never cut, but a model that never says EOS cannot run for minutes. */
static int max_frames_for(const char *text)
{
    long chars = (long)strlen(text);
    long frames = (long)(12.5 * (3.0 + 0.25 * (double)chars));
    return frames > MAX_FRAMES_CAP ? MAX_FRAMES_CAP : (int)frames;
}

static int profile_exists(studio_gen *g, const char *profile_id)
{
    json_t *p = studio_profile_get(g->s, profile_id, NULL);
    json_decref(p);
    return p != NULL;
}

static json_t *run_job(studio_gen *g, job *j, studio_error *err)
{
    reference ref = {0};
    qt_gen_output out = {0};
    json_t *result = NULL;
    char rel[64], *abs_path = NULL;

    if (ensure_model(g, j->model_size, err) != 0)
        return NULL;

    if (build_reference(g, j->profile_id, &ref, err) != 0)
        return NULL;

    double t0 = now_ms();
    int hit = 0;
    qt_error qerr = {0};
    const qt_voice_prompt *vp = studio_prompt_cache_get(g->prompts, g->model, j->model_size, ref.wav,
                                                        ref.wav_size, ref.text, &hit, &qerr);
    if (!vp) {
        studio_fail(err, qerr.kind == QT_ERR_INVALID ? STUDIO_INVALID : STUDIO_INTERNAL, NULL,
             "voice prompt: %s", qerr.msg);
        goto done;
    }
    log_info("Voice prompt stage took %.1f ms (%s)", now_ms() - t0, hit ? "cache hit" : "cache miss");

    qt_gen_params gp = qt_gen_default_params();
    gp.language = j->language;
    gp.seed = (uint64_t)j->seed;
    gp.max_frames = max_frames_for(j->text);
    gp.on_progress = on_progress;
    gp.user = j;
    gp.out = &out;
    if (__atomic_load_n(&g->quit, __ATOMIC_ACQUIRE)) { /* qt_generate clears a cancel made before it */
        studio_fail(err, STUDIO_INTERNAL, NULL, "the server is shutting down");
        goto done;
    }
    double t1 = now_ms();
    if (qt_generate(g->model, vp, j->text, &gp, &qerr) != 0) {
        if (qerr.kind == QT_ERR_CANCELLED && !profile_exists(g, j->profile_id))
            studio_fail(err, STUDIO_NOT_FOUND, "profile_id", "Profile %s was deleted during its take", j->profile_id);
        else
            studio_fail(err, qerr.kind == QT_ERR_INVALID ? STUDIO_INVALID : STUDIO_INTERNAL, NULL, "generation: %s",
                 qerr.msg);
        goto done;
    }
    double gen_ms = now_ms() - t1;
    double duration = (double)out.n_samples / QT_SAMPLE_RATE;
    log_info("Generated %.2f s of audio (%d frames) in %.0f ms, RTF %.2f", duration, out.n_frames, gen_ms,
             duration > 0 ? gen_ms / 1000.0 / duration : 0.0);

    snprintf(rel, sizeof rel, "generations/%s.wav", j->id);
    abs_path = studio_path(g->s, rel);
    audio_error aerr;
    pthread_mutex_lock(&g->s->mu); /* an intent first: a crash before the row leaves a file the sweep removes */
    studio_intent_add(g->s, rel);
    pthread_mutex_unlock(&g->s->mu);
    if (!abs_path || audio_write_wav16(abs_path, out.audio, out.n_samples, QT_SAMPLE_RATE, &aerr) != 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "writing %s: %s", rel, abs_path ? aerr.msg : "out of memory");
        goto done;
    }
    studio_generation row = {
        .id = j->id,
        .profile_id = j->profile_id,
        .text = j->text,
        .language = j->language,
        .audio_path = rel,
        .duration = duration,
        .seed = j->seed,
        .model_size = j->model_size,
        .instruct = j->instruct,
    };
    result = studio_generation_insert(g->s, &row, err);
    if (!result) /* e.g. the profile was deleted meanwhile: keep no file without its row */
        remove(abs_path);
    pthread_mutex_lock(&g->s->mu);
    studio_intent_done(g->s, rel);
    pthread_mutex_unlock(&g->s->mu);
done:
    free(abs_path);
    qt_gen_output_free(&out);
    reference_free(&ref);
    return result;
}

static void *worker_main(void *arg)
{
    studio_gen *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->head && !g->quit)
            pthread_cond_wait(&g->wake, &g->mu);
        if (g->quit)
            break;
        job *j = g->head;
        g->head = j->next;
        if (!g->head)
            g->tail = NULL;
        j->state = JOB_RUNNING;
        g->running = j;
        pthread_mutex_unlock(&g->mu);

        log_info("Generation %s started (model %s, %zu chars)", j->id, j->model_size, strlen(j->text));
        pthread_mutex_lock(&g->engine_mu);
        studio_error err = {0};
        json_t *result = run_job(g, j, &err);
        pthread_mutex_unlock(&g->engine_mu);
        if (!result)
            log_error("Generation %s failed: %s", j->id, err.msg);

        pthread_mutex_lock(&g->mu);
        j->result = result;
        j->err = err;
        j->state = JOB_DONE;
        g->running = NULL;
        pthread_cond_broadcast(&j->done);
    }
    /* Fail whatever is still queued so its waiters return. */
    for (job *j = g->head; j; j = j->next) {
        studio_fail(&j->err, STUDIO_INTERNAL, NULL, "the server is shutting down");
        j->state = JOB_DONE;
        pthread_cond_broadcast(&j->done);
    }
    g->head = g->tail = NULL;
    pthread_mutex_unlock(&g->mu);
    return NULL;
}

/* ---- requests ---- */

static void job_free(job *j)
{
    if (!j)
        return;
    free(j->text);
    free(j->instruct);
    json_decref(j->result);
    pthread_cond_destroy(&j->done);
    free(j);
}

static long long random_seed(void)
{
    unsigned int v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v)
        v = (unsigned int)time(NULL) ^ (unsigned int)clock();
    return (long long)(v & 0x7fffffffu);
}

/* Validates body into a new job; STUDIO_INVALID names the field. */
static job *job_from_body(studio_gen *g, const json_t *body, studio_error *err)
{
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    job *j = calloc(1, sizeof *j);
    if (!j) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    pthread_cond_init(&j->done, NULL);
    json_t *v = json_object_get(body, "profile_id");
    if (!json_is_string(v)) {
        studio_fail(err, STUDIO_INVALID, "profile_id", "profile_id: required, a string");
        goto fail;
    }
    if (!studio_id_valid(json_string_value(v))) {
        studio_fail(err, STUDIO_NOT_FOUND, "profile_id", "Profile not found: %s", json_string_value(v));
        goto fail;
    }
    snprintf(j->profile_id, sizeof j->profile_id, "%s", json_string_value(v));

    const char *text, *lang;
    if (studio_json_str(body, "text", 1, 1, STUDIO_TEXT_MAX_CHARS, &text, err) < 0 ||
        studio_json_str(body, "language", 0, 0, LONG_MAX, &lang, err) < 0)
        goto fail;
    j->text = strdup(text);
    if (!lang) lang = STUDIO_DEFAULT_LANGUAGE;
    if (!studio_language_valid(lang)) {
        studio_fail(err, STUDIO_INVALID, "language", "language: must be one of %s, got '%.16s'",
                    studio_language_list(), lang);
        goto fail;
    }
    snprintf(j->language, sizeof j->language, "%s", lang);

    v = json_object_get(body, "seed");
    if (v && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > STUDIO_SEED_MAX) {
            studio_fail(err, STUDIO_INVALID, "seed", "seed: must be an integer from 0 to %lld", STUDIO_SEED_MAX);
            goto fail;
        }
        j->seed = json_integer_value(v);
    } else {
        j->seed = random_seed();
    }

    const char *size, *instruct;
    if (studio_json_str(body, "model_size", 0, 0, LONG_MAX, &size, err) < 0 ||
        studio_json_str(body, "instruct", 0, 0, STUDIO_INSTRUCT_MAX_CHARS, &instruct, err) < 0)
        goto fail;
    const studio_model *m = size ? studio_model_find(size) : studio_model_default();
    if (!m || strcmp(m->size, size ? size : m->size)) {
        studio_fail(err, STUDIO_INVALID, "model_size", "model_size: must be %s, got '%.16s'",
                    studio_model_size_list(), size);
        goto fail;
    }
    snprintf(j->model_size, sizeof j->model_size, "%s", m->size);
    if (instruct && !(j->instruct = strdup(instruct))) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
        goto fail;
    }
    if (!j->text) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
        goto fail;
    }
    (void)g;
    studio_new_id(j->id);
    return j;
fail:
    job_free(j);
    return NULL;
}

json_t *studio_gen_generate(studio_gen *g, const json_t *body, studio_error *err)
{
    job *j = job_from_body(g, body, err);
    if (!j)
        return NULL;
    /* Fail fast on what can be known before queueing: the profile exists and the model is downloaded. */
    json_t *profile = studio_profile_get(g->s, j->profile_id, err);
    if (!profile) {
        job_free(j);
        return NULL;
    }
    json_decref(profile);
    if (!downloaded(j->model_size, NULL, 0)) {
        studio_fail(err, STUDIO_NOT_READY, "model_size",
             "Model %s (qwen-tts-%s) is not downloaded; download it first with POST /models/download "
             "{\"model_name\": \"qwen-tts-%s\"}",
             j->model_size, j->model_size, j->model_size);
        job_free(j);
        return NULL;
    }

    pthread_mutex_lock(&g->mu);
    if (g->quit) {
        pthread_mutex_unlock(&g->mu);
        job_free(j);
        studio_fail(err, STUDIO_INTERNAL, NULL, "the server is shutting down");
        return NULL;
    }
    if (g->tail)
        g->tail->next = j;
    else
        g->head = j;
    g->tail = j;
    pthread_cond_signal(&g->wake);
    while (j->state != JOB_DONE)
        pthread_cond_wait(&j->done, &g->mu);
    pthread_mutex_unlock(&g->mu);

    json_t *result = j->result;
    j->result = NULL;
    if (!result && err)
        *err = j->err;
    job_free(j);
    return result;
}

void studio_gen_cancel_profile(studio_gen *g, const char *profile_id)
{
    pthread_mutex_lock(&g->mu);
    if (g->running && !strcmp(g->running->profile_id, profile_id) && g->model)
        qt_cancel(g->model);
    job **link = &g->head;
    g->tail = NULL;
    while (*link) {
        job *j = *link;
        if (strcmp(j->profile_id, profile_id) != 0) {
            g->tail = j;
            link = &j->next;
            continue;
        }
        *link = j->next;
        studio_fail(&j->err, STUDIO_NOT_FOUND, "profile_id", "Profile %s was deleted before its take ran", profile_id);
        j->state = JOB_DONE;
        pthread_cond_broadcast(&j->done);
    }
    pthread_mutex_unlock(&g->mu);
}

/* ---- status ---- */

static json_t *job_json(const job *j, const char *status, int position)
{
    int done = __atomic_load_n(&j->frames_done, __ATOMIC_RELAXED);
    int max = __atomic_load_n(&j->max_frames, __ATOMIC_RELAXED);
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:f}", "task_id", j->id, "profile_id",
                     j->profile_id, "text", j->text, "model_size", j->model_size, "status", status, "position",
                     position, "frames_done", done, "max_frames", max, "progress",
                     max > 0 ? 100.0 * done / max : 0.0);
}

json_t *studio_gen_active(studio_gen *g)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&g->mu);
    if (g->running)
        json_array_append_new(arr, job_json(g->running, "running", 0));
    int pos = 1;
    for (job *j = g->head; j; j = j->next)
        json_array_append_new(arr, job_json(j, "queued", pos++));
    pthread_mutex_unlock(&g->mu);
    return arr;
}

void studio_gen_health(studio_gen *g, json_t *health)
{
    char size[8];
    const char *loaded = studio_gen_loaded_size(g, size, sizeof size);
    const char *want = loaded ? loaded : studio_model_default()->size;
    json_object_set_new(health, "model_loaded", json_boolean(loaded != NULL));
    json_object_set_new(health, "model_downloaded", json_boolean(downloaded(want, NULL, 0)));
    json_object_set_new(health, "model_size", loaded ? json_string(loaded) : json_null());
    json_object_set_new(health, "gpu_available", json_false());
    json_object_set_new(health, "gpu_type", json_null());
    json_object_set_new(health, "vram_used_mb", json_null());
    json_object_set_new(health, "backend_type", json_string("voicebox-c (CPU)"));
}

json_t *studio_gen_cache_clear(studio_gen *g, studio_error *err)
{
    pthread_mutex_lock(&g->engine_mu);
    int deleted = studio_prompt_cache_clear(g->prompts);
    pthread_mutex_unlock(&g->engine_mu);
    if (deleted < 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "clearing the voice prompt cache failed");
        return NULL;
    }
    log_info("Voice prompt cache cleared: %d files deleted", deleted);
    return json_pack("{s:s, s:i}", "message", "Voice prompt cache cleared", "files_deleted", deleted);
}

/* ---- lifetime ---- */

studio_gen *studio_gen_new(studio *s, studio_error *err)
{
    studio_gen *g = calloc(1, sizeof *g);
    char *cache_dir = NULL;
    if (!g)
        goto nomem;
    g->s = s;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->engine_mu, NULL);
    pthread_cond_init(&g->wake, NULL);
    cache_dir = studio_path(s, "cache");
    if (!cache_dir)
        goto nomem;
    g->prompts = studio_prompt_cache_new(cache_dir);
    if (!g->prompts)
        goto nomem;
    free(cache_dir);
    cache_dir = NULL;
    if (pthread_create(&g->worker, NULL, worker_main, g) != 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "cannot start the generation worker thread");
        studio_prompt_cache_free(g->prompts);
        g->prompts = NULL;
        goto fail;
    }
    return g;
nomem:
    studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory starting the generation worker");
fail:
    free(cache_dir);
    if (g) {
        studio_prompt_cache_free(g->prompts);
        free(g);
    }
    return NULL;
}

void studio_gen_shutdown(studio_gen *g)
{
    pthread_mutex_lock(&g->mu);
    __atomic_store_n(&g->quit, 1, __ATOMIC_RELEASE);
    if (g->running && g->model)
        qt_cancel(g->model);
    pthread_cond_broadcast(&g->wake);
    int join = !g->joined;
    g->joined = 1;
    pthread_mutex_unlock(&g->mu);
    if (join)
        pthread_join(g->worker, NULL);
}

void studio_gen_free(studio_gen *g)
{
    if (!g)
        return;
    studio_gen_shutdown(g);
    studio_prompt_cache_free(g->prompts);
    qt_model_free(g->model);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->engine_mu);
    pthread_cond_destroy(&g->wake);
    free(g);
}
