/* routes_models.c — the model routes: status, download (with server-sent progress), load, unload, delete.
 * Names are the API's ("qwen-tts-1.7B"); sizes are "1.7B" / "0.6B". Downloads run on the models layer's
 * background threads; a progress stream only polls their state, so it never blocks a network thread. */
#include "server/routes.h"
#include "server/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int need_models(srv_ctx *ctx, srv_response *res)
{
    if (__atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE)) return 0;
    srv_error(res, 503, "model management is not available yet; the server is starting or stopping");
    return -1;
}

/* field: the request field that named the model (a JSON member), or NULL when it came in the path. */
static const studio_model *find_model(const char *name, const char *field, srv_response *res)
{
    const studio_model *m = name ? studio_model_find(name) : NULL;
    if (!m)
        srv_field_error(res, 404, field, "Unknown model '%s'; known models: %s", name ? name : "",
                        studio_model_name_list());
    return m;
}

static json_t *progress_json(const studio_model *m, const studio_model_progress *p)
{
    double pct = p->total ? 100.0 * (double)p->current / (double)p->total : 0.0;
    if (p->status == STUDIO_DL_COMPLETE) pct = 100.0;
    json_t *j = json_pack("{s:s, s:I, s:I, s:f, s:s, s:s}", "model_name", m->name, "current",
                          (json_int_t)p->current, "total", (json_int_t)p->total, "progress", pct, "filename",
                          p->filename, "status", studio_dl_status_name(p->status));
    if (j && p->status == STUDIO_DL_ERROR) json_object_set_new(j, "error", json_string(p->error));
    return j;
}

void srv_get_models_status(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_models(ctx, res) != 0) return;
    char loaded[8], prec[8];
    const char *size = studio_gen_loaded_size(ctx->gen, loaded, sizeof loaded);
    const char *precision = studio_gen_loaded_precision(ctx->gen, prec, sizeof prec);
    char wloaded[64];
    const char *whisper = ctx->asr ? studio_asr_loaded(ctx->asr, wloaded, sizeof wloaded) : NULL;
    json_t *arr = json_array();
    for (size_t i = 0; i < studio_model_count(); i++) {
        const studio_model *m = studio_model_at(i);
        studio_model_state st;
        studio_error err = {0};
        if (studio_models_state(ctx->models, m, &st, &err) != 0) {
            json_decref(arr);
            srv_studio_error(res, req, &err);
            return;
        }
        int is_loaded = m->whisper ? whisper && !strcmp(whisper, m->name) : size && !strcmp(size, m->size);
        json_array_append_new(
            arr,
            json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:f, s:o, s:b, s:o}", "model_name", m->name,
                      "display_name", m->display, "model_size", m->size, "repo_id", m->repo_id, "downloaded",
                      st.downloaded, "downloading", st.downloading, "loaded", is_loaded, "size_mb",
                      (double)st.size_on_disk / (1024.0 * 1024.0), "precision",
                      is_loaded && precision && !m->whisper ? json_string(precision) : json_null(), "damaged",
                      st.damaged, "error", st.damaged ? json_string(st.problem) : json_null()));
    }
    srv_json(res, 200, json_pack("{s:o}", "models", arr));
}

void srv_post_models_download(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_models(ctx, res) != 0) return;
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    json_t *name = json_object_get(body, "model_name");
    if (!json_is_string(name)) {
        json_decref(body);
        srv_field_error(res, 422, "model_name", "model_name: required, a string such as \"%s\"",
                        studio_model_default()->name);
        return;
    }
    const studio_model *m = find_model(json_string_value(name), "model_name", res);
    json_decref(body);
    if (!m) return;
    studio_model_state st;
    studio_error err = {0};
    if (studio_models_state(ctx->models, m, &st, &err) == 0 && st.downloaded && !st.damaged) {
        srv_json(res, 200,
                 json_pack("{s:s, s:s}", "message", "Model already downloaded", "model_name", m->name));
        return;
    }
    if (studio_models_download_start(ctx->models, m, &err) != 0 && err.kind != STUDIO_CONFLICT) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s, s:s}", "message", "Model download started", "model_name", m->name));
}

/* ---- GET /models/progress/{model_name}: server-sent events ---- */

typedef struct {
    srv_ctx *ctx;
    const studio_model *m;
    uint64_t seq_sent;
    int sent_any;
    int finished; /* the final event went out: end the response on the next call */
    struct timespec last_write;
} progress_stream;

static long write_event(progress_stream *ps, char *buf, size_t max, const studio_model_progress *p)
{
    long n = srv_sse_event(&ps->last_write, buf, max, progress_json(ps->m, p));
    if (n <= 0) return n;
    ps->sent_any = 1;
    ps->seq_sent = p->seq;
    if (p->status == STUDIO_DL_COMPLETE || p->status == STUDIO_DL_ERROR) ps->finished = 1;
    return n;
}

static long progress_produce(void *arg, char *buf, size_t max)
{
    progress_stream *ps = arg;
    if (ps->finished) return -1;
    studio_model_progress p;
    studio_models_progress(ps->ctx->models, ps->m, &p);
    if (p.status == STUDIO_DL_IDLE) {
        /* Nothing started in this process: a model already in the cache is complete, else keep the stream
         * open (heartbeats) until a download starts, as a client may subscribe before POSTing. */
        studio_model_state st;
        if (studio_models_state(ps->ctx->models, ps->m, &st, NULL) == 0 && st.downloaded && !st.damaged) {
            p.status = STUDIO_DL_COMPLETE;
            p.current = p.total = st.size_on_disk;
            return write_event(ps, buf, max, &p);
        }
    } else if (!ps->sent_any || p.seq != ps->seq_sent) {
        return write_event(ps, buf, max, &p);
    }
    return srv_sse_heartbeat(&ps->last_write, buf, max);
}

void srv_get_models_progress(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_models(ctx, res) != 0) return;
    const studio_model *m = find_model(req->params[0], NULL, res);
    if (!m) return;
    progress_stream *ps = calloc(1, sizeof *ps);
    if (!ps) {
        srv_error(res, 500, "out of memory");
        return;
    }
    ps->ctx = ctx;
    ps->m = m;
    srv_sse_start(&ps->last_write);
    res->status = 200;
    res->content_type = "text/event-stream";
    res->stream = progress_produce;
    res->stream_free = free;
    res->stream_arg = ps;
}

json_t *srv_active_downloads(void *arg)
{
    srv_ctx *ctx = arg;
    json_t *arr = json_array();
    for (size_t i = 0; ctx->models && i < studio_model_count(); i++) {
        const studio_model *m = studio_model_at(i);
        studio_model_progress p;
        studio_models_progress(ctx->models, m, &p);
        if (p.status == STUDIO_DL_DOWNLOADING) json_array_append_new(arr, progress_json(m, &p));
    }
    return arr;
}

/* ---- load / unload / delete ---- */

void srv_post_models_load(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_models(ctx, res) != 0) return;
    char size[16], precision[16] = "";
    int have_precision = 0;
    snprintf(size, sizeof size, "%s", studio_model_default()->size);
    const char *query = srv_query(req, "model_size"), *qprec = srv_query(req, "precision");
    if (query) snprintf(size, sizeof size, "%s", query);
    if (qprec) have_precision = snprintf(precision, sizeof precision, "%s", qprec) >= 0;
    if (req->body_len) { /* Voicebox also accepts them in a JSON body */
        json_t *body;
        if (srv_parse_json_body(req, res, &body) != 0) return;
        json_t *v = json_object_get(body, "model_size"), *pv = json_object_get(body, "precision");
        if (!query && json_is_string(v)) snprintf(size, sizeof size, "%s", json_string_value(v));
        if (!qprec && pv && !json_is_null(pv)) {
            if (!json_is_string(pv)) {
                json_decref(body);
                srv_field_error(res, 422, "precision", "precision: must be \"bf16\" or \"int8\"");
                return;
            }
            have_precision = snprintf(precision, sizeof precision, "%s", json_string_value(pv)) >= 0;
        }
        json_decref(body);
    }
    studio_error err = {0};
    if (studio_gen_load_model(ctx->gen, size, have_precision ? precision : NULL, &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    char msg[64], prec[8];
    snprintf(msg, sizeof msg, "Model %s loaded successfully", size);
    const char *loaded_prec = studio_gen_loaded_precision(ctx->gen, prec, sizeof prec);
    srv_json(res, 200,
             json_pack("{s:s, s:s, s:s}", "message", msg, "model_size", size, "precision",
                       loaded_prec ? loaded_prec : "bf16"));
}

void srv_post_models_unload(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    if (need_models(ctx, res) != 0) return;
    if (studio_gen_unload_model(ctx->gen) == 1)
        srv_json(res, 200, json_pack("{s:s}", "message", "Model unloads when the running take ends"));
    else
        srv_json(res, 200, json_pack("{s:s}", "message", "Model unloaded successfully"));
}

void srv_delete_model(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_models(ctx, res) != 0) return;
    const studio_model *m = find_model(req->params[0], NULL, res);
    if (!m) return;
    char loaded[8];
    const char *size = studio_gen_loaded_size(ctx->gen, loaded, sizeof loaded);
    if (size && !strcmp(size, m->size)) studio_gen_unload_model(ctx->gen);
    studio_error err = {0};
    if (studio_models_delete(ctx->models, m, &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "Model %s deleted", m->name);
    srv_json(res, 200, json_pack("{s:s}", "message", msg));
}
