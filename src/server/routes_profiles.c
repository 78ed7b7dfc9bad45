/* routes_profiles.c — voice profiles: POST/GET /profiles, GET/PUT/DELETE /profiles/{profile_id}.
 * Validation and storage are the studio's; these only parse the body and map errors to statuses. */
#include "server/routes.h"

void srv_post_profiles(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *p = studio_profile_create(ctx->studio, body, &err);
    json_decref(body);
    if (!p) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, p);
}

void srv_get_profiles(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *list = studio_profile_list(ctx->studio, &err);
    if (!list) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, list);
}

void srv_get_profile(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *p = studio_profile_get(ctx->studio, req->params[0], &err);
    if (!p) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, p);
}

void srv_put_profile(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *p = studio_profile_update(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    if (!p) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, p);
}

void srv_delete_profile(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_profile_delete(ctx->studio, req->params[0], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    studio_gen *gen = __atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE);
    if (gen) /* its takes could only fail now: stop them instead of finishing them */
        studio_gen_cancel_profile(gen, req->params[0]);
    srv_json(res, 200, json_pack("{s:s}", "message", "Profile deleted successfully"));
}
