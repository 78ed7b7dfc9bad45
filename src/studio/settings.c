/* settings.c — the studio's settings that are not rows: the defaults of a take (GET/PUT /settings/generation,
 * as the 0.5 Voicebox app reads and writes them), kept in <data>/settings.json and replaced atomically
 * (temp file + rename). A missing or unreadable file means the defaults; nothing here deletes data. */
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *name;
    int is_bool;
    long min, max, def;
} fields[] = {
    {"max_chunk_chars", 0, STUDIO_CHUNK_MIN_CHARS, STUDIO_CHUNK_MAX_CHARS, STUDIO_CHUNK_DEFAULT_CHARS},
    {"crossfade_ms", 0, 0, STUDIO_CROSSFADE_MAX_MS, STUDIO_CROSSFADE_DEFAULT_MS},
    {"normalize_audio", 1, 0, 1, 0},
    {"autoplay_on_generate", 1, 0, 1, 1},
};
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Checks one member; -1 with STUDIO_INVALID naming it. */
static int check_field(size_t i, json_t *v, studio_error *err)
{
    if (fields[i].is_bool) {
        if (!json_is_boolean(v))
            return studio_fail(err, STUDIO_INVALID, fields[i].name, "%s: must be true or false",
                               fields[i].name);
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < fields[i].min || json_integer_value(v) > fields[i].max)
        return studio_fail(err, STUDIO_INVALID, fields[i].name, "%s: must be an integer from %ld to %ld",
                           fields[i].name, fields[i].min, fields[i].max);
    return 0;
}

/* The sampling settings (temperature, top_k, ...) are defaults too, kept beside these; their limits and the
 * engine's defaults live with the take's settings (generation.c, studio_sampling_*). */
static json_t *defaults(void)
{
    json_t *j = json_object();
    for (size_t i = 0; i < N_FIELDS; i++)
        json_object_set_new(j, fields[i].name,
                            fields[i].is_bool ? json_boolean(fields[i].def) : json_integer(fields[i].def));
    for (size_t i = 0; studio_sampling_name(i); i++)
        json_object_set_new(j, studio_sampling_name(i), studio_sampling_default(i));
    return j;
}

json_t *studio_generation_settings(studio *s, studio_error *err)
{
    json_t *out = defaults();
    char *path = studio_path(s, "settings.json");
    json_t *file = path ? json_load_file(path, 0, NULL) : NULL;
    json_t *stored = json_object_get(file, "generation");
    for (size_t i = 0; i < N_FIELDS; i++) { /* a value that fails its check keeps the default */
        json_t *v = json_object_get(stored, fields[i].name);
        if (v && check_field(i, v, NULL) == 0) json_object_set(out, fields[i].name, v);
    }
    for (size_t i = 0; studio_sampling_name(i); i++) {
        json_t *v = json_object_get(stored, studio_sampling_name(i));
        if (v && studio_sampling_check(i, v, NULL) == 0) json_object_set(out, studio_sampling_name(i), v);
    }
    json_decref(file);
    free(path);
    if (!out) studio_fail(err, STUDIO_INTERNAL, NULL, "out of memory");
    return out;
}

json_t *studio_generation_settings_update(studio *s, const json_t *body, studio_error *err)
{
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    json_t *cur = studio_generation_settings(s, err);
    if (!cur) return NULL;
    for (size_t i = 0; i < N_FIELDS; i++) {
        json_t *v = json_object_get(body, fields[i].name);
        if (!v || json_is_null(v)) continue; /* a partial update keeps the rest */
        if (check_field(i, v, err) < 0) {
            json_decref(cur);
            return NULL;
        }
        json_object_set(cur, fields[i].name, v);
    }
    for (size_t i = 0; studio_sampling_name(i); i++) {
        json_t *v = json_object_get(body, studio_sampling_name(i));
        if (!v || json_is_null(v)) continue;
        if (studio_sampling_check(i, v, err) < 0) {
            json_decref(cur);
            return NULL;
        }
        json_object_set(cur, studio_sampling_name(i), v);
    }
    char *path = studio_path(s, "settings.json"), *tmp = studio_path(s, "settings.json.tmp");
    json_t *file = path ? json_load_file(path, 0, NULL) : NULL;
    if (!json_is_object(file)) {
        json_decref(file);
        file = json_object();
    }
    json_object_set(file, "generation", cur);
    int rc = path && tmp ? json_dump_file(file, tmp, JSON_INDENT(2)) : -1;
    if (rc == 0 && rename(tmp, path) != 0) rc = -1;
    json_decref(file);
    if (rc != 0) {
        if (tmp) remove(tmp);
        studio_fail(err, STUDIO_INTERNAL, NULL, "settings.json: cannot be written");
        log_error("%s: cannot be written", path ? path : "settings.json");
        json_decref(cur);
        cur = NULL;
    }
    free(path);
    free(tmp);
    return cur;
}
