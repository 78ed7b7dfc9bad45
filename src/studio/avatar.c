/* avatar.c — a profile's picture: profiles/<profile_id>/avatar.png beside its samples, named by the
 * profile's avatar_path. An upload (PNG, JPEG or WebP, at most STUDIO_AVATAR_MAX bytes) is decoded, turned
 * upright, flattened over white and fitted within 512 x 512 (image.c), then written as PNG (temp file +
 * rename, an intent recorded first) before the row names it; a removal records its intent, clears the row,
 * then removes the file, so a crash leaves at most a file an intent names, which the sweep removes. */
#include "studio/image.h"
#include "studio/studio_internal.h"

#include "studio/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define AVATAR_SIDE 512

/* avatar_path of the profile (copied into rel, "" when none); STUDIO_NOT_FOUND for an unknown profile. */
static int avatar_rel(studio *s, const char *id, char *rel, size_t n, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    *rel = '\0';
    if (!studio_id_valid(id)) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
    if (sqlite3_prepare_v2(s->db, "SELECT avatar_path FROM profiles WHERE id = ?", -1, &st, NULL) !=
        SQLITE_OK)
        return studio_db_fail(s, err, "reading a profile");
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        snprintf(rel, n, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", id);
    if (rc != SQLITE_ROW) return studio_db_fail(s, err, "reading a profile");
    return 0;
}

json_t *studio_avatar_set(studio *s, const char *profile_id, const void *bytes, size_t size,
                          studio_error *err)
{
    studio_image img = {0};
    void *png = NULL;
    size_t png_size = 0;
    char rel[128], dir_rel[64], cur[256], now[32];
    char *path = NULL, *dir = NULL;
    json_t *j = NULL;
    if (!studio_id_valid(profile_id)) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
        return NULL;
    }
    if (size > STUDIO_AVATAR_MAX) {
        studio_fail(err, STUDIO_TOO_LARGE, "file", "file: %zu bytes is over the %u byte limit of an avatar",
                    size, STUDIO_AVATAR_MAX);
        return NULL;
    }
    pthread_mutex_lock(&s->mu);
    int rc = avatar_rel(s, profile_id, cur, sizeof cur, err);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) return NULL;
    if (studio_image_decode(bytes, size, &img, err) < 0 || studio_image_fit(&img, AVATAR_SIDE, err) < 0 ||
        studio_image_encode_png(&img, &png, &png_size, err) < 0)
        goto out;
    snprintf(dir_rel, sizeof dir_rel, "profiles/%s", profile_id);
    snprintf(rel, sizeof rel, "%s/avatar.png", dir_rel);
    dir = studio_path(s, dir_rel);
    path = studio_path(s, rel);
    if (!dir || !path || (mkdir(dir, 0755) != 0 && errno != EEXIST)) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "avatar: cannot create %s", dir ? dir : "a directory");
        goto out;
    }
    /* an intent first: a crash before the row names the file leaves a file the sweep removes */
    pthread_mutex_lock(&s->mu);
    rc = studio_intent_add(s, rel);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) {
        pthread_mutex_lock(&s->mu);
        studio_db_fail(s, err, "avatar: recording the file about to be written");
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    if (studio_write_atomic(path, png, png_size, "avatar: storing the picture", err) < 0) goto out;
    studio_now(now);
    sqlite3_stmt *st = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "UPDATE profiles SET avatar_path = ?, updated_at = ? WHERE id = ?", -1, &st,
                           NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, rel, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, now, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, profile_id, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_DONE)
            studio_db_fail(s, err, "setting an avatar");
        else if (sqlite3_changes(s->db) == 0)
            studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", profile_id);
        else
            rc = 0;
    } else {
        studio_db_fail(s, err, "setting an avatar");
    }
    sqlite3_finalize(st);
    if (rc != 0) { /* the profile went meanwhile: its file goes too (with the intent) */
        studio_unlink_rel(s, rel);
        pthread_mutex_unlock(&s->mu);
        rmdir(dir);
        goto out;
    }
    studio_intent_done(s, rel); /* the row names the file now */
    pthread_mutex_unlock(&s->mu);
    log_info("profile %s: avatar set (%d x %d)", profile_id, img.w, img.h);
    j = studio_profile_get(s, profile_id, err);
out:
    studio_image_free(&img);
    free(png);
    free(path);
    free(dir);
    return j;
}

char *studio_avatar_path(studio *s, const char *profile_id, studio_error *err)
{
    char rel[256];
    pthread_mutex_lock(&s->mu);
    int rc = avatar_rel(s, profile_id, rel, sizeof rel, err);
    pthread_mutex_unlock(&s->mu);
    if (rc < 0) return NULL;
    if (!*rel) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "No avatar found for this profile");
        return NULL;
    }
    char *p = studio_path(s, rel);
    struct stat sb;
    if (!p || stat(p, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        free(p);
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "Avatar file not found");
        return NULL;
    }
    return p;
}

static int avatar_delete_once(studio *s, const char *profile_id, studio_error *err)
{
    char rel[256], now[32];
    sqlite3_stmt *st = NULL;
    int ret = -1;
    studio_now(now);
    pthread_mutex_lock(&s->mu);
    if (avatar_rel(s, profile_id, rel, sizeof rel, err) < 0) goto out;
    if (!*rel) {
        studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: has no avatar to delete", profile_id);
        goto out;
    }
    if (studio_intent_add(s, rel) < 0) { /* before the row lets go of the file, as every delete does */
        studio_db_fail(s, err, "removing an avatar");
        goto out;
    }
    if (sqlite3_prepare_v2(s->db, "UPDATE profiles SET avatar_path = NULL, updated_at = ? WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK ||
        (sqlite3_bind_text(st, 1, now, -1, SQLITE_STATIC),
         sqlite3_bind_text(st, 2, profile_id, -1, SQLITE_STATIC), sqlite3_step(st)) != SQLITE_DONE) {
        studio_db_fail(s, err, "removing an avatar");
        goto out;
    }
    studio_unlink_rel(s, rel); /* after the row: a crash in between leaves an intent the sweep completes */
    ret = 0;
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return ret;
}

/* A delete on a full drive: SQLite needs room for its journal, which the reserve gives (space.c). */
int studio_avatar_delete(studio *s, const char *profile_id, studio_error *err)
{
    int rc = avatar_delete_once(s, profile_id, err);
    if (rc < 0 && studio_space_retry(s, err)) rc = avatar_delete_once(s, profile_id, err);
    return rc;
}
