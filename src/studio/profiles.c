/* profiles.c — voice profiles: create, list, get, update, delete (with everything that hangs off one).
 * Validation follows Voicebox's VoiceProfileCreate: name 1-100 chars and unique, description <= 500,
 * language one of the ten Qwen3-TTS codes (default "en"). Must not touch files other than the profile's
 * own directory and its generations. */
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define PROFILE_COLS "id, name, description, language, avatar_path, created_at, updated_at"

json_t *studio_profile_row(sqlite3_stmt *st)
{
    json_t *j = json_object();
    /* out of memory: NULL, never a profile with a member missing */
    int bad = json_object_set_new(j, "id", studio_col_str(st, 0));
    bad |= json_object_set_new(j, "name", studio_col_str(st, 1));
    bad |= json_object_set_new(j, "description", studio_col_str(st, 2));
    bad |= json_object_set_new(j, "language", studio_col_str(st, 3));
    bad |= json_object_set_new(j, "avatar_path", studio_col_str(st, 4));
    bad |= json_object_set_new(j, "created_at", studio_col_str(st, 5));
    bad |= json_object_set_new(j, "updated_at", studio_col_str(st, 6));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

typedef struct {
    const char *name, *description, *language;
} profile_fields;

static int parse_body(const json_t *body, profile_fields *f, studio_error *err)
{
    if (!json_is_object(body)) return studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
    if (studio_json_str(body, "name", 1, 1, STUDIO_NAME_MAX_CHARS, &f->name, err) < 0 ||
        studio_json_str(body, "description", 0, 0, STUDIO_DESCRIPTION_MAX_CHARS, &f->description, err) < 0 ||
        studio_json_str(body, "language", 0, 0, LONG_MAX, &f->language, err) < 0)
        return -1;
    if (!f->language) f->language = STUDIO_DEFAULT_LANGUAGE;
    if (!studio_language_valid(f->language))
        return studio_fail(err, STUDIO_INVALID, "language", "language: must be one of %s, got '%s'",
                           studio_language_list(), f->language);
    return 0;
}

/* Runs a one-row SELECT of PROFILE_COLS bound to id; NULL with NOT_FOUND when absent. Caller holds mu. */
static json_t *select_profile(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " PROFILE_COLS " FROM profiles WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK) {
        studio_db_fail(s, err, "reading a profile");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (!(j = studio_profile_row(st)))
            studio_fail(err, STUDIO_INTERNAL, NULL, "profile %s: out of memory reading it", id);
    } else if (rc == SQLITE_DONE)
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", id);
    else
        studio_db_fail(s, err, "reading a profile");
out:
    sqlite3_finalize(st);
    return j;
}

static int name_conflict(const char *name, studio_error *err)
{
    return studio_fail(err, STUDIO_CONFLICT, "name", "A profile with name '%s' already exists", name);
}

json_t *studio_profile_create(studio *s, const json_t *body, studio_error *err)
{
    profile_fields f;
    if (parse_body(body, &f, err) < 0) return NULL;
    char id[37], now[32];
    studio_new_id(id);
    studio_now(now);
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    /* the row and its read-back in one transaction: a profile the caller is told was not created is not */
    if (studio_exec(s, "BEGIN IMMEDIATE", err) < 0) goto out;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO profiles (id, name, description, language, created_at, updated_at) "
                           "VALUES (?, ?, ?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "creating a profile");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, f.name, -1, SQLITE_STATIC);
    if (f.description) sqlite3_bind_text(st, 3, f.description, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, f.language, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        name_conflict(f.name, err);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        studio_db_fail(s, err, "creating a profile");
        goto out;
    }
    j = select_profile(s, id, err);
    if (j && studio_exec(s, "COMMIT", err) < 0) {
        json_decref(j);
        j = NULL;
    }
    if (j) log_info("profile %s created: '%s'", id, f.name);
out:
    sqlite3_finalize(st);
    if (!j) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* harmless when no transaction is open */
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *studio_profile_list(studio *s, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    pthread_mutex_lock(&s->mu);
    if (!arr || sqlite3_prepare_v2(
                    s->db, "SELECT " PROFILE_COLS " FROM profiles ORDER BY created_at DESC, rowid DESC", -1,
                    &st, NULL) != SQLITE_OK)
        goto fail;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(arr, studio_profile_row(st)) != 0) goto fail; /* never a list cut short */
    if (rc != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return arr;
fail:
    studio_db_fail(s, err, "listing profiles");
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    json_decref(arr);
    return NULL;
}

json_t *studio_profile_get(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    json_t *j = select_profile(s, id, err);
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *studio_profile_update(studio *s, const char *id, const json_t *body, studio_error *err)
{
    if (!studio_id_valid(id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
        return NULL;
    }
    profile_fields f;
    if (parse_body(body, &f, err) < 0) return NULL;
    char now[32];
    studio_now(now);
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "UPDATE profiles SET name = ?, description = ?, language = ?, updated_at = ? "
                           "WHERE id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "updating a profile");
        goto out;
    }
    sqlite3_bind_text(st, 1, f.name, -1, SQLITE_STATIC);
    if (f.description) sqlite3_bind_text(st, 2, f.description, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, f.language, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, now, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 5, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        name_conflict(f.name, err);
        goto out;
    }
    if (rc != SQLITE_DONE) {
        studio_db_fail(s, err, "updating a profile");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", id);
        goto out;
    }
    j = select_profile(s, id, err);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return j;
}

/* Appends every non-NULL audio_path of `sql` (bound to id) to paths. Caller holds mu. A path that cannot be
 * kept (out of memory) fails the delete: its file would outlive its row with no intent naming it. */
static int collect_paths(studio *s, const char *sql, const char *id, json_t *paths, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return studio_db_fail(s, err, "deleting a profile");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (sqlite3_column_type(st, 0) != SQLITE_NULL &&
            json_array_append_new(paths, json_string((const char *)sqlite3_column_text(st, 0))) != 0) {
            sqlite3_finalize(st);
            return studio_fail(err, STUDIO_INTERNAL, NULL, "deleting a profile: out of memory");
        }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : studio_db_fail(s, err, "deleting a profile");
}

static int profile_delete_once(studio *s, const char *id, studio_error *err)
{
    if (!studio_id_valid(id)) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
    sqlite3_stmt *st = NULL;
    json_t *paths = json_array();
    int ret = -1;
    pthread_mutex_lock(&s->mu);
    if (studio_exec(s, "BEGIN IMMEDIATE", err) < 0) goto out;
    if (collect_paths(s, "SELECT audio_path FROM profile_samples WHERE profile_id = ?", id, paths, err) < 0 ||
        collect_paths(s, "SELECT audio_path FROM generations WHERE profile_id = ?", id, paths, err) < 0 ||
        collect_paths(s, "SELECT avatar_path FROM profiles WHERE id = ?", id, paths, err) < 0)
        goto rollback;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM profiles WHERE id = ?", -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "deleting a profile");
        goto rollback;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) {
        studio_db_fail(s, err, "deleting a profile");
        goto rollback;
    }
    if (sqlite3_changes(s->db) == 0) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", id);
        goto rollback;
    }
    size_t k;
    json_t *v;
    json_array_foreach(paths, k, v) if (studio_intent_add(s, json_string_value(v)) < 0)
    {
        studio_db_fail(s, err, "deleting a profile");
        goto rollback;
    }
    if (studio_exec(s, "COMMIT", err) < 0) goto rollback;
    /* Rows are gone, intents name their files; now the files (a crash here leaves intents the sweep
     * completes). */
    size_t i;
    json_t *p;
    json_array_foreach(paths, i, p) studio_unlink_rel(s, json_string_value(p));
    char rel[64];
    snprintf(rel, sizeof rel, "profiles/%s", id);
    char *dir = studio_path(s, rel);
    if (dir) rmdir(dir);
    free(dir);
    log_info("profile %s deleted with %zu files", id, json_array_size(paths));
    ret = 0;
    goto out;
rollback:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    json_decref(paths);
    return ret;
}

/* A delete on a full drive: SQLite needs room for its journal, which the reserve gives (space.c). */
int studio_profile_delete(studio *s, const char *id, studio_error *err)
{
    int rc = profile_delete_once(s, id, err);
    if (rc < 0 && studio_space_retry(s, err)) rc = profile_delete_once(s, id, err);
    return rc;
}
