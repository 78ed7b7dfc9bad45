/* routes_app.c — what the Voicebox apps ask of a server besides the studio's own resources: the generation
 * settings they read and write, and sensible answers for features voicebox does not have (captures, audio
 * effects, GPU backends), so the 0.5 app starts without a 404. No state here but the settings file. */
#include "server/routes.h"

#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void srv_get_generation_settings(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_error err = {0};
    json_t *j = studio_generation_settings(ctx->studio, &err);
    if (!j) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, j);
}

void srv_put_generation_settings(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    json_t *body;
    if (srv_parse_json_body(req, res, &body) != 0) return;
    studio_error err = {0};
    json_t *j = studio_generation_settings_update(ctx->studio, body, &err);
    json_decref(body);
    if (!j) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, j);
}

/* Dictation captures are a feature of the Voicebox desktop app that voicebox does not have: off. */
void srv_get_capture_settings(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    srv_json(res, 200, json_pack("{s:b, s:b}", "hotkey_enabled", 0, "available", 0));
}

void srv_get_capture_readiness(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    const char *why = "voicebox has no speech recognition or language model for captures";
    srv_json(res, 200,
             json_pack("{s:{s:b, s:s}, s:{s:b, s:s}}", "stt", "ready", 0, "reason", why, "llm", "ready", 0,
                       "reason", why));
}

static json_t *dir_json(const char *path)
{
    return json_pack("{s:s, s:b, s:b}", "path", path, "exists", access(path, F_OK) == 0, "writable",
                     access(path, W_OK) == 0);
}

void srv_get_health_filesystem(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)req;
    json_t *dirs = json_array();
    static const char *const subdirs[] = {"profiles", "generations", "cache"};
    json_array_append_new(dirs, dir_json(studio_data_dir(ctx->studio)));
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        char *p = studio_path(ctx->studio, subdirs[i]);
        if (p) json_array_append_new(dirs, dir_json(p));
        free(p);
    }
    int ok = 1;
    for (size_t i = 0; i < json_array_size(dirs); i++)
        ok &= json_is_true(json_object_get(json_array_get(dirs, i), "writable"));
    srv_json(res, 200, json_pack("{s:b, s:o}", "healthy", ok, "directories", dirs));
}

/* Audio effects (reverb, pitch...) are not part of voicebox: none available, no presets. */
void srv_get_effects_available(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    srv_json(res, 200, json_pack("{s:[]}", "effects"));
}

void srv_get_effects_presets(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    srv_json(res, 200, json_array());
}

/* GET /backend/cuda-status and /backend/rocm-status: voicebox runs on the CPU; no GPU backend to fetch. */
void srv_get_backend_status(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    srv_json(res, 200,
             json_pack("{s:b, s:b, s:b, s:s}", "available", 0, "downloading", 0, "applicable", 0, "message",
                       "not applicable: voicebox runs its own C engine on the CPU"));
}

/* GET /models/cache-dir: the Hugging Face cache the models live in. */
void srv_get_models_cache_dir(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    studio_model_state st;
    studio_error err = {0};
    if (studio_models_state(ctx->models, studio_model_default(), &st, &err) != 0) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, json_pack("{s:s}", "path", dirname(st.cache_dir)));
}
