/* routes_avatar.c — a profile's picture: POST /profiles/{id}/avatar (multipart `file`: PNG, JPEG or WebP,
 * at most 5 MB), GET (the stored PNG) and DELETE. Decoding and storing are the studio's (avatar.c). */
#include <stdlib.h>

#include "server/multipart.h"
#include "server/routes.h"

void srv_post_profile_avatar(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    const srv_form_part *file = srv_form_get(req->form, "file");
    if (!file || !file->filename) {
        srv_field_error(res, 422, "file",
                        "file: field required (a multipart part named 'file' with a filename)");
        return;
    }
    studio_error err = {0};
    json_t *p = studio_avatar_set(ctx->studio, req->params[0], file->data, file->len, &err);
    if (!p) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, p);
}

void srv_get_profile_avatar(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    char *path = studio_avatar_path(ctx->studio, req->params[0], &err);
    if (!path) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_file(res, req, path, "image/png");
    free(path);
}

void srv_delete_profile_avatar(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    if (studio_avatar_delete(ctx->studio, req->params[0], &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "message", "Avatar deleted successfully"));
}
