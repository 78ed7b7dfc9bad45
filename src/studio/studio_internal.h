/* studio_internal.h — what the studio's own files (db.c, profiles.c, samples.c, history.c, models.c,
 * hub_download.c) share.
 * Nothing outside src/studio/ includes this; the public API is studio.h. */
#ifndef VOICEBOX_STUDIO_INTERNAL_H
#define VOICEBOX_STUDIO_INTERNAL_H

#include "studio/studio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <sqlite3.h>

struct studio {
    char *dir;                /* absolute data dir, no trailing slash */
    sqlite3 *db;              /* one connection, used only with mu held */
    pthread_mutex_t mu;       /* serialises every use of db */
    int lock_fd;              /* <data>/voicebox.lock, held shared while open (exclusive during the sweep) */
    atomic_int reserve_short; /* <data>/.space-reserve is smaller than it should be (space.c) */
};

/* Fills err (when not NULL) and returns -1. field may be NULL. */
int studio_fail(studio_error *err, studio_error_kind kind, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* STUDIO_INTERNAL naming what was being done and SQLite's message; logged. Returns -1. */
int studio_db_fail(studio *s, studio_error *err, const char *what);

/* Current UTC time as "2026-11-26T06:20:01.123456". */
void studio_now(char out[32]);

/* Number of UTF-8 code points in s, or -1 if s is not valid UTF-8. */
long studio_utf8_len(const char *s);

/* Checks an optional/required string field of a JSON object. Returns 0 and sets *out (borrowed, NULL when
 * absent or null and not required) or -1 with STUDIO_INVALID naming the field. */
int studio_json_str(const json_t *body, const char *field, int required, long min_chars, long max_chars,
                    const char **out, studio_error *err);

/* Column i of the current row as a JSON string, or JSON null when SQL NULL. */
json_t *studio_col_str(sqlite3_stmt *st, int i);
/* Column holding a path relative to the data dir as an absolute JSON string, or null. */
json_t *studio_col_path(const studio *s, sqlite3_stmt *st, int i);

/* Runs sql (no result rows) on s->db; -1 on error with err filled. Caller holds mu. */
int studio_exec(studio *s, const char *sql, studio_error *err);

/* Removes <data>/<rel> and then its intent record; a missing file is not an error. A file that cannot be
 * removed (EIO, a read-only disk) keeps its intent, so the next start's sweep removes it. Caller holds mu. */
void studio_unlink_rel(studio *s, const char *rel);
/* json_dumps for what is stored (settings.json, package manifests): NULL unless the text reads back as j.
 * jansson (2.14) can return damaged text when an allocation fails inside json_dumps (fault_studio found a
 * settings.json with a key's closing quote missing), and a stored file must never be damaged. */
char *studio_json_dumps(const json_t *j, size_t flags);
/* bytes to path as a whole or not at all: a temp file beside it, written, fsync'd, renamed over it. what
 * names it in errors (studio_write_fail: STUDIO_NO_SPACE on a full drive). 0, or -1 with err. */
int studio_write_atomic(const char *path, const void *bytes, size_t size, const char *what,
                        studio_error *err);

/* Intent records (db.c): studio_intent_add names a file the sweep may remove if no row names it — before a
 * row is deleted, or before an upload's file is written; studio_intent_done drops the record once the row and
 * the file agree. 0 / -1 (database error). Caller holds mu. */
int studio_intent_add(studio *s, const char *rel);
void studio_intent_done(studio *s, const char *rel);

/* A take's sampling settings (generation.c, one table with their limits): the name of the i-th (NULL past the
 * last), its engine default as JSON, and a check of a value for it (0, or -1 with STUDIO_INVALID naming it).
 */
const char *studio_sampling_name(size_t i);
json_t *studio_sampling_default(size_t i);
int studio_sampling_check(size_t i, const json_t *v, studio_error *err);

/* A full drive (space.c). studio_no_space: errnum is ENOSPC or EDQUOT. studio_write_fail: what could not be
 * written (a relative name, never an absolute path) as STUDIO_NO_SPACE when errnum says the drive is full,
 * else STUDIO_INTERNAL with detail; logged; returns -1. studio_space_retry: err is STUDIO_NO_SPACE and the
 * reserve file was there and is released now, so a delete may try once more (1) or not (0).
 * studio_reserve_fill makes the reserve (at open); studio_reserve_top_up refills it after files are removed.
 */
int studio_no_space(int errnum);
int studio_write_fail(studio_error *err, int errnum, const char *what, const char *detail);
int studio_space_retry(studio *s, const studio_error *err);
void studio_reserve_fill(studio *s);
void studio_reserve_top_up(studio *s);

/* Profile JSON for the row at st (columns id,name,description,language,avatar_path,created_at,updated_at). */
json_t *studio_profile_row(sqlite3_stmt *st);

#endif
