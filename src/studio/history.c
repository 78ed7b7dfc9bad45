/* history.c — the generation history: insert (by the generation worker, after its WAV is in place), list
 * with filters and paging, stats, get, delete, and the path of a take's audio.
 * Items carry the profile's name as Voicebox's HistoryResponse does. */
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HISTORY_COLS                                                                                         \
    "g.id, g.profile_id, p.name, g.text, g.language, g.audio_path, g.duration, g.seed, g.instruct, "         \
    "g.model_size, g.status, g.error, g.created_at, g.missing, g.settings, g.is_favorited"
#define HISTORY_FROM " FROM generations g JOIN profiles p ON p.id = g.profile_id"

static json_t *history_row(const studio *s, sqlite3_stmt *st)
{
    json_t *j = json_object();
    json_object_set_new(j, "id", studio_col_str(st, 0));
    json_object_set_new(j, "profile_id", studio_col_str(st, 1));
    json_object_set_new(j, "profile_name", studio_col_str(st, 2));
    json_object_set_new(j, "text", studio_col_str(st, 3));
    json_object_set_new(j, "language", studio_col_str(st, 4));
    json_object_set_new(j, "audio_path", studio_col_path(s, st, 5));
    json_object_set_new(j, "duration",
                        sqlite3_column_type(st, 6) == SQLITE_NULL ? json_null()
                                                                  : json_real(sqlite3_column_double(st, 6)));
    json_object_set_new(
        j, "seed",
        sqlite3_column_type(st, 7) == SQLITE_NULL ? json_null() : json_integer(sqlite3_column_int64(st, 7)));
    json_object_set_new(j, "instruct", studio_col_str(st, 8));
    json_object_set_new(j, "model_size", studio_col_str(st, 9));
    json_object_set_new(j, "status", studio_col_str(st, 10));
    json_object_set_new(j, "error", studio_col_str(st, 11));
    json_object_set_new(j, "created_at", studio_col_str(st, 12));
    const char *settings = (const char *)sqlite3_column_text(st, 14);
    json_t *sj = settings ? json_loads(settings, 0, NULL) : NULL;
    json_object_set_new(j, "settings", json_is_object(sj) ? sj : (json_decref(sj), json_null()));
    json_object_set_new(j, "is_favorited", json_boolean(sqlite3_column_int(st, 15) != 0));
    /* the file was not found at the last start (row kept, see the sweep in db.c) */
    json_object_set_new(j, "missing", json_boolean(sqlite3_column_int(st, 13) != 0));
    return j;
}

static json_t *select_generation(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " HISTORY_COLS HISTORY_FROM " WHERE g.id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        studio_db_fail(s, err, "reading a generation");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        j = history_row(s, st);
    else if (rc == SQLITE_DONE)
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation %s: not found", id);
    else
        studio_db_fail(s, err, "reading a generation");
out:
    sqlite3_finalize(st);
    return j;
}

static int check_generation(const studio_generation *g, studio_error *err)
{
    long n;
    if (g->id && !studio_id_valid(g->id))
        return studio_fail(err, STUDIO_INVALID, "id", "id: '%s' is not a lowercase uuid", g->id);
    if (!studio_id_valid(g->profile_id))
        return studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
    if (!g->text || (n = studio_utf8_len(g->text)) < 1 || n > STUDIO_TEXT_MAX_CHARS)
        return studio_fail(err, STUDIO_INVALID, "text", "text: must be 1 to %d characters of UTF-8",
                           STUDIO_TEXT_MAX_CHARS);
    if (!studio_language_valid(g->language))
        return studio_fail(err, STUDIO_INVALID, "language", "language: must be one of %s",
                           studio_language_list());
    if (g->instruct && ((n = studio_utf8_len(g->instruct)) < 0 || n > STUDIO_INSTRUCT_MAX_CHARS))
        return studio_fail(err, STUDIO_INVALID, "instruct",
                           "instruct: must be at most %d characters of UTF-8", STUDIO_INSTRUCT_MAX_CHARS);
    const studio_model *m = g->model_size ? studio_model_find(g->model_size) : NULL;
    if (g->model_size && (!m || strcmp(m->size, g->model_size)))
        return studio_fail(err, STUDIO_INVALID, "model_size", "model_size: must be %s, got '%s'",
                           studio_model_size_list(), g->model_size);
    if (g->audio_path) {
        char want[64];
        const char *id_part = g->audio_path + strlen("generations/");
        if (strncmp(g->audio_path, "generations/", 12) || strlen(id_part) != 40 ||
            strcmp(id_part + 36, ".wav") ||
            (snprintf(want, sizeof want, "%.36s", id_part), !studio_id_valid(want)))
            return studio_fail(err, STUDIO_INVALID, "audio_path",
                               "audio_path: must be generations/<uuid>.wav, got '%s'", g->audio_path);
    }
    return 0;
}

json_t *studio_generation_insert(studio *s, const studio_generation *g, studio_error *err)
{
    if (check_generation(g, err) < 0) return NULL;
    char id[37], now[32];
    if (g->id)
        snprintf(id, sizeof id, "%s", g->id);
    else
        studio_new_id(id);
    studio_now(now);
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(
            s->db,
            "INSERT INTO generations (id, profile_id, text, language, audio_path, duration, seed, "
            "model_size, instruct, status, error, created_at, settings) "
            "SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?14 WHERE EXISTS "
            "(SELECT 1 FROM profiles WHERE id = ?2)",
            -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "recording a generation");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, g->profile_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, g->text, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, g->language, -1, SQLITE_STATIC);
    if (g->audio_path) sqlite3_bind_text(st, 5, g->audio_path, -1, SQLITE_STATIC);
    if (g->duration >= 0) sqlite3_bind_double(st, 6, g->duration);
    if (g->seed >= 0) sqlite3_bind_int64(st, 7, g->seed);
    if (g->model_size) sqlite3_bind_text(st, 8, g->model_size, -1, SQLITE_STATIC);
    if (g->instruct) sqlite3_bind_text(st, 9, g->instruct, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 10, g->status ? g->status : "completed", -1, SQLITE_STATIC);
    if (g->error) sqlite3_bind_text(st, 11, g->error, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 12, now, -1, SQLITE_STATIC);
    if (g->settings) sqlite3_bind_text(st, 14, g->settings, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        studio_fail(err, STUDIO_CONFLICT, "id", "generation %s: already exists", id);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        studio_db_fail(s, err, "recording a generation");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", g->profile_id);
        goto out;
    }
    j = select_generation(s, id, err);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return j;
}

int studio_take_final(const char *status)
{
    return status &&
           (!strcmp(status, "completed") || !strcmp(status, "failed") || !strcmp(status, "cancelled"));
}

int studio_generation_set_status(studio *s, const char *id, const char *status, const char *error,
                                 const char *audio_path, double duration, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    int ret = -1;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE generations SET status = ?2, error = ?3, "
                           "audio_path = CASE WHEN ?4 IS NULL THEN audio_path ELSE ?4 END, "
                           "duration = CASE WHEN ?4 IS NULL THEN duration ELSE ?5 END WHERE id = ?1",
                           -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "updating a take's status");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC);
    if (error) sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
    if (audio_path) sqlite3_bind_text(st, 4, audio_path, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, duration);
    if (sqlite3_step(st) != SQLITE_DONE) {
        studio_db_fail(s, err, "updating a take's status");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation %s: not found (its profile was deleted?)", id);
        goto out;
    }
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

int studio_generations_fail_unfinished(studio *s, studio_error *err)
{
    pthread_mutex_lock(&s->mu);
    int rc =
        studio_exec(s,
                    "UPDATE generations SET status = 'failed', error = 'interrupted: the server stopped "
                    "before this take finished' WHERE status NOT IN ('completed', 'failed', 'cancelled')",
                    err);
    int n = rc < 0 ? -1 : sqlite3_changes(s->db);
    pthread_mutex_unlock(&s->mu);
    if (n > 0) log_warn("%d unfinished take(s) from an earlier run marked failed", n);
    return n;
}

json_t *studio_history_toggle_favorite(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation: not found");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "UPDATE generations SET is_favorited = 1 - is_favorited WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
        studio_db_fail(s, err, "marking a favourite");
        goto out;
    }
    j = select_generation(s, id, err); /* NOT_FOUND when there is no such take */
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return j;
}

int studio_history_delete_failed(studio *s, studio_error *err)
{
    sqlite3_stmt *sel = NULL;
    char **ids = NULL;
    int n = 0, cap = 0, deleted = 0;
    pthread_mutex_lock(&s->mu);
    int rc = sqlite3_prepare_v2(s->db, "SELECT id FROM generations WHERE status = 'failed'", -1, &sel, NULL);
    while (rc == SQLITE_OK && sqlite3_step(sel) == SQLITE_ROW) {
        if (n == cap) {
            char **grown = realloc(ids, (size_t)(cap = cap ? 2 * cap : 16) * sizeof *grown);
            if (!grown) break;
            ids = grown;
        }
        ids[n] = strdup((const char *)sqlite3_column_text(sel, 0));
        if (ids[n]) n++;
    }
    sqlite3_finalize(sel);
    pthread_mutex_unlock(&s->mu);
    if (rc != SQLITE_OK) {
        free(ids);
        return studio_db_fail(s, err, "listing failed takes");
    }
    int ret = 0;
    for (int i = 0; i < n; i++) { /* one by one, as DELETE /history/{id} does: row, then any file */
        if (studio_history_delete(s, ids[i], err) == 0)
            deleted++;
        else if (err && err->kind != STUDIO_NOT_FOUND)
            ret = -1;
        free(ids[i]);
    }
    free(ids);
    return ret < 0 ? -1 : deleted;
}

studio_history_query studio_history_default_query(void)
{
    return (studio_history_query){
        .profile_id = NULL, .search = NULL, .limit = STUDIO_HISTORY_LIMIT_DEFAULT, .offset = 0};
}

/* LIKE pattern matching search anywhere, with %, _ and \ taken literally. malloc'd. */
static char *like_pattern(const char *search)
{
    size_t n = strlen(search);
    char *p = malloc(2 * n + 3), *o = p;
    if (!p) return NULL;
    *o++ = '%';
    for (const char *c = search; *c; c++) {
        if (*c == '%' || *c == '_' || *c == '\\') *o++ = '\\';
        *o++ = *c;
    }
    *o++ = '%';
    *o = '\0';
    return p;
}

json_t *studio_history_list(studio *s, const studio_history_query *q, studio_error *err)
{
    studio_history_query dq = studio_history_default_query();
    if (!q) q = &dq;
    if (q->limit < 1 || q->limit > STUDIO_HISTORY_LIMIT_MAX) {
        studio_fail(err, STUDIO_INVALID, "limit", "limit: must be 1 to %d, got %d", STUDIO_HISTORY_LIMIT_MAX,
                    q->limit);
        return NULL;
    }
    if (q->offset < 0) {
        studio_fail(err, STUDIO_INVALID, "offset", "offset: must be 0 or more, got %d", q->offset);
        return NULL;
    }
    char *pattern = q->search && *q->search ? like_pattern(q->search) : NULL;
    const char *where =
        " WHERE (?1 IS NULL OR g.profile_id = ?1) AND (?2 IS NULL OR g.text LIKE ?2 ESCAPE '\\')";
    char sql_count[512], sql_items[1024];
    snprintf(sql_count, sizeof sql_count, "SELECT count(*)" HISTORY_FROM "%s", where);
    snprintf(sql_items, sizeof sql_items,
             "SELECT " HISTORY_COLS HISTORY_FROM
             "%s ORDER BY g.created_at DESC, g.rowid DESC LIMIT ?3 OFFSET ?4",
             where);
    sqlite3_stmt *cnt = NULL, *st = NULL;
    json_t *items = json_array(), *res = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, sql_count, -1, &cnt, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(s->db, sql_items, -1, &st, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_stmt *both[2] = {cnt, st};
    for (int i = 0; i < 2; i++) {
        if (q->profile_id) sqlite3_bind_text(both[i], 1, q->profile_id, -1, SQLITE_STATIC);
        if (pattern) sqlite3_bind_text(both[i], 2, pattern, -1, SQLITE_STATIC);
    }
    sqlite3_bind_int(st, 3, q->limit);
    sqlite3_bind_int(st, 4, q->offset);
    if (sqlite3_step(cnt) != SQLITE_ROW) goto fail;
    long long total = sqlite3_column_int64(cnt, 0);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(items, history_row(s, st));
    if (rc != SQLITE_DONE) goto fail;
    res = json_pack("{s:o, s:I}", "items", items, "total", (json_int_t)total);
    items = NULL;
    sqlite3_finalize(cnt);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    free(pattern);
    return res;
fail:
    studio_db_fail(s, err, "listing history");
    sqlite3_finalize(cnt);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    json_decref(items);
    free(pattern);
    return NULL;
}

json_t *studio_history_stats(studio *s, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *by = json_object(), *res = NULL;
    long long total = 0;
    double seconds = 0;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT profile_id, count(*), coalesce(sum(duration), 0) FROM generations "
                           "GROUP BY profile_id",
                           -1, &st, NULL) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        long long c = sqlite3_column_int64(st, 1);
        total += c;
        seconds += sqlite3_column_double(st, 2);
        json_object_set_new(by, (const char *)sqlite3_column_text(st, 0), json_integer(c));
    }
    if (rc != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    res = json_pack("{s:I, s:f, s:o}", "total_generations", (json_int_t)total, "total_duration_seconds",
                    seconds, "generations_by_profile", by);
    return res;
fail:
    studio_db_fail(s, err, "computing history stats");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    json_decref(by);
    return NULL;
}

json_t *studio_history_get(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation: not found");
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    json_t *j = select_generation(s, id, err);
    pthread_mutex_unlock(&s->mu);
    return j;
}

/* The generation's relative audio path into rel ("" when it has none). Caller holds mu. */
static int generation_rel_path(studio *s, const char *id, char *rel, size_t cap, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT audio_path FROM generations WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return studio_db_fail(s, err, "reading a generation");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *p = sqlite3_column_text(st, 0);
        snprintf(rel, cap, "%s", p ? (const char *)p : "");
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation %s: not found", id);
    return studio_db_fail(s, err, "reading a generation");
}

static int history_delete_once(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation: not found");
    char rel[256];
    sqlite3_stmt *st = NULL;
    int ret = -1;
    pthread_mutex_lock(&s->mu);
    if (generation_rel_path(s, id, rel, sizeof rel, err) < 0) goto out;
    if (*rel && studio_intent_add(s, rel) < 0) {
        studio_db_fail(s, err, "deleting a generation");
        goto out;
    }
    if (sqlite3_prepare_v2(s->db, "DELETE FROM generations WHERE id = ?", -1, &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
        studio_db_fail(s, err, "deleting a generation");
        goto out;
    }
    if (*rel)
        studio_unlink_rel(s,
                          rel); /* after the row: a crash in between leaves an intent the sweep completes */
    log_info("generation %s deleted", id);
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

/* A delete on a full drive: SQLite needs room for its journal, which the reserve gives (space.c). */
int studio_history_delete(studio *s, const char *id, studio_error *err)
{
    int rc = history_delete_once(s, id, err);
    if (rc < 0 && studio_space_retry(s, err)) rc = history_delete_once(s, id, err);
    return rc;
}

char *studio_generation_audio_path(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation: not found");
        return NULL;
    }
    char rel[256];
    pthread_mutex_lock(&s->mu);
    int rc = generation_rel_path(s, id, rel, sizeof rel, err);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) return NULL;
    if (!*rel) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation %s: has no audio", id);
        return NULL;
    }
    char *p = studio_path(s, rel);
    struct stat sb;
    if (!p || stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "generation %s: its audio file is missing", id);
        free(p);
        return NULL;
    }
    return p;
}
