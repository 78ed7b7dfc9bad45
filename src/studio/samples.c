/* samples.c — a profile's reference samples: upload (decode, check, store as 24 kHz mono 16-bit WAV),
 * list, update the transcript, delete, and the path of the audio.
 *
 * An upload is checked as Voicebox does, minus its quirks: 2-30 s once leading and trailing silence are
 * trimmed, RMS >= 0.01 (not silent), and a hot or clipped recording is turned down rather than refused.
 * The WAV is written (temp + rename) before its row is inserted, so a crash leaves at worst a file without
 * a row, which studio_open sweeps away. Decoding runs outside the studio mutex.
 */
#include "studio/studio_internal.h"

#include "audio/audio.h"
#include "studio/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SAMPLE_COLS "id, profile_id, audio_path, reference_text, duration, missing"

#define MIN_RMS 0.01f
#define TRIM_THRESHOLD 0.005f /* short-window RMS below this at either end counts as silence */
#define HOT_PEAK 0.95f        /* a peak at or above this is turned down ... */
#define HOT_TARGET_RMS 0.1f   /* ... towards this RMS (-20 dBFS) ... */
#define HOT_PEAK_LIMIT 0.89f  /* ... with the peak at most -1 dBFS */

static json_t *sample_row(const studio *s, sqlite3_stmt *st)
{
    json_t *j = json_object();
    /* out of memory: NULL, never a sample with a member missing */
    int bad = json_object_set_new(j, "id", studio_col_str(st, 0));
    bad |= json_object_set_new(j, "profile_id", studio_col_str(st, 1));
    bad |= json_object_set_new(j, "audio_path", studio_col_path(s, st, 2));
    bad |= json_object_set_new(j, "reference_text", studio_col_str(st, 3));
    bad |= json_object_set_new(j, "duration", json_real(sqlite3_column_double(st, 4)));
    /* the file was not found at the last start (row kept, see the sweep in db.c) */
    bad |= json_object_set_new(j, "missing", json_boolean(sqlite3_column_int(st, 5) != 0));
    if (bad) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *select_sample(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT " SAMPLE_COLS " FROM profile_samples WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "reading a sample");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (!(j = sample_row(s, st)))
            studio_fail(err, STUDIO_INTERNAL, NULL, "sample %s: out of memory reading it", id);
    } else if (rc == SQLITE_DONE)
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample %s: not found", id);
    else
        studio_db_fail(s, err, "reading a sample");
out:
    sqlite3_finalize(st);
    return j;
}

static int profile_exists(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT 1 FROM profiles WHERE id = ?", -1, &st, NULL) != SQLITE_OK)
        return studio_db_fail(s, err, "looking up a profile");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", id);
    return studio_db_fail(s, err, "looking up a profile");
}

static int check_text(const char *text, studio_error *err)
{
    if (!text) return studio_fail(err, STUDIO_INVALID, "reference_text", "reference_text: field required");
    long n = studio_utf8_len(text);
    if (n < 0)
        return studio_fail(err, STUDIO_INVALID, "reference_text", "reference_text: is not valid UTF-8");
    if (n < 1 || n > STUDIO_REFERENCE_TEXT_MAX_CHARS)
        return studio_fail(err, STUDIO_INVALID, "reference_text",
                           "reference_text: must be 1 to %d characters, got %ld",
                           STUDIO_REFERENCE_TEXT_MAX_CHARS, n);
    return 0;
}

/* Decodes and checks an upload; on success buf holds the trimmed, level-corrected 24 kHz mono audio. */
static int prepare_audio(const void *bytes, size_t size, audio_buf *buf, studio_error *err)
{
    audio_error aerr = {{0}, 0, 0};
    int decoded = audio_decode_memory_max(bytes, size, STUDIO_SAMPLE_RATE, STUDIO_SAMPLE_DECODE_MAX_SECONDS,
                                          buf, &aerr);
    if (decoded == -2)
        return studio_fail(err, STUDIO_INVALID, "file", "file: %s; a sample must last %g to %g s", aerr.msg,
                           STUDIO_SAMPLE_MIN_SECONDS, STUDIO_SAMPLE_MAX_SECONDS);
    if (decoded < 0 && aerr.out_of_memory) /* the upload may be fine: not a 415 */
        return studio_fail(err, STUDIO_INTERNAL, NULL, "file: %s", aerr.msg);
    if (decoded < 0)
        return studio_fail(err, STUDIO_UNSUPPORTED_MEDIA, "file", "file: cannot be decoded as audio: %s",
                           aerr.msg);
    size_t start = 0, end = 0;
    float whole_rms = audio_rms(buf->samples, buf->n);
    audio_trim_silence(buf->samples, buf->n, buf->sample_rate, TRIM_THRESHOLD, &start, &end);
    if (end > buf->n) end = buf->n;
    if (start > end) start = end;
    size_t n = end - start;
    memmove(buf->samples, buf->samples + start, n * sizeof(float));
    buf->n = n;
    double seconds = (double)n / buf->sample_rate;
    float rms = audio_rms(buf->samples, n);
    if (n == 0 || rms < MIN_RMS) {
        if (n == 0) /* all of it under the trim threshold: report the level of the whole */
            rms = whole_rms;
        return studio_fail(err, STUDIO_INVALID, "file",
                           "file: the audio is silent (RMS %.4f, at least %.2f needed)", rms, MIN_RMS);
    }
    if (seconds < STUDIO_SAMPLE_MIN_SECONDS || seconds > STUDIO_SAMPLE_MAX_SECONDS)
        return studio_fail(err, STUDIO_INVALID, "file",
                           "file: the audio lasts %.2f s without its leading and trailing silence; a "
                           "sample must last %g to %g s",
                           seconds, STUDIO_SAMPLE_MIN_SECONDS, STUDIO_SAMPLE_MAX_SECONDS);
    float peak = audio_peak(buf->samples, n);
    if (peak >= HOT_PEAK) {
        float gain = audio_normalize(buf->samples, n, HOT_TARGET_RMS, HOT_PEAK_LIMIT);
        log_info("sample: hot input (peak %.3f, RMS %.3f) turned down by gain %.3f", peak, rms, gain);
    }
    return 0;
}

json_t *studio_sample_add(studio *s, const char *profile_id, const void *bytes, size_t size,
                          const char *reference_text, studio_error *err)
{
    audio_buf buf = {0};
    sqlite3_stmt *st = NULL;
    char *path = NULL, *dir = NULL;
    json_t *j = NULL;
    int locked = 0, file_written = 0;
    char sid[37], now[32], rel[128], rel_dir[64];

    if (!studio_id_valid(profile_id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
        return NULL;
    }
    if (check_text(reference_text, err) < 0) return NULL;
    if (size > STUDIO_UPLOAD_MAX) {
        studio_fail(err, STUDIO_TOO_LARGE, "file", "file: %zu bytes is over the %u byte upload limit", size,
                    STUDIO_UPLOAD_MAX);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    int missing = profile_exists(s, profile_id, err);
    pthread_mutex_unlock(&s->mu);
    if (missing < 0) return NULL;
    if (prepare_audio(bytes, size, &buf, err) < 0) goto fail;

    studio_new_id(sid);
    studio_now(now);
    snprintf(rel_dir, sizeof rel_dir, "profiles/%s", profile_id);
    snprintf(rel, sizeof rel, "%s/%s.wav", rel_dir, sid);
    dir = studio_path(s, rel_dir);
    path = studio_path(s, rel);
    if (!dir || !path) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "sample: out of memory");
        goto fail;
    }
    /* The file is written outside the lock (audio_write_wav16 fsyncs, which can take a while), then the
     * row goes in. A profile deleted in between fails the row's foreign key and the file is removed. */
    audio_error aerr = {{0}, 0, 0};
    int wrote = -1;
    pthread_mutex_lock(&s->mu); /* an intent first: a crash before the row leaves a file the sweep removes */
    int intent = studio_intent_add(s, rel);
    pthread_mutex_unlock(&s->mu);
    studio_error why = {0};
    if (intent < 0) {
        pthread_mutex_lock(&s->mu);
        studio_db_fail(s, &why, "recording the upload");
        pthread_mutex_unlock(&s->mu);
    } else if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        aerr.errnum = errno;
        snprintf(aerr.msg, sizeof aerr.msg, "%s: cannot create directory: %s", dir, strerror(errno));
    } else {
        wrote = audio_write_wav16(path, buf.samples, buf.n, STUDIO_SAMPLE_RATE, &aerr);
    }
    if (wrote < 0) {
        pthread_mutex_lock(&s->mu);
        int gone = profile_exists(s, profile_id, err) < 0;
        pthread_mutex_unlock(&s->mu);
        if (!gone) {
            if (intent < 0)
                *err = why;
            else
                studio_write_fail(err, aerr.errnum, "sample: storing the upload", aerr.msg);
        }
        goto fail;
    }
    file_written = 1;
    pthread_mutex_lock(&s->mu);
    locked = 1;
    /* the row and its read-back in one transaction: a sample the caller is told was not added is not */
    if (studio_exec(s, "BEGIN IMMEDIATE", err) < 0) goto fail;
    if (sqlite3_prepare_v2(
            s->db,
            "INSERT INTO profile_samples (id, profile_id, audio_path, reference_text, duration, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "adding a sample");
        goto fail;
    }
    sqlite3_bind_text(st, 1, sid, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, profile_id, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, rel, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, reference_text, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 5, (double)buf.n / STUDIO_SAMPLE_RATE);
    sqlite3_bind_text(st, 6, now, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_CONSTRAINT) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found (deleted during the upload)",
                    profile_id);
        goto fail;
    }
    if (rc != SQLITE_DONE) {
        studio_db_fail(s, err, "adding a sample");
        goto fail;
    }
    j = select_sample(s, sid, err);
    if (!j || studio_exec(s, "COMMIT", err) < 0) goto fail;
    file_written = 0; /* the row owns the file now */
    studio_intent_done(s, rel);
    log_info("sample %s added to profile %s (%.2f s)", sid, profile_id, (double)buf.n / STUDIO_SAMPLE_RATE);
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    audio_buf_free(&buf);
    free(path);
    free(dir);
    return j;
fail:
    json_decref(j);
    if (locked) sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL); /* harmless when none is open */
    if (file_written) {
        unlink(path);
        if (err && err->kind == STUDIO_NOT_FOUND)
            rmdir(dir); /* the profile went away meanwhile; fails harmlessly if not empty */
    }
    sqlite3_finalize(st);
    if (path) {
        if (!locked) pthread_mutex_lock(&s->mu);
        locked = 1;
        studio_intent_done(s, rel);
    }
    if (locked) pthread_mutex_unlock(&s->mu);
    audio_buf_free(&buf);
    free(path);
    free(dir);
    return NULL;
}

json_t *studio_sample_list(studio *s, const char *profile_id, studio_error *err)
{
    if (!studio_id_valid(profile_id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
        return NULL;
    }
    sqlite3_stmt *st = NULL;
    json_t *arr = json_array();
    pthread_mutex_lock(&s->mu);
    if (profile_exists(s, profile_id, err) < 0) goto fail;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT " SAMPLE_COLS " FROM profile_samples WHERE profile_id = ? "
                           "ORDER BY created_at, rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "listing samples");
        goto fail;
    }
    sqlite3_bind_text(st, 1, profile_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        json_array_append_new(arr, sample_row(s, st));
    if (rc != SQLITE_DONE) {
        studio_db_fail(s, err, "listing samples");
        goto fail;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return arr;
fail:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    json_decref(arr);
    return NULL;
}

json_t *studio_sample_get(studio *s, const char *sample_id, studio_error *err)
{
    if (!studio_id_valid(sample_id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample: not found");
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    json_t *j = select_sample(s, sample_id, err);
    pthread_mutex_unlock(&s->mu);
    return j;
}

json_t *studio_sample_update(studio *s, const char *sample_id, const json_t *body, studio_error *err)
{
    if (!studio_id_valid(sample_id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample: not found");
        return NULL;
    }
    if (!json_is_object(body)) {
        studio_fail(err, STUDIO_INVALID, "body", "body: must be a JSON object");
        return NULL;
    }
    const char *text;
    if (studio_json_str(body, "reference_text", 1, 1, STUDIO_REFERENCE_TEXT_MAX_CHARS, &text, err) < 0)
        return NULL;
    sqlite3_stmt *st = NULL;
    json_t *j = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "UPDATE profile_samples SET reference_text = ? WHERE id = ?", -1, &st,
                           NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC),
         sqlite3_bind_text(st, 2, sample_id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
        studio_db_fail(s, err, "updating a sample");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample %s: not found", sample_id);
        goto out;
    }
    j = select_sample(s, sample_id, err);
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return j;
}

/* Reads the sample's relative audio path into rel. Caller holds mu. */
static int sample_rel_path(studio *s, const char *sample_id, char *rel, size_t cap, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "SELECT audio_path FROM profile_samples WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return studio_db_fail(s, err, "reading a sample");
    sqlite3_bind_text(st, 1, sample_id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) snprintf(rel, cap, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW) return 0;
    if (rc == SQLITE_DONE) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample %s: not found", sample_id);
    return studio_db_fail(s, err, "reading a sample");
}

static int sample_delete_once(studio *s, const char *sample_id, studio_error *err)
{
    if (!studio_id_valid(sample_id)) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample: not found");
    char rel[256];
    sqlite3_stmt *st = NULL;
    int ret = -1;
    pthread_mutex_lock(&s->mu);
    if (sample_rel_path(s, sample_id, rel, sizeof rel, err) < 0) goto out;
    if (studio_intent_add(s, rel) < 0) {
        studio_db_fail(s, err, "deleting a sample");
        goto out;
    }
    if (sqlite3_prepare_v2(s->db, "DELETE FROM profile_samples WHERE id = ?", -1, &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, sample_id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
        studio_db_fail(s, err, "deleting a sample");
        goto out;
    }
    if (sqlite3_changes(s->db) == 0) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample %s: not found", sample_id);
        goto out;
    }
    studio_unlink_rel(s, rel); /* after the row: a crash in between leaves an intent the sweep completes */
    log_info("sample %s deleted", sample_id);
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

/* A delete on a full drive: SQLite needs room for its journal, which the reserve gives (space.c). */
int studio_sample_delete(studio *s, const char *sample_id, studio_error *err)
{
    int rc = sample_delete_once(s, sample_id, err);
    if (rc < 0 && studio_space_retry(s, err)) rc = sample_delete_once(s, sample_id, err);
    return rc;
}

char *studio_sample_audio_path(studio *s, const char *sample_id, studio_error *err)
{
    if (!studio_id_valid(sample_id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample: not found");
        return NULL;
    }
    char rel[256];
    pthread_mutex_lock(&s->mu);
    int rc = sample_rel_path(s, sample_id, rel, sizeof rel, err);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) return NULL;
    char *p = studio_path(s, rel);
    struct stat sb;
    if (!p || stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "sample %s: its audio file is missing", sample_id);
        free(p);
        return NULL;
    }
    return p;
}
