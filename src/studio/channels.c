/* channels.c — audio channels (output buses) as the Python Voicebox studio stores them: a name, the OS
 * device ids the channel plays on, and which voice profiles speak on it. Schema 2 creates the "Default"
 * channel (every profile of the time assigned to it), which can be neither changed nor deleted.
 * Routing audio to the devices is a desktop client's job; the studio only keeps the assignments.
 */
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <stdio.h>
#include <string.h>

#define CHANNEL_DEVICES_MAX 64
#define CHANNEL_DEVICE_ID_MAX 512
#define CHANNEL_ASSIGN_MAX 1000

static int not_found(studio_error *err, const char *what, const char *id)
{
    return studio_fail(err, STUDIO_NOT_FOUND, NULL, "%s %s: not found", what, id);
}

static int prepare(studio *s, const char *sql, sqlite3_stmt **st, studio_error *err)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) return studio_db_fail(s, err, sql);
    return 0;
}

/* 1 when a row of `table` has this id, 0 when none, -1 on a database error. Caller holds mu. */
static int exists(studio *s, const char *table, const char *id, studio_error *err)
{
    char sql[96];
    sqlite3_stmt *st = NULL;
    if (!studio_id_valid(id)) return 0;
    snprintf(sql, sizeof sql, "SELECT 1 FROM %s WHERE id = ?", table);
    if (prepare(s, sql, &st, err) < 0) return -1;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 1;
    if (rc == SQLITE_DONE) return 0;
    return studio_db_fail(s, err, "reading a channel");
}

/* A JSON array of the first column of sql bound to id. Caller holds mu. */
static json_t *column_list(studio *s, const char *sql, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(s, sql, &st, err) < 0) return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    json_t *arr = json_array();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return arr;
    json_decref(arr);
    studio_db_fail(s, err, "reading channel assignments");
    return NULL;
}

/* AudioChannelResponse: {id, name, is_default, device_ids, created_at}. Caller holds mu. */
static json_t *select_channel(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (!studio_id_valid(id)) {
        not_found(err, "channel", id);
        return NULL;
    }
    if (prepare(s, "SELECT id, name, is_default, created_at FROM audio_channels WHERE id = ?", &st, err) < 0)
        return NULL;
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    json_t *j = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        j = json_pack("{s:o, s:o, s:b, s:o}", "id", studio_col_str(st, 0), "name", studio_col_str(st, 1),
                      "is_default", sqlite3_column_int(st, 2), "created_at", studio_col_str(st, 3));
    } else if (rc == SQLITE_DONE) {
        not_found(err, "channel", id);
    } else {
        studio_db_fail(s, err, "reading a channel");
    }
    sqlite3_finalize(st);
    if (!j) return NULL;
    json_t *devices = column_list(
        s, "SELECT device_id FROM channel_device_mappings WHERE channel_id = ? ORDER BY rowid", id, err);
    if (!devices) {
        json_decref(j);
        return NULL;
    }
    json_object_set_new(j, "device_ids", devices);
    return j;
}

/* Checks an array of strings field: at most max entries of 1..max_len characters. */
static int string_array(const json_t *body, const char *field, size_t max, long max_len, json_t **out,
                        studio_error *err)
{
    json_t *arr = json_object_get(body, field);
    *out = arr;
    if (!arr || json_is_null(arr)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_array(arr))
        return studio_fail(err, STUDIO_INVALID, field, "%s: must be an array of strings", field);
    if (json_array_size(arr) > max)
        return studio_fail(err, STUDIO_INVALID, field, "%s: at most %zu entries", field, max);
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        long n = json_is_string(v) ? studio_utf8_len(json_string_value(v)) : -1;
        if (n < 1 || n > max_len || strlen(json_string_value(v)) != json_string_length(v))
            return studio_fail(err, STUDIO_INVALID, field, "%s[%zu]: must be a string of 1 to %ld characters",
                               field, i, max_len);
    }
    return 0;
}

static int set_devices(studio *s, const char *id, const json_t *devices, studio_error *err)
{
    sqlite3_stmt *del = NULL, *ins = NULL;
    int ret = -1;
    if (prepare(s, "DELETE FROM channel_device_mappings WHERE channel_id = ?", &del, err) < 0 ||
        prepare(s, "INSERT INTO channel_device_mappings (id, channel_id, device_id) VALUES (?, ?, ?)", &ins,
                err) < 0)
        goto out;
    sqlite3_bind_text(del, 1, id, -1, SQLITE_STATIC);
    if (sqlite3_step(del) != SQLITE_DONE) goto db;
    size_t i;
    json_t *v;
    json_array_foreach(devices, i, v)
    {
        char mid[37];
        studio_new_id(mid);
        sqlite3_reset(ins);
        sqlite3_bind_text(ins, 1, mid, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(ins, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(ins, 3, json_string_value(v), -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE) goto db;
    }
    ret = 0;
    goto out;
db:
    studio_db_fail(s, err, "storing channel devices");
out:
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    return ret;
}

static int name_taken(studio *s, const char *name, const char *except_id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (prepare(s, "SELECT 1 FROM audio_channels WHERE name = ? AND id IS NOT ?", &st, err) < 0) return -1;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    if (except_id) sqlite3_bind_text(st, 2, except_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return studio_fail(err, STUDIO_CONFLICT, "name", "Channel with name '%s' already exists", name);
    if (rc != SQLITE_DONE) return studio_db_fail(s, err, "reading channels");
    return 0;
}

static int finish(studio *s, int ok, studio_error *err)
{
    if (ok && studio_exec(s, "COMMIT", err) == 0) return 1;
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return 0;
}

json_t *studio_channel_list(studio *s, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    int ok = 0;
    pthread_mutex_lock(&s->mu);
    if (prepare(s, "SELECT id FROM audio_channels ORDER BY is_default DESC, created_at, rowid", &st, err) ==
        0) {
        int rc;
        ok = 1;
        while (ok && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            json_t *c = select_channel(s, (const char *)sqlite3_column_text(st, 0), err);
            if (c)
                json_array_append_new(arr, c);
            else
                ok = 0;
        }
        if (ok && rc != SQLITE_DONE) ok = (studio_db_fail(s, err, "listing channels"), 0);
        sqlite3_finalize(st);
    }
    pthread_mutex_unlock(&s->mu);
    if (ok) return arr;
    json_decref(arr);
    return NULL;
}

json_t *studio_channel_get(studio *s, const char *id, studio_error *err)
{
    pthread_mutex_lock(&s->mu);
    json_t *j = select_channel(s, id, err);
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *studio_channel_create(studio *s, const json_t *body, studio_error *err)
{
    const char *name;
    json_t *devices;
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    if (studio_json_str(body, "name", 1, 1, STUDIO_NAME_MAX_CHARS, &name, err) < 0 ||
        string_array(body, "device_ids", CHANNEL_DEVICES_MAX, CHANNEL_DEVICE_ID_MAX, &devices, err) < 0)
        return NULL;
    char id[37], now[32];
    studio_new_id(id);
    studio_now(now);
    json_t *j = NULL;
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (studio_exec(s, "BEGIN IMMEDIATE", err) == 0) {
        int ok =
            name_taken(s, name, NULL, err) == 0 &&
            prepare(s, "INSERT INTO audio_channels (id, name, is_default, created_at) VALUES (?, ?, 0, ?)",
                    &st, err) == 0;
        if (ok) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, 3, now, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE || (studio_db_fail(s, err, "creating a channel"), 0);
        }
        ok = ok && (!devices || set_devices(s, id, devices, err) == 0);
        if (finish(s, ok, err)) j = select_channel(s, id, err);
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (j) log_info("channel %s created: '%s'", id, name);
    return j;
}

/* Refuses the Default channel (STUDIO_CONFLICT, as the Python studio's 400). Caller holds mu. */
static int not_default(studio *s, const char *id, const char *verb, studio_error *err)
{
    json_t *c = select_channel(s, id, err);
    if (!c) return -1;
    int dflt = json_is_true(json_object_get(c, "is_default"));
    json_decref(c);
    if (dflt) return studio_fail(err, STUDIO_CONFLICT, NULL, "Cannot %s the default channel", verb);
    return 0;
}

json_t *studio_channel_update(studio *s, const char *id, const json_t *body, studio_error *err)
{
    const char *name;
    json_t *devices;
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    if (studio_json_str(body, "name", 0, 1, STUDIO_NAME_MAX_CHARS, &name, err) < 0 ||
        string_array(body, "device_ids", CHANNEL_DEVICES_MAX, CHANNEL_DEVICE_ID_MAX, &devices, err) < 0)
        return NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    if (studio_exec(s, "BEGIN IMMEDIATE", err) == 0) {
        sqlite3_stmt *st = NULL;
        int ok = not_default(s, id, "modify", err) == 0;
        if (ok && name) {
            ok = name_taken(s, name, id, err) == 0 &&
                 prepare(s, "UPDATE audio_channels SET name = ? WHERE id = ?", &st, err) == 0;
            if (ok) {
                sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 2, id, -1, SQLITE_STATIC);
                ok = sqlite3_step(st) == SQLITE_DONE || (studio_db_fail(s, err, "renaming a channel"), 0);
            }
            sqlite3_finalize(st);
        }
        ok = ok && (!devices || set_devices(s, id, devices, err) == 0);
        if (finish(s, ok, err)) j = select_channel(s, id, err);
    }
    pthread_mutex_unlock(&s->mu);
    return j;
}

int studio_channel_delete(studio *s, const char *id, studio_error *err)
{
    int ok = 0;
    pthread_mutex_lock(&s->mu);
    if (studio_exec(s, "BEGIN IMMEDIATE", err) == 0) {
        sqlite3_stmt *st = NULL;
        ok = not_default(s, id, "delete", err) == 0 &&
             prepare(s, "DELETE FROM audio_channels WHERE id = ?", &st, err) == 0;
        if (ok) {
            sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
            ok = sqlite3_step(st) == SQLITE_DONE || (studio_db_fail(s, err, "deleting a channel"), 0);
        }
        sqlite3_finalize(st);
        ok = finish(s, ok, err);
    }
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

json_t *studio_channel_voices(studio *s, const char *channel_id, studio_error *err)
{
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    int e = exists(s, "audio_channels", channel_id, err);
    if (e == 0) not_found(err, "channel", channel_id);
    if (e == 1) {
        json_t *ids = column_list(
            s, "SELECT profile_id FROM profile_channel_mappings WHERE channel_id = ? ORDER BY rowid",
            channel_id, err);
        if (ids) j = json_pack("{s:o}", "profile_ids", ids);
    }
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *studio_profile_channels(studio *s, const char *profile_id, studio_error *err)
{
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    int e = exists(s, "profiles", profile_id, err);
    if (e == 0) not_found(err, "profile", profile_id);
    if (e == 1) {
        json_t *ids = column_list(
            s, "SELECT channel_id FROM profile_channel_mappings WHERE profile_id = ? ORDER BY rowid",
            profile_id, err);
        if (ids) j = json_pack("{s:o}", "channel_ids", ids);
    }
    pthread_mutex_unlock(&s->mu);
    return j;
}

/* Replaces the assignments of one side: owner (a channel or a profile) gets exactly the ids in field, each of
 * which must name a row of other_table. */
static int assign(studio *s, const char *owner_table, const char *owner_col, const char *owner_id,
                  const json_t *body, const char *field, const char *other_table, const char *other_col,
                  studio_error *err)
{
    json_t *ids;
    if (!json_is_object(body)) return studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
    if (string_array(body, field, CHANNEL_ASSIGN_MAX, 64, &ids, err) < 0) return -1;
    if (!ids) return studio_fail(err, STUDIO_INVALID, field, "%s: field required", field);
    int ok = 0;
    char sql[160];
    pthread_mutex_lock(&s->mu);
    if (studio_exec(s, "BEGIN IMMEDIATE", err) < 0) goto out;
    int e = exists(s, owner_table, owner_id, err);
    if (e == 0) not_found(err, !strcmp(owner_table, "profiles") ? "profile" : "channel", owner_id);
    ok = e == 1;
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) if (ok)
    {
        e = exists(s, other_table, json_string_value(v), err);
        if (e == 0)
            studio_fail(err, STUDIO_INVALID, field, "%s[%zu]: %s not found", field, i, json_string_value(v));
        ok = e == 1;
    }
    sqlite3_stmt *del = NULL, *ins = NULL;
    snprintf(sql, sizeof sql, "DELETE FROM profile_channel_mappings WHERE %s = ?", owner_col);
    ok = ok && prepare(s, sql, &del, err) == 0;
    snprintf(sql, sizeof sql, "INSERT OR IGNORE INTO profile_channel_mappings (%s, %s) VALUES (?, ?)",
             owner_col, other_col);
    ok = ok && prepare(s, sql, &ins, err) == 0;
    if (ok) {
        sqlite3_bind_text(del, 1, owner_id, -1, SQLITE_STATIC);
        ok = sqlite3_step(del) == SQLITE_DONE;
        json_array_foreach(ids, i, v) if (ok)
        {
            sqlite3_reset(ins);
            sqlite3_bind_text(ins, 1, owner_id, -1, SQLITE_STATIC);
            sqlite3_bind_text(ins, 2, json_string_value(v), -1, SQLITE_STATIC);
            ok = sqlite3_step(ins) == SQLITE_DONE;
        }
        if (!ok) studio_db_fail(s, err, "storing channel assignments");
    }
    sqlite3_finalize(del);
    sqlite3_finalize(ins);
    ok = finish(s, ok, err);
out:
    pthread_mutex_unlock(&s->mu);
    return ok ? 0 : -1;
}

int studio_channel_set_voices(studio *s, const char *channel_id, const json_t *body, studio_error *err)
{
    return assign(s, "audio_channels", "channel_id", channel_id, body, "profile_ids", "profiles",
                  "profile_id", err);
}

int studio_profile_set_channels(studio *s, const char *profile_id, const json_t *body, studio_error *err)
{
    return assign(s, "profiles", "profile_id", profile_id, body, "channel_ids", "audio_channels",
                  "channel_id", err);
}
