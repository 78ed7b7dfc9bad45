/* routes_generate.c — POST /generate, its status stream, cancel/retry/regenerate, POST /cache/clear, and
 * attaching the generation layer to the server. The work itself is studio/generation.c. A take is a record
 * there, never a waiting thread: POST /generate answers at once (?wait=false) or defers its answer until the
 * take is final (srv_response.defer), and the status stream polls the take's state. */
#include "server/routes.h"
#include "server/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int need_gen(srv_ctx *ctx, srv_response *res)
{
    if (__atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE)) return 0;
    srv_error(res, 503, "generation is not available yet; the server is starting or stopping");
    return -1;
}

/* The answer for a take in a final state: its history item, or its error with the status of its kind. */
static void final_answer(srv_response *res, const studio_take_state *st)
{
    if (!strcmp(st->status, "completed") && st->result) {
        srv_response_clear(res);
        res->status = 200;
        res->body = strdup(st->result);
        res->body_len = res->body ? strlen(res->body) : 0;
        res->content_type = "application/json";
        if (!res->body) srv_error(res, 500, "out of memory");
        return;
    }
    int status = srv_status_for(st->err.kind);
    srv_field_error(res, status >= 400 ? status : 500, st->err.field, "%s",
                    st->err.msg[0] ? st->err.msg : "the take did not complete");
}

typedef struct {
    studio_gen *gen;
    studio_take *take;
} take_wait;

static int wait_poll(void *arg, srv_response *out)
{
    take_wait *w = arg;
    studio_take_state st;
    studio_take_read(w->gen, w->take, &st);
    if (st.final) final_answer(out, &st);
    free(st.result);
    return st.final;
}

static void wait_free(void *arg)
{
    take_wait *w = arg;
    studio_take_release(w->gen, w->take);
    free(w);
}

/* 1 for ?wait=false (also 0, no): answer at once. */
static int no_wait(const srv_request *req)
{
    const char *v = srv_query(req, "wait");
    return v && (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"));
}

/* Answers with the take's item: at once (?wait=false), or once it is final (the default, as the 0.1
 * Voicebox app expects). Takes the reference to item. */
static void answer_take(srv_ctx *ctx, const srv_request *req, srv_response *res, json_t *item)
{
    const char *id = json_string_value(json_object_get(item, "id"));
    studio_take *t = no_wait(req) || !id ? NULL : studio_gen_take(ctx->gen, id);
    if (!t) { /* asked not to wait, or already final: the row says it all */
        studio_take_state st;
        if (!no_wait(req) && id && studio_gen_take_state_stored(ctx->gen, id, &st, NULL) == 0 && st.final) {
            final_answer(res, &st);
            free(st.result);
            json_decref(item);
            return;
        }
        srv_json(res, 200, item);
        return;
    }
    json_decref(item);
    take_wait *w = malloc(sizeof *w);
    if (!w) {
        studio_take_release(ctx->gen, t);
        srv_error(res, 500, "out of memory");
        return;
    }
    *w = (take_wait){ctx->gen, t};
    res->defer = wait_poll;
    res->defer_free = wait_free;
    res->defer_arg = w;
}

void srv_post_generate(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *item = studio_gen_submit(ctx->gen, body, &err);
    json_decref(body);
    if (!item) {
        srv_studio_error(res, req, &err);
        return;
    }
    answer_take(ctx, req, res, item);
}

/* POST /generate/stream: the body of POST /generate plus "format" ("wav", the default, or "pcm": raw 16-bit
 * little-endian mono at 24 kHz). Validated as POST /generate (4xx naming the field) before any byte is
 * sent; then the audio as it is made (audio_stream.c). Not recorded, as the Python studio's route. */
void srv_post_generate_stream(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    json_t *fmt = json_object_get(body, "format");
    const char *format = fmt && !json_is_null(fmt) ? json_string_value(fmt) : "wav";
    if (!format || (strcmp(format, "wav") != 0 && strcmp(format, "pcm") != 0)) {
        json_decref(body);
        srv_field_error(res, 422, "format", "format: must be wav or pcm");
        return;
    }
    int wav = !strcmp(format, "wav");
    studio_error err = {0};
    studio_take *t = studio_gen_stream(ctx->gen, body, 0, NULL, &err);
    json_decref(body);
    if (!t) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_stream_take(ctx, res, t, wav ? "wav" : "pcm", wav ? "audio/wav" : "audio/pcm"); /* body is gone */
}

/* POST /generate/{id}/cancel, /retry, /regenerate */
void srv_post_generate_cancel(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    studio_error err = {0};
    json_t *item = studio_gen_cancel(ctx->gen, req->params[0], &err);
    if (!item) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, item);
}

void srv_post_generate_retry(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    studio_error err = {0};
    json_t *item = studio_gen_retry(ctx->gen, req->params[0], &err);
    if (!item) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, item);
}

void srv_post_generate_regenerate(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    studio_error err = {0};
    json_t *item = studio_gen_regenerate(ctx->gen, req->params[0], &err);
    if (!item) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, item);
}

/* ---- GET /generate/{id}/status: server-sent events ---- */

#define PROGRESS_EVERY_MS 250 /* progress events at most this often; status changes at once */

typedef struct {
    studio_gen *gen;
    studio_take *take;      /* NULL: the one event in `last` is all there is */
    studio_take_state last; /* what was sent last */
    int sent_any;
    int finished;
    struct timespec last_write;
} status_stream;

static long status_event(status_stream *ss, char *buf, size_t max, const studio_take_state *st)
{
    long n = srv_sse_event(&ss->last_write, buf, max, studio_take_state_json(st));
    if (n <= 0) return n;
    free(ss->last.result);
    ss->last = *st;
    ss->last.result = NULL;
    ss->sent_any = 1;
    ss->finished = st->final;
    return n;
}

static long status_produce(void *arg, char *buf, size_t max)
{
    status_stream *ss = arg;
    if (ss->finished) return -1;
    if (!ss->take) {
        studio_take_state st = ss->last;
        st.result = NULL;
        st.final = 1;
        return status_event(ss, buf, max, &st);
    }
    studio_take_state st;
    studio_take_read(ss->gen, ss->take, &st);
    free(st.result);
    st.result = NULL;
    if (ss->sent_any && st.seq > ss->last.seq + 1 && st.seq < STUDIO_TAKE_TRAIL) {
        /* polled past a short-lived status (a model that loads in a moment): send what was missed first */
        studio_take_state missed = ss->last;
        missed.seq = ss->last.seq + 1;
        snprintf(missed.status, sizeof missed.status, "%s", st.trail[missed.seq]);
        missed.position = 0;
        return status_event(ss, buf, max, &missed);
    }
    if (ss->sent_any && st.seq != ss->last.seq && !strcmp(st.status, "completed") &&
        !strcmp(ss->last.status, "generating") && ss->last.progress < 100.0) {
        /* progress is sent at most every PROGRESS_EVERY_MS: a take that finished in between still shows
         * its generation reaching 100 % before it completes */
        studio_take_state full = ss->last;
        full.progress = 100.0;
        return status_event(ss, buf, max, &full);
    }
    int changed = !ss->sent_any || st.seq != ss->last.seq || st.position != ss->last.position;
    int moved = st.progress != ss->last.progress && srv_sse_quiet_ms(&ss->last_write) >= PROGRESS_EVERY_MS;
    if (changed || moved) return status_event(ss, buf, max, &st);
    return srv_sse_heartbeat(&ss->last_write, buf, max);
}

static void status_free(void *arg)
{
    status_stream *ss = arg;
    studio_take_release(ss->gen, ss->take);
    free(ss->last.result);
    free(ss);
}

void srv_get_generate_status(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    status_stream *ss = calloc(1, sizeof *ss);
    if (!ss) {
        srv_error(res, 500, "out of memory");
        return;
    }
    ss->gen = ctx->gen;
    ss->take = studio_gen_take(ctx->gen, req->params[0]);
    if (!ss->take) { /* final, or unknown: one event says so (as Voicebox does, "not_found" rather than 404)
                      */
        studio_error err = {0};
        if (studio_gen_take_state_stored(ctx->gen, req->params[0], &ss->last, &err) != 0) {
            if (err.kind != STUDIO_NOT_FOUND) {
                free(ss);
                srv_studio_error(res, req, &err);
                return;
            }
            memset(&ss->last, 0, sizeof ss->last);
            snprintf(ss->last.id, sizeof ss->last.id, "%.36s", req->params[0]);
            snprintf(ss->last.status, sizeof ss->last.status, "not_found");
            ss->last.duration = -1;
            ss->last.err.kind = STUDIO_NOT_FOUND;
            snprintf(ss->last.err.msg, sizeof ss->last.err.msg, "generation %.36s: not found",
                     req->params[0]);
        }
        free(ss->last.result);
        ss->last.result = NULL;
    }
    srv_sse_start(&ss->last_write);
    res->status = 200;
    res->content_type = "text/event-stream";
    res->stream = status_produce;
    res->stream_free = status_free;
    res->stream_arg = ss;
}

void srv_post_cache_clear(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0) return;
    studio_error err = {0};
    json_t *out = studio_gen_cache_clear(ctx->gen, &err);
    if (!out) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, out);
}

static void health_fill(void *arg, json_t *health)
{
    srv_ctx *ctx = arg;
    studio_gen_health(ctx->gen, health);
}

static json_t *active_generations(void *arg)
{
    srv_ctx *ctx = arg;
    return studio_gen_active(ctx->gen);
}

static void quiesce(void *arg)
{
    srv_ctx *ctx = arg;
    studio_gen_shutdown(ctx->gen);
}

void srv_attach_generation(srv_ctx *ctx, studio_gen *gen, studio_models *models)
{
    ctx->models = models;
    ctx->hook_arg = ctx;
    ctx->health_fill = health_fill;
    ctx->active_generations = active_generations;
    ctx->active_downloads = srv_active_downloads;
    ctx->on_quiesce = quiesce;
    __atomic_store_n(&ctx->gen, gen, __ATOMIC_RELEASE); /* last: handlers check it */
}
