/* routes.c — the one table of API routes, and the router. A new route is a row here, a handler in
 * routes_<resource>.c and an entry in openapi.c. Literal rows come before {param} rows that could also
 * match them (first match wins). */
#include "server/routes.h"

#include <string.h>

const srv_route srv_routes[] = {
    {"GET", "/", srv_get_root, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/health", srv_get_health, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"POST", "/shutdown", srv_post_shutdown, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/openapi.json", srv_get_openapi, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/tasks/active", srv_get_tasks_active, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/logs/tail", srv_get_logs_tail, SRV_BODY_NONE, SRV_RUN_WORKER},

    {"POST", "/profiles", srv_post_profiles, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"GET", "/profiles", srv_get_profiles, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/profiles/samples/{sample_id}", srv_put_sample, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"DELETE", "/profiles/samples/{sample_id}", srv_delete_sample, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/profiles/{profile_id}", srv_get_profile, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/profiles/{profile_id}", srv_put_profile, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"DELETE", "/profiles/{profile_id}", srv_delete_profile, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/profiles/{profile_id}/samples", srv_post_samples, SRV_BODY_FORM, SRV_RUN_WORKER},
    {"GET", "/profiles/{profile_id}/samples", srv_get_samples, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/samples/{sample_id}", srv_get_sample_audio, SRV_BODY_NONE, SRV_RUN_WORKER},

    {"GET", "/history", srv_get_history, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/history/stats", srv_get_history_stats, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"DELETE", "/history/failed", srv_delete_history_failed, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/history/{generation_id}", srv_get_history_item, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/history/{generation_id}/favorite", srv_post_history_favorite, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"DELETE", "/history/{generation_id}", srv_delete_history_item, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/history/{generation_id}/export-audio", srv_get_history_export, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/audio/{generation_id}", srv_get_audio, SRV_BODY_NONE, SRV_RUN_WORKER},

    {"POST", "/generate", srv_post_generate, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"POST", "/generate/stream", srv_post_generate_stream, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"POST", "/cache/clear", srv_post_cache_clear, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/models/status", srv_get_models_status, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/models/cache-dir", srv_get_models_cache_dir, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/models/download", srv_post_models_download, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"POST", "/models/load", srv_post_models_load, SRV_BODY_JSON, SRV_RUN_LONG},
    {"POST", "/models/unload", srv_post_models_unload, SRV_BODY_NONE, SRV_RUN_LONG},
    {"GET", "/models/progress/{model_name}", srv_get_models_progress, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"DELETE", "/models/{model_name}", srv_delete_model, SRV_BODY_NONE, SRV_RUN_LONG},
    {"POST", "/transcribe", srv_post_transcribe, SRV_BODY_FORM, SRV_RUN_LONG},

    {"GET", "/generate/{generation_id}/status", srv_get_generate_status, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/generate/{generation_id}/cancel", srv_post_generate_cancel, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/generate/{generation_id}/retry", srv_post_generate_retry, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/generate/{generation_id}/regenerate", srv_post_generate_regenerate, SRV_BODY_NONE,
     SRV_RUN_WORKER},

    {"POST", "/v1/audio/speech", srv_post_openai_speech, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"GET", "/v1/models", srv_get_openai_models, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/settings/generation", srv_get_generation_settings, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/settings/generation", srv_put_generation_settings, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"GET", "/settings/captures", srv_get_capture_settings, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/capture/readiness", srv_get_capture_readiness, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/health/filesystem", srv_get_health_filesystem, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/effects/available", srv_get_effects_available, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/effects/presets", srv_get_effects_presets, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/backend/cuda-status", srv_get_backend_status, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/backend/rocm-status", srv_get_backend_status, SRV_BODY_NONE, SRV_RUN_INLINE},
    {"GET", "/stories", srv_get_stories, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/stories", srv_post_stories, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"GET", "/stories/{story_id}", srv_get_story, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/stories/{story_id}", srv_put_story, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"DELETE", "/stories/{story_id}", srv_delete_story, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/stories/{story_id}/items", srv_post_story_item, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"PUT", "/stories/{story_id}/items/times", srv_put_story_item_times, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"PUT", "/stories/{story_id}/items/reorder", srv_put_story_items_reorder, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"DELETE", "/stories/{story_id}/items/{item_id}", srv_delete_story_item, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/stories/{story_id}/items/{item_id}/move", srv_put_story_item_move, SRV_BODY_JSON,
     SRV_RUN_WORKER},
    {"PUT", "/stories/{story_id}/items/{item_id}/trim", srv_put_story_item_trim, SRV_BODY_JSON,
     SRV_RUN_WORKER},
    {"POST", "/stories/{story_id}/items/{item_id}/split", srv_post_story_item_split, SRV_BODY_JSON,
     SRV_RUN_WORKER},
    {"POST", "/stories/{story_id}/items/{item_id}/duplicate", srv_post_story_item_duplicate, SRV_BODY_NONE,
     SRV_RUN_WORKER},
    {"GET", "/stories/{story_id}/export-audio", srv_get_story_export_audio, SRV_BODY_NONE, SRV_RUN_WORKER},

    {"GET", "/channels", srv_get_channels, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/channels", srv_post_channels, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"GET", "/channels/{channel_id}", srv_get_channel, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/channels/{channel_id}", srv_put_channel, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"DELETE", "/channels/{channel_id}", srv_delete_channel, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"GET", "/channels/{channel_id}/voices", srv_get_channel_voices, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/channels/{channel_id}/voices", srv_put_channel_voices, SRV_BODY_JSON, SRV_RUN_WORKER},
    {"GET", "/profiles/{profile_id}/channels", srv_get_profile_channels, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"PUT", "/profiles/{profile_id}/channels", srv_put_profile_channels, SRV_BODY_JSON, SRV_RUN_WORKER},

    {"POST", "/profiles/import", srv_post_profile_import, SRV_BODY_FORM_IMPORT, SRV_RUN_WORKER},
    {"GET", "/profiles/{profile_id}/export", srv_get_profile_export, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/history/import", srv_post_history_import, SRV_BODY_FORM, SRV_RUN_WORKER},
    {"GET", "/history/{generation_id}/export", srv_get_history_package, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"POST", "/profiles/{profile_id}/avatar", srv_post_profile_avatar, SRV_BODY_FORM, SRV_RUN_WORKER},
    {"GET", "/profiles/{profile_id}/avatar", srv_get_profile_avatar, SRV_BODY_NONE, SRV_RUN_WORKER},
    {"DELETE", "/profiles/{profile_id}/avatar", srv_delete_profile_avatar, SRV_BODY_NONE, SRV_RUN_WORKER},
};
const size_t srv_n_routes = sizeof srv_routes / sizeof srv_routes[0];

static int id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '-';
}

/* Matches pattern against path; on success copies the {param} segments into store and points params at
 * them. Returns 1 on a match. */
static int match(const char *pattern, const char *path, const char **params, int *n_params, char *store,
                 size_t store_size)
{
    const char *p = pattern, *s = path;
    size_t used = 0;
    int n = 0;
    while (*p && *s) {
        if (*p == '{') {
            const char *close = strchr(p, '}');
            if (!close) return 0;
            size_t len = 0;
            while (s[len] && s[len] != '/') {
                if (!id_char(s[len])) return 0;
                len++;
            }
            if (len == 0 || len > 128 || s[0] == '.' || n >= SRV_MAX_PARAMS || used + len + 1 > store_size)
                return 0;
            memcpy(store + used, s, len);
            store[used + len] = '\0';
            params[n++] = store + used;
            used += len + 1;
            p = close + 1;
            s += len;
        } else if (*p == *s) {
            p++;
            s++;
        } else {
            return 0;
        }
    }
    if (*p || *s) return 0;
    *n_params = n;
    return 1;
}

const srv_route *srv_route_find(const char *method, const char *path, srv_request *req, char *store,
                                size_t store_size, int *path_known)
{
    const char *m = strcmp(method, "HEAD") == 0 ? "GET" : method;
    *path_known = 0;
    for (size_t i = 0; i < srv_n_routes; i++) {
        const char *params[SRV_MAX_PARAMS];
        int n = 0;
        if (!match(srv_routes[i].pattern, path, params, &n, store, store_size)) continue;
        if (strcmp(srv_routes[i].method, m) != 0) {
            *path_known = 1;
            continue;
        }
        for (int k = 0; k < n; k++)
            req->params[k] = params[k];
        req->n_params = n;
        return &srv_routes[i];
    }
    return NULL;
}
