/* routes_channels.c — audio channels: /channels CRUD, GET/PUT /channels/{id}/voices and
 * GET/PUT /profiles/{id}/channels, in the Python studio's shapes. The studio keeps the rules (channels.c). */
#include "server/routes.h"

static void reply(srv_response *res, const srv_request *req, json_t *j, const studio_error *err)
{
    if (!j) {
        srv_studio_error(res, req, err);
        return;
    }
    srv_json(res, 200, j);
}

void srv_get_channels(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_channel_list(ctx->studio, &err), &err);
}

void srv_get_channel(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_channel_get(ctx->studio, req->params[0], &err), &err);
}

void srv_post_channels(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *j = studio_channel_create(ctx->studio, body, &err);
    json_decref(body);
    reply(res, req, j, &err);
}

void srv_put_channel(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *j = studio_channel_update(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    reply(res, req, j, &err);
}

void srv_delete_channel(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_channel_delete(ctx->studio, req->params[0], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Channel deleted successfully"));
}

void srv_get_channel_voices(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_channel_voices(ctx->studio, req->params[0], &err), &err);
}

void srv_put_channel_voices(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    int rc = studio_channel_set_voices(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    if (rc != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Channel voices updated successfully"));
}

void srv_get_profile_channels(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_profile_channels(ctx->studio, req->params[0], &err), &err);
}

void srv_put_profile_channels(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    int rc = studio_profile_set_channels(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    if (rc != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Profile channels updated successfully"));
}
