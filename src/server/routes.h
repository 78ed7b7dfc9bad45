/* routes.h — the route table and the router that matches a request against it.
 *
 * Every API route is one row of srv_routes (routes.c) and one function in routes_<resource>.c. A pattern is
 * a path whose "{name}" segments match one id-like segment ([A-Za-z0-9._-], not starting with '.', at most
 * 128 characters), so "../", "%2e%2e" (decoded before routing) and absolute paths never reach a handler.
 * GET /openapi.json documents every row (openapi.c); a test checks that no row is missing there.
 */
#ifndef VOICEBOX_SRV_ROUTES_H
#define VOICEBOX_SRV_ROUTES_H

#include <stddef.h>

#include "server/http.h"

#define SRV_LOG_TAIL_MAX_LINES 1000 /* GET /logs/tail?lines=, 1 to this */
#define SRV_LOG_TAIL_DEFAULT_LINES 100

typedef enum {
    SRV_BODY_NONE,        /* any body is read and ignored */
    SRV_BODY_JSON,        /* up to SRV_JSON_MAX bytes in req->body */
    SRV_BODY_FORM,        /* multipart/form-data, up to STUDIO_UPLOAD_MAX bytes, parsed into req->form */
    SRV_BODY_FORM_IMPORT, /* the same, up to SRV_IMPORT_MAX bytes */
} srv_body_kind;

/* Where a handler runs. */
typedef enum {
    SRV_RUN_WORKER, /* may block (the database, decoding): on a worker, the connection suspended meanwhile */
    SRV_RUN_INLINE, /* never blocks: on the network thread itself */
    SRV_RUN_LONG,   /* waits for long work (a generation, a model load): on the workers for those */
} srv_run;

typedef struct {
    const char *method;
    const char *pattern;
    srv_handler handler;
    srv_body_kind body;
    srv_run run;
} srv_route;

/* bytes; POST /profiles/import, as the Python studio allows */
#define SRV_IMPORT_MAX (100u * 1024u * 1024u)

extern const srv_route srv_routes[];
extern const size_t srv_n_routes;

/* Finds the row for method (HEAD counts as GET) and path; fills req->params from store (store_size bytes,
 * owned by the caller). NULL if none; then *path_known is 1 when some row has this path under another
 * method (405). */
const srv_route *srv_route_find(const char *method, const char *path, srv_request *req, char *store,
                                size_t store_size, int *path_known);

/* ---- handlers (one file per resource) ---- */

/* routes_health.c */
void srv_get_root(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_health(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_shutdown(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_tasks_active(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* routes_logs.c */
void srv_get_logs_tail(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* openapi.c */
void srv_get_openapi(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* routes_profiles.c */
void srv_post_profiles(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_profiles(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_profile(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_profile(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_profile(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* routes_samples.c */
void srv_post_samples(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_samples(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_sample(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_sample(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_sample_audio(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* routes_history.c */
void srv_get_history(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_history_stats(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_history_item(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_history_item(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_history_export(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_audio(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_history_favorite(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_history_failed(srv_ctx *ctx, const srv_request *req, srv_response *res);

/* routes_generate.c */
void srv_post_generate(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_generate_stream(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_cache_clear(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_generate_status(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_generate_cancel(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_generate_retry(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_generate_regenerate(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* Hooks the generation layer and the model downloads into ctx (the /health fields, /tasks/active, the
 * generation and model routes, and stopping the worker in srv_stop). */
void srv_attach_generation(srv_ctx *ctx, studio_gen *gen, studio_models *models);
/* routes_openai.c */
void srv_post_openai_speech(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_openai_models(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* routes_app.c */
void srv_get_generation_settings(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_generation_settings(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_capture_settings(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_capture_readiness(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_health_filesystem(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_effects_available(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_effects_presets(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_backend_status(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_models_cache_dir(srv_ctx *ctx, const srv_request *req, srv_response *res);
/* routes_models.c */
void srv_get_models_status(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_models_download(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_models_progress(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_models_load(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_models_unload(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_model(srv_ctx *ctx, const srv_request *req, srv_response *res);
json_t *srv_active_downloads(void *ctx); /* the downloads array of GET /tasks/active */
/* audio_stream.c: answers with take t's audio as it is made: format "wav" (unknown length), "pcm", "opus" or
 * "flac"; takes the reference to t (abandoned, so cancelled if not final, when the response ends). */
void srv_stream_take(srv_ctx *ctx, srv_response *res, studio_take *t, const char *format,
                     const char *content_type);
/* routes_transcribe.c */
void srv_post_transcribe(srv_ctx *ctx, const srv_request *req, srv_response *res);

/* routes_stories.c */
void srv_post_stories(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_stories(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_story(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_story(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_story(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_story_item(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_story_item(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_story_item_times(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_story_items_reorder(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_story_item_move(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_story_item_trim(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_story_item_split(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_story_item_duplicate(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_story_export_audio(srv_ctx *ctx, const srv_request *req, srv_response *res);

/* routes_channels.c */
void srv_get_channels(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_channel(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_channels(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_channel(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_channel(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_channel_voices(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_channel_voices(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_profile_channels(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_put_profile_channels(srv_ctx *ctx, const srv_request *req, srv_response *res);

/* routes_packages.c */
void srv_get_profile_export(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_profile_import(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_history_package(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_post_history_import(srv_ctx *ctx, const srv_request *req, srv_response *res);

/* routes_avatar.c */
void srv_post_profile_avatar(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_get_profile_avatar(srv_ctx *ctx, const srv_request *req, srv_response *res);
void srv_delete_profile_avatar(srv_ctx *ctx, const srv_request *req, srv_response *res);

#endif
