/* routes_samples.c — reference samples: POST/GET /profiles/{profile_id}/samples,
 * PUT/DELETE /profiles/samples/{sample_id} and the audio at GET /samples/{sample_id}.
 * The upload arrives already parsed (server.c streams it through multipart.c under the 50 MB cap). */
#include <stdlib.h>
#include <string.h>

#include "server/multipart.h"
#include "server/routes.h"

void srv_post_samples(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    const srv_form_part *file = srv_form_get(req->form, "file");
    const srv_form_part *text = srv_form_get(req->form, "reference_text");
    if (!file || !file->filename) {
        srv_field_error(res, 422, "file",
                        "file: field required (a multipart part named 'file' with a filename)");
        return;
    }
    if (!text) {
        srv_field_error(res, 422, "reference_text", "reference_text: field required");
        return;
    }
    if (studio_utf8_valid_prefix(text->data, text->len) != text->len) {
        srv_field_error(res, 422, "reference_text", "reference_text: must be UTF-8 text without NUL bytes");
        return;
    }
    studio_error err = {0};
    json_t *s = studio_sample_add(ctx->studio, req->params[0], file->data, file->len, text->data, &err);
    if (!s) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, s);
}

void srv_get_samples(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *list = studio_sample_list(ctx->studio, req->params[0], &err);
    if (!list) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, list);
}

void srv_put_sample(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *s = studio_sample_update(ctx->studio, req->params[0], body, &err);
    json_decref(body);
    if (!s) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, s);
}

void srv_delete_sample(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_sample_delete(ctx->studio, req->params[0], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Sample deleted successfully"));
}

void srv_get_sample_audio(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    char *path = studio_sample_audio_path(ctx->studio, req->params[0], &err);
    if (!path) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_file(res, req, path, "audio/wav");
    free(path);
}
