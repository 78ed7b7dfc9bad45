/* test_studio.c — the studio domain (src/studio/studio.h) against a real SQLite file and real audio:
 * validation, duplicate names, cascade delete, ids that try to leave the data dir, persistence across a
 * restart, the orphan sweep, a kill -9 in the middle of uploads, and concurrent writers from threads.
 * Audio fixtures are made at test time with sox (and espeak-ng when present). */
#include "audio/audio.h"
#include "studio/studio.h"
#include "test_util.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char root[256]; /* temp dir holding fixtures/ and the data dirs */

static const char *kind_name(studio_error_kind k)
{
    static const char *const names[] = {"OK",        "NOT_FOUND",         "INVALID",  "CONFLICT",
                                        "TOO_LARGE", "UNSUPPORTED_MEDIA", "INTERNAL", "NOT_READY"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "?";
}

/* Checks that a call failed with kind (and field, when given). */
#define EXPECT_ERR(ok, err, want_kind, want_field, input)                                                    \
    do {                                                                                                     \
        CHECK(!(ok), "input %s: expected %s, got success", input, kind_name(want_kind));                     \
        CHECK((err).kind == (want_kind), "input %s: expected %s, got %s (%s)", input, kind_name(want_kind),  \
              kind_name((err).kind), (err).msg);                                                             \
        if (want_field)                                                                                      \
            CHECK(!strcmp((err).field, want_field ? want_field : ""),                                        \
                  "input %s: expected field '%s', got '%s' (%s)", input, want_field ? want_field : "",       \
                  (err).field, (err).msg);                                                                   \
        CHECK((err).msg[0] != '\0', "input %s: error message is empty", input);                              \
    } while (0)

static int run(const char *cmd)
{
    int rc = system(cmd);
    if (rc != 0) fprintf(stderr, "command failed (%d): %s\n", rc, cmd);
    return rc;
}

static char *read_all(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc(n > 0 ? (size_t)n : 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *size = (size_t)n;
    return buf;
}

static char *fixture(const char *name, size_t *size)
{
    char path[512];
    snprintf(path, sizeof path, "%s/fixtures/%s", root, name);
    char *b = read_all(path, size);
    if (!b) {
        fprintf(stderr, "fixture %s missing\n", path);
        exit(1);
    }
    return b;
}

static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static void make_fixtures(void)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "set -e; cd %s/fixtures; "
             /* a 3 s voiced tone with 0.5 s of silence either side, at 44.1 kHz stereo */
             "sox -q -n -r 44100 -c 2 tone3.wav synth 3 sine 220 vol 0.3 pad 0.5 0.5; "
             "sox -q -n -r 48000 -c 1 tone4.flac synth 4 sine 330 vol 0.3; "
             "sox -q -n -r 24000 -c 1 short1.wav synth 1 sine 440 vol 0.3 pad 1 1; "
             "sox -q -n -r 16000 -c 1 long40.wav synth 40 sine 440 vol 0.3; "
             "sox -q -n -r 24000 -c 1 silent.wav trim 0 5; "
             "sox -q -n -r 24000 -c 1 quiet.wav synth 5 sine 440 vol 0.005; "
             /* clipped: a square wave at full scale */
             "sox -q -n -r 24000 -c 1 hot.wav synth 3 square 200 vol 1.0; "
             "printf 'this is not audio at all, just text\\n%%.0s' $(seq 50) > text.wav",
             root);
    if (run(cmd) != 0) exit(1);
    snprintf(cmd, sizeof cmd,
             "cd %s/fixtures && espeak-ng -w speech.wav 'Hello there, this is a reference sample for the "
             "voice studio test.' 2>/dev/null || sox -q -n -r 22050 -c 1 speech.wav synth 4 sine 180 vol 0.3",
             root);
    run(cmd);
}

static studio *open_dir(const char *name)
{
    char dir[512];
    studio_error err = {0};
    snprintf(dir, sizeof dir, "%s/%s", root, name);
    studio *s = studio_open(dir, &err);
    CHECK(s != NULL, "studio_open(%s): %s", dir, err.msg);
    if (!s) exit(1);
    return s;
}

static json_t *make_profile(studio *s, const char *name)
{
    studio_error err = {0};
    json_t *body = json_pack("{s:s, s:s, s:s}", "name", name, "description", "test voice", "language", "en");
    json_t *p = studio_profile_create(s, body, &err);
    json_decref(body);
    CHECK(p != NULL, "create profile '%s': %s", name, err.msg);
    return p;
}

static const char *jstr(const json_t *j, const char *key)
{
    const char *v = json_string_value(json_object_get(j, key));
    return v ? v : "";
}

/* ---- profiles ---- */

static void test_profile_validation(void)
{
    studio *s = open_dir("validation");
    studio_error err = {0};
    char name101[102], name100[101];
    memset(name101, 'a', 101);
    name101[101] = 0;
    memset(name100, 'b', 100);
    name100[100] = 0;
    char desc501[502];
    memset(desc501, 'd', 501);
    desc501[501] = 0;
    /* 100 two-byte characters: 200 bytes but within the limit, which counts characters */
    char accents[201];
    for (int i = 0; i < 100; i++)
        memcpy(accents + 2 * i, "\xc3\xa9", 2);
    accents[200] = 0;

    struct {
        const char *json, *field;
    } bad[] = {
        {"[]", "body"},
        {"{}", "name"},
        {"{\"name\": \"\"}", "name"},
        {"{\"name\": 42}", "name"},
        {"{\"name\": null}", "name"},
        {"{\"name\": \"x\", \"language\": \"xx\"}", "language"},
        {"{\"name\": \"x\", \"language\": \"EN\"}", "language"},
        {"{\"name\": \"x\", \"language\": 3}", "language"},
        {"{\"name\": \"x\", \"language\": \"english please, thank you\"}", "language"},
        {"{\"name\": \"x\", \"description\": true}", "description"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *body = json_loads(bad[i].json, JSON_DECODE_ANY, NULL);
        json_t *p = studio_profile_create(s, body, &err);
        EXPECT_ERR(p, err, STUDIO_INVALID, bad[i].field, bad[i].json);
        json_decref(p);
        json_decref(body);
    }
    json_t *body = json_pack("{s:s}", "name", name101);
    json_t *p = studio_profile_create(s, body, &err);
    EXPECT_ERR(p, err, STUDIO_INVALID, "name", "name of 101 chars");
    CHECK(strstr(err.msg, "101") != NULL, "message should give the length, got '%s'", err.msg);
    json_decref(body);
    body = json_pack("{s:s, s:s}", "name", "d", "description", desc501);
    p = studio_profile_create(s, body, &err);
    EXPECT_ERR(p, err, STUDIO_INVALID, "description", "description of 501 chars");
    json_decref(body);

    /* the edges that must pass */
    const char *good[] = {name100, accents, "z"};
    for (size_t i = 0; i < 3; i++) {
        body = json_pack("{s:s}", "name", good[i]);
        p = studio_profile_create(s, body, &err);
        CHECK(p != NULL, "name of %zu bytes: %s", strlen(good[i]), err.msg);
        CHECK(!strcmp(jstr(p, "language"), "en"), "default language: expected en, got %s",
              jstr(p, "language"));
        CHECK(json_is_null(json_object_get(p, "description")), "absent description should be null");
        CHECK(json_is_string(json_object_get(p, "created_at")) &&
                  json_is_string(json_object_get(p, "updated_at")),
              "timestamps missing");
        CHECK(studio_id_valid(jstr(p, "id")), "id '%s' is not a uuid", jstr(p, "id"));
        json_decref(p);
        json_decref(body);
    }
    /* all ten languages */
    const char *langs[] = {"zh", "en", "ja", "ko", "de", "fr", "ru", "pt", "es", "it"};
    for (int i = 0; i < 10; i++) {
        char name[32];
        snprintf(name, sizeof name, "lang %s", langs[i]);
        body = json_pack("{s:s, s:s}", "name", name, "language", langs[i]);
        p = studio_profile_create(s, body, &err);
        CHECK(p && !strcmp(jstr(p, "language"), langs[i]), "language %s: %s", langs[i], err.msg);
        json_decref(p);
        json_decref(body);
    }
    studio_close(s);
}

static void test_profile_crud(void)
{
    studio *s = open_dir("crud");
    studio_error err = {0};
    json_t *a = make_profile(s, "Alice"), *b = make_profile(s, "Bob");
    json_t *body = json_pack("{s:s}", "name", "Alice");
    json_t *dup = studio_profile_create(s, body, &err);
    EXPECT_ERR(dup, err, STUDIO_CONFLICT, NULL, "duplicate name Alice");
    CHECK(strstr(err.msg, "already exists") != NULL, "message: expected 'already exists', got '%s'", err.msg);
    /* renaming Bob to Alice conflicts too; renaming Bob to Bob is fine */
    dup = studio_profile_update(s, jstr(b, "id"), body, &err);
    EXPECT_ERR(dup, err, STUDIO_CONFLICT, NULL, "rename Bob to Alice");
    json_decref(body);
    body = json_pack("{s:s, s:s, s:s}", "name", "Bob", "description", "new words", "language", "de");
    json_t *b2 = studio_profile_update(s, jstr(b, "id"), body, &err);
    CHECK(b2 && !strcmp(jstr(b2, "language"), "de") && !strcmp(jstr(b2, "description"), "new words"),
          "update Bob: %s", err.msg);
    CHECK(b2 && strcmp(jstr(b2, "updated_at"), jstr(b, "updated_at")) >= 0, "updated_at did not move");
    json_decref(b2);
    json_decref(body);

    json_t *list = studio_profile_list(s, &err);
    CHECK(list && json_array_size(list) == 2, "list: expected 2 profiles, got %zu", json_array_size(list));
    CHECK(list && !strcmp(jstr(json_array_get(list, 0), "name"), "Bob"), "list is not newest first");
    json_decref(list);

    json_t *g = studio_profile_get(s, jstr(a, "id"), &err);
    CHECK(g && !strcmp(jstr(g, "name"), "Alice"), "get Alice: %s", err.msg);
    json_decref(g);

    const char *unknown = "00000000-0000-4000-8000-000000000000";
    g = studio_profile_get(s, unknown, &err);
    EXPECT_ERR(g, err, STUDIO_NOT_FOUND, NULL, unknown);
    body = json_pack("{s:s}", "name", "Zed");
    g = studio_profile_update(s, unknown, body, &err);
    EXPECT_ERR(g, err, STUDIO_NOT_FOUND, NULL, unknown);
    json_decref(body);
    int rc = studio_profile_delete(s, unknown, &err);
    EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, unknown);

    CHECK(studio_profile_delete(s, jstr(a, "id"), &err) == 0, "delete Alice: %s", err.msg);
    rc = studio_profile_delete(s, jstr(a, "id"), &err);
    EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, "deleted Alice again");
    /* the name is free again */
    json_t *a2 = make_profile(s, "Alice");
    json_decref(a2);
    json_decref(a);
    json_decref(b);
    studio_close(s);
}

/* ---- samples ---- */

static void test_samples(void)
{
    studio *s = open_dir("samples");
    studio_error err = {0};
    json_t *p = make_profile(s, "Sampled");
    const char *pid = jstr(p, "id");
    size_t n;
    char *bytes;

    /* a 3 s tone padded with silence, 44.1 kHz stereo: stored as 24 kHz mono, about 3 s once trimmed */
    bytes = fixture("tone3.wav", &n);
    json_t *smp = studio_sample_add(s, pid, bytes, n, "A tone.", &err);
    free(bytes);
    CHECK(smp != NULL, "add tone3.wav: %s", err.msg);
    if (!smp) goto out;
    double dur = json_real_value(json_object_get(smp, "duration"));
    CHECK(dur > 2.9 && dur < 3.1, "tone3.wav: expected about 3.0 s after trimming, got %.3f", dur);
    const char *path = jstr(smp, "audio_path");
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s/samples/profiles/%s/", root, pid);
    char *real_prefix = realpath(root, NULL);
    char want[600];
    snprintf(want, sizeof want, "%s/samples/profiles/%s/%s.wav", real_prefix, pid, jstr(smp, "id"));
    free(real_prefix);
    CHECK(!strcmp(path, want), "audio_path: expected %s, got %s", want, path);
    CHECK(!strcmp(jstr(smp, "profile_id"), pid) && !strcmp(jstr(smp, "reference_text"), "A tone."),
          "sample fields wrong");
    audio_buf buf = {0};
    audio_error aerr = {{0}, 0, 0};
    CHECK(audio_decode_file(path, 0, &buf, &aerr) == 0, "stored sample unreadable: %s", aerr.msg);
    CHECK(buf.sample_rate == 24000, "stored rate: expected 24000, got %d", buf.sample_rate);
    CHECK(fabs((double)buf.n / 24000 - dur) < 0.01, "stored length %.3f s vs duration %.3f",
          (double)buf.n / 24000, dur);
    audio_buf_free(&buf);
    char *ap = studio_sample_audio_path(s, jstr(smp, "id"), &err);
    CHECK(ap && !strcmp(ap, path), "sample_audio_path: expected %s, got %s", path, ap ? ap : err.msg);
    free(ap);

    /* other formats */
    const char *ok_files[] = {"tone4.flac", "speech.wav"};
    for (int i = 0; i < 2; i++) {
        bytes = fixture(ok_files[i], &n);
        json_t *o = studio_sample_add(s, pid, bytes, n, "Some words.", &err);
        CHECK(o != NULL, "add %s: %s", ok_files[i], err.msg);
        json_decref(o);
        free(bytes);
    }

    /* hot: turned down, not refused */
    bytes = fixture("hot.wav", &n);
    json_t *hot = studio_sample_add(s, pid, bytes, n, "Loud.", &err);
    free(bytes);
    CHECK(hot != NULL, "add hot.wav: expected success, got %s", err.msg);
    if (hot) {
        audio_buf hb = {0};
        audio_decode_file(jstr(hot, "audio_path"), 0, &hb, &aerr);
        float peak = audio_peak(hb.samples, hb.n);
        CHECK(peak < 0.95f && peak > 0.05f, "hot.wav: expected the peak turned down below 0.95, got %.3f",
              peak);
        audio_buf_free(&hb);
    }
    json_decref(hot);

    /* refusals */
    struct {
        const char *file;
        studio_error_kind kind;
    } bad[] = {
        {"short1.wav", STUDIO_INVALID},         {"long40.wav", STUDIO_INVALID},
        {"silent.wav", STUDIO_INVALID},         {"quiet.wav", STUDIO_INVALID},
        {"text.wav", STUDIO_UNSUPPORTED_MEDIA},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        bytes = fixture(bad[i].file, &n);
        json_t *o = studio_sample_add(s, pid, bytes, n, "Words.", &err);
        EXPECT_ERR(o, err, bad[i].kind, "file", bad[i].file);
        fprintf(stderr, "  %s -> %s: %s\n", bad[i].file, kind_name(err.kind), err.msg);
        json_decref(o);
        free(bytes);
    }
    char *big = calloc(1, STUDIO_UPLOAD_MAX + 1);
    json_t *o = studio_sample_add(s, pid, big, STUDIO_UPLOAD_MAX + 1, "Big.", &err);
    EXPECT_ERR(o, err, STUDIO_TOO_LARGE, "file", "51 MB upload");
    free(big);
    bytes = fixture("tone4.flac", &n);
    char t1001[1002];
    memset(t1001, 't', 1001);
    t1001[1001] = 0;
    o = studio_sample_add(s, pid, bytes, n, "", &err);
    EXPECT_ERR(o, err, STUDIO_INVALID, "reference_text", "empty reference_text");
    o = studio_sample_add(s, pid, bytes, n, t1001, &err);
    EXPECT_ERR(o, err, STUDIO_INVALID, "reference_text", "reference_text of 1001 chars");
    o = studio_sample_add(s, "00000000-0000-4000-8000-000000000000", bytes, n, "Hi.", &err);
    EXPECT_ERR(o, err, STUDIO_NOT_FOUND, NULL, "unknown profile");
    free(bytes);

    json_t *list = studio_sample_list(s, pid, &err);
    CHECK(list && json_array_size(list) == 4, "sample list: expected 4, got %zu", json_array_size(list));
    CHECK(list && !strcmp(jstr(json_array_get(list, 0), "id"), jstr(smp, "id")),
          "sample list not oldest first");
    json_decref(list);
    /* only the 4 accepted files are on disk: refusals leave nothing behind */
    char dir[600];
    snprintf(dir, sizeof dir, "%s/samples/profiles/%s", root, pid);
    DIR *d = opendir(dir);
    int files = 0;
    struct dirent *e;
    while (d && (e = readdir(d)))
        files += e->d_name[0] != '.';
    if (d) closedir(d);
    CHECK(files == 4, "%s: expected 4 files, found %d", dir, files);

    json_t *body = json_pack("{s:s}", "reference_text", "Changed words.");
    json_t *u = studio_sample_update(s, jstr(smp, "id"), body, &err);
    CHECK(u && !strcmp(jstr(u, "reference_text"), "Changed words."), "update sample: %s", err.msg);
    json_decref(u);
    json_decref(body);
    body = json_pack("{s:s}", "reference_text", "");
    u = studio_sample_update(s, jstr(smp, "id"), body, &err);
    EXPECT_ERR(u, err, STUDIO_INVALID, "reference_text", "update with empty text");
    json_decref(body);

    CHECK(studio_sample_delete(s, jstr(smp, "id"), &err) == 0, "delete sample: %s", err.msg);
    CHECK(!file_exists(path), "deleted sample's file %s still exists", path);
    int rc = studio_sample_delete(s, jstr(smp, "id"), &err);
    EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, "deleted sample again");
    ap = studio_sample_audio_path(s, jstr(smp, "id"), &err);
    EXPECT_ERR(ap, err, STUDIO_NOT_FOUND, NULL, "audio path of deleted sample");
    json_decref(smp);
out:
    json_decref(p);
    studio_close(s);
}

/* ---- generations / history ---- */

/* Writes a fake take (a copy of a fixture) at generations/<id>.wav and records it. */
static json_t *add_generation(studio *s, const char *dir, const char *pid, const char *text, double duration,
                              long long seed)
{
    char id[37], rel[128], path[700];
    studio_new_id(id);
    snprintf(rel, sizeof rel, "generations/%s.wav", id);
    snprintf(path, sizeof path, "%s/%s/%s", root, dir, rel);
    float tone[2400] = {0.1f};
    audio_error aerr = {{0}, 0, 0};
    audio_write_wav16(path, tone, 2400, 24000, &aerr);
    studio_generation g = {.id = id,
                           .profile_id = pid,
                           .text = text,
                           .language = "en",
                           .audio_path = rel,
                           .duration = duration,
                           .seed = seed,
                           .model_size = "1.7B",
                           .instruct = NULL};
    studio_error err = {0};
    json_t *j = studio_generation_insert(s, &g, &err);
    CHECK(j != NULL, "insert generation '%s': %s", text, err.msg);
    return j;
}

static void test_history(void)
{
    studio *s = open_dir("history");
    studio_error err = {0};
    json_t *p1 = make_profile(s, "One"), *p2 = make_profile(s, "Two");
    const char *id1 = jstr(p1, "id"), *id2 = jstr(p2, "id");
    json_t *g1 = add_generation(s, "history", id1, "hello world", 1.5, 42);
    json_t *g2 = add_generation(s, "history", id1, "100% sure_thing", 2.0, -1);
    json_t *g3 = add_generation(s, "history", id2, "Hello again", 0.5, 7);
    CHECK(g1 && !strcmp(jstr(g1, "profile_name"), "One") &&
              json_integer_value(json_object_get(g1, "seed")) == 42,
          "generation JSON wrong");
    CHECK(g2 && json_is_null(json_object_get(g2, "seed")) && json_is_null(json_object_get(g2, "instruct")),
          "absent seed/instruct should be null");
    CHECK(g1 && !strcmp(jstr(g1, "status"), "completed"), "default status: got %s", jstr(g1, "status"));

    studio_history_query q = studio_history_default_query();
    CHECK(q.limit == 50 && q.offset == 0, "default query: limit %d offset %d", q.limit, q.offset);
    json_t *l = studio_history_list(s, &q, &err);
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 3, "history total: expected 3");
    CHECK(l && !strcmp(jstr(json_array_get(json_object_get(l, "items"), 0), "id"), jstr(g3, "id")),
          "history not newest first");
    json_decref(l);

    struct {
        const char *profile, *search;
        int limit, offset;
        long long total;
        size_t items;
    } cases[] = {
        {id1, NULL, 50, 0, 2, 2},         {id2, NULL, 50, 0, 1, 1},    {NULL, "hello", 50, 0, 2, 2},
        {NULL, "HELLO", 50, 0, 2, 2},     {NULL, "%", 50, 0, 1, 1},    {NULL, "_", 50, 0, 1, 1},
        {NULL, NULL, 1, 0, 3, 1},         {NULL, NULL, 2, 2, 3, 1},    {NULL, NULL, 100, 5, 3, 0},
        {"../../etc", NULL, 50, 0, 0, 0}, {id1, "again", 50, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q = (studio_history_query){cases[i].profile, cases[i].search, cases[i].limit, cases[i].offset};
        l = studio_history_list(s, &q, &err);
        long long total = l ? json_integer_value(json_object_get(l, "total")) : -1;
        size_t items = l ? json_array_size(json_object_get(l, "items")) : 0;
        CHECK(total == cases[i].total && items == cases[i].items,
              "history profile=%s search=%s limit=%d offset=%d: expected total %lld items %zu, got %lld %zu "
              "(%s)",
              cases[i].profile ? cases[i].profile : "-", cases[i].search ? cases[i].search : "-",
              cases[i].limit, cases[i].offset, cases[i].total, cases[i].items, total, items,
              l ? "" : err.msg);
        json_decref(l);
    }
    int bad_limits[][2] = {{0, 0}, {101, 0}, {-1, 0}, {50, -1}};
    for (int i = 0; i < 4; i++) {
        q = (studio_history_query){NULL, NULL, bad_limits[i][0], bad_limits[i][1]};
        l = studio_history_list(s, &q, &err);
        char in[64];
        snprintf(in, sizeof in, "limit=%d offset=%d", bad_limits[i][0], bad_limits[i][1]);
        EXPECT_ERR(l, err, STUDIO_INVALID, bad_limits[i][1] < 0 ? "offset" : "limit", in);
    }

    json_t *st = studio_history_stats(s, &err);
    CHECK(st && json_integer_value(json_object_get(st, "total_generations")) == 3, "stats total");
    CHECK(st && fabs(json_number_value(json_object_get(st, "total_duration_seconds")) - 4.0) < 1e-9,
          "stats duration: expected 4.0, got %f",
          json_number_value(json_object_get(st, "total_duration_seconds")));
    json_t *by = st ? json_object_get(st, "generations_by_profile") : NULL;
    CHECK(json_integer_value(json_object_get(by, id1)) == 2 &&
              json_integer_value(json_object_get(by, id2)) == 1,
          "stats by profile wrong");
    json_decref(st);

    /* bad inserts */
    studio_generation bad = {.profile_id = "00000000-0000-4000-8000-000000000000",
                             .text = "x",
                             .language = "en",
                             .duration = 1,
                             .seed = -1};
    json_t *j = studio_generation_insert(s, &bad, &err);
    EXPECT_ERR(j, err, STUDIO_NOT_FOUND, NULL, "generation for unknown profile");
    bad.profile_id = id1;
    bad.audio_path = "../../etc/passwd";
    j = studio_generation_insert(s, &bad, &err);
    EXPECT_ERR(j, err, STUDIO_INVALID, "audio_path", "audio_path ../../etc/passwd");
    bad.audio_path = NULL;
    bad.language = "xx";
    j = studio_generation_insert(s, &bad, &err);
    EXPECT_ERR(j, err, STUDIO_INVALID, "language", "language xx");
    bad.language = "en";
    bad.status = "failed";
    bad.error = "engine fault";
    j = studio_generation_insert(s, &bad, &err);
    CHECK(j && json_is_null(json_object_get(j, "audio_path")) && !strcmp(jstr(j, "status"), "failed"),
          "failed generation insert: %s", err.msg);
    char *ap = j ? studio_generation_audio_path(s, jstr(j, "id"), &err) : NULL;
    EXPECT_ERR(ap, err, STUDIO_NOT_FOUND, NULL, "audio of a failed generation");
    json_decref(j);

    ap = studio_generation_audio_path(s, jstr(g1, "id"), &err);
    CHECK(ap && file_exists(ap), "generation audio path: %s", ap ? ap : err.msg);
    json_t *got = studio_history_get(s, jstr(g1, "id"), &err);
    CHECK(got && !strcmp(jstr(got, "text"), "hello world"), "history get: %s", err.msg);
    json_decref(got);
    CHECK(studio_history_delete(s, jstr(g1, "id"), &err) == 0, "history delete: %s", err.msg);
    CHECK(ap && !file_exists(ap), "deleted generation's file %s still exists", ap);
    free(ap);
    got = studio_history_get(s, jstr(g1, "id"), &err);
    EXPECT_ERR(got, err, STUDIO_NOT_FOUND, NULL, "deleted generation");
    int rc = studio_history_delete(s, jstr(g1, "id"), &err);
    EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, "deleted generation again");
    json_decref(g1);
    json_decref(g2);
    json_decref(g3);
    json_decref(p1);
    json_decref(p2);
    studio_close(s);
}

/* ---- cascade, traversal, persistence, sweep ---- */

static void test_cascade(void)
{
    studio *s = open_dir("cascade");
    studio_error err = {0};
    json_t *keep = make_profile(s, "Keep"), *gone = make_profile(s, "Gone");
    size_t n;
    char *bytes = fixture("tone4.flac", &n);
    json_t *ks = studio_sample_add(s, jstr(keep, "id"), bytes, n, "Kept.", &err);
    json_t *s1 = studio_sample_add(s, jstr(gone, "id"), bytes, n, "One.", &err);
    json_t *s2 = studio_sample_add(s, jstr(gone, "id"), bytes, n, "Two.", &err);
    free(bytes);
    CHECK(ks && s1 && s2, "samples for cascade: %s", err.msg);
    json_t *kg = add_generation(s, "cascade", jstr(keep, "id"), "kept take", 1, 1);
    json_t *g1 = add_generation(s, "cascade", jstr(gone, "id"), "gone take 1", 1, 1);
    json_t *g2 = add_generation(s, "cascade", jstr(gone, "id"), "gone take 2", 1, 1);
    if (!(ks && s1 && s2 && kg && g1 && g2)) goto out;

    CHECK(studio_profile_delete(s, jstr(gone, "id"), &err) == 0, "delete profile: %s", err.msg);
    const json_t *gone_files[] = {s1, s2, g1, g2};
    for (int i = 0; i < 4; i++)
        CHECK(!file_exists(jstr(gone_files[i], "audio_path")), "file %s survived its profile",
              jstr(gone_files[i], "audio_path"));
    char dir[600];
    snprintf(dir, sizeof dir, "%s/cascade/profiles/%s", root, jstr(gone, "id"));
    struct stat sb;
    CHECK(stat(dir, &sb) != 0, "profile directory %s survived its profile", dir);
    json_t *got = studio_sample_get(s, jstr(s1, "id"), &err);
    EXPECT_ERR(got, err, STUDIO_NOT_FOUND, NULL, "sample of deleted profile");
    got = studio_history_get(s, jstr(g1, "id"), &err);
    EXPECT_ERR(got, err, STUDIO_NOT_FOUND, NULL, "generation of deleted profile");
    json_t *l = studio_history_list(s, NULL, &err);
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 1, "history after cascade: expected 1");
    json_decref(l);
    CHECK(file_exists(jstr(ks, "audio_path")) && file_exists(jstr(kg, "audio_path")),
          "the other profile's files were touched");
    l = studio_sample_list(s, jstr(keep, "id"), &err);
    CHECK(l && json_array_size(l) == 1, "other profile's samples: expected 1");
    json_decref(l);
out:
    json_decref(ks);
    json_decref(s1);
    json_decref(s2);
    json_decref(kg);
    json_decref(g1);
    json_decref(g2);
    json_decref(keep);
    json_decref(gone);
    studio_close(s);
}

static void test_traversal(void)
{
    studio *s = open_dir("traversal");
    studio_error err = {0};
    char outside[512];
    snprintf(outside, sizeof outside, "%s/outside.wav", root);
    FILE *f = fopen(outside, "w");
    fputs("keep me", f);
    fclose(f);
    json_t *p = make_profile(s, "Victim");
    char upper[37];
    snprintf(upper, sizeof upper, "%s", jstr(p, "id"));
    for (char *c = upper; *c; c++)
        if (*c >= 'a' && *c <= 'f') *c -= 32;
    const char *ids[] = {"../outside",
                         "../../outside.wav",
                         "..%2f..%2foutside",
                         "%2e%2e/%2e%2e/outside",
                         outside,
                         "/etc/passwd",
                         "",
                         "00000000-0000-4000-8000-00000000000/",
                         "00000000-0000-4000-8000-000000000000/../../outside",
                         "00000000-0000-4000-8000-0000000000000",
                         upper};
    json_t *body = json_pack("{s:s}", "name", "Renamed");
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++) {
        const char *id = ids[i];
        json_t *j;
        char *path;
        j = studio_profile_get(s, id, &err);
        EXPECT_ERR(j, err, STUDIO_NOT_FOUND, NULL, id);
        j = studio_profile_update(s, id, body, &err);
        EXPECT_ERR(j, err, STUDIO_NOT_FOUND, NULL, id);
        int rc = studio_profile_delete(s, id, &err);
        EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, id);
        j = studio_sample_list(s, id, &err);
        EXPECT_ERR(j, err, STUDIO_NOT_FOUND, NULL, id);
        j = studio_sample_add(s, id, "RIFF", 4, "x", &err);
        EXPECT_ERR(j, err, STUDIO_NOT_FOUND, NULL, id);
        rc = studio_sample_delete(s, id, &err);
        EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, id);
        path = studio_sample_audio_path(s, id, &err);
        EXPECT_ERR(path, err, STUDIO_NOT_FOUND, NULL, id);
        j = studio_history_get(s, id, &err);
        EXPECT_ERR(j, err, STUDIO_NOT_FOUND, NULL, id);
        rc = studio_history_delete(s, id, &err);
        EXPECT_ERR(rc == 0, err, STUDIO_NOT_FOUND, NULL, id);
        path = studio_generation_audio_path(s, id, &err);
        EXPECT_ERR(path, err, STUDIO_NOT_FOUND, NULL, id);
    }
    json_decref(body);
    CHECK(file_exists(outside), "%s was removed", outside);
    json_t *still = studio_profile_get(s, jstr(p, "id"), &err);
    CHECK(still && !strcmp(jstr(still, "name"), "Victim"), "the real profile was changed");
    json_decref(still);
    char *sp = studio_path(s, "../outside.wav");
    CHECK(sp == NULL, "studio_path accepted '../outside.wav': %s", sp);
    free(sp);
    json_decref(p);
    studio_close(s);
}

static void test_restart_and_sweep(void)
{
    studio *s = open_dir("restart");
    studio_error err = {0};
    json_t *p = make_profile(s, "Persistent");
    char pid[37];
    snprintf(pid, sizeof pid, "%s", jstr(p, "id"));
    size_t n;
    char *bytes = fixture("tone4.flac", &n);
    json_t *keep = studio_sample_add(s, pid, bytes, n, "Kept.", &err);
    json_t *lose = studio_sample_add(s, pid, bytes, n, "File lost.", &err);
    free(bytes);
    json_t *g = add_generation(s, "restart", pid, "a take", 1.25, 9);
    json_t *glose = add_generation(s, "restart", pid, "a take whose file is lost", 1.0, 9);
    json_t *before = studio_profile_list(s, &err);
    /* A second opener of the same dir must not sweep: it cannot know what the first is writing. */
    char stray[700];
    snprintf(stray, sizeof stray, "%s/restart/profiles/%s/00000000-0000-4000-8000-0000000000aa.wav", root,
             pid);
    FILE *f = fopen(stray, "w");
    fputs("x", f);
    fclose(f);
    studio *s2 = open_dir("restart");
    CHECK(file_exists(stray), "a second opener swept %s while the first had the dir open", stray);
    studio_close(s2);
    studio_close(s);
    if (!(keep && lose && g && glose)) goto out;

    /* the debris a kill -9 can leave, plus rows whose files went missing */
    char path[700];
    const char *strays[] = {"profiles/%s/00000000-0000-4000-8000-0000000000bb.wav.tmp-Xy12ab",
                            "profiles/%s/notes.txt", "generations/00000000-0000-4000-8000-0000000000cc.wav",
                            "generations/.x.wav.tmp-123456"};
    for (int i = 0; i < 4; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, strays[i], pid);
        snprintf(path, sizeof path, "%s/restart/%s", root, rel);
        f = fopen(path, "w");
        fputs("debris", f);
        fclose(f);
    }
    snprintf(path, sizeof path, "%s/restart/profiles/11111111-1111-4111-8111-111111111111", root);
    mkdir(path, 0755);
    unlink(jstr(lose, "audio_path"));
    unlink(jstr(glose, "audio_path"));

    s = open_dir("restart");
    json_t *after = studio_profile_list(s, &err);
    CHECK(json_equal(before, after), "profiles changed across a restart");
    json_decref(after);
    /* issue 16 item 2: rows whose files are missing are kept and marked, never deleted */
    json_t *l = studio_sample_list(s, pid, &err);
    int marked = 0, unmarked = 0;
    for (size_t i = 0; l && i < json_array_size(l); i++) {
        json_t *row = json_array_get(l, i);
        int missing = json_is_true(json_object_get(row, "missing"));
        if (!strcmp(jstr(row, "id"), jstr(lose, "id"))) marked += missing;
        if (!strcmp(jstr(row, "id"), jstr(keep, "id"))) unmarked += !missing;
    }
    CHECK(l && json_array_size(l) == 2 && marked == 1 && unmarked == 1,
          "after sweep: expected both samples kept, the one without a file marked missing (got %zu rows, "
          "%d/%d)",
          l ? json_array_size(l) : 0, marked, unmarked);
    json_decref(l);
    l = studio_history_list(s, NULL, &err);
    json_t *items = l ? json_object_get(l, "items") : NULL;
    marked = 0;
    for (size_t i = 0; items && i < json_array_size(items); i++)
        marked += json_is_true(json_object_get(json_array_get(items, i), "missing")) &&
                  !strcmp(jstr(json_array_get(items, i), "id"), jstr(glose, "id"));
    CHECK(l && json_integer_value(json_object_get(l, "total")) == 2 && marked == 1,
          "after sweep: expected both generations kept, the one without a file marked missing");
    json_decref(l);
    /* files without rows are moved to quarantine/, temp files removed */
    const int kept_in_quarantine[] = {0, 1, 1, 0};
    snprintf(path, sizeof path, "%s/restart/quarantine/profiles/%s/00000000-0000-4000-8000-0000000000aa.wav",
             root, pid);
    CHECK(!file_exists(stray) && file_exists(path), "the stray sample was not moved to %s", path);
    for (int i = 0; i < 4; i++) {
        char rel[200];
        snprintf(rel, sizeof rel, strays[i], pid);
        snprintf(path, sizeof path, "%s/restart/%s", root, rel);
        CHECK(!file_exists(path), "sweep left %s", path);
        snprintf(path, sizeof path, "%s/restart/quarantine/%s", root, rel);
        CHECK(file_exists(path) == kept_in_quarantine[i], "%s: expected %s quarantine/", rel,
              kept_in_quarantine[i] ? "it in" : "it deleted, not in");
    }
    snprintf(path, sizeof path, "%s/restart/profiles/11111111-1111-4111-8111-111111111111", root);
    struct stat sb;
    CHECK(stat(path, &sb) != 0, "sweep left the empty directory of a profile that does not exist: %s", path);
    CHECK(file_exists(jstr(keep, "audio_path")) && file_exists(jstr(g, "audio_path")),
          "sweep removed live files");
    studio_close(s);

    /* the story: profiles/ absent for one start (unmounted drive), then back: nothing is lost */
    char prof[600], moved[600];
    snprintf(prof, sizeof prof, "%s/restart/profiles", root);
    snprintf(moved, sizeof moved, "%s/restart/profiles.unmounted", root);
    CHECK(rename(prof, moved) == 0, "cannot move %s away", prof);
    s = open_dir("restart");
    l = studio_sample_list(s, pid, &err);
    CHECK(l && json_array_size(l) == 2, "with profiles/ gone, the sample rows were deleted (%zu left)",
          l ? json_array_size(l) : 0);
    json_decref(l);
    studio_close(s);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mv '%s' '%s'", prof, moved, prof);
    CHECK(system(cmd) == 0, "%s failed", cmd);
    s = open_dir("restart");
    l = studio_sample_list(s, pid, &err);
    unmarked = 0;
    for (size_t i = 0; l && i < json_array_size(l); i++)
        unmarked += !strcmp(jstr(json_array_get(l, i), "id"), jstr(keep, "id")) &&
                    !json_is_true(json_object_get(json_array_get(l, i), "missing"));
    CHECK(l && json_array_size(l) == 2 && unmarked == 1 && file_exists(jstr(keep, "audio_path")),
          "after profiles/ came back: expected the kept sample present and unmarked, its file in place");
    json_decref(l);
    studio_close(s);

    /* a delete killed between its row and its file: the intent record lets the sweep finish it */
    char db[600];
    snprintf(db, sizeof db, "%s/restart/voicebox.db", root);
    sqlite3 *raw = NULL;
    char sql[400];
    snprintf(
        sql, sizeof sql,
        "INSERT INTO file_intents (path, created_at) SELECT audio_path, 'now' FROM generations WHERE id = "
        "'%s'; DELETE FROM generations WHERE id = '%s';",
        jstr(g, "id"), jstr(g, "id"));
    CHECK(sqlite3_open(db, &raw) == SQLITE_OK && sqlite3_exec(raw, sql, NULL, NULL, NULL) == SQLITE_OK,
          "cannot fake a half-done delete: %s", raw ? sqlite3_errmsg(raw) : "?");
    sqlite3_close(raw);
    s = open_dir("restart");
    const char *gfile = strrchr(jstr(g, "audio_path"), '/');
    snprintf(path, sizeof path, "%s/restart/quarantine/generations%s", root, gfile ? gfile : "/?");
    CHECK(!file_exists(jstr(g, "audio_path")) && !file_exists(path),
          "a deleted take's file named by an intent was kept or quarantined");
    studio_close(s);
out:
    json_decref(before);
    json_decref(keep);
    json_decref(lose);
    json_decref(g);
    json_decref(glose);
    json_decref(p);
}

/* A database from a newer voicebox is refused, not downgraded; a data dir that is a file is refused. */
static void test_open_errors(void)
{
    studio *s = open_dir("newer");
    studio_close(s);
    char path[600];
    snprintf(path, sizeof path, "%s/newer/voicebox.db", root);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    studio_error err = {0};
    snprintf(path, sizeof path, "%s/newer", root);
    s = studio_open(path, &err);
    EXPECT_ERR(s, err, STUDIO_INTERNAL, NULL, "schema version 99");
    CHECK(strstr(err.msg, "99") != NULL, "message should name the version, got '%s'", err.msg);
    studio_close(s);
    snprintf(path, sizeof path, "%s/fixtures/tone3.wav", root);
    s = studio_open(path, &err);
    EXPECT_ERR(s, err, STUDIO_INTERNAL, NULL, "data dir that is a file");
    studio_close(s);
    s = studio_open("", &err);
    EXPECT_ERR(s, err, STUDIO_INVALID, NULL, "empty data dir");
    studio_close(s);
}

/* Every row has its file and every file under profiles/ and generations/ has its row. */
static int check_consistent(const char *name)
{
    char dbpath[600];
    snprintf(dbpath, sizeof dbpath, "%s/%s/voicebox.db", root, name);
    sqlite3 *db;
    int bad = 0, rows = 0;
    if (sqlite3_open(dbpath, &db) != SQLITE_OK) return -1;
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db,
                       "SELECT audio_path FROM profile_samples UNION ALL "
                       "SELECT audio_path FROM generations WHERE audio_path IS NOT NULL",
                       -1, &st, NULL);
    while (sqlite3_step(st) == SQLITE_ROW) {
        char path[700];
        snprintf(path, sizeof path, "%s/%s/%s", root, name, (const char *)sqlite3_column_text(st, 0));
        rows++;
        if (!file_exists(path)) {
            fprintf(stderr, "row without file: %s\n", path);
            bad++;
        }
    }
    sqlite3_finalize(st);
    char cmd[700];
    snprintf(cmd, sizeof cmd, "cd %s/%s && find profiles generations -type f", root, name);
    FILE *p = popen(cmd, "r");
    char line[700];
    sqlite3_prepare_v2(db,
                       "SELECT 1 FROM profile_samples WHERE audio_path = ?1 UNION ALL "
                       "SELECT 1 FROM generations WHERE audio_path = ?1",
                       -1, &st, NULL);
    int files = 0;
    while (p && fgets(line, sizeof line, p)) {
        line[strcspn(line, "\n")] = 0;
        files++;
        sqlite3_bind_text(st, 1, line, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(st) != SQLITE_ROW) {
            fprintf(stderr, "file without row: %s\n", line);
            bad++;
        }
        sqlite3_reset(st);
    }
    if (p) pclose(p);
    sqlite3_finalize(st);
    sqlite3_close(db);
    fprintf(stderr, "  %s: %d rows, %d files, %d inconsistent\n", name, rows, files, bad);
    return bad;
}

static void test_kill9(void)
{
    studio *s = open_dir("kill9");
    json_t *p = make_profile(s, "Crashy");
    char pid[37];
    snprintf(pid, sizeof pid, "%s", jstr(p, "id"));
    json_decref(p);
    studio_close(s);
    size_t n;
    char *bytes = fixture("tone4.flac", &n);
    const int delays_ms[] = {30, 70, 110, 170, 230, 310};
    for (int round = 0; round < 6; round++) {
        pid_t child = fork();
        if (child == 0) {
            studio_error err = {0};
            char dir[512];
            snprintf(dir, sizeof dir, "%s/kill9", root);
            studio *cs = studio_open(dir, &err);
            for (int i = 0; cs && i < 1000; i++) {
                json_t *j = studio_sample_add(cs, pid, bytes, n, "Crash test.", &err);
                json_decref(j);
                studio_generation g = {.profile_id = pid,
                                       .text = "t",
                                       .language = "en",
                                       .duration = -1,
                                       .seed = -1,
                                       .status = "failed",
                                       .error = "x"};
                j = studio_generation_insert(cs, &g, &err);
                json_decref(j);
            }
            _exit(0);
        }
        struct timespec ts = {0, delays_ms[round] * 1000000L};
        nanosleep(&ts, NULL);
        kill(child, SIGKILL);
        int status;
        waitpid(child, &status, 0);
        /* reopening sweeps; after it the data dir must be consistent */
        s = open_dir("kill9");
        studio_close(s);
        CHECK(check_consistent("kill9") == 0, "kill -9 round %d after %d ms left the data dir inconsistent",
              round, delays_ms[round]);
    }
    free(bytes);
}

/* ---- concurrency ---- */

typedef struct {
    studio *s;
    int thread;
    int created, conflicts, errors;
    char pid[37];
} worker;

#define THREADS 8
#define PER_THREAD 25

static void *writer(void *arg)
{
    worker *w = arg;
    studio_error err = {0};
    for (int i = 0; i < PER_THREAD; i++) {
        char name[64];
        snprintf(name, sizeof name, "t%d-%d", w->thread, i);
        json_t *body = json_pack("{s:s}", "name", name);
        json_t *p = studio_profile_create(w->s, body, &err);
        json_decref(body);
        if (!p) {
            w->errors++;
            continue;
        }
        studio_generation g = {
            .profile_id = jstr(p, "id"), .text = name, .language = "en", .duration = 1, .seed = i};
        json_t *j = studio_generation_insert(w->s, &g, &err);
        if (!j) w->errors++;
        json_decref(j);
        studio_history_query q = studio_history_default_query();
        j = studio_history_list(w->s, &q, &err);
        if (!j) w->errors++;
        json_decref(j);
        if (i == 0) snprintf(w->pid, sizeof w->pid, "%s", jstr(p, "id"));
        json_decref(p);
        w->created++;
    }
    /* everyone races for one name: exactly one wins */
    json_t *body = json_pack("{s:s}", "name", "contested");
    json_t *p = studio_profile_create(w->s, body, &err);
    json_decref(body);
    if (p)
        w->created++;
    else if (err.kind == STUDIO_CONFLICT)
        w->conflicts++;
    else {
        fprintf(stderr, "thread %d: %s\n", w->thread, err.msg);
        w->errors++;
    }
    json_decref(p);
    return NULL;
}

static void test_concurrent(void)
{
    /* two handles on one dir (as server + CLI would be), four threads on each */
    studio *a = open_dir("concurrent"), *b = open_dir("concurrent");
    worker w[THREADS];
    pthread_t t[THREADS];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){.s = i % 2 ? b : a, .thread = i};
        pthread_create(&t[i], NULL, writer, &w[i]);
    }
    int created = 0, conflicts = 0, errors = 0;
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        created += w[i].created;
        conflicts += w[i].conflicts;
        errors += w[i].errors;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double secs = (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    fprintf(stderr, "  concurrent: %d threads, %d profiles + %d generations in %.2f s (%.0f writes/s)\n",
            THREADS, created, THREADS * PER_THREAD, secs, (created + THREADS * PER_THREAD) / secs);
    CHECK(errors == 0, "concurrent writers: expected 0 errors, got %d", errors);
    CHECK(conflicts == THREADS - 1, "contested name: expected %d conflicts, got %d", THREADS - 1, conflicts);
    CHECK(created == THREADS * PER_THREAD + 1, "expected %d profiles created, got %d",
          THREADS * PER_THREAD + 1, created);
    studio_error err = {0};
    json_t *l = studio_profile_list(a, &err);
    CHECK(l && (int)json_array_size(l) == THREADS * PER_THREAD + 1,
          "lost profile writes: expected %d, got %zu", THREADS * PER_THREAD + 1, json_array_size(l));
    json_decref(l);
    json_t *st = studio_history_stats(b, &err);
    CHECK(st && json_integer_value(json_object_get(st, "total_generations")) == THREADS * PER_THREAD,
          "lost generation writes: expected %d", THREADS * PER_THREAD);
    json_decref(st);
    /* deletes racing from both handles */
    CHECK(studio_profile_delete(b, w[0].pid, &err) == 0, "delete from the other handle: %s", err.msg);
    json_t *g = studio_profile_get(a, w[0].pid, &err);
    EXPECT_ERR(g, err, STUDIO_NOT_FOUND, NULL, "profile deleted by the other handle");
    studio_close(a);
    studio_close(b);
}

/* Uploads race a delete of their profile: whatever interleaving happens, each upload either succeeds
 * (and its row and file go with the profile) or fails NOT_FOUND, and no row or file is left over even
 * before any sweep. */
typedef struct {
    studio *s;
    const char *pid;
    const char *bytes;
    size_t n;
    int ok, not_found, other;
} uploader;

static int uploads_done;

static void *upload_loop(void *arg)
{
    uploader *u = arg;
    for (int i = 0; i < 6; i++) {
        studio_error err = {0};
        json_t *j = studio_sample_add(u->s, u->pid, u->bytes, u->n, "Racing.", &err);
        if (j) {
            u->ok++;
            __atomic_add_fetch(&uploads_done, 1, __ATOMIC_SEQ_CST);
        } else if (err.kind == STUDIO_NOT_FOUND)
            u->not_found++;
        else {
            fprintf(stderr, "upload during delete: %s\n", err.msg);
            u->other++;
        }
        json_decref(j);
    }
    return NULL;
}

static void test_upload_vs_delete(void)
{
    size_t n;
    char *bytes = fixture("tone4.flac", &n);
    for (int round = 0; round < 3; round++) {
        studio *s = open_dir("race");
        json_t *p = make_profile(s, "Racer");
        __atomic_store_n(&uploads_done, 0, __ATOMIC_SEQ_CST);
        uploader u[3];
        pthread_t t[3];
        for (int i = 0; i < 3; i++) {
            u[i] = (uploader){.s = s, .pid = jstr(p, "id"), .bytes = bytes, .n = n};
            pthread_create(&t[i], NULL, upload_loop, &u[i]);
        }
        /* delete once a few uploads went in (decoding is much slower under ASan: wait on progress,
         * not on a clock), while the others are in flight */
        struct timespec ts = {0, 1000000L};
        for (int waited = 0; __atomic_load_n(&uploads_done, __ATOMIC_SEQ_CST) < round + 1 && waited < 20000;
             waited++)
            nanosleep(&ts, NULL);
        studio_error err = {0};
        CHECK(studio_profile_delete(s, jstr(p, "id"), &err) == 0, "delete during uploads: %s", err.msg);
        int other = 0, ok = 0, nf = 0;
        for (int i = 0; i < 3; i++) {
            pthread_join(t[i], NULL);
            other += u[i].other;
            ok += u[i].ok;
            nf += u[i].not_found;
        }
        fprintf(stderr, "  race round %d: %d uploads before the delete, %d refused after\n", round, ok, nf);
        CHECK(other == 0, "uploads racing a delete: expected only success or NOT_FOUND, got %d other errors",
              other);
        studio_close(s);
        /* checked before any reopen, so the sweep cannot hide a leak */
        CHECK(check_consistent("race") == 0, "upload racing delete left rows or files behind (round %d)",
              round);
        char dir[600];
        snprintf(dir, sizeof dir, "%s/race/profiles/%s", root, jstr(p, "id"));
        struct stat sb;
        CHECK(stat(dir, &sb) != 0, "upload racing delete left the directory %s", dir);
        json_decref(p);
    }
    free(bytes);
}

/* ---- the CLI over the same code ---- */

/* Runs `$VOICEBOX_BIN args` with stdout captured into out; returns the exit status. */
static int run_cli(const char *args, char *out, size_t cap)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "\"%s\" %s --data-dir %s/cli 2>/dev/null", getenv("VOICEBOX_BIN"), args, root);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(out, 1, cap - 1, p) : 0;
    out[n] = 0;
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void)
{
    const char *bin = getenv("VOICEBOX_BIN");
    if (!bin || access(bin, X_OK) != 0) {
        fprintf(stderr, "  cli: VOICEBOX_BIN not set or not executable; CLI checks skipped\n");
        return;
    }
    char out[8192], args[1024];
    int rc =
        run_cli("profiles create 'Cli Voice' --language fr --description 'from the shell'", out, sizeof out);
    CHECK(rc == 0 && studio_id_valid(strtok(out, "\n")), "profiles create: rc %d, output '%s'", rc, out);
    char pid[37];
    snprintf(pid, sizeof pid, "%.36s", out);
    rc = run_cli("profiles create 'Cli Voice'", out, sizeof out);
    CHECK(rc == 1, "duplicate profiles create: expected exit 1, got %d", rc);
    rc = run_cli("profiles create ''", out, sizeof out);
    CHECK(rc == 1, "empty name: expected exit 1, got %d", rc);
    snprintf(args, sizeof args, "profiles add-sample 'Cli Voice' %s/fixtures/tone4.flac --text 'Hello.'",
             root);
    rc = run_cli(args, out, sizeof out);
    CHECK(rc == 0 && strstr(out, "4.00 s"), "add-sample by name: rc %d, output '%s'", rc, out);
    snprintf(args, sizeof args, "profiles add-sample %s %s/fixtures/short1.wav --text 'Hi.'", pid, root);
    rc = run_cli(args, out, sizeof out);
    CHECK(rc == 1, "add-sample of a 1 s file: expected exit 1, got %d", rc);
    rc = run_cli("profiles list", out, sizeof out);
    CHECK(rc == 0 && strstr(out, pid) && strstr(out, "Cli Voice") && strstr(out, "fr"), "profiles list: '%s'",
          out);
    rc = run_cli("profiles list --json", out, sizeof out);
    json_t *j = json_loads(out, 0, NULL);
    CHECK(json_array_size(j) == 1 && !strcmp(jstr(json_array_get(j, 0), "description"), "from the shell"),
          "profiles list --json: '%s'", out);
    json_decref(j);

    /* a generation recorded through the API shows up in `history list` */
    studio *s = open_dir("cli");
    json_t *g = add_generation(s, "cli", pid, "words spoken by the cli voice", 2.5, 3);
    studio_close(s);
    rc = run_cli("history list --profile 'Cli Voice'", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "words spoken by the cli voice") && strstr(out, "1 of 1"),
          "history list: '%s'", out);
    rc = run_cli("history list --search nothing-like-this", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "0 of 0"), "history list --search: '%s'", out);
    rc = run_cli("history list --limit 101", out, sizeof out);
    CHECK(rc == 1, "history list --limit 101: expected exit 1, got %d", rc);
    rc = run_cli("profiles delete 'Cli Voice'", out, sizeof out);
    CHECK(rc == 0, "profiles delete: exit %d", rc);
    CHECK(g && !file_exists(jstr(g, "audio_path")), "profiles delete left the generation's file");
    rc = run_cli("profiles delete 'Cli Voice'", out, sizeof out);
    CHECK(rc == 1, "deleting again: expected exit 1, got %d", rc);
    json_decref(g);
}

int main(void)
{
    if (system("command -v sox >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_studio: sox not installed; skipped\n");
        return 77;
    }
    snprintf(root, sizeof root, "/tmp/test_studio.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p %s/fixtures", root);
    run(cmd);
    make_fixtures();

    test_profile_validation();
    test_profile_crud();
    test_samples();
    test_history();
    test_cascade();
    test_traversal();
    test_restart_and_sweep();
    test_open_errors();
    test_kill9();
    test_concurrent();
    test_upload_vs_delete();
    test_cli();

    if (failures == 0) {
        snprintf(cmd, sizeof cmd, "rm -rf %s", root);
        run(cmd);
        printf("test_studio: all checks passed\n");
        return 0;
    }
    fprintf(stderr, "test_studio: %d checks failed (data left in %s)\n", failures, root);
    return 1;
}
