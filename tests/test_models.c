/* test_models.c — the model registry and the studio_models API the server builds on: background downloads
 * with progress that can be waited on, one download per model, delete refused while downloading, cancel on
 * free. Downloads come from tests/hub_mirror.py serving the golden tiny models (skipped without them).
 */
#include "studio/hub_download.h"
#include "studio/models.h"
#include "test_util.h"
#include "hub_mirror.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t file_size(const char *dir, const char *rel)
{
    char path[2200];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

/* Bytes of a golden model as the mirror serves it (its files plus the shared speech tokenizer). */
static uint64_t release_bytes(const char *golden, const char *model)
{
    const char *files[] = {"config.json",       "generation_config.json", "merges.txt",
                           "model.safetensors", "tokenizer_config.json",  "vocab.json"};
    const char *codec[] = {"config.json", "model.safetensors", "preprocessor_config.json"};
    char dir[1024];
    uint64_t total = 0;
    snprintf(dir, sizeof dir, "%s/%s", golden, model);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        total += file_size(dir, files[i]);
    snprintf(dir, sizeof dir, "%s/speech_tokenizer", golden);
    for (size_t i = 0; i < sizeof codec / sizeof codec[0]; i++)
        total += file_size(dir, codec[i]);
    return total;
}

static void test_registry(void)
{
    const studio_model *a = studio_model_find("qwen-tts-1.7B"), *b = studio_model_find("0.6B");
    CHECK(studio_model_count() == 7, "model count: expected 2 TTS + 5 Whisper, got %zu",
          studio_model_count());
    const studio_model *w = studio_model_find("whisper-turbo"), *l = studio_model_find("large");
    CHECK(w && w->whisper && !strcmp(w->repo_id, "openai/whisper-large-v3-turbo"),
          "whisper-turbo: expected a Whisper entry for openai/whisper-large-v3-turbo");
    CHECK(l && l->whisper && !strcmp(l->name, "whisper-large") &&
              !strcmp(l->repo_id, "openai/whisper-large-v3"),
          "large: expected whisper-large / openai/whisper-large-v3");
    CHECK(!strcmp(studio_model_size_list(), "1.7B or 0.6B"), "TTS size list: %s", studio_model_size_list());
    CHECK(a && !strcmp(a->repo_id, "Qwen/Qwen3-TTS-12Hz-1.7B-Base"),
          "qwen-tts-1.7B: expected the 1.7B Base repo");
    CHECK(b && !strcmp(b->name, "qwen-tts-0.6B") && !strcmp(b->repo_id, "Qwen/Qwen3-TTS-12Hz-0.6B-Base"),
          "0.6B: expected qwen-tts-0.6B / the 0.6B Base repo");
    CHECK(studio_model_find("Qwen/Qwen3-TTS-12Hz-0.6B-Base") == b, "repo id lookup: expected the 0.6B entry");
    CHECK(studio_model_find("qwen-tts-7B") == NULL && studio_model_find(NULL) == NULL,
          "unknown name: expected NULL");
    CHECK(studio_model_default() == a, "default model: expected qwen-tts-1.7B");
    CHECK(!strcmp(studio_dl_status_name(STUDIO_DL_COMPLETE), "complete") &&
              !strcmp(studio_dl_status_name(STUDIO_DL_DOWNLOADING), "downloading") &&
              !strcmp(studio_dl_status_name(STUDIO_DL_ERROR), "error"),
          "status names: expected complete/downloading/error");
}

/* The cache dir must be found in huggingface_hub's order, the one qt_resolve_model_dir reads too. */
static void test_cache_dir(void)
{
    static const struct {
        const char *hub, *legacy, *home, *xdg, *user, *want;
    } cases[] = {
        {"/a", "/b", "/c", "/d", "/e", "/a"},
        {NULL, "/b", "/c", "/d", "/e", "/b"},
        {NULL, NULL, "/c", "/d", "/e", "/c/hub"},
        {NULL, NULL, NULL, "/d", "/e", "/d/huggingface/hub"},
        {NULL, NULL, NULL, NULL, "/e", "/e/.cache/huggingface/hub"},
        {"", "", "", "", "/e", "/e/.cache/huggingface/hub"},
    };
    const char *names[] = {"HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME", "HOME"};
    char *saved[5];
    for (int k = 0; k < 5; k++)
        saved[k] = getenv(names[k]) ? strdup(getenv(names[k])) : NULL;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *vals[] = {cases[i].hub, cases[i].legacy, cases[i].home, cases[i].xdg, cases[i].user};
        for (int k = 0; k < 5; k++)
            vals[k] ? setenv(names[k], vals[k], 1) : unsetenv(names[k]);
        char *got = qt_hub_cache_dir();
        CHECK(got && !strcmp(got, cases[i].want), "cache dir case %zu: expected %s, got %s", i, cases[i].want,
              got ? got : "(null)");
        free(got);
    }
    for (int k = 0; k < 5; k++) {
        saved[k] ? setenv(names[k], saved[k], 1) : unsetenv(names[k]);
        free(saved[k]);
    }
}

typedef struct {
    int calls, completes;
    uint64_t last;
    int backwards;
} cb_count;

static void on_progress(const char *name, uint64_t current, uint64_t total, const char *filename,
                        studio_dl_status status, void *user)
{
    (void)name;
    (void)total;
    (void)filename;
    cb_count *c = user;
    c->calls++;
    c->completes += status == STUDIO_DL_COMPLETE;
    if (status == STUDIO_DL_DOWNLOADING && current < c->last) c->backwards++;
    c->last = current;
}

int main(void)
{
    const char *golden = golden_dir();
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/tiny-a/config.json", golden);
    if (!*golden || access(probe, R_OK) != 0 || system("command -v python3 >/dev/null") != 0) {
        printf("golden fixtures or python3 absent: skipped\n");
        return 77;
    }
    test_registry();
    test_cache_dir();

    char tmp[] = "/tmp/test_models.XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    char hf_home[64];
    snprintf(hf_home, sizeof hf_home, "%s/hf", tmp);
    setenv("HF_HOME", hf_home, 1);
    unsetenv("HF_HUB_CACHE");
    unsetenv("HUGGINGFACE_HUB_CACHE");
    unsetenv("HF_HUB_OFFLINE");
    char map17[1200], map06[1200];
    snprintf(map17, sizeof map17, "Qwen/Qwen3-TTS-12Hz-1.7B-Base=%s/tiny-b", golden);
    snprintf(map06, sizeof map06, "Qwen/Qwen3-TTS-12Hz-0.6B-Base=%s/tiny-a", golden);
    hub_mirror mirror =
        hub_mirror_start("--throttle-kbps", "6000", "--map", map17, "--map", map06, (char *)NULL);
    CHECK(mirror.port > 0, "hub_mirror.py: expected a port on its first line");
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", mirror.port);
    setenv("HF_ENDPOINT", endpoint, 1);

    const studio_model *small = studio_model_find("0.6B"), *big = studio_model_find("1.7B");
    studio_model_state st;
    studio_error err = {0};
    CHECK(studio_models_state(NULL, small, &st, &err) == 0 && !st.downloaded && !st.downloading &&
              st.size_on_disk == 0,
          "state before any download: expected not downloaded, 0 bytes; got %d, %llu", st.downloaded,
          (unsigned long long)st.size_on_disk);

    /* background download, progress waited on as the server's SSE route will */
    studio_models *ms = studio_models_new();
    CHECK(studio_models_download_start(ms, small, &err) == 0, "download_start(0.6B): %s", err.msg);
    CHECK(studio_models_download_start(ms, small, &err) == -1 && err.kind == STUDIO_CONFLICT,
          "second download_start(0.6B): expected STUDIO_CONFLICT, got kind %d '%s'", err.kind, err.msg);
    CHECK(studio_models_delete(ms, small, &err) == -1 && err.kind == STUDIO_CONFLICT,
          "delete while downloading: expected STUDIO_CONFLICT, got kind %d '%s'", err.kind, err.msg);
    CHECK(studio_models_state(ms, small, &st, &err) == 0 && st.downloading,
          "state while downloading: expected "
          "downloading");
    uint64_t want = release_bytes(golden, "tiny-a"), seq = 0, last = 0;
    int events = 0, partial_seen = 0, backwards = 0;
    studio_model_progress p = {0};
    double t0 = now_s();
    while (now_s() - t0 < 60.0) {
        if (!studio_models_progress_wait(ms, small, seq, 1000, &p)) continue;
        seq = p.seq;
        events++;
        if (p.status == STUDIO_DL_DOWNLOADING && p.current > 0 && p.current < p.total) partial_seen = 1;
        if (p.status == STUDIO_DL_DOWNLOADING && p.current < last) backwards++;
        last = p.current;
        if (p.status != STUDIO_DL_DOWNLOADING) break;
    }
    printf("0.6B in the background: %d progress states seen, %.2f s, final %s %llu/%llu bytes\n", events,
           now_s() - t0, studio_dl_status_name(p.status), (unsigned long long)p.current,
           (unsigned long long)p.total);
    CHECK(p.status == STUDIO_DL_COMPLETE, "background download: expected complete, got %s '%s'",
          studio_dl_status_name(p.status), p.error);
    CHECK(p.total == want && p.current == want, "final progress: expected %llu/%llu bytes, got %llu/%llu",
          (unsigned long long)want, (unsigned long long)want, (unsigned long long)p.current,
          (unsigned long long)p.total);
    CHECK(partial_seen && events >= 3,
          "progress: expected several states with 0 < current < total, got %d states", events);
    CHECK(backwards == 0, "progress: expected current never to go back, it did %d times", backwards);
    CHECK(studio_models_state(ms, small, &st, &err) == 0 && st.downloaded && !st.downloading &&
              strstr(st.path, "/snapshots/") && st.size_on_disk == want,
          "state after download: expected downloaded at a snapshot with %llu bytes, got %d '%s' %llu",
          (unsigned long long)want, st.downloaded, st.path, (unsigned long long)st.size_on_disk);

    /* blocking download with a callback, while the background slot is free again */
    cb_count c = {0};
    CHECK(studio_models_download(ms, big, on_progress, &c, &err) == 0, "download(1.7B): %s", err.msg);
    CHECK(c.completes == 1 && c.calls >= 3 && c.backwards == 0,
          "1.7B callbacks: expected >= 3 calls ending in one complete, never backwards; got %d calls, %d "
          "complete, %d backwards",
          c.calls, c.completes, c.backwards);
    CHECK(studio_models_state(ms, big, &st, &err) == 0 && st.downloaded, "1.7B: expected downloaded");

    /* freeing the context cancels a running download and waits for its thread; the partial file stays */
    CHECK(studio_models_delete(ms, small, &err) == 0, "delete(0.6B): %s", err.msg);
    CHECK(studio_models_state(ms, small, &st, &err) == 0 && !st.downloaded && st.size_on_disk == 0,
          "state after delete: expected nothing on disk, got %llu bytes",
          (unsigned long long)st.size_on_disk);
    CHECK(studio_models_delete(ms, small, &err) == -1 && err.kind == STUDIO_NOT_FOUND,
          "delete of an absent model: expected STUDIO_NOT_FOUND, got kind %d", err.kind);
    CHECK(studio_models_download_start(ms, small, &err) == 0, "download_start after delete: %s", err.msg);
    t0 = now_s();
    while (now_s() - t0 < 30.0) {
        studio_models_progress_wait(ms, small, seq, 200, &p);
        seq = p.seq;
        if (p.current > 2000000 || p.status != STUDIO_DL_DOWNLOADING) break;
    }
    double t1 = now_s();
    studio_models_free(ms);
    double took = now_s() - t1;
    printf("cancelled at %llu of %llu bytes; free took %.3f s\n", (unsigned long long)p.current,
           (unsigned long long)p.total, took);
    CHECK(p.status == STUDIO_DL_DOWNLOADING, "cancel test: expected the download still running, got %s",
          studio_dl_status_name(p.status));
    CHECK(took < 5.0, "studio_models_free during a download: expected it to return quickly, took %.1f s",
          took);
    CHECK(
        studio_models_state(NULL, small, &st, &err) == 0 && !st.downloaded && st.size_on_disk > 0,
        "after a cancelled download: expected partial bytes kept for resuming, got downloaded %d, %llu bytes",
        st.downloaded, (unsigned long long)st.size_on_disk);

    hub_mirror_stop(&mirror);
    /* offline: present models still resolve; a pull of the complete one needs no network */
    CHECK(studio_models_download(NULL, big, NULL, NULL, &err) == 0, "offline download of a present model: %s",
          err.msg);
    CHECK(studio_models_download(NULL, small, NULL, NULL, &err) == -1 && strstr(err.msg, endpoint),
          "offline download of a partial model: expected an error naming %s, got '%s'", endpoint, err.msg);
    studio_models_free(NULL);

    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmp);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    printf("all model checks passed\n");
    return 0;
}
