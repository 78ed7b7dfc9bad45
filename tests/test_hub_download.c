/* test_hub_download.c — a blob's download when its partial file is not what it seems (hub_download.c,
 * fetch_blob_once): a server that refuses to resume makes the download start the blob over; a partial file
 * that cannot be truncated or flushed ends the download with an error that says so, and no file
 * descriptor is left open. Real files and a real HTTP server (tests/hub_mirror.py --refuse-ranges serving
 * the golden tiny-a model); the faults come from what the partial file is: a sealed memfd that refuses to
 * shrink, /dev/null that refuses fsync. Skipped without the golden fixtures or python3.
 */
#include "studio/hub_download.h"
#include "test_util.h"
#include "hub_mirror.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPO "Qwen/Qwen3-TTS-12Hz-0.6B-Base"

static int open_fds(void)
{
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d) closedir(d);
    return n - 1; /* the DIR's own */
}

static int download(const char *cache, const char *endpoint, studio_error *err)
{
    studio_hub_params p = studio_hub_default_params();
    p.cache_dir = cache;
    p.endpoint = endpoint;
    char snapshot[2048];
    *err = (studio_error){0};
    return studio_hub_download(REPO, &p, snapshot, sizeof snapshot, err);
}

/* The blob names of a finished download in cache (etags), into names; their count. */
static int blob_names(const char *cache, char names[][80], int max)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base/blobs", cache);
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d)) && n < max;)
        if (e->d_name[0] != '.') snprintf(names[n++], 80, "%.79s", e->d_name);
    if (d) closedir(d);
    return n;
}

/* Puts blobs/<name>.incomplete in cache for every name: a copy of `bytes` or, with target, a symlink. */
static void plant(const char *cache, char names[][80], int n, const char *target, const char *bytes)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/models--Qwen--Qwen3-TTS-12Hz-0.6B-Base/blobs", cache);
    snprintf(path, sizeof path, "mkdir -p '%s'", dir);
    CHECK(system(path) == 0, "cannot create %s", dir);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s.incomplete", dir, names[i]);
        if (target) {
            CHECK(symlink(target, path) == 0, "symlink %s -> %s failed", path, target);
        } else {
            FILE *f = fopen(path, "wb");
            CHECK(f && fwrite(bytes, 1, strlen(bytes), f) == strlen(bytes), "cannot write %s", path);
            if (f) fclose(f);
        }
    }
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
    char tmp[] = "/tmp/test_hub_download.XXXXXX";
    if (!mkdtemp(tmp)) return 1;
    char map[1200];
    snprintf(map, sizeof map, REPO "=%s/tiny-a", golden);
    hub_mirror mirror = hub_mirror_start("--refuse-ranges", "--map", map, (char *)NULL);
    CHECK(mirror.port > 0, "hub_mirror.py: expected a port on its first line");
    char endpoint[64], cache[4][256];
    snprintf(endpoint, sizeof endpoint, "http://127.0.0.1:%d", mirror.port);
    for (int i = 0; i < 4; i++)
        snprintf(cache[i], sizeof cache[i], "%s/cache%d", tmp, i);
    studio_error err;

    /* a clean download, to learn the blob names */
    CHECK(download(cache[0], endpoint, &err) == 0, "clean download: %s", err.msg);
    char names[64][80];
    int n = blob_names(cache[0], names, 64);
    CHECK(n >= 5, "expected the release's blobs, found %d", n);

    /* partial files the server will not resume from (416): each blob starts over and the download ends well
     */
    plant(cache[1], names, n, NULL, "not the start of any blob");
    CHECK(download(cache[1], endpoint, &err) == 0,
          "partials refused by the server: expected a fresh start, got '%s'", err.msg);

    /* a partial file that cannot be emptied for the fresh start: the error says so (it said nothing) */
    int memfd = memfd_create("partial", MFD_ALLOW_SEALING);
    CHECK(memfd >= 0 && write(memfd, "0123456789", 10) == 10 && fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK) == 0,
          "sealed memfd setup failed");
    char target[64];
    snprintf(target, sizeof target, "/proc/%d/fd/%d", (int)getpid(), memfd);
    plant(cache[2], names, n, target, NULL);
    int before = open_fds();
    CHECK(download(cache[2], endpoint, &err) == -1 && strstr(err.msg, "cannot truncate"),
          "partial that cannot shrink: expected an error naming the truncate, got '%s'", err.msg);
    CHECK(open_fds() == before, "partial that cannot shrink: %d descriptors open before, %d after", before,
          open_fds());
    printf("unshrinkable partial: %s\n", err.msg);
    close(memfd);

    /* a partial file that cannot be flushed: the error says so and its descriptor is closed (it leaked) */
    plant(cache[3], names, n, "/dev/null", NULL);
    before = open_fds();
    CHECK(download(cache[3], endpoint, &err) == -1 && strstr(err.msg, "cannot flush"),
          "partial that cannot be flushed: expected an error naming the flush, got '%s'", err.msg);
    CHECK(open_fds() == before, "partial that cannot be flushed: %d descriptors open before, %d after",
          before, open_fds());
    printf("unflushable partial: %s\n", err.msg);

    hub_mirror_stop(&mirror);
    char rm[128];
    snprintf(rm, sizeof rm, "rm -rf '%s'", tmp);
    if (system(rm) != 0) fprintf(stderr, "warning: cannot remove %s\n", tmp);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("test_hub_download: ok\n");
    return 0;
}
