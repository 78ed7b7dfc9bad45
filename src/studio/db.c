/* db.c — opening a studio: the data dir, the SQLite database and its migrations, the crash sweep, and the
 * small helpers the other studio files share (errors, ids, paths, timestamps).
 *
 * Crash safety rests on one order everywhere: an intent record names a file before it is written or its row
 * deleted, a file is written (temp + rename) before its row is committed, a row is deleted (committed) before
 * its file is unlinked, and the intent goes last. A kill -9 at any point can therefore only leave a file
 * without a row that an intent names, which the sweep in studio_open removes. The sweep runs only
 * when no other process has the data dir open (an exclusive flock), so a CLI command never deletes a file
 * a running server is about to insert.
 */
#include "studio/studio_internal.h"

#include "engine/qt.h"
#include "studio/log.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <uuid/uuid.h>

int studio_fail(studio_error *err, studio_error_kind kind, const char *field, const char *fmt, ...)
{
    if (!err) return -1;
    err->kind = kind;
    snprintf(err->field, sizeof err->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int studio_db_fail(studio *s, studio_error *err, const char *what)
{
    const char *why = s && s->db ? sqlite3_errmsg(s->db) : "no database";
    log_error("database: %s failed: %s", what, why);
    if (s && s->db && (sqlite3_errcode(s->db) & 0xff) == SQLITE_FULL)
        return studio_fail(err, STUDIO_NO_SPACE, NULL,
                           "database: %s failed: the data folder's drive is full; free some space (deleting "
                           "takes and samples still works) and try again",
                           what);
    return studio_fail(err, STUDIO_INTERNAL, NULL, "database: %s failed: %s", what, why);
}

void studio_now(char out[32])
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%06ld", ts.tv_nsec / 1000);
}

void studio_new_id(char out[37])
{
    uuid_t u;
    uuid_generate_random(u);
    uuid_unparse_lower(u, out);
}

int studio_id_valid(const char *id)
{
    if (!id) return 0;
    for (int i = 0; i < 36; i++) {
        char c = id[i];
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (c != '-') return 0;
        } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
            return 0;
        }
    }
    return id[36] == '\0';
}

size_t studio_utf8_valid_prefix(const char *s, size_t n)
{
    return qt_utf8_valid_prefix(s, n);
}

long studio_utf8_len(const char *s)
{
    size_t n = strlen(s);
    if (qt_utf8_valid_prefix(s, n) != n) return -1;
    long chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80; /* every byte but a continuation starts a character */
    return chars;
}

int studio_json_str(const json_t *body, const char *field, int required, long min_chars, long max_chars,
                    const char **out, studio_error *err)
{
    *out = NULL;
    json_t *v = json_object_get(body, field);
    if (!v || json_is_null(v)) {
        if (required) return studio_fail(err, STUDIO_INVALID, field, "%s: field required", field);
        return 0;
    }
    if (!json_is_string(v)) return studio_fail(err, STUDIO_INVALID, field, "%s: must be a string", field);
    const char *str = json_string_value(v);
    if (strlen(str) != json_string_length(v))
        return studio_fail(err, STUDIO_INVALID, field, "%s: must not contain NUL characters", field);
    long n = studio_utf8_len(str);
    if (n < 0) return studio_fail(err, STUDIO_INVALID, field, "%s: is not valid UTF-8", field);
    if (n < min_chars || n > max_chars)
        return studio_fail(err, STUDIO_INVALID, field, "%s: must be %ld to %ld characters, got %ld", field,
                           min_chars, max_chars, n);
    *out = str;
    return 0;
}

json_t *studio_col_str(sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
    return json_string((const char *)sqlite3_column_text(st, i));
}

json_t *studio_col_path(const studio *s, sqlite3_stmt *st, int i)
{
    if (sqlite3_column_type(st, i) == SQLITE_NULL) return json_null();
    char *p = studio_path(s, (const char *)sqlite3_column_text(st, i));
    json_t *j = p ? json_string(p) : json_null();
    free(p);
    return j;
}

int studio_exec(studio *s, const char *sql, studio_error *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK) return studio_db_fail(s, err, sql);
    return 0;
}

const char *studio_data_dir(const studio *s)
{
    return s->dir;
}

char *studio_path(const studio *s, const char *rel)
{
    char *p = NULL;
    if (!rel || !*rel) {
        return strdup(s->dir);
    }
    if (rel[0] == '/' || strstr(rel, "..")) return NULL;
    if (asprintf(&p, "%s/%s", s->dir, rel) < 0) return NULL;
    return p;
}

void studio_unlink_rel(studio *s, const char *rel)
{
    char *p = studio_path(s, rel);
    if (p && unlink(p) != 0 && errno != ENOENT) {
        log_warn("%s: cannot remove: %s (the next start tries again)", rel, strerror(errno));
    } else if (p) {
        studio_reserve_top_up(s); /* room is free again: a later delete on a full drive needs the reserve */
        studio_intent_done(s, rel);
    }
    free(p);
}

char *studio_json_dumps(const json_t *j, size_t flags)
{
    char *text = json_dumps(j, flags);
    json_t *back = text ? json_loads(text, 0, NULL) : NULL;
    if (!back || !json_equal(back, j)) {
        free(text);
        text = NULL;
    }
    json_decref(back);
    return text;
}

int studio_write_atomic(const char *path, const void *bytes, size_t size, const char *what, studio_error *err)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", path); /* ".tmp-": the sweep removes one a crash leaves */
    int fd = mkstemp(tmp);
    int ok = fd >= 0 && fchmod(fd, 0644) == 0;
    for (size_t off = 0; ok && off < size;) {
        ssize_t w = write(fd, (const char *)bytes + off, size - off);
        if (w < 0 && errno == EINTR) continue;
        ok = w > 0;
        if (ok) off += (size_t)w;
    }
    ok = ok && fsync(fd) == 0;
    int e = errno;
    if (fd >= 0 && close(fd) != 0 && ok) ok = 0, e = errno;
    if (ok && rename(tmp, path) != 0) ok = 0, e = errno;
    if (!ok) {
        if (fd >= 0) unlink(tmp);
        char detail[4300];
        snprintf(detail, sizeof detail, "cannot write %s: %s", path, strerror(e ? e : EIO));
        return studio_write_fail(err, e ? e : EIO, what, detail);
    }
    return 0;
}

/* ---- migrations ---- */

/* Each entry moves the schema from version i to i+1; never edit one that has shipped, add a new one. */
static const char *const migrations[] = {
    /* 1: the Voicebox tables */
    "CREATE TABLE profiles ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  description TEXT,"
    "  language TEXT NOT NULL DEFAULT 'en',"
    "  avatar_path TEXT,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL);"
    "CREATE TABLE profile_samples ("
    "  id TEXT PRIMARY KEY,"
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  audio_path TEXT NOT NULL,"
    "  reference_text TEXT NOT NULL,"
    "  duration REAL NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX profile_samples_profile ON profile_samples(profile_id, created_at);"
    "CREATE TABLE generations ("
    "  id TEXT PRIMARY KEY,"
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  text TEXT NOT NULL,"
    "  language TEXT NOT NULL,"
    "  audio_path TEXT,"
    "  duration REAL,"
    "  seed INTEGER,"
    "  model_size TEXT,"
    "  instruct TEXT,"
    "  status TEXT NOT NULL DEFAULT 'completed',"
    "  error TEXT,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX generations_created ON generations(created_at);"
    "CREATE INDEX generations_profile ON generations(profile_id, created_at);",
    /* 2: stories (multi-track timelines of takes) and audio channels, as the Python studio stores them;
     * the Default channel it makes at start-up, with every profile assigned to it */
    "CREATE TABLE stories ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL,"
    "  description TEXT,"
    "  created_at TEXT NOT NULL,"
    "  updated_at TEXT NOT NULL);"
    "CREATE TABLE story_items ("
    "  id TEXT PRIMARY KEY,"
    "  story_id TEXT NOT NULL REFERENCES stories(id) ON DELETE CASCADE,"
    "  generation_id TEXT NOT NULL REFERENCES generations(id) ON DELETE CASCADE,"
    "  start_time_ms INTEGER NOT NULL DEFAULT 0,"
    "  track INTEGER NOT NULL DEFAULT 0,"
    "  trim_start_ms INTEGER NOT NULL DEFAULT 0,"
    "  trim_end_ms INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL);"
    "CREATE INDEX story_items_story ON story_items(story_id, start_time_ms);"
    "CREATE INDEX story_items_generation ON story_items(generation_id);"
    "CREATE TABLE audio_channels ("
    "  id TEXT PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  is_default INTEGER NOT NULL DEFAULT 0,"
    "  created_at TEXT NOT NULL);"
    "CREATE TABLE channel_device_mappings ("
    "  id TEXT PRIMARY KEY,"
    "  channel_id TEXT NOT NULL REFERENCES audio_channels(id) ON DELETE CASCADE,"
    "  device_id TEXT NOT NULL);"
    "CREATE INDEX channel_device_mappings_channel ON channel_device_mappings(channel_id);"
    "CREATE TABLE profile_channel_mappings ("
    "  profile_id TEXT NOT NULL REFERENCES profiles(id) ON DELETE CASCADE,"
    "  channel_id TEXT NOT NULL REFERENCES audio_channels(id) ON DELETE CASCADE,"
    "  PRIMARY KEY (profile_id, channel_id));"
    "INSERT INTO audio_channels (id, name, is_default, created_at) VALUES ("
    "  lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || "
    "substr(lower(hex(randomblob(2))), 2)"
    "  || '-' || substr('89ab', 1 + abs(random()) % 4, 1) || substr(lower(hex(randomblob(2))), 2) || '-'"
    "  || lower(hex(randomblob(6))), 'Default', 1, strftime('%Y-%m-%dT%H:%M:%f000', 'now'));"
    "INSERT INTO profile_channel_mappings (profile_id, channel_id)"
    "  SELECT p.id, c.id FROM profiles p, audio_channels c WHERE c.is_default = 1;",
    /* 3: the sweep's records (issue 16): files that may be removed when no row names them (a delete or an
     * upload in progress), and rows whose file was not found at the last start (kept, never deleted) */
    "CREATE TABLE file_intents ("
    "  path TEXT PRIMARY KEY,"
    "  created_at TEXT NOT NULL);"
    "ALTER TABLE profile_samples ADD COLUMN missing INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE generations ADD COLUMN missing INTEGER NOT NULL DEFAULT 0;",
    /* 4: a take's chunking and sampling settings (issue 13), JSON, so a retry runs it the same way */
    "ALTER TABLE generations ADD COLUMN settings TEXT;",
    /* 5: favourite takes (issue 13) */
    "ALTER TABLE generations ADD COLUMN is_favorited INTEGER NOT NULL DEFAULT 0;",
};

static int user_version(studio *s, int *v, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return studio_db_fail(s, err, "reading user_version");
    }
    *v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return 0;
}

static int migrate(studio *s, studio_error *err)
{
    const int latest = (int)(sizeof migrations / sizeof migrations[0]);
    if (studio_exec(s, "BEGIN IMMEDIATE", err) < 0) return -1;
    int v = 0;
    if (user_version(s, &v, err) < 0) goto fail;
    if (v > latest) {
        studio_fail(err, STUDIO_INTERNAL, NULL,
                    "%s/voicebox.db: schema version %d is newer than this voicebox knows (%d)", s->dir, v,
                    latest);
        goto fail;
    }
    for (; v < latest; v++) {
        char sql[64];
        if (studio_exec(s, migrations[v], err) < 0) goto fail;
        snprintf(sql, sizeof sql, "PRAGMA user_version = %d", v + 1);
        if (studio_exec(s, sql, err) < 0) goto fail;
        log_info("database: migrated %s/voicebox.db to schema version %d", s->dir, v + 1);
    }
    return studio_exec(s, "COMMIT", err);
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* ---- the crash sweep ----
 *
 * The sweep never deletes what a user made because something looked absent: a drive not mounted for one
 * start, a folder restored after the database, a permission gone wrong. A row whose file cannot be found is
 * marked missing (kept, reported as "missing": true, unmarked when the file is back); a file no row names is
 * moved to <data>/quarantine/ under the same relative path. Only two things are deleted: temp files (the
 * ".name.tmp-XXXXXX" of an atomic write, "*.prompt.tmp.XXXXXX") and files an intent record names (a delete
 * or an upload that did not finish) when no row names them. */

int studio_intent_add(studio *s, const char *rel)
{
    sqlite3_stmt *st = NULL;
    char now[32];
    studio_now(now);
    int rc = sqlite3_prepare_v2(s->db, "INSERT OR IGNORE INTO file_intents (path, created_at) VALUES (?, ?)",
                                -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void studio_intent_done(studio *s, const char *rel)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM file_intents WHERE path = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        sqlite3_step(st);
    }
    sqlite3_finalize(st);
}

static int row_exists(studio *s, const char *sql, const char *arg)
{
    sqlite3_stmt *st = NULL;
    int found = -1;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        int rc = sqlite3_step(st);
        found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
    }
    sqlite3_finalize(st);
    return found;
}

/* 1 when a sample, a take or an avatar names rel, 0 when none does, -1 when the database cannot tell. */
static int path_in_use(studio *s, const char *rel)
{
    int a = row_exists(s, "SELECT 1 FROM profile_samples WHERE audio_path = ?", rel);
    int b = row_exists(s, "SELECT 1 FROM generations WHERE audio_path = ?", rel);
    int c =
        row_exists(s, "SELECT 1 FROM profiles WHERE avatar_path = ?", rel); /* avatars are user files too */
    return a < 0 || b < 0 || c < 0 ? -1 : a || b || c;
}

/* Files of unfinished deletes and uploads: removed when no row names them; the intent goes either way. */
static int sweep_intents(studio *s, int *removed)
{
    sqlite3_stmt *st = NULL;
    json_t *done = json_array();
    if (sqlite3_prepare_v2(s->db, "SELECT path FROM file_intents", -1, &st, NULL) != SQLITE_OK) {
        json_decref(done);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(done, json_string((const char *)sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    size_t i;
    json_t *v;
    json_array_foreach(done, i, v)
    {
        const char *rel = json_string_value(v);
        int used = path_in_use(s, rel);
        if (used < 0) continue;
        char *p = used ? NULL : studio_path(s, rel);
        if (p && unlink(p) == 0) {
            log_info("sweep: %s: removed (its delete or upload did not finish)", rel);
            (*removed)++;
        } else if (p && errno != ENOENT) {
            log_warn("sweep: %s: cannot remove: %s", rel, strerror(errno));
            free(p);
            continue; /* the intent stays: the next start tries again */
        }
        free(p);
        studio_intent_done(s, rel);
    }
    json_decref(done);
    return 0;
}

/* Marks rows of table whose audio_path names no regular file as missing, and unmarks those whose file is
 * back. Never deletes a row. */
static int sweep_rows(studio *s, const char *table, int *marked, studio_error *err)
{
    char sql[128];
    sqlite3_stmt *st = NULL, *mark = NULL;
    snprintf(sql, sizeof sql, "SELECT id, audio_path, missing FROM %s WHERE audio_path IS NOT NULL", table);
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) goto fail;
    snprintf(sql, sizeof sql, "UPDATE %s SET missing = ? WHERE id = ?", table);
    if (sqlite3_prepare_v2(s->db, sql, -1, &mark, NULL) != SQLITE_OK) goto fail;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(st, 0);
        const char *rel = (const char *)sqlite3_column_text(st, 1);
        int was_missing = sqlite3_column_int(st, 2) != 0;
        char *p = studio_path(s, rel);
        struct stat sb;
        int missing = !p || stat(p, &sb) != 0 || !S_ISREG(sb.st_mode);
        if (missing != was_missing) {
            if (missing)
                log_warn(
                    "sweep: %s row %s: its file %s cannot be found (%s); the row is kept, marked missing",
                    table, id, rel, p ? strerror(errno) : "bad path");
            else
                log_info("sweep: %s row %s: its file %s is back", table, id, rel);
            sqlite3_bind_int(mark, 1, missing);
            sqlite3_bind_text(mark, 2, id, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(mark) != SQLITE_DONE) {
                free(p);
                goto fail;
            }
            sqlite3_reset(mark);
            if (missing) (*marked)++;
        }
        free(p);
    }
    if (rc != SQLITE_DONE) goto fail;
    sqlite3_finalize(st);
    sqlite3_finalize(mark);
    return 0;
fail:
    sqlite3_finalize(st);
    sqlite3_finalize(mark);
    return studio_db_fail(s, err, "checking rows against their files");
}

static int is_temp_name(const char *name)
{
    return strstr(name, ".tmp-") || strstr(name, ".prompt.tmp."); /* audio_write_wav16's, qt_prompt_save's */
}

/* Moves <data>/<rel> to <data>/quarantine/<rel> (".1", ".2", ... when that is taken). */
static int quarantine(studio *s, const char *rel)
{
    char qrel[PATH_MAX + 32], dirs[PATH_MAX + 32];
    snprintf(dirs, sizeof dirs, "quarantine/%s", rel);
    for (char *slash = strchr(dirs, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        char *d = studio_path(s, dirs);
        if (d && mkdir(d, 0755) != 0 && errno != EEXIST) {
            free(d);
            return -1;
        }
        free(d);
        *slash = '/';
    }
    char *from = studio_path(s, rel), *to = NULL;
    int rc = -1;
    for (int k = 0; k < 1000 && from; k++) {
        if (k == 0)
            snprintf(qrel, sizeof qrel, "quarantine/%s", rel);
        else
            snprintf(qrel, sizeof qrel, "quarantine/%s.%d", rel, k);
        free(to);
        to = studio_path(s, qrel);
        struct stat sb;
        if (!to || lstat(to, &sb) == 0) continue;
        rc = rename(from, to);
        break;
    }
    if (rc == 0) log_warn("sweep: %s has no row; moved to %s", rel, qrel);
    free(from);
    free(to);
    return rc;
}

/* Plain files in <data>/<rel_dir>: temp files are removed; with rows_own set, files no row names are
 * quarantined (cache/ holds files no row names: only its temp files are touched). */
static void sweep_files(studio *s, const char *rel_dir, int rows_own, int *removed, int *moved)
{
    char *dir = studio_path(s, rel_dir);
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "%s/%s", rel_dir, e->d_name);
        struct stat sb;
        char *p = studio_path(s, rel);
        if (!p || lstat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
            free(p);
            continue;
        }
        if (is_temp_name(e->d_name)) {
            if (unlink(p) == 0) (*removed)++;
        } else if (rows_own && path_in_use(s, rel) == 0 && quarantine(s, rel) == 0) {
            (*moved)++;
        }
        free(p);
    }
    if (d) closedir(d);
    free(dir);
}

/* profiles/<pid>/: files without a sample row are quarantined, then empty folders of profiles that no longer
 * exist go. */
static void sweep_profile_dirs(studio *s, int *removed, int *moved)
{
    char *dir = studio_path(s, "profiles");
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char rel[PATH_MAX];
        snprintf(rel, sizeof rel, "profiles/%s", e->d_name);
        sweep_files(s, rel, 1, removed, moved);
        if (!studio_id_valid(e->d_name) ||
            row_exists(s, "SELECT 1 FROM profiles WHERE id = ?", e->d_name) == 0) {
            char *p = studio_path(s, rel);
            if (p && rmdir(p) == 0) log_info("sweep: %s belonged to no profile and was empty; removed", rel);
            free(p);
        }
    }
    if (d) closedir(d);
    free(dir);
}

static int sweep(studio *s, studio_error *err)
{
    int marked = 0, removed = 0, moved = 0;
    if (sweep_intents(s, &removed) < 0) return studio_db_fail(s, err, "reading file intents");
    if (studio_exec(s, "BEGIN IMMEDIATE", err) < 0) return -1;
    if (sweep_rows(s, "profile_samples", &marked, err) < 0 ||
        sweep_rows(s, "generations", &marked, err) < 0) {
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    if (studio_exec(s, "COMMIT", err) < 0) return -1;
    sweep_profile_dirs(s, &removed, &moved);
    sweep_files(s, "generations", 1, &removed, &moved);
    sweep_files(s, "cache", 0, &removed, &moved);
    if (marked || removed || moved)
        log_info(
            "sweep: %s: %d rows newly missing their file (kept), %d files moved to quarantine/, %d temp or "
            "unfinished files removed",
            s->dir, marked, moved, removed);
    return 0;
}

/* ---- open / close ---- */

static int make_dir(const char *path, studio_error *err)
{
    if (mkdir(path, 0755) != 0 && errno != EEXIST)
        return studio_fail(err, STUDIO_INTERNAL, NULL, "%s: cannot create directory: %s", path,
                           strerror(errno));
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return studio_fail(err, STUDIO_INTERNAL, NULL, "%s: exists but is not a directory", path);
    return 0;
}

studio *studio_open(const char *data_dir, studio_error *err)
{
    studio *s = calloc(1, sizeof *s);
    char *path = NULL;
    if (!s) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "studio: out of memory");
        return NULL;
    }
    s->lock_fd = -1;
    pthread_mutex_init(&s->mu, NULL);
    if (!data_dir || !*data_dir) {
        studio_fail(err, STUDIO_INVALID, "data_dir", "data dir: no path given");
        goto fail;
    }
    if (make_dir(data_dir, err) < 0) goto fail;
    s->dir = realpath(data_dir, NULL);
    if (!s->dir) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "%s: cannot resolve path: %s", data_dir, strerror(errno));
        goto fail;
    }
    static const char *const subdirs[] = {"profiles", "generations", "cache"};
    for (size_t i = 0; i < sizeof subdirs / sizeof subdirs[0]; i++) {
        path = studio_path(s, subdirs[i]);
        if (!path) studio_fail(err, STUDIO_INTERNAL, NULL, "studio: out of memory");
        if (!path || make_dir(path, err) < 0) goto fail;
        free(path);
        path = NULL;
    }

    path = studio_path(s, "voicebox.lock");
    s->lock_fd = path ? open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644) : -1;
    if (s->lock_fd < 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "%s: cannot open: %s", path ? path : data_dir,
                    strerror(errno));
        goto fail;
    }
    free(path);
    path = studio_path(s, "voicebox.db");
    if (!path ||
        sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "%s: cannot open database: %s", path ? path : data_dir,
                    s->db ? sqlite3_errmsg(s->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 10000);
    if (studio_exec(s, "PRAGMA journal_mode = WAL", err) < 0 ||
        studio_exec(s, "PRAGMA foreign_keys = ON", err) < 0 ||
        studio_exec(s, "PRAGMA synchronous = NORMAL", err) < 0)
        goto fail;
    if (migrate(s, err) < 0) goto fail;
    /* Sweep only when this is the sole opener: another process may be between writing a file and
     * inserting its row. */
    if (flock(s->lock_fd, LOCK_EX | LOCK_NB) == 0) {
        if (sweep(s, err) < 0) goto fail;
    }
    flock(s->lock_fd, LOCK_SH);
    studio_reserve_fill(s);
    free(path);
    return s;
fail:
    free(path);
    studio_close(s);
    return NULL;
}

void studio_close(studio *s)
{
    if (!s) return;
    if (s->db) sqlite3_close(s->db);
    if (s->lock_fd >= 0) close(s->lock_fd);
    pthread_mutex_destroy(&s->mu);
    free(s->dir);
    free(s);
}
