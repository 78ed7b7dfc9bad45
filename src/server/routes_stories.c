/* routes_stories.c — stories: /stories CRUD, their items (add, remove, times, reorder, move, trim, split,
 * duplicate) and GET /stories/{id}/export-audio, the mix as a WAV download. The rules are the studio's
 * (stories.c); these parse bodies and map errors to statuses. */
#include <stdlib.h>

#include "audio/audio.h"
#include "server/routes.h"

/* Answers j (200) or the studio's error. */
static void reply(srv_response *res, const srv_request *req, json_t *j, const studio_error *err)
{
    if (!j) {
        srv_studio_error(res, req, err);
        return;
    }
    srv_json(res, 200, j);
}

typedef json_t *(*with_body)(studio *s, const char *id, const json_t *body, studio_error *err);
typedef json_t *(*with_item_body)(studio *s, const char *story_id, const char *item_id, const json_t *body,
                                  studio_error *err);

static void body_call(srv_ctx *ctx, const srv_request *req, srv_response *res, with_body fn)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *j = fn(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    reply(res, req, j, &err);
}

static void item_body_call(srv_ctx *ctx, const srv_request *req, srv_response *res, with_item_body fn)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *j = fn(ctx->studio, req->params[0], req->params[1], body, &err);
    json_decref(body);
    reply(res, req, j, &err);
}

void srv_post_stories(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *j = studio_story_create(ctx->studio, body, &err);
    json_decref(body);
    reply(res, req, j, &err);
}

void srv_get_stories(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_story_list(ctx->studio, &err), &err);
}

void srv_get_story(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_story_get(ctx->studio, req->params[0], &err), &err);
}

void srv_put_story(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    body_call(ctx, req, res, studio_story_update);
}

void srv_delete_story(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_story_delete(ctx->studio, req->params[0], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Story deleted successfully"));
}

void srv_post_story_item(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    body_call(ctx, req, res, studio_story_item_add);
}

void srv_delete_story_item(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_story_item_delete(ctx->studio, req->params[0], req->params[1], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Item removed successfully"));
}

void srv_put_story_item_times(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    int rc = studio_story_items_times(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    if (rc != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Item timecodes updated successfully"));
}

void srv_put_story_items_reorder(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    body_call(ctx, req, res, studio_story_items_reorder);
}

void srv_put_story_item_move(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    item_body_call(ctx, req, res, studio_story_item_move);
}

void srv_put_story_item_trim(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    item_body_call(ctx, req, res, studio_story_item_trim);
}

void srv_post_story_item_split(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    item_body_call(ctx, req, res, studio_story_item_split);
}

void srv_post_story_item_duplicate(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    reply(res, req, studio_story_item_duplicate(ctx->studio, req->params[0], req->params[1], &err), &err);
}

void srv_get_story_export_audio(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    float *mix;
    size_t n;
    char *name;
    if (studio_story_mix(ctx->studio, req->params[0], &mix, &n, &name, &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    void *wav = NULL;
    size_t size = 0;
    audio_error aerr;
    int rc = audio_encode_wav16(mix, n, STUDIO_SAMPLE_RATE, &wav, &size, &aerr);
    free(mix);
    if (rc != 0) {
        free(name);
        srv_error(res, 500, "story mix: cannot encode WAV: %s", aerr.msg);
        return;
    }
    res->status = 200;
    res->body = wav;
    res->body_len = size;
    res->content_type = "audio/wav";
    srv_attachment(res, "", name, "story", ".wav");
    free(name);
}
