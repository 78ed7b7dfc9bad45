/* routes_generate.c — POST /generate, POST /cache/clear, and attaching the generation layer to the server.
 * The work itself is studio/generation.c; a handler here waits on its own queued job. */
#include "server/routes.h"

static int need_gen(srv_ctx *ctx, srv_response *res)
{
    if (__atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE))
        return 0;
    srv_error(res, 503, "generation is not available yet; the server is starting or stopping");
    return -1;
}

void srv_post_generate(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0)
        return;
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0)
        return;
    studio_error err = {0};
    json_t *gen = studio_gen_generate(ctx->gen, body, &err);
    json_decref(body);
    if (!gen) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, gen);
}

void srv_post_cache_clear(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (need_gen(ctx, res) != 0)
        return;
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
