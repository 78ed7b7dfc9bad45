/* routes_history.c — generation history: GET /history (filters, paging), GET /history/stats,
 * GET/DELETE /history/{generation_id}, its audio at /history/{id}/export-audio and GET /audio/{id}. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "server/routes.h"

/* Reads query argument name as an int into *out (left alone when absent). -1 with a 422 when it is not
 * an integer. */
static int query_int(const srv_request *req, srv_response *res, const char *name, int *out)
{
    const char *v = srv_query(req, name);
    if (!v) return 0;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (*v == '\0' || *end != '\0' || errno == ERANGE || n < -1000000000L || n > 1000000000L) {
        srv_field_error(res, 422, name, "%s: must be an integer, got '%.40s'", name, v);
        return -1;
    }
    *out = (int)n;
    return 0;
}

void srv_get_history(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_history_query q = studio_history_default_query();
    if (query_int(req, res, "limit", &q.limit) != 0 || query_int(req, res, "offset", &q.offset) != 0) return;
    if (q.limit > 100) q.limit = 100; /* a page is at most 100 items; the 0.1 Voicebox app asks for 1000 */
    q.profile_id = srv_query(req, "profile_id");
    q.search = srv_query(req, "search");
    studio_error err = {0};
    json_t *list = studio_history_list(ctx->studio, &q, &err);
    if (!list) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, list);
}

void srv_get_history_stats(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *stats = studio_history_stats(ctx->studio, &err);
    if (!stats) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, stats);
}

void srv_get_history_item(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *item = studio_history_get(ctx->studio, req->params[0], &err);
    if (!item) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, item);
}

void srv_delete_history_item(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_history_delete(ctx->studio, req->params[0], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Generation deleted successfully"));
}

static void serve_generation(srv_ctx *ctx, const srv_request *req, srv_response *res, int attachment)
{
    studio_error err = {0};
    char *path = studio_generation_audio_path(ctx->studio, req->params[0], &err);
    if (!path) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_file(res, req, path, "audio/wav");
    free(path);
    /* the id was checked by the router and found by the studio, so it is safe in a header */
    if (attachment && res->status < 300)
        snprintf(res->content_disposition, sizeof res->content_disposition,
                 "attachment; filename=\"generation-%.64s.wav\"", req->params[0]);
}

void srv_get_history_export(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    serve_generation(ctx, req, res, 1);
}

void srv_get_audio(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    serve_generation(ctx, req, res, 0);
}

/* POST /history/{id}/favorite: flips the take's favourite mark; the item. */
void srv_post_history_favorite(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *item = studio_history_toggle_favorite(ctx->studio, req->params[0], &err);
    if (!item) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, item);
}

/* DELETE /history/failed: every failed take. */
void srv_delete_history_failed(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    int n = studio_history_delete_failed(ctx->studio, &err);
    if (n < 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "%d failed take%s deleted", n, n == 1 ? "" : "s");
    srv_json(res, 200, json_pack("{s:s, s:i}", "message", msg, "deleted", n));
}
