/* fault_studio.c — the studio and its request handlers under injected faults, on a real data dir: every
 * allocation (voicebox's and jansson's) of opening a data dir, creating, renaming and deleting profiles,
 * uploading and deleting samples, exporting and importing a profile package, setting an avatar and the
 * handlers of POST /profiles, POST /profiles/{id}/samples and GET /profiles fails in turn; then every write,
 * fsync, rename and file creation of the uploads, imports and avatars fails with EIO once and with ENOSPC
 * for good (a full disk).
 * After every try: the operation failed with a message (a handler: 500 or 507 with a JSON "detail") or
 * succeeded; the database passes PRAGMA integrity_check and foreign_key_check; every row's file is there;
 * every file under profiles/ is named by a row (or by an intent record, which the next start's sweep
 * removes); no temp file is left; the profile made before the loop still has its sample. ASan's
 * LeakSanitizer (the ASan build) finds leaks. Needs sox-free input only (the tone is made here). */
#include "audio/audio.h"
#include "fault.h"
#include "server/http.h"
#include "server/multipart.h"
#include "server/routes.h"
#include "studio/studio.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[64];
static studio *S;
static srv_ctx ctx;
static char keep_id[37], keep_sid[37];     /* the profile made before the loops, with one sample */
static char victim_id[37], victim_sid[37]; /* made in setup for the delete cases */
static char made_id[37];                   /* what an op made, for undo */
static void *wav;                          /* 3 s of a tone, a WAV upload */
static size_t wav_size;
static void *zip; /* keep's package */
static size_t zip_size;
static void *png; /* an avatar */
static size_t png_size;

/* ---- the invariants ---- */

/* During the ENOSPC runs a failure must say the drive is full (STUDIO_NO_SPACE, 507), whatever the layer
 * the errno came through; wrong_kind counts those that did not, for the check. */
static int expect_no_space, wrong_kind;

static int count(sqlite3 *db, const char *sql, const char *arg)
{
    sqlite3_stmt *st = NULL;
    int n = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (arg) sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW) n = sqlite3_column_int(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

/* Every file under <dir>/<rel> is named by a row or an intent, and none is a temp file. */
static int walk(sqlite3 *db, const char *rel)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    DIR *d = opendir(path);
    if (!d) return 0;
    int bad = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char sub[768];
        snprintf(sub, sizeof sub, "%s/%s", rel, e->d_name);
        snprintf(path, sizeof path, "%s/%s", dir, sub);
        struct stat st;
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            bad |= walk(db, sub);
            continue;
        }
        if (strstr(e->d_name, ".tmp")) {
            fprintf(stderr, "  a temp file is left: %s\n", sub);
            bad = 1;
        } else if (count(db,
                         "SELECT (SELECT count(*) FROM profile_samples WHERE audio_path = ?1) + (SELECT "
                         "count(*) "
                         "FROM profiles WHERE avatar_path = ?1) + (SELECT count(*) FROM generations WHERE "
                         "audio_path = ?1) + (SELECT count(*) FROM file_intents WHERE path = ?1)",
                         sub) < 1) {
            fprintf(stderr, "  no row names %s\n", sub);
            bad = 1;
        }
    }
    closedir(d);
    return bad;
}

static int rows_before[2]; /* profiles and samples before the try (snapshot) */

static int count_rows(int out[2])
{
    char path[128];
    snprintf(path, sizeof path, "%s/voicebox.db", dir);
    sqlite3 *db = NULL;
    int ok = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK;
    out[0] = ok ? count(db, "SELECT count(*) FROM profiles", NULL) : -1;
    out[1] = ok ? count(db, "SELECT count(*) FROM profile_samples", NULL) : -1;
    sqlite3_close(db);
    return ok ? 0 : -1;
}

static int snapshot(void *arg)
{
    (void)arg;
    return count_rows(rows_before);
}

static int check_data_dir(void *arg, int rc)
{
    (void)arg;
    if (wrong_kind) {
        fprintf(stderr, "  the drive is full, but the error does not say so (not STUDIO_NO_SPACE)\n");
        wrong_kind = 0;
        return -1;
    }
    int now[2];
    if (rc != 0 && count_rows(now) == 0 && (now[0] != rows_before[0] || now[1] != rows_before[1])) {
        fprintf(stderr, "  a failed operation changed the rows: %d profiles and %d samples, were %d and %d\n",
                now[0], now[1], rows_before[0], rows_before[1]);
        return -1;
    }
    char path[128];
    snprintf(path, sizeof path, "%s/voicebox.db", dir);
    sqlite3 *db = NULL;
    int bad = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
        fprintf(stderr, "  %s: cannot be opened\n", path);
        sqlite3_close(db);
        return -1;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
        sqlite3_step(st) != SQLITE_ROW || strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
        fprintf(stderr, "  integrity_check: %s\n", st ? (const char *)sqlite3_column_text(st, 0) : "fails");
        bad = 1;
    }
    sqlite3_finalize(st);
    if (count(db, "SELECT count(*) FROM pragma_foreign_key_check", NULL) != 0) {
        fprintf(stderr, "  foreign_key_check finds rows without their parent\n");
        bad = 1;
    }
    /* every row's file */
    const char *files =
        "SELECT audio_path FROM profile_samples WHERE missing = 0 UNION ALL SELECT avatar_path "
        "FROM profiles WHERE avatar_path IS NOT NULL UNION ALL SELECT audio_path FROM "
        "generations WHERE audio_path IS NOT NULL AND missing = 0";
    if (sqlite3_prepare_v2(db, files, -1, &st, NULL) == SQLITE_OK) {
        while (sqlite3_step(st) == SQLITE_ROW) {
            snprintf(path, sizeof path, "%s/%s", dir, (const char *)sqlite3_column_text(st, 0));
            struct stat sb;
            if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size == 0) {
                fprintf(stderr, "  a row names %s, which is not there\n", path);
                bad = 1;
            }
        }
    }
    sqlite3_finalize(st);
    if (count(db, "SELECT count(*) FROM profile_samples WHERE id = ?", keep_sid) != 1) {
        fprintf(stderr, "  the profile made before the loop lost its sample\n");
        bad = 1;
    }
    bad |= walk(db, "profiles");
    bad |= walk(db, "generations");
    sqlite3_close(db);
    return bad ? -1 : 0;
}

/* ---- the operations ---- */

static int fail_msg(const studio_error *err, char *msg, size_t size)
{
    if (expect_no_space && fault_injected() && err->kind != STUDIO_NO_SPACE) wrong_kind++;
    snprintf(msg, size, "%s", err->msg[0] ? err->msg : "");
    return -1;
}

static void remember(json_t *j)
{
    const char *id = json_string_value(json_object_get(j, "id"));
    snprintf(made_id, sizeof made_id, "%s", id ? id : "");
    json_decref(j);
}

static void undo_profile(void *arg)
{
    (void)arg;
    studio_error err;
    if (made_id[0]) studio_profile_delete(S, made_id, &err);
    made_id[0] = 0;
}

/* POST /profiles: the profile is found by its name (an answer lost after the commit names no id) */
static void undo_handler_profile(void *arg)
{
    (void)arg;
    studio_error err;
    json_t *list = studio_profile_list(S, &err);
    size_t i;
    json_t *p;
    json_array_foreach(list, i, p) if (!strcmp(json_string_value(json_object_get(p, "name")), "by handler"))
        studio_profile_delete(S, json_string_value(json_object_get(p, "id")), &err);
    json_decref(list);
    made_id[0] = 0;
}

static void undo_sample(void *arg)
{
    (void)arg;
    studio_error err;
    if (made_id[0]) studio_sample_delete(S, made_id, &err);
    made_id[0] = 0;
}

static int op_open(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    studio *s = studio_open(dir, &err);
    if (!s) return fail_msg(&err, msg, size);
    studio_close(s);
    return 0;
}

static int op_profile_create(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    json_t *body =
        json_pack("{s:s, s:s, s:s}", "name", "faulty", "description", "made under faults", "language", "de");
    if (!body) return snprintf(msg, size, "out of memory building the body"), -1;
    json_t *p = studio_profile_create(S, body, &err);
    json_decref(body);
    if (!p) return fail_msg(&err, msg, size);
    remember(p);
    return 0;
}

static int op_profile_update(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    json_t *body = json_pack("{s:s, s:s}", "name", "kept", "language", "fr");
    if (!body) return snprintf(msg, size, "out of memory building the body"), -1;
    json_t *p = studio_profile_update(S, keep_id, body, &err);
    json_decref(body);
    if (!p) return fail_msg(&err, msg, size);
    json_decref(p);
    return 0;
}

static int op_sample_add(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    json_t *s = studio_sample_add(S, keep_id, wav, wav_size, "a tone under faults", &err);
    if (!s) return fail_msg(&err, msg, size);
    remember(s);
    return 0;
}

/* setup for the delete cases: a profile with one sample, made unarmed */
static int make_victim(void *arg)
{
    (void)arg;
    studio_error err = {0};
    json_t *body = json_pack("{s:s}", "name", "victim");
    json_t *p = studio_profile_create(S, body, &err);
    json_decref(body);
    if (!p) return -1;
    snprintf(victim_id, sizeof victim_id, "%s", json_string_value(json_object_get(p, "id")));
    json_decref(p);
    json_t *s = studio_sample_add(S, victim_id, wav, wav_size, "to be deleted", &err);
    if (!s) return -1;
    snprintf(victim_sid, sizeof victim_sid, "%s", json_string_value(json_object_get(s, "id")));
    json_decref(s);
    snprintf(made_id, sizeof made_id, "%s", victim_id);
    return snapshot(arg);
}

static int op_sample_delete(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    return studio_sample_delete(S, victim_sid, &err) == 0 ? 0 : fail_msg(&err, msg, size);
}

static int op_profile_delete(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    if (studio_profile_delete(S, victim_id, &err) != 0) return fail_msg(&err, msg, size);
    made_id[0] = 0;
    return 0;
}

static int op_export(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    void *z = NULL;
    size_t n = 0;
    char *name = NULL;
    if (studio_profile_export(S, keep_id, &z, &n, &name, &err) != 0) return fail_msg(&err, msg, size);
    free(z);
    free(name);
    return 0;
}

static int op_import(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    json_t *p = studio_profile_import(S, zip, zip_size, &err);
    if (!p) return fail_msg(&err, msg, size);
    remember(p);
    return 0;
}

static int op_avatar(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    json_t *p = studio_avatar_set(S, keep_id, png, png_size, &err);
    if (!p) return fail_msg(&err, msg, size);
    json_decref(p);
    return 0;
}

/* settings.json: set to crossfade 30 before each try; a try sets 40 */
static int settings_setup(void *arg)
{
    studio_error err = {0};
    json_t *body = json_pack("{s:i}", "crossfade_ms", 30);
    json_t *r = studio_generation_settings_update(S, body, &err);
    json_decref(body);
    json_decref(r);
    return r ? snapshot(arg) : -1;
}

static int op_settings(void *arg, char *msg, size_t size)
{
    (void)arg;
    studio_error err = {0};
    json_t *body = json_pack("{s:i, s:b}", "crossfade_ms", 40, "normalize_audio", 1);
    if (!body) return snprintf(msg, size, "out of memory building the body"), -1;
    json_t *r = studio_generation_settings_update(S, body, &err);
    json_decref(body);
    if (!r) return fail_msg(&err, msg, size);
    json_decref(r);
    return 0;
}

/* The settings are the old ones after a failed update, the new ones after a good one; no temp file. */
static int check_settings(void *arg, int rc)
{
    studio_error err = {0};
    json_t *now = studio_generation_settings(S, &err);
    long want = rc == 0 ? 40 : 30;
    long got = now ? (long)json_integer_value(json_object_get(now, "crossfade_ms")) : -1;
    json_decref(now);
    int bad = got != want;
    if (bad)
        fprintf(stderr, "  crossfade_ms is %ld after a %s update, not %ld\n", got, rc ? "failed" : "good",
                want);
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (strstr(e->d_name, ".tmp")) {
            fprintf(stderr, "  a temp file is left: %s\n", e->d_name);
            bad = 1;
        }
    if (d) closedir(d);
    return check_data_dir(arg, rc) != 0 || bad ? -1 : 0;
}

/* ---- the handlers ---- */

/* A handler's answer, copied without allocating (the op runs armed) and read in check_answer, unarmed. */
static int answer_status;
static char answer_body[4096];

static int answered(srv_response *res, char *msg, size_t size)
{
    answer_status = res->status;
    size_t n = res->body && res->body_len < sizeof answer_body ? res->body_len : 0;
    memcpy(answer_body, res->body ? res->body : "", n);
    answer_body[n] = 0;
    if (res->status == 200) return 0;
    snprintf(msg, size, "%d %s", res->status, res->body ? answer_body : "(no body)");
    return -1;
}

/* 200, or 500/507 with a JSON "detail" (500 may come without a body when even that could not be
 * allocated); then the data dir's invariants. */
static int check_answer(void *arg, int rc)
{
    int bad = 0;
    /* the one failure that may follow a change: the change was made (committed), then its answer could
     * not be encoded; like a connection lost after the commit, the client must look again */
    if (answer_status == 500 && strstr(answer_body, "while encoding the response")) rc = 0;
    if (expect_no_space && answer_status != 200 && answer_status != 507) {
        fprintf(stderr, "  the drive is full, but the answer is %d: %s\n", answer_status, answer_body);
        bad = 1;
    }
    if (answer_status != 200) {
        json_t *j = json_loads(answer_body, 0, NULL);
        int ok = (answer_status == 500 || answer_status == 507) &&
                 (json_is_string(json_object_get(j, "detail")) || (answer_status == 500 && !answer_body[0]));
        json_decref(j);
        if (!ok) fprintf(stderr, "  answered %d: %s\n", answer_status, answer_body);
        bad = !ok;
    } else {
        json_t *j = json_loads(answer_body, 0, NULL);
        const char *id = json_string_value(json_object_get(j, "id"));
        snprintf(made_id, sizeof made_id, "%s", id ? id : "");
        json_decref(j);
    }
    return check_data_dir(arg, rc) != 0 || bad ? -1 : 0;
}

static int op_post_profiles(void *arg, char *msg, size_t size)
{
    (void)arg;
    srv_request req = {.method = "POST", .path = "/profiles", .content_type = "application/json"};
    req.body = "{\"name\": \"by handler\", \"language\": \"ja\"}";
    req.body_len = strlen(req.body);
    srv_response res;
    srv_response_init(&res);
    srv_post_profiles(&ctx, &req, &res);
    int rc = answered(&res, msg, size);
    srv_response_clear(&res);
    return rc;
}

static int op_get_profiles(void *arg, char *msg, size_t size)
{
    (void)arg;
    srv_request req = {.method = "GET", .path = "/profiles"};
    srv_response res;
    srv_response_init(&res);
    srv_get_profiles(&ctx, &req, &res);
    int rc = answered(&res, msg, size);
    srv_response_clear(&res);
    return rc;
}

static srv_form *form; /* the upload, parsed unarmed as the server would */

static int op_post_samples(void *arg, char *msg, size_t size)
{
    (void)arg;
    srv_request req = {.method = "POST", .path = "/profiles/x/samples", .form = form, .n_params = 1};
    req.params[0] = keep_id;
    srv_response res;
    srv_response_init(&res);
    srv_post_samples(&ctx, &req, &res);
    int rc = answered(&res, msg, size);
    srv_response_clear(&res);
    return rc;
}

static srv_form *parse_form(void)
{
    const char *ct = "multipart/form-data; boundary=XyZ";
    char head[512];
    int n = snprintf(head, sizeof head,
                     "--XyZ\r\nContent-Disposition: form-data; name=\"reference_text\"\r\n\r\nthe tone\r\n"
                     "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"tone.wav\"\r\n"
                     "Content-Type: audio/wav\r\n\r\n");
    char e[128];
    srv_form *f = srv_form_new(4096, 1 << 24);
    srv_multipart *m = f ? srv_multipart_new(ct, &srv_form_callbacks, f, e, sizeof e) : NULL;
    int ok = m && srv_multipart_feed(m, head, (size_t)n) == 0 && srv_multipart_feed(m, wav, wav_size) == 0 &&
             srv_multipart_feed(m, "\r\n--XyZ--\r\n", 11) == 0 && srv_multipart_finish(m) == 0;
    srv_multipart_free(m);
    if (!ok) {
        srv_form_free(f);
        return NULL;
    }
    return f;
}

/* ---- set-up ---- */

static int prepare(void)
{
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"; /* fsync is cheap there */
    snprintf(dir, sizeof dir, "%s/fault_studio.XXXXXX", base);
    studio_error err = {0};
    if (!mkdtemp(dir) || !(S = studio_open(dir, &err))) return -1;
    ctx.studio = S;
    size_t n = 3 * 24000;
    float *x = malloc(n * sizeof *x);
    if (!x) return -1;
    for (size_t i = 0; i < n; i++)
        x[i] = 0.4f * sinf(2.0f * 3.14159265f * 220.0f * (float)i / 24000.0f);
    audio_error aerr;
    int rc = audio_encode_wav16(x, n, 24000, &wav, &wav_size, &aerr);
    free(x);
    if (rc != 0) return -1;
    json_t *body = json_pack("{s:s}", "name", "keep");
    json_t *p = studio_profile_create(S, body, &err);
    json_decref(body);
    if (!p) return -1;
    snprintf(keep_id, sizeof keep_id, "%s", json_string_value(json_object_get(p, "id")));
    json_decref(p);
    json_t *s = studio_sample_add(S, keep_id, wav, wav_size, "kept through every fault", &err);
    if (s) snprintf(keep_sid, sizeof keep_sid, "%s", json_string_value(json_object_get(s, "id")));
    json_decref(s);
    char *name = NULL;
    if (!s || studio_profile_export(S, keep_id, &zip, &zip_size, &name, &err) != 0) return -1;
    free(name);
    /* an avatar: a PNG of 8 x 8, made with the studio's own encoder by way of a WAV-free route is not
     * available, so the smallest valid PNG is written out byte by byte */
    static const unsigned char tiny_png[] = {
        0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48,
        0x44, 0x52, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00,
        0x00, 0x90, 0x77, 0x53, 0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x08,
        0xd7, 0x63, 0xf8, 0xcf, 0xc0, 0x00, 0x00, 0x03, 0x01, 0x01, 0x00, 0x18, 0xdd, 0x8d,
        0xb0, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82};
    png = malloc(sizeof tiny_png);
    if (!png) return -1;
    memcpy(png, tiny_png, sizeof tiny_png);
    png_size = sizeof tiny_png;
    json_t *a = studio_avatar_set(S, keep_id, png, png_size, &err);
    if (!a) fprintf(stderr, "fault_studio: the avatar is refused: %s\n", err.msg);
    json_decref(a);
    form = parse_form();
    return a && form ? 0 : -1;
}

int main(void)
{
    if (prepare() != 0) {
        fprintf(stderr, "fault_studio: cannot prepare a data dir in %s\n", dir);
        return 1;
    }
    int bad = 0;
    fault_case open = {"studio_open", snapshot, op_open, check_data_dir, NULL, NULL};
    fault_case create = {"studio_profile_create", snapshot,     op_profile_create,
                         check_data_dir,          undo_profile, NULL};
    fault_case update = {"studio_profile_update", snapshot, op_profile_update, check_data_dir, NULL, NULL};
    fault_case add = {"studio_sample_add", snapshot, op_sample_add, check_data_dir, undo_sample, NULL};
    fault_case sdel = {"studio_sample_delete", make_victim,  op_sample_delete,
                       check_data_dir,         undo_profile, NULL};
    fault_case pdel = {"studio_profile_delete", make_victim,  op_profile_delete,
                       check_data_dir,          undo_profile, NULL};
    fault_case exp = {"studio_profile_export", snapshot, op_export, check_data_dir, NULL, NULL};
    fault_case imp = {"studio_profile_import", snapshot, op_import, check_data_dir, undo_profile, NULL};
    fault_case ava = {"studio_avatar_set", snapshot, op_avatar, check_data_dir, NULL, NULL};
    fault_case set = {
        "studio_generation_settings_update", settings_setup, op_settings, check_settings, NULL, NULL};
    fault_case hpost = {"POST /profiles",     snapshot, op_post_profiles, check_answer,
                        undo_handler_profile, NULL};
    fault_case hget = {"GET /profiles", snapshot, op_get_profiles, check_answer, NULL, NULL};
    fault_case hsamp = {
        "POST /profiles/{id}/samples", snapshot, op_post_samples, check_answer, undo_sample, NULL};
    const fault_case *all[] = {&open, &create, &update, &add,  &sdel,  &pdel, &exp,
                               &imp,  &ava,    &hpost,  &hget, &hsamp, &set};
    const fault_case *writers[] = {&add, &imp, &ava, &hsamp, &set};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        bad += fault_run(all[i], FAULT_ALLOC, 0, 0, 200, 4);
    for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++) {
        bad += fault_run(writers[i], FAULT_IO, EIO, 0, 100, 3);
        expect_no_space = 1;
        bad += fault_run(writers[i], FAULT_IO, ENOSPC, 1, 100, 3);
        expect_no_space = 0;
    }
    studio_close(S);
    srv_form_free(form);
    free(wav);
    free(zip);
    free(png);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "fault_studio: could not remove %s\n", dir);
    if (bad) fprintf(stderr, "fault_studio: %d failed tries\n", bad);
    return bad ? 1 : 0;
}
