/* settings.c — the studio's settings that are not rows: the defaults of a take (GET/PUT /settings/generation,
 * as the 0.5 Voicebox app reads and writes them), kept in <data>/settings.json and replaced atomically
 * (temp file, fsync, rename). A missing or damaged file means the defaults; nothing here deletes data.
 * Running out of memory is an error, never the defaults: an update would then write them over what the user
 * set. */
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
 * engine's defaults live with the take's settings (generation.c, studio_sampling_*). NULL: out of memory. */
static json_t *defaults(void)
{
    json_t *j = json_object();
    int bad = !j;
    for (size_t i = 0; i < N_FIELDS; i++)
        bad |= json_object_set_new(
            j, fields[i].name, fields[i].is_bool ? json_boolean(fields[i].def) : json_integer(fields[i].def));
    for (size_t i = 0; studio_sampling_name(i); i++)
        bad |= json_object_set_new(j, studio_sampling_name(i), studio_sampling_default(i));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

/* <data>/settings.json as an object: an empty one when there is none or it is damaged (logged); NULL with err
 * when it cannot be read for lack of memory. jansson (2.14) reports most allocation failures as syntax
 * errors, so a file that fails to parse is read once more before it is called damaged. */
static json_t *load_file(const char *path, studio_error *err)
{
    json_error_t je;
    json_t *file = json_load_file(path, 0, &je);
    if (!file && access(path, F_OK) == 0) file = json_load_file(path, 0, &je);
    if (!file && access(path, F_OK) == 0 &&
        (je.line < 1 || json_error_code(&je) == json_error_out_of_memory)) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "settings.json: out of memory while reading it");
        return NULL;
    }
    if (!file && access(path, F_OK) == 0)
        log_warn("settings.json: damaged (%s); the defaults apply", je.text);
    if (!json_is_object(file)) {
        json_decref(file);
        file = json_object();
    }
    if (!file) studio_fail(err, STUDIO_INTERNAL, NULL, "settings.json: out of memory");
    return file;
}

json_t *studio_generation_settings(studio *s, studio_error *err)
{
    json_t *out = defaults(), *file = NULL;
    char *path = studio_path(s, "settings.json");
    if (!out || !path) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "settings: out of memory");
        goto fail;
    }
    if (!(file = load_file(path, err))) goto fail;
    json_t *stored = json_object_get(file, "generation");
    for (size_t i = 0; i < N_FIELDS; i++) { /* a value that fails its check keeps the default */
        json_t *v = json_object_get(stored, fields[i].name);
        if (v && check_field(i, v, NULL) == 0 && json_object_set(out, fields[i].name, v) != 0) goto nomem;
    }
    for (size_t i = 0; studio_sampling_name(i); i++) {
        json_t *v = json_object_get(stored, studio_sampling_name(i));
        if (v && studio_sampling_check(i, v, NULL) == 0 &&
            json_object_set(out, studio_sampling_name(i), v) != 0)
            goto nomem;
    }
    json_decref(file);
    free(path);
    return out;
nomem:
    studio_fail(err, STUDIO_INTERNAL, NULL, "settings: out of memory");
fail:
    json_decref(out);
    json_decref(file);
    free(path);
    return NULL;
}

json_t *studio_generation_settings_update(studio *s, const json_t *body, studio_error *err)
{
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    json_t *cur = studio_generation_settings(s, err), *file = NULL;
    char *path = NULL, *text = NULL;
    if (!cur) return NULL;
    for (size_t i = 0; i < N_FIELDS; i++) {
        json_t *v = json_object_get(body, fields[i].name);
        if (!v || json_is_null(v)) continue; /* a partial update keeps the rest */
        if (check_field(i, v, err) < 0) goto fail;
        if (json_object_set(cur, fields[i].name, v) != 0) goto nomem;
    }
    for (size_t i = 0; studio_sampling_name(i); i++) {
        json_t *v = json_object_get(body, studio_sampling_name(i));
        if (!v || json_is_null(v)) continue;
        if (studio_sampling_check(i, v, err) < 0) goto fail;
        if (json_object_set(cur, studio_sampling_name(i), v) != 0) goto nomem;
    }
    if (!(path = studio_path(s, "settings.json"))) goto nomem;
    if (!(file = load_file(path, err))) goto fail; /* the file's other members are kept */
    if (json_object_set(file, "generation", cur) != 0 || !(text = studio_json_dumps(file, JSON_INDENT(2))))
        goto nomem;
    if (studio_write_atomic(path, text, strlen(text), "settings.json", err) < 0) goto fail;
    json_decref(file);
    free(path);
    free(text);
    return cur;
nomem:
    studio_fail(err, STUDIO_INTERNAL, NULL, "settings: out of memory");
fail:
    json_decref(cur);
    json_decref(file);
    free(path);
    free(text);
    return NULL;
}
