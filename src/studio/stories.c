/* stories.c — stories: named multi-track timelines of takes (generations), and their mix.
 *
 * A story item places one take at start_time_ms on a track, optionally trimmed at either end; the same take
 * may appear several times (split and duplicate make such copies). Rules follow the Python Voicebox
 * studio's stories: an item added without a start goes after the latest end over all tracks + 200 ms;
 * adding a take that is already in the story returns its existing item; reorder lays the items out one
 * after another with 200 ms gaps; a split point is relative to the item's visible start.
 * Items go when their story, their take or the take's profile goes (ON DELETE CASCADE).
 * No files are written here: a mix is returned as samples for the caller to encode.
 */
#include "studio/studio_internal.h"

#include "audio/audio.h"
#include "studio/log.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORY_GAP_MS 200
#define STORY_TIME_MAX_MS (24LL * 3600 * 1000) /* a start or trim beyond a day is a client bug */
#define STORY_TRACK_MAX 1000

#define STORY_COLS                                                                                           \
    "s.id, s.name, s.description, s.created_at, s.updated_at, "                                              \
    "(SELECT count(*) FROM story_items i WHERE i.story_id = s.id)"
#define ITEM_COLS                                                                                            \
    "i.id, i.story_id, i.generation_id, i.start_time_ms, i.track, i.trim_start_ms, i.trim_end_ms, "          \
    "i.created_at, g.profile_id, p.name, g.text, g.language, g.audio_path, g.duration, g.seed, g.instruct, " \
    "g.created_at, g.model_size"
#define ITEM_FROM                                                                                            \
    " FROM story_items i JOIN generations g ON g.id = i.generation_id JOIN profiles p ON p.id = "            \
    "g.profile_id"
#define ITEM_ORDER " ORDER BY i.start_time_ms, i.track, i.created_at, i.rowid"

static json_t *story_row(sqlite3_stmt *st)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", studio_col_str(st, 0));
    json_object_set_new(j, "name", studio_col_str(st, 1));
    json_object_set_new(j, "description", studio_col_str(st, 2));
    json_object_set_new(j, "created_at", studio_col_str(st, 3));
    json_object_set_new(j, "updated_at", studio_col_str(st, 4));
    json_object_set_new(j, "item_count", json_integer(sqlite3_column_int64(st, 5)));
    return j;
}

static json_t *col_num(sqlite3_stmt *st, int i, int integer)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
    return integer ? json_integer(sqlite3_column_int64(st, i)) : json_real(sqlite3_column_double(st, i));
}

/* StoryItemDetail: the item's own fields, then its take's. */
static json_t *item_row(const studio *s, sqlite3_stmt *st)
{
    static const char *const own[] = {"id", "story_id", "generation_id"};
    static const char *const times[] = {"start_time_ms", "track", "trim_start_ms", "trim_end_ms"};
    json_t *j = json_object();
    for (int k = 0; k < 3; k++)
        json_object_set_new(j, own[k], studio_col_str(st, k));
    for (int k = 0; k < 4; k++)
        json_object_set_new(j, times[k], json_integer(sqlite3_column_int64(st, 3 + k)));
    json_object_set_new(j, "created_at", studio_col_str(st, 7));
    json_object_set_new(j, "profile_id", studio_col_str(st, 8));
    json_object_set_new(j, "profile_name", studio_col_str(st, 9));
    json_object_set_new(j, "text", studio_col_str(st, 10));
    json_object_set_new(j, "language", studio_col_str(st, 11));
    json_object_set_new(j, "audio_path", studio_col_path(s, st, 12));
    json_object_set_new(j, "duration", col_num(st, 13, 0));
    json_object_set_new(j, "seed", col_num(st, 14, 1));
    json_object_set_new(j, "instruct", studio_col_str(st, 15));
    json_object_set_new(j, "generation_created_at", studio_col_str(st, 16));
    json_object_set_new(j, "model_size", studio_col_str(st, 17));
    return j;
}

/* ---- small helpers (callers hold mu) ---- */

static int story_not_found(studio_error *err, const char *id)
{
    return studio_fail(err, STUDIO_NOT_FOUND, NULL, "story %s: not found", id);
}

static int item_not_found(studio_error *err, const char *id)
{
    return studio_fail(err, STUDIO_NOT_FOUND, NULL, "story item %s: not found", id);
}

/* Reads an integer field in [min, max]; absent or null gives def, or an error when required. An integral
 * JSON real (1200.0) counts as an integer. */
static int json_int(const json_t *body, const char *field, int required, long long def, long long min,
                    long long max, long long *out, studio_error *err)
{
    json_t *v = json_object_get(body, field);
    *out = def;
    if (!v || json_is_null(v)) {
        if (required) return studio_fail(err, STUDIO_INVALID, field, "%s: field required", field);
        return 0;
    }
    long long n;
    if (json_is_integer(v)) {
        n = json_integer_value(v);
    } else if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)) &&
               fabs(json_real_value(v)) < 9e15) {
        n = (long long)json_real_value(v);
    } else {
        return studio_fail(err, STUDIO_INVALID, field, "%s: must be an integer", field);
    }
    if (n < min || n > max)
        return studio_fail(err, STUDIO_INVALID, field, "%s: must be %lld to %lld, got %lld", field, min, max,
                           n);
    *out = n;
    return 0;
}

static int prepare(studio *s, const char *sql, sqlite3_stmt **st, studio_error *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return studio_db_fail(s, err, sql);
    return 0;
}

/* Runs a statement with text arguments (NULL-terminated list), no result rows. */
static int run(studio *s, studio_error *err, const char *sql, ...)
{
    sqlite3_stmt *st = NULL;
    if (prepare(s, sql, &st, err) < 0) return -1;
    va_list ap;
    va_start(ap, sql);
    const char *a;
    for (int i = 1; (a = va_arg(ap, const char *)); i++)
        sqlite3_bind_text(st, i, a, -1, SQLITE_TRANSIENT);
    va_end(ap);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return studio_db_fail(s, err, sql);
    return 0;
}

static int touch(studio *s, const char *story_id, studio_error *err)
{
    char now[32];
    studio_now(now);
    return run(s, err, "UPDATE stories SET updated_at = ? WHERE id = ?", now, story_id, (const char *)NULL);
}

static int story_exists(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (!studio_id_valid(id)) return story_not_found(err, id);
    if (prepare(s, "SELECT 1 FROM stories WHERE id = ?", &st, err) < 0) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return story_not_found(err, id);
    return studio_db_fail(s, err, "reading a story");
}

static json_t *select_story(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    if (prepare(s, "SELECT " STORY_COLS " FROM stories s WHERE s.id = ?", &st, err) < 0) return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        j = story_row(st);
    else if (rc == SQLITE_DONE)
        story_not_found(err, id);
    else
        studio_db_fail(s, err, "reading a story");
    sqlite3_finalize(st);
    return j;
}

static json_t *select_item(studio *s, const char *story_id, const char *item_id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    if (prepare(s, "SELECT " ITEM_COLS ITEM_FROM " WHERE i.story_id = ? AND i.id = ?", &st, err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, item_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        j = item_row(s, st);
    else if (rc == SQLITE_DONE)
        item_not_found(err, item_id);
    else
        studio_db_fail(s, err, "reading a story item");
    sqlite3_finalize(st);
    return j;
}

static json_t *select_items(studio *s, const char *story_id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    if (prepare(s, "SELECT " ITEM_COLS ITEM_FROM " WHERE i.story_id = ?" ITEM_ORDER, &st, err) < 0) goto fail;
    sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, item_row(s, st));
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return arr;
    studio_db_fail(s, err, "listing story items");
fail:
    json_decref(arr);
    return NULL;
}

/* An item's numbers and its take's length in whole ms (as the Python studio counts it: int(duration*1000)).
 */
typedef struct {
    char generation_id[37];
    long long start, track, trim_start, trim_end, duration_ms;
} item_info;

static int load_item(studio *s, const char *story_id, const char *item_id, item_info *it, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (!studio_id_valid(item_id)) return item_not_found(err, item_id);
    if (prepare(s,
                "SELECT i.generation_id, i.start_time_ms, i.track, i.trim_start_ms, i.trim_end_ms, "
                "coalesce(g.duration, 0) FROM story_items i JOIN generations g ON g.id = i.generation_id "
                "WHERE i.story_id = ? AND i.id = ?",
                &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, item_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        snprintf(it->generation_id, sizeof it->generation_id, "%s", (const char *)sqlite3_column_text(st, 0));
        it->start = sqlite3_column_int64(st, 1);
        it->track = sqlite3_column_int64(st, 2);
        it->trim_start = sqlite3_column_int64(st, 3);
        it->trim_end = sqlite3_column_int64(st, 4);
        it->duration_ms = (long long)(sqlite3_column_double(st, 5) * 1000.0);
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return item_not_found(err, item_id);
    return studio_db_fail(s, err, "reading a story item");
}

static int insert_item(studio *s, const char *story_id, const char *generation_id, long long start,
                       long long track, long long trim_start, long long trim_end, char id_out[37],
                       studio_error *err)
{
    char now[32];
    sqlite3_stmt *st = NULL;
    studio_new_id(id_out);
    studio_now(now);
    if (prepare(s,
                "INSERT INTO story_items (id, story_id, generation_id, start_time_ms, track, trim_start_ms, "
                "trim_end_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, id_out, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, story_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, generation_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, start);
    sqlite3_bind_int64(st, 5, track);
    sqlite3_bind_int64(st, 6, trim_start);
    sqlite3_bind_int64(st, 7, trim_end);
    sqlite3_bind_text(st, 8, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return studio_db_fail(s, err, "adding a story item");
    return 0;
}

static int set_times(studio *s, const char *item_id, long long start, long long track, long long trim_start,
                     long long trim_end, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "UPDATE story_items SET start_time_ms = ?, track = ?, trim_start_ms = ?, trim_end_ms = ? "
                "WHERE id = ?",
                &st, err) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, track);
    sqlite3_bind_int64(st, 3, trim_start);
    sqlite3_bind_int64(st, 4, trim_end);
    sqlite3_bind_text(st, 5, item_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return studio_db_fail(s, err, "updating a story item");
    return 0;
}

static int begin(studio *s, studio_error *err)
{
    return studio_exec(s, "BEGIN IMMEDIATE", err);
}

/* COMMIT when ok, else ROLLBACK; returns ok. */
static int finish(studio *s, int ok, studio_error *err)
{
    if (ok && studio_exec(s, "COMMIT", err) == 0) return 1;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return 0;
}

/* ---- stories ---- */

static int parse_story(const json_t *body, const char **name, const char **description, studio_error *err)
{
    if (!json_is_object(body)) return studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
    if (studio_json_str(body, "name", 1, 1, STUDIO_NAME_MAX_CHARS, name, err) < 0 ||
        studio_json_str(body, "description", 0, 0, STUDIO_DESCRIPTION_MAX_CHARS, description, err) < 0)
        return -1;
    return 0;
}

json_t *studio_story_create(studio *s, const json_t *body, studio_error *err)
{
    const char *name, *description;
    if (parse_story(body, &name, &description, err) < 0) return NULL;
    char id[37], now[32];
    studio_new_id(id);
    studio_now(now);
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "INSERT INTO stories (id, name, description, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                &st, err) == 0) {
        sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
        if (description) sqlite3_bind_text(st, 3, description, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            j = select_story(s, id, err);
        else
            studio_db_fail(s, err, "creating a story");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    if (j) log_info("story %s created: '%s'", id, name);
    return j;
}

json_t *studio_story_list(studio *s, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int rc = SQLITE_ERROR;
    pthread_mutex_lock(&s->mu);
    if (prepare(s, "SELECT " STORY_COLS " FROM stories s ORDER BY s.updated_at DESC, s.rowid DESC", &st,
                err) == 0) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            json_array_append_new(arr, story_row(st));
        if (rc != SQLITE_DONE) studio_db_fail(s, err, "listing stories");
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    if (rc == SQLITE_DONE) return arr;
    json_decref(arr);
    return NULL;
}

json_t *studio_story_get(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) {
        story_not_found(err, id);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    json_t *j = select_story(s, id, err);
    json_t *items = j ? select_items(s, id, err) : NULL;
    pthread_mutex_unlock(&s->mu);
    if (!items) {
        json_decref(j);
        return NULL;
    }
    json_object_set_new(j, "items", items);
    return j;
}

json_t *studio_story_update(studio *s, const char *id, const json_t *body, studio_error *err)
{
    const char *name, *description;
    if (!studio_id_valid(id)) {
        story_not_found(err, id);
        return NULL;
    }
    if (parse_story(body, &name, &description, err) < 0) return NULL;
    char now[32];
    studio_now(now);
    json_t *j = NULL;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (story_exists(s, id, err) == 0 &&
        prepare(s, "UPDATE stories SET name = ?, description = ?, updated_at = ? WHERE id = ?", &st, err) ==
            0) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (description) sqlite3_bind_text(st, 2, description, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 4, id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_DONE)
            j = select_story(s, id, err);
        else
            studio_db_fail(s, err, "updating a story");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return j;
}

int studio_story_delete(studio *s, const char *id, studio_error *err)
{
    int ret = -1;
    pthread_mutex_lock(&s->mu);
    if (story_exists(s, id, err) == 0 &&
        run(s, err, "DELETE FROM stories WHERE id = ?", id, (char *)NULL) == 0)
        ret = 0;
    pthread_mutex_unlock(&s->mu);
    if (ret == 0) log_info("story %s deleted", id);
    return ret;
}

/* ---- items ---- */

/* The latest end (start + visible length) over all tracks, or -1 when the story has no items. */
static int latest_end(studio *s, const char *story_id, long long *end, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(s,
                "SELECT i.start_time_ms, coalesce(g.duration, 0), i.trim_start_ms, i.trim_end_ms "
                "FROM story_items i JOIN generations g ON g.id = i.generation_id WHERE i.story_id = ?",
                &st, err) < 0)
        return -1;
    sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
    *end = -1;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long e = sqlite3_column_int64(st, 0) + (long long)(sqlite3_column_double(st, 1) * 1000.0) -
                      sqlite3_column_int64(st, 2) - sqlite3_column_int64(st, 3);
        if (e > *end) *end = e;
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return studio_db_fail(s, err, "reading story items");
    return 0;
}

json_t *studio_story_item_add(studio *s, const char *story_id, const json_t *body, studio_error *err)
{
    const char *gen_id;
    long long start, track;
    if (!studio_id_valid(story_id)) {
        story_not_found(err, story_id);
        return NULL;
    }
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    if (studio_json_str(body, "generation_id", 1, 1, 64, &gen_id, err) < 0 ||
        json_int(body, "start_time_ms", 0, -1, 0, STORY_TIME_MAX_MS, &start, err) < 0 ||
        json_int(body, "track", 0, 0, 0, STORY_TRACK_MAX, &track, err) < 0)
        return NULL;
    json_t *j = NULL;
    sqlite3_stmt *st = NULL;
    char item_id[37] = "";
    pthread_mutex_lock(&s->mu);
    if (begin(s, err) < 0) goto out;
    int ok = 0;
    if (story_exists(s, story_id, err) < 0) goto done;
    /* the take must exist and have audio */
    if (prepare(s, "SELECT audio_path IS NOT NULL FROM generations WHERE id = ?", &st, err) < 0) goto done;
    sqlite3_bind_text(st, 1, gen_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    int has_audio = rc == SQLITE_ROW && sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    st = NULL;
    if (rc == SQLITE_DONE) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation %s: not found", gen_id);
        goto done;
    }
    if (rc != SQLITE_ROW) {
        studio_db_fail(s, err, "reading a generation");
        goto done;
    }
    if (!has_audio) {
        studio_fail(err, STUDIO_INVALID, "generation_id", "generation_id: take %s has no audio", gen_id);
        goto done;
    }
    /* already in the story: its existing item */
    if (prepare(s,
                "SELECT id FROM story_items WHERE story_id = ? AND generation_id = ? ORDER BY rowid LIMIT 1",
                &st, err) < 0)
        goto done;
    sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, gen_id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        snprintf(item_id, sizeof item_id, "%s", (const char *)sqlite3_column_text(st, 0));
        ok = 1;
        goto done;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (start < 0) {
        long long end;
        if (latest_end(s, story_id, &end, err) < 0) goto done;
        start = end < 0 ? 0 : end + STORY_GAP_MS;
    }
    ok = insert_item(s, story_id, gen_id, start, track, 0, 0, item_id, err) == 0 &&
         touch(s, story_id, err) == 0;
done:
    sqlite3_finalize(st);
    if (finish(s, ok, err)) j = select_item(s, story_id, item_id, err);
out:
    pthread_mutex_unlock(&s->mu);
    return j;
}

int studio_story_item_delete(studio *s, const char *story_id, const char *item_id, studio_error *err)
{
    item_info it;
    int ok = 0;
    pthread_mutex_lock(&s->mu);
    if (begin(s, err) == 0) {
        ok = story_exists(s, story_id, err) == 0 && load_item(s, story_id, item_id, &it, err) == 0 &&
             run(s, err, "DELETE FROM story_items WHERE id = ?", item_id, (char *)NULL) == 0 &&
             touch(s, story_id, err) == 0;
        ok = finish(s, ok, err);
    }
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

/* {updates: [{generation_id, start_time_ms}]}: every take named must be in the story; all its items move. */
int studio_story_items_times(studio *s, const char *story_id, const json_t *body, studio_error *err)
{
    json_t *updates = json_object_get(body, "updates");
    if (!json_is_object(body) || !json_is_array(updates))
        return studio_fail(err, STUDIO_INVALID, "updates", "updates: must be an array");
    size_t i;
    json_t *u;
    json_array_foreach(updates, i, u)
    {
        const char *gid;
        long long start;
        if (!json_is_object(u))
            return studio_fail(err, STUDIO_INVALID, "updates", "updates[%zu]: must be an object", i);
        if (studio_json_str(u, "generation_id", 1, 1, 64, &gid, err) < 0 ||
            json_int(u, "start_time_ms", 1, 0, 0, STORY_TIME_MAX_MS, &start, err) < 0)
            return -1;
    }
    int ok = 0;
    pthread_mutex_lock(&s->mu);
    if (begin(s, err) < 0) goto out;
    if (story_exists(s, story_id, err) < 0) goto done;
    json_array_foreach(updates, i, u)
    {
        const char *gid = json_string_value(json_object_get(u, "generation_id"));
        sqlite3_stmt *st = NULL;
        if (prepare(s, "UPDATE story_items SET start_time_ms = ? WHERE story_id = ? AND generation_id = ?",
                    &st, err) < 0)
            goto done;
        long long start;
        json_int(u, "start_time_ms", 1, 0, 0, STORY_TIME_MAX_MS, &start, err);
        sqlite3_bind_int64(st, 1, start);
        sqlite3_bind_text(st, 2, story_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, gid, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE) {
            studio_db_fail(s, err, "updating story item times");
            goto done;
        }
        if (sqlite3_changes(s->db) == 0) {
            studio_fail(err, STUDIO_INVALID, "updates", "updates[%zu]: generation %s is not in story %s", i,
                        gid, story_id);
            goto done;
        }
    }
    ok = touch(s, story_id, err) == 0;
done:
    ok = finish(s, ok, err);
out:
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

/* {generation_ids}: exactly the story's set of takes; laid out one after another from 0 with 200 ms gaps,
 * each at its take's full length (as the Python studio does). Returns the items in that order. */
json_t *studio_story_items_reorder(studio *s, const char *story_id, const json_t *body, studio_error *err)
{
    json_t *ids = json_object_get(body, "generation_ids");
    if (!json_is_object(body) || !json_is_array(ids) || json_array_size(ids) == 0) {
        studio_fail(err, STUDIO_INVALID, "generation_ids", "generation_ids: must be a non-empty array");
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (!json_is_string(v))
    {
        studio_fail(err, STUDIO_INVALID, "generation_ids", "generation_ids[%zu]: must be a string", i);
        return NULL;
    }
    json_t *res = NULL;
    int ok = 0;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (begin(s, err) < 0) goto out;
    if (story_exists(s, story_id, err) < 0) goto done;
    /* set equality: every id named is in the story, and the story has no take left unnamed */
    json_t *named = json_object();
    json_array_foreach(ids, i, v) json_object_set_new(named, json_string_value(v), json_true());
    if (prepare(s, "SELECT DISTINCT generation_id FROM story_items WHERE story_id = ?", &st, err) < 0) {
        json_decref(named);
        goto done;
    }
    sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
    size_t in_story = 0, matched = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        in_story++;
        if (json_object_get(named, (const char *)sqlite3_column_text(st, 0))) matched++;
    }
    sqlite3_finalize(st);
    st = NULL;
    size_t n_named = json_object_size(named);
    json_decref(named);
    if (matched != in_story || n_named != in_story) {
        studio_fail(err, STUDIO_INVALID, "generation_ids",
                    "generation_ids: must be exactly the story's %zu takes, each once", in_story);
        goto done;
    }
    long long t = 0;
    json_array_foreach(ids, i, v)
    {
        if (prepare(s,
                    "UPDATE story_items SET start_time_ms = ? WHERE story_id = ? AND generation_id = ? "
                    "RETURNING (SELECT coalesce(duration, 0) FROM generations WHERE id = generation_id)",
                    &st, err) < 0)
            goto done;
        sqlite3_bind_int64(st, 1, t);
        sqlite3_bind_text(st, 2, story_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, json_string_value(v), -1, SQLITE_STATIC);
        long long len = 0;
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW)
            len = (long long)(sqlite3_column_double(st, 0) * 1000.0);
        sqlite3_finalize(st);
        st = NULL;
        if (rc != SQLITE_DONE) {
            studio_db_fail(s, err, "reordering story items");
            goto done;
        }
        t += len + STORY_GAP_MS;
    }
    ok = touch(s, story_id, err) == 0;
done:
    sqlite3_finalize(st);
    if (finish(s, ok, err)) {
        res = json_array();
        json_array_foreach(ids, i, v)
        {
            sqlite3_stmt *q = NULL;
            if (prepare(s,
                        "SELECT " ITEM_COLS ITEM_FROM
                        " WHERE i.story_id = ? AND i.generation_id = ?" ITEM_ORDER,
                        &q, err) < 0) {
                json_decref(res);
                res = NULL;
                break;
            }
            sqlite3_bind_text(q, 1, story_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(q, 2, json_string_value(v), -1, SQLITE_STATIC);
            while (sqlite3_step(q) == SQLITE_ROW)
                json_array_append_new(res, item_row(s, q));
            sqlite3_finalize(q);
        }
    }
out:
    pthread_mutex_unlock(&s->mu);
    return res;
}

/* The common frame of the one-item edits: checks, transaction, the edit, the item back. */
typedef int (*item_edit)(studio *s, const char *story_id, const char *item_id, item_info *it,
                         const json_t *body, char new_id[37], studio_error *err);

static json_t *edit_item(studio *s, const char *story_id, const char *item_id, const json_t *body,
                         item_edit edit, int want_both, studio_error *err)
{
    item_info it;
    char new_id[37] = "";
    json_t *res = NULL;
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    if (begin(s, err) == 0) {
        int ok = story_exists(s, story_id, err) == 0 && load_item(s, story_id, item_id, &it, err) == 0 &&
                 edit(s, story_id, item_id, &it, body, new_id, err) == 0 && touch(s, story_id, err) == 0;
        if (finish(s, ok, err)) {
            json_t *a = select_item(s, story_id, item_id, err);
            json_t *b = *new_id && a ? select_item(s, story_id, new_id, err) : NULL;
            if (want_both) {
                if (a && b)
                    res = json_pack("[oo]", a, b);
                else {
                    json_decref(a);
                    json_decref(b);
                }
            } else {
                res = *new_id ? b : a;
                json_decref(*new_id ? a : b);
            }
        }
    }
    pthread_mutex_unlock(&s->mu);
    return res;
}

static int do_move(studio *s, const char *story_id, const char *item_id, item_info *it, const json_t *body,
                   char new_id[37], studio_error *err)
{
    (void)story_id;
    (void)new_id;
    long long start, track;
    if (json_int(body, "start_time_ms", 1, 0, 0, STORY_TIME_MAX_MS, &start, err) < 0 ||
        json_int(body, "track", 0, 0, 0, STORY_TRACK_MAX, &track, err) < 0)
        return -1;
    return set_times(s, item_id, start, track, it->trim_start, it->trim_end, err);
}

static int do_trim(studio *s, const char *story_id, const char *item_id, item_info *it, const json_t *body,
                   char new_id[37], studio_error *err)
{
    (void)story_id;
    (void)new_id;
    long long ts, te;
    if (json_int(body, "trim_start_ms", 1, 0, 0, STORY_TIME_MAX_MS, &ts, err) < 0 ||
        json_int(body, "trim_end_ms", 1, 0, 0, STORY_TIME_MAX_MS, &te, err) < 0)
        return -1;
    if (ts + te >= it->duration_ms)
        return studio_fail(err, STUDIO_INVALID, "trim_end_ms",
                           "trim_start_ms + trim_end_ms: %lld ms would leave nothing of a %lld ms take",
                           ts + te, it->duration_ms);
    return set_times(s, item_id, it->start, it->track, ts, te, err);
}

static int do_split(studio *s, const char *story_id, const char *item_id, item_info *it, const json_t *body,
                    char new_id[37], studio_error *err)
{
    long long at;
    if (json_int(body, "split_time_ms", 1, 0, 0, STORY_TIME_MAX_MS, &at, err) < 0) return -1;
    long long visible = it->duration_ms - it->trim_start - it->trim_end;
    if (at <= 0 || at >= visible)
        return studio_fail(err, STUDIO_INVALID, "split_time_ms",
                           "split_time_ms: must be inside the clip's visible %lld ms, got %lld", visible, at);
    long long abs_at = it->trim_start + at;
    /* the original keeps [trim_start, abs_at); the new clip shows [abs_at, duration - trim_end) */
    if (set_times(s, item_id, it->start, it->track, it->trim_start, it->duration_ms - abs_at, err) < 0)
        return -1;
    return insert_item(s, story_id, it->generation_id, it->start + at, it->track, abs_at, it->trim_end,
                       new_id, err);
}

static int do_duplicate(studio *s, const char *story_id, const char *item_id, item_info *it,
                        const json_t *body, char new_id[37], studio_error *err)
{
    (void)item_id;
    (void)body;
    long long visible = it->duration_ms - it->trim_start - it->trim_end;
    return insert_item(s, story_id, it->generation_id, it->start + visible + STORY_GAP_MS, it->track,
                       it->trim_start, it->trim_end, new_id, err);
}

json_t *studio_story_item_move(studio *s, const char *story_id, const char *item_id, const json_t *body,
                               studio_error *err)
{
    return edit_item(s, story_id, item_id, body, do_move, 0, err);
}

json_t *studio_story_item_trim(studio *s, const char *story_id, const char *item_id, const json_t *body,
                               studio_error *err)
{
    return edit_item(s, story_id, item_id, body, do_trim, 0, err);
}

json_t *studio_story_item_split(studio *s, const char *story_id, const char *item_id, const json_t *body,
                                studio_error *err)
{
    return edit_item(s, story_id, item_id, body, do_split, 1, err);
}

json_t *studio_story_item_duplicate(studio *s, const char *story_id, const char *item_id, studio_error *err)
{
    json_t *empty = json_object();
    json_t *j = edit_item(s, story_id, item_id, empty, do_duplicate, 0, err);
    json_decref(empty);
    return j;
}

/* ---- the mix ---- */

typedef struct {
    char *path;
    long long start, trim_start, trim_end, visible;
} mix_clip;

int studio_story_mix(studio *s, const char *story_id, float **out, size_t *n_out, char **name,
                     studio_error *err)
{
    mix_clip *clips = NULL;
    size_t n = 0, cap = 0;
    float *mix = NULL;
    int ret = -1;
    *out = NULL;
    *n_out = 0;
    *name = NULL;
    sqlite3_stmt *st = NULL;

    /* what to mix, read under the lock; the decoding happens outside it */
    pthread_mutex_lock(&s->mu);
    json_t *story = studio_id_valid(story_id) ? select_story(s, story_id, err) : NULL;
    if (!story && !studio_id_valid(story_id)) story_not_found(err, story_id);
    if (story) {
        *name = strdup(json_string_value(json_object_get(story, "name")));
        json_decref(story);
        if (prepare(s,
                    "SELECT g.audio_path, i.start_time_ms, i.trim_start_ms, i.trim_end_ms, "
                    "coalesce(g.duration, 0) FROM story_items i JOIN generations g ON g.id = i.generation_id "
                    "WHERE i.story_id = ? AND g.audio_path IS NOT NULL ORDER BY i.start_time_ms",
                    &st, err) == 0) {
            sqlite3_bind_text(st, 1, story_id, -1, SQLITE_STATIC);
            while (sqlite3_step(st) == SQLITE_ROW) {
                if (n == cap) {
                    cap = cap ? 2 * cap : 16;
                    mix_clip *nc = realloc(clips, cap * sizeof *clips);
                    if (!nc) break;
                    clips = nc;
                }
                mix_clip *c = &clips[n++];
                c->path = studio_path(s, (const char *)sqlite3_column_text(st, 0));
                c->start = sqlite3_column_int64(st, 1);
                c->trim_start = sqlite3_column_int64(st, 2);
                c->trim_end = sqlite3_column_int64(st, 3);
                c->visible = (long long)(sqlite3_column_double(st, 4) * 1000.0) - c->trim_start - c->trim_end;
            }
            sqlite3_finalize(st);
        }
    }
    pthread_mutex_unlock(&s->mu);
    if (!*name) goto out;
    if (n == 0) {
        studio_fail(err, STUDIO_CONFLICT, NULL, "story %s: has no items to mix", story_id);
        goto out;
    }

    /* length: the last visible end, in samples (ms * 24 exactly at 24 kHz) */
    const long long per_ms = STUDIO_SAMPLE_RATE / 1000;
    long long end_ms = 0;
    for (size_t k = 0; k < n; k++)
        if (clips[k].start + clips[k].visible > end_ms) end_ms = clips[k].start + clips[k].visible;
    size_t total = (size_t)(end_ms * per_ms);
    mix = calloc(total ? total : 1, sizeof *mix);
    if (!mix) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "story %s: out of memory for a %lld ms mix", story_id,
                    end_ms);
        goto out;
    }
    for (size_t k = 0; k < n; k++) {
        audio_buf buf = {0};
        audio_error aerr;
        if (!clips[k].path || audio_decode_file(clips[k].path, STUDIO_SAMPLE_RATE, &buf, &aerr) != 0) {
            log_warn("story %s: a take's audio is unreadable and left out of the mix: %s", story_id,
                     clips[k].path ? aerr.msg : "bad path");
            continue;
        }
        size_t from = (size_t)(clips[k].trim_start * per_ms), cut = (size_t)(clips[k].trim_end * per_ms);
        size_t to = buf.n > cut ? buf.n - cut : 0;
        size_t at = (size_t)(clips[k].start * per_ms);
        for (size_t i = from; i < to && at + (i - from) < total; i++)
            mix[at + (i - from)] += buf.samples[i];
        audio_buf_free(&buf);
    }
    float peak = audio_peak(mix, total);
    if (peak > 1.0f)
        for (size_t i = 0; i < total; i++)
            mix[i] /= peak;
    *out = mix;
    *n_out = total;
    mix = NULL;
    ret = 0;
out:
    for (size_t k = 0; k < n; k++)
        free(clips[k].path);
    free(clips);
    free(mix);
    if (ret < 0) {
        free(*name);
        *name = NULL;
    }
    return ret;
}
