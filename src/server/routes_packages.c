/* routes_packages.c — `.voicebox.zip` packages: GET /profiles/{id}/export, POST /profiles/import (multipart
 * `file`, up to 100 MB), GET /history/{id}/export and POST /history/import (up to 50 MB). The archive rules
 * are the studio's (package.c); these move bytes and name the downloads. */
#include <stdlib.h>
#include <string.h>

#include "server/multipart.h"
#include "server/routes.h"

static void send_zip(srv_response *res, void *zip, size_t size, const char *prefix, const char *name,
                     const char *fallback)
{
    res->status = 200;
    res->body = zip;
    res->body_len = size;
    res->content_type = "application/zip";
    srv_attachment(res, prefix, name, fallback, ".voicebox.zip");
}

void srv_get_profile_export(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    void *zip;
    size_t size;
    char *name;
    if (studio_profile_export(ctx->studio, req->params[0], &zip, &size, &name, &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    send_zip(res, zip, size, "profile-", name, "profile");
    free(name);
}

void srv_get_history_package(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    void *zip;
    size_t size;
    char *text;
    if (studio_generation_export(ctx->studio, req->params[0], &zip, &size, &text, &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    /* the file is named after the first 30 characters of the text, as the Python studio names it */
    size_t cut = 0;
    for (int chars = 0; text[cut] && chars < 30; chars++)
        do
            cut++;
        while ((text[cut] & 0xc0) == 0x80);
    text[cut] = '\0';
    send_zip(res, zip, size, "generation-", text, "generation");
    free(text);
}

/* The multipart part `file`, or a 422. */
static const srv_form_part *upload(const srv_request *req, srv_response *res)
{
    const srv_form_part *file = srv_form_get(req->form, "file");
    if (!file || !file->filename) {
        srv_field_error(res, 422, "file",
                        "file: field required (a multipart part named 'file' with a filename)");
        return NULL;
    }
    return file;
}

void srv_post_profile_import(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    const srv_form_part *file = upload(req, res);
    if (!file) return;
    studio_error err = {0};
    json_t *p = studio_profile_import(ctx->studio, file->data, file->len, &err);
    if (!p) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, p);
}

void srv_post_history_import(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    const srv_form_part *file = upload(req, res);
    if (!file) return;
    studio_error err = {0};
    json_t *g = studio_generation_import(ctx->studio, file->data, file->len, &err);
    if (!g) {
        srv_studio_error(res, req, &err);
        return;
    }
    char msg[300];
    snprintf(msg, sizeof msg, "Generation imported successfully (assigned to profile: %s)",
             json_string_value(json_object_get(g, "profile_name")));
    json_object_set_new(g, "message", json_string(msg));
    srv_json(res, 200, g);
}
