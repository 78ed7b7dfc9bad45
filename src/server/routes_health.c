/* routes_health.c — the server's own routes: GET /, GET /health, POST /shutdown, GET /tasks/active.
 * None of them touches the database, so they stay fast while the studio is busy. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "server/routes.h"
#include "server/static.h"
#include "studio/log.h"

void srv_get_root(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    /* A browser (Accept: text/html) gets the UI's index.html when it is installed; API clients get the
     * greeting Voicebox answers, so both can share the root. */
    if (req->accept && strstr(req->accept, "text/html") && srv_static_index(ctx, req, res) == 0) return;
    srv_json(res, 200, json_pack("{s:s, s:s}", "message", "voicebox API", "version", VOICEBOX_VERSION));
}

void srv_get_health(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    json_t *h = json_pack("{s:s, s:b, s:b, s:n, s:b, s:n, s:n, s:s}", "status", "healthy", "model_loaded", 0,
                          "model_downloaded", 0, "model_size", "gpu_available", 0, "gpu_type", "vram_used_mb",
                          "backend_type", "c");
    if (h && ctx->health_fill) ctx->health_fill(ctx->hook_arg, h);
    srv_json(res, 200, h);
}

void srv_post_shutdown(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (!req->loopback) {
        srv_error(res, 403, "shutdown is only accepted from a loopback client");
        return;
    }
    if (!ctx->stop || ctx->stop(ctx->stop_arg) != 0) {
        srv_error(res, 500, "the server cannot be stopped from here");
        return;
    }
    log_info("shutdown requested over HTTP");
    srv_json(res, 200, json_pack("{s:s}", "message", "Shutting down..."));
}

void srv_get_tasks_active(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    json_t *downloads = ctx->active_downloads ? ctx->active_downloads(ctx->hook_arg) : json_array();
    json_t *generations = ctx->active_generations ? ctx->active_generations(ctx->hook_arg) : json_array();
    srv_json(res, 200, json_pack("{s:o*, s:o*}", "downloads", downloads, "generations", generations));
}
