/* package.c — profiles and takes as `.voicebox.zip` packages, in the Python Voicebox studio's layout:
 *
 *   profile:  manifest.json {version: "1.0", profile: {name, description, language}, has_avatar}
 *             samples.json  {"<file>.wav": "<reference text>", ...}
 *             samples/<file>.wav ...        avatar.<ext> (when the profile has one)
 *   take:     manifest.json {version: "1.0", generation: {id, text, language, duration, seed, instruct,
 *             created_at}, profile: {id, name, description, language}}
 *             audio/<file>.wav
 *
 * An archive is distrusted as a whole before anything is read from it: entry names with "..", absolute or
 * drive paths, backslashes or control characters, symlinks, encrypted entries, too many entries, entries
 * over their size cap, a total over the cap and compression ratios only a zip bomb reaches are refused
 * (STUDIO_BAD_INPUT), and no entry is read past its declared size. Nothing of an archive is written to disk
 * under a name taken from it. A sample goes through the same checks as an upload (studio_sample_add).
 * An import that fails removes whatever it had added (the profile with its samples, or the take's file), so
 * the database and the data dir are left as they were.
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
#include <zip.h>

#define PACKAGE_ENTRIES_MAX 1000
#define PACKAGE_JSON_MAX (1u * 1024u * 1024u)      /* manifest.json, samples.json */
#define PACKAGE_ENTRY_MAX STUDIO_UPLOAD_MAX        /* a sample or a take's audio, like an upload */
#define PACKAGE_TOTAL_MAX (256ull * 1024u * 1024u) /* everything, uncompressed */
#define PACKAGE_RATIO_MAX 200                      /* uncompressed / compressed, above 1 MB */
#define PACKAGE_RATIO_FROM (1u * 1024u * 1024u)

static int bad(studio_error *err, const char *fmt, const char *a, const char *b)
{
    return studio_fail(err, STUDIO_BAD_INPUT, "file", fmt, a, b);
}

/* ---- reading an archive ---- */

/* 1 if name is a plain relative path inside the archive: no "..", no leading '/', no '\\', no ':' and no
 * control characters. */
static int safe_name(const char *name)
{
    if (!*name || name[0] == '/') return 0;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '\\' || *p == ':') return 0;
    for (const char *seg = name; seg;) {
        const char *slash = strchr(seg, '/');
        size_t len = slash ? (size_t)(slash - seg) : strlen(seg);
        if (len == 2 && seg[0] == '.' && seg[1] == '.') return 0;
        seg = slash ? slash + 1 : NULL;
    }
    return 1;
}

/* Opens zip bytes read-only and checks every entry (see the file comment). */
static zip_t *open_archive(const void *bytes, size_t size, studio_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(bytes, size, 0, &ze);
    zip_t *za = src ? zip_open_from_source(src, ZIP_RDONLY | ZIP_CHECKCONS, &ze) : NULL;
    if (!za) {
        studio_fail(err, STUDIO_BAD_INPUT, "file", "file: not a valid ZIP archive (%s)",
                    zip_error_strerror(&ze));
        zip_source_free(src);
        zip_error_fini(&ze);
        return NULL;
    }
    zip_error_fini(&ze);
    zip_int64_t n = zip_get_num_entries(za, 0);
    if (n < 0 || n > PACKAGE_ENTRIES_MAX) {
        studio_fail(err, STUDIO_BAD_INPUT, "file",
                    "file: the archive has %lld entries, at most %d are allowed", (long long)n,
                    PACKAGE_ENTRIES_MAX);
        goto fail;
    }
    unsigned long long total = 0;
    for (zip_int64_t i = 0; i < n; i++) {
        zip_stat_t zs;
        zip_uint8_t opsys;
        zip_uint32_t attr;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &zs) != 0 || !(zs.valid & ZIP_STAT_NAME) ||
            !(zs.valid & ZIP_STAT_SIZE) || !(zs.valid & ZIP_STAT_COMP_SIZE)) {
            bad(err, "file: entry %s of the archive cannot be read%s", "?", "");
            goto fail;
        }
        if (!safe_name(zs.name)) {
            bad(err, "file: the archive holds an unsafe entry name '%.200s'%s", zs.name, "");
            goto fail;
        }
        if (zip_file_get_external_attributes(za, (zip_uint64_t)i, 0, &opsys, &attr) == 0 &&
            opsys == ZIP_OPSYS_UNIX && S_ISLNK((attr >> 16) & 0xffff)) {
            bad(err, "file: the archive holds a symbolic link '%.200s'%s", zs.name, "");
            goto fail;
        }
        if ((zs.valid & ZIP_STAT_ENCRYPTION_METHOD) && zs.encryption_method != ZIP_EM_NONE) {
            bad(err, "file: the archive entry '%.200s' is encrypted%s", zs.name, "");
            goto fail;
        }
        if (zs.size > PACKAGE_ENTRY_MAX) {
            studio_fail(err, STUDIO_BAD_INPUT, "file",
                        "file: the archive entry '%.200s' is %llu bytes, over the %u byte limit", zs.name,
                        (unsigned long long)zs.size, PACKAGE_ENTRY_MAX);
            goto fail;
        }
        total += zs.size;
        if (total > PACKAGE_TOTAL_MAX) {
            studio_fail(err, STUDIO_BAD_INPUT, "file", "file: the archive unpacks to more than %llu bytes",
                        PACKAGE_TOTAL_MAX);
            goto fail;
        }
        if (zs.size > PACKAGE_RATIO_FROM && zs.size / (zs.comp_size ? zs.comp_size : 1) > PACKAGE_RATIO_MAX) {
            studio_fail(
                err, STUDIO_BAD_INPUT, "file",
                "file: the archive entry '%.200s' expands %llu times (a zip bomb?); at most %d is allowed",
                zs.name, (unsigned long long)(zs.size / (zs.comp_size ? zs.comp_size : 1)),
                PACKAGE_RATIO_MAX);
            goto fail;
        }
    }
    return za;
fail:
    zip_discard(za);
    return NULL;
}

/* Reads entry `name` whole (at most max bytes and exactly its declared size, CRC checked) into a malloc'd,
 * NUL-terminated buffer. NULL with STUDIO_BAD_INPUT when absent (unless optional: then NULL and err
 * untouched, *found = 0) or unreadable. */
static char *read_entry(zip_t *za, const char *name, size_t max, size_t *len, int optional, studio_error *err)
{
    zip_stat_t zs;
    *len = 0;
    zip_int64_t idx = zip_name_locate(za, name, 0);
    if (idx < 0) {
        if (!optional) bad(err, "file: the archive has no %s%s", name, "");
        return NULL;
    }
    if (zip_stat_index(za, (zip_uint64_t)idx, 0, &zs) != 0 || zs.size > max) {
        studio_fail(err, STUDIO_BAD_INPUT, "file", "file: the archive entry %s is over its %zu byte limit",
                    name, max);
        return NULL;
    }
    char *buf = malloc((size_t)zs.size + 1);
    zip_file_t *zf = buf ? zip_fopen_index(za, (zip_uint64_t)idx, 0) : NULL;
    if (!zf) {
        free(buf);
        bad(err, "file: the archive entry %s cannot be opened (%s)", name, zip_strerror(za));
        return NULL;
    }
    zip_int64_t got = zip_fread(zf, buf, zs.size);
    char extra;
    zip_int64_t more = got == (zip_int64_t)zs.size ? zip_fread(zf, &extra, 1) : 0;
    int closed = zip_fclose(zf);
    if (got != (zip_int64_t)zs.size || more != 0 || closed != 0) {
        free(buf);
        bad(err, "file: the archive entry %s is damaged (its data does not match its header)%s", name, "");
        return NULL;
    }
    buf[zs.size] = '\0';
    *len = (size_t)zs.size;
    return buf;
}

static json_t *read_json(zip_t *za, const char *name, studio_error *err)
{
    size_t len;
    char *text = read_entry(za, name, PACKAGE_JSON_MAX, &len, 0, err);
    if (!text) return NULL;
    json_error_t jerr;
    json_t *j = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!j || !json_is_object(j)) {
        studio_fail(err, STUDIO_BAD_INPUT, "file", "file: %s is not a JSON object (%s)", name,
                    j ? "another JSON value" : jerr.text);
        json_decref(j);
        return NULL;
    }
    return j;
}

/* manifest.json with its version and the object `part` ("profile" or "generation"). */
static json_t *read_manifest(zip_t *za, const char *part, studio_error *err)
{
    json_t *m = read_json(za, "manifest.json", err);
    if (!m) return NULL;
    if (!json_is_string(json_object_get(m, "version"))) {
        bad(err, "file: manifest.json has no version%s%s", "", "");
    } else if (!json_is_object(json_object_get(m, part))) {
        bad(err, "file: manifest.json has no %s object%s", part, "");
    } else {
        return m;
    }
    json_decref(m);
    return NULL;
}

/* ---- writing an archive ---- */

typedef struct {
    zip_source_t *src;
    zip_t *za;
} writer;

static int writer_open(writer *w, studio_error *err)
{
    zip_error_t ze;
    zip_error_init(&ze);
    w->src = zip_source_buffer_create(NULL, 0, 0, &ze);
    if (w->src) zip_source_keep(w->src);
    w->za = w->src ? zip_open_from_source(w->src, ZIP_TRUNCATE, &ze) : NULL;
    zip_error_fini(&ze);
    if (!w->za) return studio_fail(err, STUDIO_INTERNAL, NULL, "export: cannot start a ZIP archive");
    return 0;
}

/* Adds data (taken: freed by libzip) as entry name. */
static int writer_add(writer *w, const char *name, void *data, size_t len, studio_error *err)
{
    zip_source_t *s = zip_source_buffer(w->za, data, len, 1);
    if (!s) {
        free(data);
        return studio_fail(err, STUDIO_INTERNAL, NULL, "export: %s: %s", name, zip_strerror(w->za));
    }
    zip_int64_t idx = zip_file_add(w->za, name, s, ZIP_FL_ENC_UTF_8 | ZIP_FL_OVERWRITE);
    if (idx < 0) {
        zip_source_free(s);
        return studio_fail(err, STUDIO_INTERNAL, NULL, "export: %s: %s", name, zip_strerror(w->za));
    }
    zip_set_file_compression(w->za, (zip_uint64_t)idx, ZIP_CM_DEFLATE, 0);
    return 0;
}

static int writer_add_json(writer *w, const char *name, const json_t *j, studio_error *err)
{
    char *text = studio_json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (!text) return studio_fail(err, STUDIO_INTERNAL, NULL, "export: out of memory");
    return writer_add(w, name, text, strlen(text), err);
}

static int writer_add_file(writer *w, const char *name, const char *path, studio_error *err)
{
    FILE *f = fopen(path, "rb");
    char *data = NULL;
    long len = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc(len ? (size_t)len : 1);
        if (data && fread(data, 1, (size_t)len, f) != (size_t)len) {
            free(data);
            data = NULL;
        }
    }
    if (f) fclose(f);
    if (!data) return studio_fail(err, STUDIO_INTERNAL, NULL, "export: %s cannot be read", path);
    return writer_add(w, name, data, (size_t)len, err);
}

/* Closes the archive and hands its bytes over (malloc'd). */
static int writer_finish(writer *w, void **out, size_t *size, studio_error *err)
{
    *out = NULL;
    if (zip_close(w->za) != 0) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "export: cannot write the archive: %s", zip_strerror(w->za));
        zip_discard(w->za);
        w->za = NULL;
        return -1;
    }
    w->za = NULL;
    zip_stat_t zs;
    if (zip_source_stat(w->src, &zs) != 0 || zip_source_open(w->src) != 0)
        return studio_fail(err, STUDIO_INTERNAL, NULL, "export: cannot read the archive back");
    *out = malloc(zs.size ? zs.size : 1);
    zip_int64_t got = *out ? zip_source_read(w->src, *out, zs.size) : -1;
    zip_source_close(w->src);
    if (got != (zip_int64_t)zs.size) {
        free(*out);
        *out = NULL;
        return studio_fail(err, STUDIO_INTERNAL, NULL, "export: cannot read the archive back");
    }
    *size = (size_t)zs.size;
    return 0;
}

static void writer_free(writer *w)
{
    if (w->za) zip_discard(w->za);
    if (w->src) zip_source_free(w->src);
}

/* ---- profiles ---- */

/* The profile's name, description, language, avatar path (relative or NULL) and samples
 * [{audio_path (relative), reference_text}], read under the lock. */
static json_t *profile_snapshot(studio *s, const char *id, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    json_t *snap = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name, description, language, avatar_path FROM profiles WHERE id = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        studio_db_fail(s, err, "reading a profile");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        if (rc == SQLITE_DONE)
            studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile %s: not found", id);
        else
            studio_db_fail(s, err, "reading a profile");
        goto out;
    }
    snap = json_pack("{s:o, s:o, s:o, s:o, s:[]}", "name", studio_col_str(st, 0), "description",
                     studio_col_str(st, 1), "language", studio_col_str(st, 2), "avatar_path",
                     studio_col_str(st, 3), "samples");
    sqlite3_finalize(st);
    st = NULL;
    if (!snap) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "profile %s: out of memory reading it", id);
        goto out;
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT audio_path, reference_text FROM profile_samples WHERE profile_id = ? "
                           "ORDER BY created_at, rowid",
                           -1, &st, NULL) != SQLITE_OK) {
        json_decref(snap);
        snap = NULL;
        studio_db_fail(s, err, "reading samples");
        goto out;
    }
    sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    while (sqlite3_step(st) == SQLITE_ROW)
        if (json_array_append_new(json_object_get(snap, "samples"),
                                  json_pack("{s:o, s:o}", "audio_path", studio_col_str(st, 0),
                                            "reference_text", studio_col_str(st, 1))) != 0) {
            /* never a package with a sample missing */
            json_decref(snap);
            snap = NULL;
            studio_fail(err, STUDIO_INTERNAL, NULL, "profile %s: out of memory reading its samples", id);
            break;
        }
out:
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    return snap;
}

int studio_profile_export(studio *s, const char *id, void **zip, size_t *size, char **name, studio_error *err)
{
    *zip = NULL;
    *name = NULL;
    if (!studio_id_valid(id)) return studio_fail(err, STUDIO_NOT_FOUND, NULL, "profile: not found");
    json_t *snap = profile_snapshot(s, id, err);
    if (!snap) return -1;
    writer w = {0};
    int ret = -1;
    json_t *samples_map = json_object();
    if (!samples_map) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "export: out of memory");
        goto out;
    }
    if (writer_open(&w, err) < 0) goto out;
    const char *avatar = json_string_value(json_object_get(snap, "avatar_path"));
    char *avatar_abs = avatar ? studio_path(s, avatar) : NULL;
    struct stat sb;
    int has_avatar = avatar_abs && stat(avatar_abs, &sb) == 0 && S_ISREG(sb.st_mode);
    if (has_avatar) {
        const char *dot = strrchr(avatar, '.');
        char entry[32];
        snprintf(entry, sizeof entry, "avatar%.8s", dot ? dot : ".png");
        if (writer_add_file(&w, entry, avatar_abs, err) < 0) {
            free(avatar_abs);
            goto out;
        }
    }
    free(avatar_abs);
    json_t *manifest =
        json_pack("{s:s, s:{s:O, s:O, s:O}, s:b}", "version", "1.0", "profile", "name",
                  json_object_get(snap, "name"), "description", json_object_get(snap, "description"),
                  "language", json_object_get(snap, "language"), "has_avatar", has_avatar);
    int rc = writer_add_json(&w, "manifest.json", manifest, err);
    json_decref(manifest);
    if (rc < 0) goto out;
    size_t i;
    json_t *smp;
    json_array_foreach(json_object_get(snap, "samples"), i, smp)
    {
        const char *rel = json_string_value(json_object_get(smp, "audio_path"));
        const char *file = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
        char entry[128];
        snprintf(entry, sizeof entry, "samples/%s", file);
        char *abs = studio_path(s, rel);
        rc = abs ? writer_add_file(&w, entry, abs, err) : studio_fail(err, STUDIO_INTERNAL, NULL, "bad path");
        free(abs);
        if (rc < 0) goto out;
        if (json_object_set(samples_map, file, json_object_get(smp, "reference_text")) != 0) {
            studio_fail(err, STUDIO_INTERNAL, NULL, "export: out of memory");
            goto out;
        }
    }
    if (writer_add_json(&w, "samples.json", samples_map, err) < 0 || writer_finish(&w, zip, size, err) < 0)
        goto out;
    *name = strdup(json_string_value(json_object_get(snap, "name")));
    if (!*name) {
        studio_fail(err, STUDIO_INTERNAL, NULL, "export: out of memory");
        free(*zip);
        *zip = NULL;
        goto out;
    }
    ret = 0;
out:
    writer_free(&w);
    json_decref(samples_map);
    json_decref(snap);
    return ret;
}

/* Creates the profile under name, else "name (1)", "name (2)"... as the Python studio does. */
static json_t *create_unique(studio *s, const char *name, json_t *desc, json_t *lang, studio_error *err)
{
    for (int k = 0; k < 1000; k++) {
        char buf[512];
        if (k == 0)
            snprintf(buf, sizeof buf, "%s", name);
        else
            snprintf(buf, sizeof buf, "%s (%d)", name, k);
        json_t *body = json_pack("{s:s}", "name", buf);
        if (!body || (desc && json_object_set(body, "description", desc) != 0) ||
            (lang && json_object_set(body, "language", lang) != 0)) { /* never a profile without them */
            json_decref(body);
            studio_fail(err, STUDIO_INTERNAL, NULL, "import: out of memory");
            return NULL;
        }
        json_t *p = studio_profile_create(s, body, err);
        json_decref(body);
        if (p || err->kind != STUDIO_CONFLICT) return p;
    }
    return NULL;
}

json_t *studio_profile_import(studio *s, const void *bytes, size_t size, studio_error *err)
{
    json_t *manifest = NULL, *samples = NULL, *profile = NULL;
    char pid[37] = ""; /* no allocation: the undo needs it whatever fails */
    zip_t *za = open_archive(bytes, size, err);
    if (!za) return NULL;
    if (!(manifest = read_manifest(za, "profile", err)) || !(samples = read_json(za, "samples.json", err)))
        goto fail;
    json_t *mp = json_object_get(manifest, "profile");
    json_t *name = json_object_get(mp, "name"), *desc = json_object_get(mp, "description"),
           *lang = json_object_get(mp, "language");
    if (name && !json_is_string(name)) {
        bad(err, "file: manifest.json: profile.name must be a string%s%s", "", "");
        goto fail;
    }
    if (desc && !json_is_string(desc) && !json_is_null(desc)) {
        bad(err, "file: manifest.json: profile.description must be a string or null%s%s", "", "");
        goto fail;
    }
    if (lang && json_is_null(lang)) lang = NULL;
    if (lang && !(json_is_string(lang) && studio_language_valid(json_string_value(lang)))) {
        studio_fail(err, STUDIO_BAD_INPUT, "file", "file: manifest.json: profile.language must be one of %s",
                    studio_language_list());
        goto fail;
    }
    /* every sample named must be a plain .wav name with its entry present, before anything is created */
    const char *file;
    json_t *text;
    json_object_foreach(samples, file, text)
    {
        size_t n = strlen(file);
        char entry[300];
        snprintf(entry, sizeof entry, "samples/%s", file);
        if (n < 5 || n > 200 || strcmp(file + n - 4, ".wav") || strchr(file, '/') || !safe_name(file)) {
            bad(err, "file: samples.json: invalid sample file name '%.200s' (must be a .wav name)%s", file,
                "");
            goto fail;
        }
        if (!json_is_string(text)) {
            bad(err, "file: samples.json: the reference text of %.200s must be a string%s", file, "");
            goto fail;
        }
        if (zip_name_locate(za, entry, 0) < 0) {
            bad(err, "file: sample file not found in the archive: %.250s%s", entry, "");
            goto fail;
        }
    }

    profile = create_unique(s, name ? json_string_value(name) : "Imported Profile", desc, lang, err);
    if (!profile) goto fail;
    snprintf(pid, sizeof pid, "%s", json_string_value(json_object_get(profile, "id")));
    json_object_foreach(samples, file, text)
    {
        char entry[300];
        size_t len;
        snprintf(entry, sizeof entry, "samples/%s", file);
        char *wav = read_entry(za, entry, PACKAGE_ENTRY_MAX, &len, 0, err);
        json_t *added = wav ? studio_sample_add(s, pid, wav, len, json_string_value(text), err) : NULL;
        free(wav);
        if (!added) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", strncmp(err->msg, "file: ", 6) ? err->msg : err->msg + 6);
            studio_fail(err,
                        err->kind == STUDIO_INTERNAL || err->kind == STUDIO_NO_SPACE ? err->kind
                                                                                     : STUDIO_BAD_INPUT,
                        "file", "file: sample %.200s: %s", file, why);
            goto undo;
        }
        json_decref(added);
    }
    /* the avatar, when the package has one: it must be a picture an upload would take */
    for (zip_int64_t i = 0, n = zip_get_num_entries(za, 0); i < n; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, 0);
        if (!nm || strncmp(nm, "avatar.", 7) || strchr(nm, '/')) continue;
        size_t len;
        char *img = read_entry(za, nm, STUDIO_AVATAR_MAX, &len, 0, err);
        json_t *with = img ? studio_avatar_set(s, pid, img, len, err) : NULL;
        free(img);
        if (!with) {
            char why[sizeof err->msg];
            snprintf(why, sizeof why, "%s", strncmp(err->msg, "file: ", 6) ? err->msg : err->msg + 6);
            studio_fail(err,
                        err->kind == STUDIO_INTERNAL || err->kind == STUDIO_NO_SPACE ? err->kind
                                                                                     : STUDIO_BAD_INPUT,
                        "file", "file: %.100s: %s", nm, why);
            goto undo;
        }
        json_decref(with);
        break;
    }
    json_decref(profile);
    profile = studio_profile_get(s, pid, err);
    if (!profile) goto undo;
    log_info("profile %s imported as '%s' with %zu samples", pid,
             json_string_value(json_object_get(profile, "name")), json_object_size(samples));
    json_decref(manifest);
    json_decref(samples);
    zip_discard(za);
    return profile;
undo : {
    studio_error ignore = {0};
    if (studio_profile_delete(s, pid, &ignore) != 0)
        log_error("import: the half-imported profile %s could not be removed: %s", pid, ignore.msg);
}
fail:
    json_decref(profile);
    json_decref(manifest);
    json_decref(samples);
    zip_discard(za);
    return NULL;
}

/* ---- takes ---- */

int studio_generation_export(studio *s, const char *id, void **zip, size_t *size, char **text,
                             studio_error *err)
{
    *zip = NULL;
    *text = NULL;
    json_t *g = studio_history_get(s, id, err);
    if (!g) return -1;
    json_t *p = studio_profile_get(s, json_string_value(json_object_get(g, "profile_id")), err);
    char *audio = p ? studio_generation_audio_path(s, id, err) : NULL;
    writer w = {0};
    int ret = -1;
    if (!audio || writer_open(&w, err) < 0) goto out;
    json_t *manifest =
        json_pack("{s:s, s:{s:O, s:O, s:O, s:O, s:O, s:O, s:O}, s:{s:O, s:O, s:O, s:O}}", "version", "1.0",
                  "generation", "id", json_object_get(g, "id"), "text", json_object_get(g, "text"),
                  "language", json_object_get(g, "language"), "duration", json_object_get(g, "duration"),
                  "seed", json_object_get(g, "seed"), "instruct", json_object_get(g, "instruct"),
                  "created_at", json_object_get(g, "created_at"), "profile", "id", json_object_get(p, "id"),
                  "name", json_object_get(p, "name"), "description", json_object_get(p, "description"),
                  "language", json_object_get(p, "language"));
    int rc = manifest ? writer_add_json(&w, "manifest.json", manifest, err)
                      : studio_fail(err, STUDIO_INTERNAL, NULL, "export: out of memory");
    json_decref(manifest);
    char entry[64];
    snprintf(entry, sizeof entry, "audio/%s.wav", id);
    if (rc < 0 || writer_add_file(&w, entry, audio, err) < 0 || writer_finish(&w, zip, size, err) < 0)
        goto out;
    *text = strdup(json_string_value(json_object_get(g, "text")));
    ret = 0;
out:
    writer_free(&w);
    free(audio);
    json_decref(p);
    json_decref(g);
    return ret;
}

/* The profile id of the profile named name (malloc'd), or NULL with STUDIO_BAD_INPUT. */
static char *profile_by_name(studio *s, const char *name, studio_error *err)
{
    sqlite3_stmt *st = NULL;
    char *id = NULL;
    pthread_mutex_lock(&s->mu);
    if (sqlite3_prepare_v2(s->db, "SELECT id FROM profiles WHERE name = ?", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) id = strdup((const char *)sqlite3_column_text(st, 0));
    } else {
        studio_db_fail(s, err, "finding a profile");
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&s->mu);
    if (!id && err->kind == STUDIO_OK)
        studio_fail(
            err, STUDIO_BAD_INPUT, "file",
            "file: this take belongs to the voice profile '%.200s', which is not here; import or create "
            "that profile first",
            name);
    return id;
}

json_t *studio_generation_import(studio *s, const void *bytes, size_t size, studio_error *err)
{
    json_t *manifest = NULL, *item = NULL;
    char *pid = NULL, *wav = NULL, *path = NULL;
    audio_buf buf = {0};
    zip_t *za = open_archive(bytes, size, err);
    if (!za) return NULL;
    if (!(manifest = read_manifest(za, "generation", err))) goto out;
    json_t *g = json_object_get(manifest, "generation");
    json_t *text = json_object_get(g, "text"), *lang = json_object_get(g, "language");
    json_t *seed = json_object_get(g, "seed"), *instruct = json_object_get(g, "instruct");
    const char *pname = json_string_value(json_object_get(json_object_get(manifest, "profile"), "name"));
    if (!json_is_string(text) || !json_is_string(lang) || !json_is_number(json_object_get(g, "duration"))) {
        bad(err, "file: manifest.json: generation needs text, language and duration%s%s", "", "");
        goto out;
    }
    if (!studio_language_valid(json_string_value(lang))) {
        studio_fail(err, STUDIO_BAD_INPUT, "file",
                    "file: manifest.json: generation.language must be one of %s", studio_language_list());
        goto out;
    }
    if (!pname) {
        bad(err, "file: manifest.json: the take names no voice profile%s%s", "", "");
        goto out;
    }
    /* the first audio/<name>.wav, as the Python studio takes it */
    const char *entry = NULL;
    for (zip_int64_t i = 0, n = zip_get_num_entries(za, 0); i < n && !entry; i++) {
        const char *nm = zip_get_name(za, (zip_uint64_t)i, 0);
        size_t len = nm ? strlen(nm) : 0;
        if (len > 10 && !strncmp(nm, "audio/", 6) && !strcmp(nm + len - 4, ".wav")) entry = nm;
    }
    if (!entry) {
        bad(err, "file: no audio file (audio/<name>.wav) in the archive%s%s", "", "");
        goto out;
    }
    if (!(pid = profile_by_name(s, pname, err))) goto out;
    size_t len;
    if (!(wav = read_entry(za, entry, PACKAGE_ENTRY_MAX, &len, 0, err))) goto out;
    audio_error aerr;
    if (audio_decode_memory(wav, len, STUDIO_SAMPLE_RATE, &buf, &aerr) != 0 || buf.n == 0) {
        studio_fail(err, STUDIO_BAD_INPUT, "file", "file: %s is not readable audio: %s", entry,
                    buf.n ? aerr.msg : "no samples");
        goto out;
    }
    char id[37], rel[64];
    studio_new_id(id);
    snprintf(rel, sizeof rel, "generations/%s.wav", id);
    pthread_mutex_lock(&s->mu); /* an intent first: a crash before the row leaves a file the sweep removes */
    int intent = studio_intent_add(s, rel);
    pthread_mutex_unlock(&s->mu);
    if (intent < 0) {
        pthread_mutex_lock(&s->mu);
        studio_db_fail(s, err, "import: recording the file about to be written");
        pthread_mutex_unlock(&s->mu);
        goto out;
    }
    if (!(path = studio_path(s, rel)) ||
        audio_write_wav16(path, buf.samples, buf.n, STUDIO_SAMPLE_RATE, &aerr) != 0) {
        pthread_mutex_lock(&s->mu);
        studio_unlink_rel(s, rel);
        pthread_mutex_unlock(&s->mu);
        if (path)
            studio_write_fail(err, aerr.errnum, "import: storing the take's audio", aerr.msg);
        else
            studio_fail(err, STUDIO_INTERNAL, NULL, "import: cannot write %s: no memory", rel);
        goto out;
    }
    studio_generation gen = {
        .id = id,
        .profile_id = pid,
        .text = json_string_value(text),
        .language = json_string_value(lang),
        .audio_path = rel,
        .duration = (double)buf.n / STUDIO_SAMPLE_RATE,
        .seed = json_is_integer(seed) && json_integer_value(seed) >= 0 ? json_integer_value(seed) : -1,
        .instruct = json_is_string(instruct) ? json_string_value(instruct) : NULL,
    };
    item = studio_generation_insert(s, &gen, err);
    pthread_mutex_lock(&s->mu);
    if (item)
        studio_intent_done(s, rel); /* the row names the file now */
    else
        studio_unlink_rel(s, rel); /* the row is refused: the file goes too, then its intent */
    pthread_mutex_unlock(&s->mu);
    if (!item) {
        if (err->kind == STUDIO_INVALID) err->kind = STUDIO_BAD_INPUT;
        goto out;
    }
    log_info("generation %s imported for profile '%s'", id, pname);
out:
    audio_buf_free(&buf);
    free(path);
    free(wav);
    free(pid);
    json_decref(manifest);
    zip_discard(za);
    return item;
}
