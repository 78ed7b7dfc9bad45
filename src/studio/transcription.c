/* transcription.c — see transcription.h. The upload is checked and decoded (to 16 kHz mono) before the
 * model lock is taken, so a bad file is answered at once even while another transcription runs.
 */
#include "engine/qt.h"
#include "studio/transcription.h"

#include "audio/audio.h"
#include "studio/log.h"
#include "studio/models.h"
#include "studio/studio_internal.h"
#include "whisper/wh.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SILENT_PEAK 1e-3f /* -60 dBFS: nothing a microphone picks up from speech is this quiet */
#define MIN_SECONDS 0.1

struct studio_asr {
    pthread_mutex_t mu; /* held for a whole transcription and for loading */
    wh_model *model;
    const studio_model
        *which; /* written under mu with __atomic stores, read without mu by studio_asr_loaded */
};

studio_asr *studio_asr_new(studio_error *err)
{
    studio_asr *a = calloc(1, sizeof *a);
    if (!a) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory for the transcription context");
        return NULL;
    }
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

void studio_asr_free(studio_asr *a)
{
    if (!a) return;
    wh_model_free(a->model);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

const char *studio_asr_loaded(studio_asr *a, char *out, size_t size)
{
    const studio_model *m =
        __atomic_load_n(&a->which, __ATOMIC_ACQUIRE); /* never waits for a transcription */
    if (m) snprintf(out, size, "%s", m->name);
    return m ? out : NULL;
}

/* The model resident under a->mu, loading it (and dropping another) when needed. */
static int ensure_model(studio_asr *a, const studio_model *m, studio_error *err)
{
    studio_model_state st; /* asked every time: a model deleted from the cache is not used on */
    if (studio_models_state(NULL, m, &st, err) != 0) return -1;
    if (st.downloaded && a->model && a->which == m) return 0;
    if (!st.downloaded)
        return studio_fail(err, STUDIO_NOT_READY, "model",
                           "Model %s is not downloaded; download it first with POST /models/download "
                           "{\"model_name\": \"%s\"}",
                           m->name, m->name);
    __atomic_store_n(&a->which, NULL, __ATOMIC_RELEASE);
    wh_model_free(a->model);
    a->model = NULL;
    log_info("Loading Whisper model %s from %s", m->name, st.path);
    double t0 = qt_now_ms();
    wh_error werr = {0};
    if (!(a->model = wh_model_load(st.path, NULL, &werr)))
        return studio_fail(err, STUDIO_INTERNAL, NULL, "loading %s failed: %s", m->name, werr.msg);
    __atomic_store_n(&a->which, m, __ATOMIC_RELEASE);
    log_info("Loaded %s in %.0f ms", m->name, qt_now_ms() - t0);
    return 0;
}

/* A language as the API may send it: a lower-case code of 2-3 letters ("en", "haw", "yue"), or auto. */
static int language_ok(const char *l)
{
    size_t n = strlen(l);
    if (!strcmp(l, "auto")) return 1;
    if (n < 2 || n > 3) return 0;
    for (size_t i = 0; i < n; i++)
        if (l[i] < 'a' || l[i] > 'z') return 0;
    return 1;
}

typedef struct {
    studio_asr *a;
    const studio_model *m;
    const audio_buf *buf;
    const char *language;
    json_t *out;
    studio_error *err;
} asr_job;

/* The inference itself, in its turn: the model resident under a->mu, then Whisper. */
static int run_job(void *ctx)
{
    asr_job *j = ctx;
    studio_asr *a = j->a;
    pthread_mutex_lock(&a->mu);
    if (ensure_model(a, j->m, j->err) == 0) {
        wh_params p = wh_default_params();
        p.language = j->language;
        wh_result r;
        wh_error werr = {0};
        double t0 = qt_now_ms();
        if (wh_transcribe(a->model, j->buf->samples, j->buf->n, &p, &r, &werr) == 0) {
            log_info("Transcribed %.1f s with %s in %.0f ms (%s, %zu tokens)", r.duration_s, j->m->name,
                     qt_now_ms() - t0, r.language, r.n_tokens);
            j->out = json_pack("{s:s, s:f}", "text", r.text, "duration", r.duration_s);
            wh_result_free(&r);
        } else if (werr.kind == WH_ERR_INVALID) {
            studio_fail(j->err, STUDIO_INVALID, strstr(werr.msg, "language") ? "language" : "file", "%s",
                        werr.msg);
        } else {
            studio_fail(j->err, STUDIO_INTERNAL, NULL, "transcription failed: %s", werr.msg);
        }
    }
    pthread_mutex_unlock(&a->mu);
    return j->out ? 0 : -1;
}

json_t *studio_asr_transcribe(studio_asr *a, studio_gen *worker, const void *bytes, size_t size,
                              const char *language, const char *model, studio_error *err)
{
    const studio_model *m = studio_model_find(model && *model ? model : STUDIO_WHISPER_DEFAULT);
    if (!m || !m->whisper) {
        studio_fail(err, STUDIO_INVALID, "model",
                    "model: \"%s\" is not a Whisper model (whisper-base, whisper-small, whisper-medium, "
                    "whisper-large, whisper-turbo)",
                    model);
        return NULL;
    }
    if (language && *language && !language_ok(language)) {
        studio_fail(err, STUDIO_INVALID, "language",
                    "language: \"%.40s\" is not a language code such as en or de", language);
        return NULL;
    }
    if (size == 0) {
        studio_fail(err, STUDIO_INVALID, "file", "file: the upload is empty (0 bytes)");
        return NULL;
    }
    if (size > STUDIO_UPLOAD_MAX) {
        studio_fail(err, STUDIO_TOO_LARGE, "file", "file: %zu bytes is over the %u byte upload limit", size,
                    STUDIO_UPLOAD_MAX);
        return NULL;
    }
    audio_buf buf = {0};
    audio_error aerr = {{0}, 0, 0};
    if (audio_decode_memory(bytes, size, WH_SAMPLE_RATE, &buf, &aerr) < 0) {
        if (aerr.out_of_memory) /* the upload may be fine: not a 415 */
            studio_fail(err, STUDIO_INTERNAL, NULL, "file: %s", aerr.msg);
        else
            studio_fail(err, STUDIO_UNSUPPORTED_MEDIA, "file", "file: cannot be decoded as audio: %s",
                        aerr.msg);
        return NULL;
    }
    json_t *out = NULL;
    double seconds = (double)buf.n / WH_SAMPLE_RATE;
    float peak = audio_peak(buf.samples, buf.n);
    if (seconds < MIN_SECONDS) {
        studio_fail(err, STUDIO_INVALID, "file", "file: the audio lasts %.3f s; at least %.1f s is needed",
                    seconds, MIN_SECONDS);
        goto done;
    }
    if (peak < SILENT_PEAK) {
        studio_fail(err, STUDIO_INVALID, "file",
                    "file: the audio is silent (peak %.5f), there is nothing to transcribe", peak);
        goto done;
    }
    /* a model not downloaded is answered at once, not after the running take */
    studio_model_state st;
    if (studio_models_state(NULL, m, &st, err) != 0) goto done;
    if (!st.downloaded) {
        studio_fail(err, STUDIO_NOT_READY, "model",
                    "Model %s is not downloaded; download it first with POST /models/download "
                    "{\"model_name\": \"%s\"}",
                    m->name, m->name);
        goto done;
    }
    asr_job j = {a, m, &buf, language, NULL, err};
    if (worker)
        studio_gen_exclusive(worker, run_job, &j);
    else
        run_job(&j);
    out = j.out;
done:
    audio_buf_free(&buf);
    return out;
}
