/* generation.c — takes as records: the FIFO queue of takes, the one inference worker, the resident model, the
 * voice prompt via the cache, the WAV and the history row.
 *
 * A take is a row from the moment it is asked for (status queued) and a small record here while it waits or
 * runs; no thread waits for it. Whoever wants its outcome holds a reference (studio_gen_take) and reads its
 * state; the worker moves the row through downloading / loading_model / generating to a final status.
 *
 * Locks: `mu` guards the queue and take states (held briefly, never during inference or I/O); `engine_mu`
 * guards the model and is held by the worker for a take's engine work and by load/unload. The prompt cache
 * has its own lock, so clearing it never waits for a take.
 */
#include "studio/generation.h"

#include "audio/audio.h"
#include "engine/qt.h"
#include "studio/models.h"
#include "studio/log.h"
#include "studio/prompt_cache.h"
#include "studio/studio_internal.h"
#include "studio/take_stream.h"
#include "studio/text_chunks.h"

#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FRAMES_CAP 8192
#define DOWNLOAD_POLL_MS 250
#define STREAM_PIPE_BYTES (1u << 20) /* ~22 s of 16-bit 24 kHz audio between the worker and a slow reader */

/* One take while it is queued or running, and as long as someone holds a reference to it. */
struct studio_take {
    struct studio_take *next; /* in the queue */
    struct studio_take *live; /* in g->takes: queued or running */
    struct studio_gen *gen;
    int refs; /* the queue/worker's own, plus one per holder */
    char id[37];
    char profile_id[37];
    char *text;
    char language[8];
    char model_size[8];
    char *instruct;
    long long seed;
    const char *status; /* a static string: queued, downloading, loading_model, generating, or a final one */
    int cancel;         /* asked to stop */
    int frames_done, max_frames; /* of the chunk being spoken */
    int chunk, n_chunks;         /* a long text is spoken chunk by chunk */
    int max_chunk_chars, crossfade_ms, normalize;
    int frame_cap; /* asked-for ceiling on each chunk's frames (max_frames), 0: from the text's length */
    qt_gen_params
        params;       /* the sampling settings asked for (temperature, top_k, ...); the rest is per chunk */
    double duration;  /* seconds, once completed */
    char *result;     /* the history item as JSON text, once completed */
    studio_error err; /* once failed or cancelled */
    uint64_t seq;     /* grows with every change of status */
    const char *trail[STUDIO_TAKE_TRAIL]; /* trail[k]: the status after change k (trail[0]: queued) */
    studio_take_stream *stream; /* a streamed take: its audio goes to a reader as it is made; else NULL */
    int unrecorded;             /* a streamed take that leaves no history row and no file */
};
typedef struct studio_take job;

struct studio_gen {
    studio *s;
    studio_models *models;
    studio_prompt_cache *prompts;

    pthread_mutex_t mu;
    pthread_cond_t wake;
    job *head, *tail; /* queued takes, FIFO */
    job *takes;       /* every take queued or running */
    job *running;
    int quit;
    int joined;
    int unload_pending; /* POST /models/unload came during a take: unload after it */
    pthread_t worker;

    pthread_mutex_t engine_mu;
    qt_model *model;
    char model_size[8];
    char model_precision[8]; /* of the resident model */
    qt_precision precision;  /* what the next load uses (engine_mu) */
};

/* 1 when the model of this size has a complete, undamaged snapshot in the Hub cache; its path goes to
 * snapshot. A damaged one writes what is wrong to problem (when not NULL). */
static int downloaded(const char *size, char *snapshot, size_t snapshot_size, char *problem,
                      size_t problem_size)
{
    const studio_model *m = studio_model_find(size);
    studio_model_state st;
    if (!m || studio_models_state(NULL, m, &st, NULL) != 0 || !st.downloaded) return 0;
    if (st.damaged) {
        if (problem) snprintf(problem, problem_size, "%s", st.problem);
        return 0;
    }
    if (snapshot) snprintf(snapshot, snapshot_size, "%s", st.path);
    return 1;
}

/* ---- model residency (engine_mu held) ---- */

/* model_size is written with both locks held, so /health can read it under mu alone while a job runs. */
static void set_loaded(studio_gen *g, qt_model *m, const char *size)
{
    pthread_mutex_lock(&g->mu);
    g->model = m;
    snprintf(g->model_size, sizeof g->model_size, "%s", size);
    snprintf(g->model_precision, sizeof g->model_precision, "%s",
             m ? qt_precision_name(qt_model_precision(m)) : "");
    pthread_mutex_unlock(&g->mu);
}

static int ensure_model(studio_gen *g, const char *size, studio_error *err)
{
    if (g->model && !strcmp(g->model_size, size) && qt_model_precision(g->model) == g->precision) return 0;
    const studio_model *sm = studio_model_find(size);
    if (!sm || sm->whisper || strcmp(sm->size, size))
        return studio_fail(err, STUDIO_INVALID, "model_size", "model_size: must be %s, got \"%s\"",
                           studio_model_size_list(), size);
    char snapshot[4096], problem[512] = "";
    if (!downloaded(size, snapshot, sizeof snapshot, problem, sizeof problem) && problem[0])
        return studio_fail(err, STUDIO_NOT_READY, "model_size",
                           "Model %s (%s) is damaged: %s; download it again with POST /models/download "
                           "{\"model_name\": \"%s\"}",
                           size, sm->name, problem, sm->name);
    if (!downloaded(size, snapshot, sizeof snapshot, NULL, 0))
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
    log_info("Loading TTS model %s (%s) from %s", size, qt_precision_name(g->precision), snapshot);
    double t0 = qt_now_ms();
    qt_load_params lp = qt_load_default_params();
    lp.precision = g->precision;
    char *weights_cache =
        studio_path(g->s, "cache"); /* int8 weights kept between loads, beside the prompts */
    lp.cache_dir = weights_cache;
    qt_error qerr = {0};
    qt_model *m = qt_model_load(snapshot, &lp, &qerr);
    free(weights_cache);
    if (!m) return studio_fail(err, STUDIO_INTERNAL, NULL, "loading the %s model failed: %s", size, qerr.msg);
    set_loaded(g, m, size);
    const char *wc = qt_model_weights_cache(m);
    log_info("Loaded %s model in %.0f ms%s", size, qt_now_ms() - t0,
             !wc                      ? ""
             : !strcmp(wc, "hit")     ? " (int8 weights from the cache)"
             : !strcmp(wc, "written") ? " (int8 weights quantized and cached)"
                                      : " (int8 weights quantized; the cache could not be written)");
    return 0;
}

static int parse_precision(const char *precision, qt_precision *out, studio_error *err)
{
    qt_error qerr = {0};
    if (qt_precision_parse(precision, out, &qerr) != 0)
        return studio_fail(err, STUDIO_INVALID, "precision", "precision: must be bf16 or int8, got \"%s\"",
                           precision ? precision : "");
    return 0;
}

int studio_gen_load_model(studio_gen *g, const char *size, const char *precision, studio_error *err)
{
    qt_precision p = QT_PRECISION_BF16;
    if (precision && parse_precision(precision, &p, err) != 0) return -1;
    pthread_mutex_lock(&g->engine_mu);
    if (precision) g->precision = p;
    int rc = ensure_model(g, size ? size : studio_model_default()->size, err);
    pthread_mutex_unlock(&g->engine_mu);
    return rc;
}

int studio_gen_set_precision(studio_gen *g, const char *precision, studio_error *err)
{
    qt_precision p;
    if (parse_precision(precision, &p, err) != 0) return -1;
    pthread_mutex_lock(&g->engine_mu);
    g->precision = p;
    pthread_mutex_unlock(&g->engine_mu);
    return 0;
}

const char *studio_gen_loaded_precision(studio_gen *g, char *out, size_t size)
{
    pthread_mutex_lock(&g->mu);
    snprintf(out, size, "%s", g->model_precision);
    pthread_mutex_unlock(&g->mu);
    return out[0] ? out : NULL;
}

static void unload_locked(studio_gen *g)
{
    qt_model *old = g->model;
    if (old) log_info("Unloaded %s model", g->model_size);
    set_loaded(g, NULL, "");
    qt_model_free(old);
}

int studio_gen_unload_model(studio_gen *g)
{
    if (pthread_mutex_trylock(&g->engine_mu) != 0) { /* a take runs: never wait behind it */
        pthread_mutex_lock(&g->mu);
        g->unload_pending = 1;
        pthread_mutex_unlock(&g->mu);
        log_info("Model unload asked for during a take: it unloads when the take ends");
        return 1;
    }
    unload_locked(g);
    pthread_mutex_unlock(&g->engine_mu);
    return 0;
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
    void *wav; /* the reference as one WAV image: what the cache key hashes and, on a miss, what is cloned */
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
    if (fseek(f, 0, SEEK_END) != 0) goto done;
    long n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) goto done;
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
    if (!samples) return -1;
    size_t count = json_array_size(samples);
    if (count == 0) {
        json_decref(samples);
        return studio_fail(err, STUDIO_CONFLICT, "profile_id",
                           "Profile %s has no samples; add a reference sample before generating", profile_id);
    }
    size_t text_len = 0;
    for (size_t i = 0; i < count; i++)
        text_len +=
            strlen(json_string_value(json_object_get(json_array_get(samples, i), "reference_text"))) + 1;
    r->text = calloc(text_len + 1, 1);
    if (!r->text) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory while building the reference");
        goto fail;
    }
    for (size_t i = 0; i < count; i++) {
        if (i) strcat(r->text, " ");
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

/* ---- take records ---- */

static void take_free(job *j)
{
    studio_take_stream_free(j->stream);
    free(j->text);
    free(j->instruct);
    free(j->result);
    free(j);
}

/* mu held. */
static void unref_locked(job *j)
{
    if (--j->refs == 0) take_free(j);
}

/* mu held: the take's status changes; the trail keeps each one for readers that poll between changes. */
static void record_status(job *j, const char *status)
{
    j->status = status;
    j->seq++;
    if (j->seq < STUDIO_TAKE_TRAIL) j->trail[j->seq] = status;
}

/* Status change of a take: the record (mu) and then the row. The row is what survives a crash. */
static void set_status(studio_gen *g, job *j, const char *status)
{
    pthread_mutex_lock(&g->mu);
    record_status(j, status);
    pthread_mutex_unlock(&g->mu);
    studio_error err = {0};
    if (!j->unrecorded && studio_generation_set_status(g->s, j->id, status, NULL, NULL, 0, &err) != 0 &&
        err.kind != STUDIO_NOT_FOUND)
        log_warn("take %s: recording status %s failed: %s", j->id, status, err.msg);
}

/* mu held: removes j from the list of live takes. */
static void unlink_live(studio_gen *g, job *j)
{
    for (job **p = &g->takes; *p; p = &(*p)->live) {
        if (*p == j) {
            *p = j->live;
            break;
        }
    }
}

/* A take reaches its final status: the row first, then the record, which then leaves the live list. */
static int stream_stop(void *arg);

static void finish_take(studio_gen *g, job *j, const char *status, const studio_error *why, char *result)
{
    if (j->stream) studio_take_stream_end(j->stream, !strcmp(status, "completed"), stream_stop, j);
    if (why && why->kind != STUDIO_OK && why->kind != STUDIO_NOT_FOUND && !j->unrecorded) {
        studio_error err = {0};
        int rc = studio_generation_set_status(g->s, j->id, status, why->msg, NULL, 0, &err);
        if (rc != 0 && studio_space_retry(g->s, &err)) /* a full drive: else the take stays "generating" */
            rc = studio_generation_set_status(g->s, j->id, status, why->msg, NULL, 0, &err);
        if (rc != 0 && err.kind != STUDIO_NOT_FOUND)
            log_warn("take %s: recording status %s failed: %s", j->id, status, err.msg);
    }
    pthread_mutex_lock(&g->mu);
    record_status(j, status);
    if (why) j->err = *why;
    j->result = result;
    unlink_live(g, j);
    unref_locked(j);
    pthread_mutex_unlock(&g->mu);
}

/* ---- one take on the worker ---- */

/* A ceiling on frames from the text length: speech runs at ~15 characters a second; allow four times
 * that so slow voices are never cut, but a model that never says EOS cannot run for minutes. */
static int max_frames_for(const char *text)
{
    long chars = studio_utf8_len(text);
    long frames = (long)(12.5 * (3.0 + 0.25 * (double)(chars > 0 ? chars : 0)));
    return frames > MAX_FRAMES_CAP ? MAX_FRAMES_CAP : (int)frames;
}

static int stopping(studio_gen *g, job *j)
{
    return __atomic_load_n(&g->quit, __ATOMIC_ACQUIRE) || __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE);
}

/* A streamed take's writer waiting for its reader asks this. */
static int stream_stop(void *arg)
{
    job *j = arg;
    return stopping(j->gen, j);
}

/* A streamed take's audio as the engine decodes it (on the worker). A reader that left has cancelled the
 * take, which on_progress passes on to the engine. */
static void on_stream_audio(const float *pcm, size_t n, void *user)
{
    job *j = user;
    studio_take_stream_audio(j->stream, pcm, n, stream_stop, j);
}

/* Also where a cancel that came just before qt_generate started (which clears earlier cancels) is honoured.
 */
static void on_progress(int frames_done, int max_frames, void *user)
{
    job *j = user;
    __atomic_store_n(&j->frames_done, frames_done, __ATOMIC_RELAXED);
    __atomic_store_n(&j->max_frames, max_frames, __ATOMIC_RELAXED);
    if (stopping(j->gen, j)) qt_cancel(j->gen->model);
}

static int stopped(job *j, studio_error *err)
{
    if (__atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE))
        return studio_fail(err, STUDIO_CONFLICT, NULL, "take %s was cancelled", j->id);
    return studio_fail(err, STUDIO_INTERNAL, NULL, "the server stopped during take %s", j->id);
}

/* The model is not in the cache: its download (started when the take was asked for, or now) runs and the
 * take waits for it, following GET /models/progress/{name} as a client would. */
static int await_download(studio_gen *g, job *j, studio_error *err)
{
    const studio_model *m = studio_model_find(j->model_size);
    if (!g->models)
        return studio_fail(err, STUDIO_NOT_READY, "model_size", "Model %s is not downloaded", j->model_size);
    set_status(g, j, "downloading");
    studio_model_progress p;
    studio_models_progress(g->models, m, &p);
    if (p.status != STUDIO_DL_DOWNLOADING) {
        studio_error e = {0};
        if (studio_models_download_start(g->models, m, &e) != 0 && e.kind != STUDIO_CONFLICT) {
            *err = e;
            return -1;
        }
        log_info("take %s: downloading %s first", j->id, m->name);
    }
    uint64_t seq = 0;
    for (;;) {
        if (stopping(g, j)) return stopped(j, err);
        studio_models_progress_wait(g->models, m, seq, DOWNLOAD_POLL_MS, &p);
        seq = p.seq;
        if (p.status == STUDIO_DL_ERROR)
            return studio_fail(err, STUDIO_INTERNAL, NULL, "downloading %s failed: %s", m->name, p.error);
        if (p.status != STUDIO_DL_DOWNLOADING && downloaded(j->model_size, NULL, 0, NULL, 0)) return 0;
        if (p.status == STUDIO_DL_IDLE || p.status == STUDIO_DL_COMPLETE) {
            /* finished without a snapshot, or the download ran in another process: look again shortly */
            struct timespec ts = {0, DOWNLOAD_POLL_MS * 1000000L};
            nanosleep(&ts, NULL);
            if (downloaded(j->model_size, NULL, 0, NULL, 0)) return 0;
            if (p.status == STUDIO_DL_COMPLETE)
                return studio_fail(err, STUDIO_INTERNAL, NULL, "%s downloaded but cannot be found", m->name);
        }
    }
}

#define NORMALIZE_PEAK 0.891f /* -1 dBFS */

/* Appends b to *pcm; the last `fade` samples of *pcm and the first of b overlap, b fading in linearly as the
 * earlier audio fades out (a click-free seam; the take is that much shorter than its chunks' sum). */
static int join_crossfade(float **pcm, size_t *n, const float *b, size_t nb, size_t fade)
{
    if (fade > *n) fade = *n;
    if (fade > nb) fade = nb;
    float *grown = realloc(*pcm, (*n + nb - fade + 1) * sizeof *grown);
    if (!grown) return -1;
    float *tail = grown + *n - fade;
    for (size_t k = 0; k < fade; k++) {
        float w = ((float)k + 0.5f) / (float)fade;
        tail[k] = tail[k] * (1.0f - w) + b[k] * w;
    }
    memcpy(grown + *n, b + fade, (nb - fade) * sizeof *grown);
    *pcm = grown;
    *n += nb - fade;
    return 0;
}

/* Scales the take so its loudest sample sits at peak (the normalize option). Silence stays silence. */
static void peak_normalize(float *pcm, size_t n, float peak)
{
    float max = 0.0f;
    for (size_t i = 0; i < n; i++)
        max = fabsf(pcm[i]) > max ? fabsf(pcm[i]) : max;
    if (max < 1e-6f) return;
    for (size_t i = 0; i < n; i++)
        pcm[i] *= peak / max;
}

/* engine_mu held. Makes the take's audio (and streams it); 0 with *result its history item as JSON text
 * (NULL for an unrecorded take), or -1 with err. */
static int run_take(studio_gen *g, job *j, char **result, studio_error *err)
{
    reference ref = {0};
    qt_gen_output out = {0};
    const qt_voice_prompt *vp = NULL;
    int rc = -1;
    char rel[64], *abs_path = NULL;
    char **chunks = NULL;
    int n_chunks = 0;
    float *pcm = NULL;
    size_t n_pcm = 0;

    if (!g->model || strcmp(g->model_size, j->model_size) != 0) {
        set_status(g, j, "loading_model");
        if (ensure_model(g, j->model_size, err) != 0) return -1;
    }
    if (stopping(g, j)) {
        stopped(j, err);
        return -1;
    }
    if (build_reference(g, j->profile_id, &ref, err) != 0) return -1;

    double t0 = qt_now_ms();
    int hit = 0;
    qt_error qerr = {0};
    vp = studio_prompt_cache_get(g->prompts, g->model, j->model_size, ref.wav, ref.wav_size, ref.text, &hit,
                                 &qerr);
    if (!vp) {
        studio_fail(err, qerr.kind == QT_ERR_INVALID ? STUDIO_INVALID : STUDIO_INTERNAL, NULL,
                    "voice prompt: %s", qerr.msg);
        goto done;
    }
    log_info("Voice prompt stage took %.1f ms (%s)", qt_now_ms() - t0, hit ? "cache hit" : "cache miss");

    /* A long text is spoken chunk by chunk (sentence ends, see text_chunks.h), each with the same voice
     * prompt and seed + chunk index, and the chunks are joined with a short crossfade. */
    if (studio_text_chunks(j->text, j->max_chunk_chars, QT_MAX_TEXT_BYTES, &chunks, &n_chunks) != 0 ||
        !n_chunks) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory splitting the text");
        goto done;
    }
    __atomic_store_n(&j->n_chunks, n_chunks, __ATOMIC_RELAXED);
    if (n_chunks > 1)
        log_info("Take %s: %d chunks of at most %d characters, %d ms crossfade", j->id, n_chunks,
                 j->max_chunk_chars, j->crossfade_ms);
    set_status(g, j, "generating");
    double t1 = qt_now_ms();
    int frames = 0;
    for (int c = 0; c < n_chunks; c++) {
        qt_gen_params gp = j->params;
        gp.language = j->language;
        gp.seed = (uint64_t)j->seed + (uint64_t)c;
        gp.max_frames = max_frames_for(chunks[c]);
        if (j->frame_cap > 0 && j->frame_cap < gp.max_frames) gp.max_frames = j->frame_cap;
        gp.on_progress = on_progress;
        gp.user = j;
        gp.out =
            j->unrecorded ? NULL : &out; /* a stream keeps nothing: its length is not bounded by memory */
        if (j->stream) {
            gp.on_audio = on_stream_audio;
            studio_take_stream_chunk_begin(j->stream);
        }
        __atomic_store_n(&j->frames_done, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&j->chunk, c, __ATOMIC_RELAXED);
        if (stopping(g, j)) { /* qt_generate clears a cancel made before it */
            stopped(j, err);
            goto done;
        }
        if (qt_generate(g->model, vp, chunks[c], &gp, &qerr) != 0) {
            if (qerr.kind == QT_ERR_CANCELLED && stopping(g, j))
                stopped(j, err);
            else if (qerr.kind == QT_ERR_CANCELLED)
                studio_fail(err, STUDIO_NOT_FOUND, "profile_id", "Profile %s was deleted during its take",
                            j->profile_id);
            else
                studio_fail(err, qerr.kind == QT_ERR_INVALID ? STUDIO_INVALID : STUDIO_INTERNAL, NULL,
                            "generation: %s", qerr.msg);
            goto done;
        }
        frames += __atomic_load_n(&j->frames_done, __ATOMIC_RELAXED);
        if (j->stream) studio_take_stream_chunk_end(j->stream);
        if (!j->unrecorded && join_crossfade(&pcm, &n_pcm, out.audio, out.n_samples,
                                             (size_t)j->crossfade_ms * QT_SAMPLE_RATE / 1000) != 0) {
            studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory joining the chunks");
            goto done;
        }
        qt_gen_output_free(&out);
    }
    if (j->normalize) peak_normalize(pcm, n_pcm, NORMALIZE_PEAK);
    double gen_ms = qt_now_ms() - t1;
    if (j->unrecorded) n_pcm = studio_take_stream_samples(j->stream);
    double duration = (double)n_pcm / QT_SAMPLE_RATE;
    log_info("Generated %.2f s of audio (%d frames) in %.0f ms, RTF %.2f%s", duration, frames, gen_ms,
             duration > 0 ? gen_ms / 1000.0 / duration : 0.0, j->stream ? ", streamed" : "");
    j->duration = duration;
    if (j->unrecorded) { /* as the Python studio's /generate/stream: the audio went to the client only */
        rc = 0;
        goto done;
    }

    snprintf(rel, sizeof rel, "generations/%s.wav", j->id);
    abs_path = studio_path(g->s, rel);
    audio_error aerr;
    pthread_mutex_lock(
        &g->s->mu); /* an intent first: a crash before the row leaves a file the sweep removes */
    studio_intent_add(g->s, rel);
    pthread_mutex_unlock(&g->s->mu);
    if (!abs_path || audio_write_wav16(abs_path, pcm, n_pcm, QT_SAMPLE_RATE, &aerr) != 0) {
        if (abs_path)
            studio_write_fail(err, aerr.errnum, "take: storing its audio", aerr.msg);
        else
            studio_fail(err, STUDIO_INTERNAL, NULL, "writing %s: out of memory", rel);
        pthread_mutex_lock(&g->s->mu);
        studio_intent_done(g->s, rel); /* no file was left (the write is atomic) */
        pthread_mutex_unlock(&g->s->mu);
        goto done;
    }
    int set = studio_generation_set_status(g->s, j->id, "completed", NULL, rel, duration, err);
    if (set != 0) remove(abs_path); /* the profile was deleted meanwhile: keep no file without its row */
    pthread_mutex_lock(&g->s->mu);
    studio_intent_done(g->s, rel);
    pthread_mutex_unlock(&g->s->mu);
    if (set != 0) goto done;
    json_t *item = studio_history_get(g->s, j->id, err);
    *result = item ? json_dumps(item, JSON_COMPACT) : NULL;
    json_decref(item);
    if (*result)
        rc = 0;
    else if (err->kind == STUDIO_OK)
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
done:
    studio_prompt_cache_release(g->prompts, vp);
    free(abs_path);
    free(pcm);
    studio_text_chunks_free(chunks, n_chunks);
    qt_gen_output_free(&out);
    reference_free(&ref);
    return rc;
}

static void work_on(studio_gen *g, job *j)
{
    log_info("Generation %s started (model %s, %ld chars)", j->id, j->model_size, studio_utf8_len(j->text));
    studio_error err = {0};
    char *result = NULL;
    int rc = -1;
    if (downloaded(j->model_size, NULL, 0, NULL, 0) || await_download(g, j, &err) == 0) {
        pthread_mutex_lock(&g->engine_mu);
        rc = run_take(g, j, &result, &err);
        pthread_mutex_lock(&g->mu);
        int unload = g->unload_pending;
        g->unload_pending = 0;
        pthread_mutex_unlock(&g->mu);
        if (unload) unload_locked(g);
        pthread_mutex_unlock(&g->engine_mu);
    }
    if (rc == 0) {
        finish_take(g, j, "completed", NULL, result);
        return;
    }
    int cancelled = __atomic_load_n(&j->cancel, __ATOMIC_ACQUIRE) && err.kind == STUDIO_CONFLICT;
    if (cancelled)
        log_info("Generation %s cancelled", j->id);
    else
        log_error("Generation %s failed: %s", j->id, err.msg);
    finish_take(g, j, cancelled ? "cancelled" : "failed", &err, NULL);
}

static void *worker_main(void *arg)
{
    studio_gen *g = arg;
    pthread_mutex_lock(&g->mu);
    for (;;) {
        while (!g->head && !g->quit)
            pthread_cond_wait(&g->wake, &g->mu);
        if (g->quit) break;
        job *j = g->head;
        g->head = j->next;
        if (!g->head) g->tail = NULL;
        g->running = j;
        pthread_mutex_unlock(&g->mu);
        work_on(g, j);
        pthread_mutex_lock(&g->mu);
        g->running = NULL;
    }
    /* Fail what is still queued: the rows say so, and their holders see a final state. */
    job *left = g->head;
    g->head = g->tail = NULL;
    pthread_mutex_unlock(&g->mu);
    while (left) {
        job *next = left->next;
        studio_error err = {0};
        studio_fail(&err, STUDIO_INTERNAL, NULL, "the server stopped before take %s ran", left->id);
        finish_take(g, left, "failed", &err, NULL);
        left = next;
    }
    return NULL;
}

/* ---- asking for takes ---- */

static long long random_seed(void)
{
    unsigned int v = 0;
    if (getrandom(&v, sizeof v, 0) != sizeof v) v = (unsigned int)time(NULL) ^ (unsigned int)clock();
    return (long long)(v & 0x7fffffffu);
}

static job *take_new(void)
{
    job *j = calloc(1, sizeof *j);
    if (j) {
        j->refs = 1;
        j->status = j->trail[0] = "queued";
    }
    return j;
}

/* ---- a take's settings: chunking and sampling, from the request (defaults: GET /settings/generation and
 * the engine's) and stored with the take as JSON so a retry runs it the same way ---- */

static const struct {
    const char *name;
    double min, max;
    int integer;
    size_t offset; /* in qt_gen_params */
} sampling[] = {
    {"temperature", 0.01, 2.0, 0, offsetof(qt_gen_params, temperature)},
    {"top_k", 0, 1000, 1, offsetof(qt_gen_params, top_k)},
    {"top_p", 0.01, 1.0, 0, offsetof(qt_gen_params, top_p)},
    {"repetition_penalty", 1.0, 2.0, 0, offsetof(qt_gen_params, repetition_penalty)},
    {"subtalker_temperature", 0.01, 2.0, 0, offsetof(qt_gen_params, subtalker_temperature)},
    {"subtalker_top_k", 0, 1000, 1, offsetof(qt_gen_params, subtalker_top_k)},
    {"subtalker_top_p", 0.01, 1.0, 0, offsetof(qt_gen_params, subtalker_top_p)},
};

/* Reads the settings members of obj into j (absent ones keep j's); STUDIO_INVALID names a bad one. */
static int apply_settings(job *j, const json_t *obj, studio_error *err)
{
    json_t *v;
    if ((v = json_object_get(obj, "max_chunk_chars")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < STUDIO_CHUNK_MIN_CHARS ||
            json_integer_value(v) > STUDIO_CHUNK_MAX_CHARS)
            return studio_fail(err, STUDIO_INVALID, "max_chunk_chars",
                               "max_chunk_chars: an integer from %d to %d", STUDIO_CHUNK_MIN_CHARS,
                               STUDIO_CHUNK_MAX_CHARS);
        j->max_chunk_chars = (int)json_integer_value(v);
    }
    if ((v = json_object_get(obj, "crossfade_ms")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) > STUDIO_CROSSFADE_MAX_MS)
            return studio_fail(err, STUDIO_INVALID, "crossfade_ms", "crossfade_ms: an integer from 0 to %d",
                               STUDIO_CROSSFADE_MAX_MS);
        j->crossfade_ms = (int)json_integer_value(v);
    }
    if ((v = json_object_get(obj, "max_frames")) && !json_is_null(v)) {
        if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > MAX_FRAMES_CAP)
            return studio_fail(err, STUDIO_INVALID, "max_frames", "max_frames: an integer from 1 to %d",
                               MAX_FRAMES_CAP);
        j->frame_cap = (int)json_integer_value(v);
    }
    const char *norm = json_object_get(obj, "normalize") ? "normalize" : "normalize_audio";
    if ((v = json_object_get(obj, norm)) && !json_is_null(v)) {
        if (!json_is_boolean(v)) return studio_fail(err, STUDIO_INVALID, norm, "%s: true or false", norm);
        j->normalize = json_is_true(v);
    }
    for (size_t i = 0; i < sizeof sampling / sizeof sampling[0]; i++) {
        v = json_object_get(obj, sampling[i].name);
        if (!v || json_is_null(v)) continue;
        if (studio_sampling_check(i, v, err) != 0) return -1;
        double x = json_number_value(v);
        char *field = (char *)&j->params + sampling[i].offset;
        if (sampling[i].integer)
            *(int *)field = (int)x;
        else
            *(float *)field = (float)x;
    }
    return 0;
}

const char *studio_sampling_name(size_t i)
{
    return i < sizeof sampling / sizeof sampling[0] ? sampling[i].name : NULL;
}

/* The value as a take's settings show it: 0.7, not 0.69999998. */
static json_t *sampling_json(size_t i, const qt_gen_params *p)
{
    const char *field = (const char *)p + sampling[i].offset;
    return sampling[i].integer ? json_integer(*(const int *)field)
                               : json_real(round(*(const float *)field * 1e6) / 1e6);
}

json_t *studio_sampling_default(size_t i)
{
    qt_gen_params p = qt_gen_default_params();
    return sampling_json(i, &p);
}

int studio_sampling_check(size_t i, const json_t *v, studio_error *err)
{
    double x = json_is_number(v) ? json_number_value(v) : -1e300;
    if ((sampling[i].integer && !json_is_integer(v)) || x < sampling[i].min || x > sampling[i].max)
        return studio_fail(err, STUDIO_INVALID, sampling[i].name, "%s: %s from %g to %g", sampling[i].name,
                           sampling[i].integer ? "an integer" : "a number", sampling[i].min, sampling[i].max);
    return 0;
}

static json_t *settings_json(const job *j)
{
    json_t *o = json_pack("{s:i, s:i, s:b}", "max_chunk_chars", j->max_chunk_chars, "crossfade_ms",
                          j->crossfade_ms, "normalize", j->normalize);
    if (o && j->frame_cap) json_object_set_new(o, "max_frames", json_integer(j->frame_cap));
    for (size_t i = 0; o && i < sizeof sampling / sizeof sampling[0]; i++)
        json_object_set_new(o, sampling[i].name, sampling_json(i, &j->params));
    return o;
}

/* The defaults: the studio's generation settings, the engine's sampling. */
static void default_settings(studio_gen *g, job *j)
{
    j->params = qt_gen_default_params();
    j->max_chunk_chars = STUDIO_CHUNK_DEFAULT_CHARS;
    j->crossfade_ms = STUDIO_CROSSFADE_DEFAULT_MS;
    json_t *st = studio_generation_settings(g->s, NULL);
    if (st) apply_settings(j, st, NULL);
    json_decref(st);
}

/* Validates body into a new take; STUDIO_INVALID names the field. */
static job *take_from_body(studio_gen *g, const json_t *body, studio_error *err)
{
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    job *j = take_new();
    if (!j) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    default_settings(g, j);
    if (apply_settings(j, body, err) != 0) goto fail;
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
            studio_fail(err, STUDIO_INVALID, "seed", "seed: must be an integer from 0 to %lld",
                        STUDIO_SEED_MAX);
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
    if (!m || m->whisper || strcmp(m->size, size ? size : m->size)) {
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
    return j;
fail:
    take_free(j);
    return NULL;
}

/* What can be known before queueing: the profile exists and has samples, and the model is in the cache or
 * can be fetched (its download starts now, so a client may follow it on /models/progress/{name}). */
static int check_take(studio_gen *g, const job *j, studio_error *err)
{
    json_t *samples = studio_sample_list(g->s, j->profile_id, err);
    if (!samples) {
        if (err && err->kind == STUDIO_NOT_FOUND && !err->field[0])
            snprintf(err->field, sizeof err->field, "profile_id");
        return -1;
    }
    size_t n = json_array_size(samples);
    json_decref(samples);
    if (n == 0)
        return studio_fail(err, STUDIO_CONFLICT, "profile_id",
                           "Profile %s has no samples; add a reference sample before generating",
                           j->profile_id);
    if (downloaded(j->model_size, NULL, 0, NULL, 0)) return 0;
    const char *offline = getenv("HF_HUB_OFFLINE");
    if (!g->models || (offline && *offline && strcmp(offline, "0") != 0))
        return studio_fail(
            err, STUDIO_NOT_READY, "model_size",
            "Model %s (qwen-tts-%s) is not downloaded and there is no source to download it from "
            "(HF_HUB_OFFLINE is set); download it first with POST /models/download "
            "{\"model_name\": \"qwen-tts-%s\"}",
            j->model_size, j->model_size, j->model_size);
    studio_error e = {0};
    const studio_model *m = studio_model_find(j->model_size);
    if (studio_models_download_start(g->models, m, &e) != 0 && e.kind != STUDIO_CONFLICT) {
        *err = e;
        return -1;
    }
    return 0;
}

/* Records the take (the row, status queued; an unrecorded one gets only its id) and queues it. Takes j's
 * first reference; *hold, when given, gets a second one for the caller. */
static json_t *enqueue(studio_gen *g, job *j, int new_row, studio_take **hold, studio_error *err)
{
    json_t *item = NULL;
    json_t *sj = settings_json(j);
    char *settings = sj ? json_dumps(sj, JSON_COMPACT) : NULL;
    json_decref(sj);
    if (j->unrecorded) {
        studio_new_id(j->id);
        item = json_pack("{s:s, s:s}", "id", j->id, "status", "queued");
        if (!item) studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
    } else if (new_row) {
        studio_new_id(j->id);
        studio_generation row = {
            .id = j->id,
            .profile_id = j->profile_id,
            .text = j->text,
            .language = j->language,
            .duration = -1,
            .seed = j->seed,
            .model_size = j->model_size,
            .instruct = j->instruct,
            .status = "queued",
            .settings = settings,
        };
        item = studio_generation_insert(g->s, &row, err);
    } else if (studio_generation_set_status(g->s, j->id, "queued", NULL, NULL, 0, err) == 0) {
        item = studio_history_get(g->s, j->id, err);
    }
    free(settings);
    if (!item) {
        take_free(j);
        return NULL;
    }
    j->gen = g;
    pthread_mutex_lock(&g->mu);
    if (g->quit) {
        pthread_mutex_unlock(&g->mu);
        if (!j->unrecorded)
            studio_generation_set_status(g->s, j->id, "failed", "the server is shutting down", NULL, 0, NULL);
        take_free(j);
        json_decref(item);
        studio_fail(err, STUDIO_INTERNAL, NULL, "the server is shutting down");
        return NULL;
    }
    if (g->tail)
        g->tail->next = j;
    else
        g->head = j;
    g->tail = j;
    j->live = g->takes;
    g->takes = j;
    if (hold) {
        j->refs++;
        *hold = j;
    }
    pthread_cond_signal(&g->wake);
    pthread_mutex_unlock(&g->mu);
    return item;
}

json_t *studio_gen_submit(studio_gen *g, const json_t *body, studio_error *err)
{
    job *j = take_from_body(g, body, err);
    if (!j) return NULL;
    if (check_take(g, j, err) != 0) {
        take_free(j);
        return NULL;
    }
    return enqueue(g, j, 1, NULL, err);
}

studio_take *studio_gen_stream(studio_gen *g, const json_t *body, int record, json_t **item,
                               studio_error *err)
{
    if (item) *item = NULL;
    job *j = take_from_body(g, body, err);
    if (!j) return NULL;
    if (json_is_true(json_object_get(body, "normalize")) ||
        json_is_true(json_object_get(body, "normalize_audio"))) {
        studio_fail(
            err, STUDIO_INVALID, "normalize",
            "normalize: a streamed take cannot be peak-normalised (its peak is known only at its end)");
        goto fail;
    }
    j->normalize = 0; /* a default of the studio's that a stream cannot honour: the stored copy matches it */
    j->unrecorded = !record;
    j->stream = studio_take_stream_new(STREAM_PIPE_BYTES, (size_t)j->crossfade_ms * QT_SAMPLE_RATE / 1000);
    if (!j->stream) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
        goto fail;
    }
    if (check_take(g, j, err) != 0) goto fail;
    studio_take *t = NULL;
    json_t *it = enqueue(g, j, 1, &t, err); /* frees j on failure */
    if (!it) return NULL;
    if (item)
        *item = it;
    else
        json_decref(it);
    return t;
fail:
    take_free(j);
    return NULL;
}

long studio_take_read_audio(studio_take *t, void *buf, size_t max)
{
    return t->stream ? studio_take_stream_read(t->stream, buf, max) : -2;
}

void studio_take_audio_notify(studio_take *t, void (*fn)(void *), void *arg)
{
    if (t->stream) studio_take_stream_notify(t->stream, fn, arg);
}

/* A take from its history row: the settings it was asked with. */
static job *take_from_row(studio_gen *g, const json_t *item, studio_error *err)
{
    job *j = take_new();
    if (j) {
        default_settings(g, j);
        apply_settings(j, json_object_get(item, "settings"), NULL); /* stored, so checked when asked for */
    }
    const char *instruct = json_string_value(json_object_get(item, "instruct"));
    const char *size = json_string_value(json_object_get(item, "model_size"));
    if (j) {
        snprintf(j->id, sizeof j->id, "%s", json_string_value(json_object_get(item, "id")));
        snprintf(j->profile_id, sizeof j->profile_id, "%s",
                 json_string_value(json_object_get(item, "profile_id")));
        snprintf(j->language, sizeof j->language, "%s", json_string_value(json_object_get(item, "language")));
        snprintf(j->model_size, sizeof j->model_size, "%s", size ? size : studio_model_default()->size);
        json_t *seed = json_object_get(item, "seed");
        j->seed = json_is_integer(seed) ? json_integer_value(seed) : random_seed();
        j->text = strdup(json_string_value(json_object_get(item, "text")));
        j->instruct = instruct ? strdup(instruct) : NULL;
    }
    if (!j || !j->text || (instruct && !j->instruct)) {
        if (j) take_free(j);
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
        return NULL;
    }
    return j;
}

json_t *studio_gen_retry(studio_gen *g, const char *id, studio_error *err)
{
    json_t *item = studio_history_get(g->s, id, err);
    if (!item) return NULL;
    const char *status = json_string_value(json_object_get(item, "status"));
    if (!status || (strcmp(status, "failed") != 0 && strcmp(status, "cancelled") != 0)) {
        studio_fail(err, STUDIO_CONFLICT, "id",
                    "take %s is %s: only a failed or cancelled take can be retried", id,
                    status ? status : "unknown");
        json_decref(item);
        return NULL;
    }
    job *j = take_from_row(g, item, err);
    json_decref(item);
    if (!j || check_take(g, j, err) != 0) {
        if (j) take_free(j);
        return NULL;
    }
    log_info("take %s: retried", id);
    return enqueue(g, j, 0, NULL, err);
}

json_t *studio_gen_regenerate(studio_gen *g, const char *id, studio_error *err)
{
    json_t *item = studio_history_get(g->s, id, err);
    if (!item) return NULL;
    job *j = take_from_row(g, item, err);
    json_decref(item);
    if (!j) return NULL;
    j->seed = random_seed(); /* the same settings; a new take worth hearing needs a new seed */
    if (check_take(g, j, err) != 0) {
        take_free(j);
        return NULL;
    }
    return enqueue(g, j, 1, NULL, err);
}

/* mu held */
static job *find_live(studio_gen *g, const char *id)
{
    for (job *j = g->takes; j; j = j->live)
        if (!strcmp(j->id, id)) return j;
    return NULL;
}

/* mu held: takes j out of the queue; 1 if it was there. */
static int dequeue(studio_gen *g, job *j)
{
    job *prev = NULL;
    for (job *q = g->head; q; prev = q, q = q->next) {
        if (q != j) continue;
        if (prev)
            prev->next = q->next;
        else
            g->head = q->next;
        if (g->tail == q) g->tail = prev;
        q->next = NULL;
        return 1;
    }
    return 0;
}

/* mu held, j live: a queued take leaves the queue (1: the caller finishes it as cancelled); a running one is
 * asked to stop within a frame. */
static int cancel_locked(studio_gen *g, job *j)
{
    if (dequeue(g, j)) return 1;
    __atomic_store_n(&j->cancel, 1, __ATOMIC_RELEASE);
    if (g->running == j && !strcmp(j->status, "generating") && g->model) qt_cancel(g->model);
    return 0;
}

static void finish_cancelled(studio_gen *g, job *j, const char *why_text)
{
    studio_error why = {0};
    studio_fail(&why, STUDIO_CONFLICT, NULL, "take %s was cancelled%s", j->id, why_text);
    log_info("Generation %s cancelled while queued%s", j->id, why_text);
    finish_take(g, j, "cancelled", &why, NULL);
}

json_t *studio_gen_cancel(studio_gen *g, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation: not found");
        return NULL;
    }
    pthread_mutex_lock(&g->mu);
    job *j = find_live(g, id);
    int was_queued = j && cancel_locked(g, j);
    pthread_mutex_unlock(&g->mu);
    if (was_queued) finish_cancelled(g, j, "");
    json_t *item = studio_history_get(g->s, id, err);
    if (!item) return NULL;
    const char *status = json_string_value(json_object_get(item, "status"));
    if (!j && studio_take_final(status)) {
        studio_fail(err, STUDIO_CONFLICT, "id", "take %s is already %s; nothing to cancel", id, status);
        json_decref(item);
        return NULL;
    }
    return item; /* a running take ends as cancelled within a frame; its stream says when */
}

void studio_gen_cancel_profile(studio_gen *g, const char *profile_id)
{
    pthread_mutex_lock(&g->mu);
    if (g->running && !strcmp(g->running->profile_id, profile_id) && g->model) qt_cancel(g->model);
    job *gone = NULL;
    for (job *j = g->head, *next; j; j = next) {
        next = j->next;
        if (!strcmp(j->profile_id, profile_id) && dequeue(g, j)) {
            j->next = gone;
            gone = j;
        }
    }
    pthread_mutex_unlock(&g->mu);
    while (gone) {
        job *next = gone->next;
        studio_error why = {0};
        studio_fail(&why, STUDIO_NOT_FOUND, "profile_id", "Profile %s was deleted before its take ran",
                    profile_id);
        finish_take(g, gone, "failed", &why, NULL);
        gone = next;
    }
}

/* ---- following a take ---- */

studio_take *studio_gen_take(studio_gen *g, const char *id)
{
    pthread_mutex_lock(&g->mu);
    job *j = studio_id_valid(id) ? find_live(g, id) : NULL;
    if (j) j->refs++;
    pthread_mutex_unlock(&g->mu);
    return j;
}

void studio_take_release(studio_gen *g, studio_take *t)
{
    if (!t) return;
    pthread_mutex_lock(&g->mu);
    unref_locked(t);
    pthread_mutex_unlock(&g->mu);
}

void studio_take_abandon(studio_gen *g, studio_take *t)
{
    if (!t) return;
    if (t->stream) studio_take_stream_close(t->stream); /* a writer waiting for room wakes */
    pthread_mutex_lock(&g->mu);
    int queued = 0, live = !studio_take_final(t->status);
    if (live) {
        queued = cancel_locked(g, t);
        if (!queued) log_info("Generation %s: its listener left; cancelling it", t->id);
    }
    pthread_mutex_unlock(&g->mu);
    if (queued) finish_cancelled(g, t, " (its listener left)");
    studio_take_release(g, t);
}

/* mu held: 1-based place in the queue, 0 when not queued. */
static int position_of(studio_gen *g, const job *j)
{
    int pos = 1;
    for (const job *q = g->head; q; q = q->next, pos++)
        if (q == j) return pos;
    return 0;
}

/* Over the whole take: chunks done plus the share of the chunk being spoken. */
static double progress_of(const job *j)
{
    if (!strcmp(j->status, "completed")) return 100.0;
    int done = __atomic_load_n(&j->frames_done, __ATOMIC_RELAXED);
    int max = __atomic_load_n(&j->max_frames, __ATOMIC_RELAXED);
    int chunk = __atomic_load_n(&j->chunk, __ATOMIC_RELAXED);
    int n = __atomic_load_n(&j->n_chunks, __ATOMIC_RELAXED);
    double part = max > 0 ? (double)done / max : 0.0;
    return 100.0 * (chunk + part) / (n > 0 ? n : 1);
}

void studio_take_read(studio_gen *g, studio_take *t, studio_take_state *out)
{
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&g->mu);
    snprintf(out->id, sizeof out->id, "%s", t->id);
    snprintf(out->status, sizeof out->status, "%s", t->status);
    out->progress = progress_of(t);
    out->position = position_of(g, t);
    out->duration = !strcmp(t->status, "completed") ? t->duration : -1;
    out->err = t->err;
    out->final = studio_take_final(t->status);
    out->seq = t->seq;
    memcpy(out->trail, t->trail, sizeof out->trail);
    if (t->result) out->result = strdup(t->result);
    pthread_mutex_unlock(&g->mu);
}

json_t *studio_take_state_json(const studio_take_state *st)
{
    return json_pack("{s:s, s:s, s:f, s:i, s:o, s:o}", "id", st->id, "status", st->status, "progress",
                     st->progress, "position", st->position, "duration",
                     st->duration >= 0 ? json_real(st->duration) : json_null(), "error",
                     st->err.kind != STUDIO_OK && strcmp(st->status, "completed") ? json_string(st->err.msg)
                                                                                  : json_null());
}

int studio_gen_take_state_stored(studio_gen *g, const char *id, studio_take_state *out, studio_error *err)
{
    memset(out, 0, sizeof *out);
    json_t *item = studio_history_get(g->s, id, err);
    if (!item) return -1;
    const char *status = json_string_value(json_object_get(item, "status"));
    const char *error = json_string_value(json_object_get(item, "error"));
    json_t *dur = json_object_get(item, "duration");
    snprintf(out->id, sizeof out->id, "%s", id);
    snprintf(out->status, sizeof out->status, "%s", status ? status : "failed");
    out->final = studio_take_final(out->status);
    out->progress = !strcmp(out->status, "completed") ? 100.0 : 0.0;
    out->duration = json_is_number(dur) ? json_number_value(dur) : -1;
    if (error) studio_fail(&out->err, STUDIO_INTERNAL, NULL, "%s", error);
    if (!strcmp(out->status, "completed")) out->result = json_dumps(item, JSON_COMPACT);
    json_decref(item);
    return 0;
}

/* ---- status ---- */

static json_t *job_json(studio_gen *g, const job *j)
{
    int done = __atomic_load_n(&j->frames_done, __ATOMIC_RELAXED);
    int max = __atomic_load_n(&j->max_frames, __ATOMIC_RELAXED);
    int running = g->running == j;
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:f}", "task_id", j->id, "profile_id",
                     j->profile_id, "text", j->text, "model_size", j->model_size, "status",
                     running ? "running" : "queued", "take_status", j->status, "position",
                     running ? 0 : position_of(g, j), "frames_done", done, "max_frames", max, "progress",
                     progress_of(j));
}

json_t *studio_gen_active(studio_gen *g)
{
    json_t *arr = json_array();
    pthread_mutex_lock(&g->mu);
    if (g->running && !studio_take_final(g->running->status))
        json_array_append_new(arr, job_json(g, g->running));
    for (job *j = g->head; j; j = j->next)
        json_array_append_new(arr, job_json(g, j));
    pthread_mutex_unlock(&g->mu);
    return arr;
}

void studio_gen_health(studio_gen *g, json_t *health)
{
    char size[8];
    const char *loaded = studio_gen_loaded_size(g, size, sizeof size);
    const char *want = loaded ? loaded : studio_model_default()->size;
    json_object_set_new(health, "model_loaded", json_boolean(loaded != NULL));
    json_object_set_new(health, "model_downloaded", json_boolean(downloaded(want, NULL, 0, NULL, 0)));
    json_object_set_new(health, "model_size", loaded ? json_string(loaded) : json_null());
    char prec[8];
    const char *lp = studio_gen_loaded_precision(g, prec, sizeof prec);
    json_object_set_new(health, "model_precision", lp ? json_string(lp) : json_null());
    json_object_set_new(health, "gpu_available", json_false());
    json_object_set_new(health, "gpu_type", json_null());
    json_object_set_new(health, "vram_used_mb", json_null());
    json_object_set_new(health, "backend_type", json_string("voicebox-c (CPU)"));
}

json_t *studio_gen_cache_clear(studio_gen *g, studio_error *err)
{
    int deleted = studio_prompt_cache_clear(g->prompts); /* its own lock: never waits for a take */
    if (deleted < 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "clearing the voice prompt cache failed");
        return NULL;
    }
    log_info("Voice prompt cache cleared: %d files deleted", deleted);
    return json_pack("{s:s, s:i}", "message", "Voice prompt cache cleared", "files_deleted", deleted);
}

/* ---- lifetime ---- */

studio_gen *studio_gen_new(studio *s, studio_models *models, studio_error *err)
{
    studio_gen *g = calloc(1, sizeof *g);
    char *cache_dir = NULL;
    if (!g) goto nomem;
    g->s = s;
    g->models = models;
    pthread_mutex_init(&g->mu, NULL);
    pthread_mutex_init(&g->engine_mu, NULL);
    pthread_cond_init(&g->wake, NULL);
    cache_dir = studio_path(s, "cache");
    if (!cache_dir) goto nomem;
    g->prompts = studio_prompt_cache_new(cache_dir);
    if (!g->prompts) goto nomem;
    free(cache_dir);
    cache_dir = NULL;
    studio_generations_fail_unfinished(s, NULL); /* a crash left them; no worker of ours runs them */
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
    if (g->running && g->model) qt_cancel(g->model);
    pthread_cond_broadcast(&g->wake);
    int join = !g->joined;
    g->joined = 1;
    pthread_mutex_unlock(&g->mu);
    if (join) pthread_join(g->worker, NULL);
}

void studio_gen_free(studio_gen *g)
{
    if (!g) return;
    studio_gen_shutdown(g);
    studio_prompt_cache_free(g->prompts);
    qt_model_free(g->model);
    pthread_mutex_destroy(&g->mu);
    pthread_mutex_destroy(&g->engine_mu);
    pthread_cond_destroy(&g->wake);
    free(g);
}

int studio_gen_exclusive(studio_gen *g, int (*fn)(void *ctx), void *ctx)
{
    pthread_mutex_lock(&g->engine_mu);
    int rc = fn(ctx);
    pthread_mutex_unlock(&g->engine_mu);
    return rc;
}
