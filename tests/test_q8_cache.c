/* test_q8_cache.c — the int8 weights cache (engine/q8_cache.c) through the public API, on a copy of the
 * golden tiny-a model: every load, with or without the cache, whole or damaged, generates the same codes and
 * samples as quantizing at load; a missing, damaged, cut, other-version or stale file is rewritten; a
 * directory that cannot be written costs nothing but the cache; bf16 never uses it.
 */
#include "engine/qt.h"

#include "test_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

typedef struct {
    int n_frames;
    int32_t *codes;
    size_t n_samples;
    float *audio;
} run;

/* Loads dir (int8 unless bf16), generates 10 greedy frames from a fixed x-vector; *state gets
 * qt_model_weights_cache. 0 when it loaded and generated. */
static int generate(const char *dir, const char *cache_dir, int bf16, run *r, const char **state)
{
    qt_load_params lp = qt_load_default_params();
    lp.precision = bf16 ? QT_PRECISION_BF16 : QT_PRECISION_INT8;
    lp.n_threads = 2;
    lp.cache_dir = cache_dir;
    qt_error err = {0};
    qt_model *m = qt_model_load(dir, &lp, &err);
    CHECK(m != NULL, "load (cache %s): %s", cache_dir ? cache_dir : "none", err.msg);
    if (!m) return -1;
    *state = qt_model_weights_cache(m); /* a string literal: outlives the model */
    qt_voice_prompt vp = test_xvector_prompt(m);
    qt_gen_output out = {0};
    qt_gen_params p = qt_gen_default_params();
    p.max_frames = 10;
    p.ignore_eos = 1;
    p.greedy = 1;
    p.out = &out;
    int rc = qt_generate(m, &vp, "The cache keeps what was quantized.", &p, &err);
    CHECK(rc == 0, "generate: %s", err.msg);
    r->n_frames = out.n_frames;
    r->codes = out.codes;
    r->n_samples = out.n_samples;
    r->audio = out.audio;
    free(vp.xvector);
    qt_model_free(m);
    return rc;
}

static void same(const run *a, const run *b, const char *what)
{
    int eq = a->n_frames == b->n_frames && a->n_samples == b->n_samples &&
             !memcmp(a->codes, b->codes, sizeof(int32_t) * (size_t)a->n_frames * QT_CODEBOOKS) &&
             !memcmp(a->audio, b->audio, sizeof(float) * a->n_samples);
    CHECK(eq, "%s: %d frames / %zu samples, not the %d / %zu of quantizing at load (or other values)", what,
          b->n_frames, b->n_samples, a->n_frames, a->n_samples);
    printf("%s %s: %d frames, %zu samples\n", eq ? "ok  " : "FAIL", what, b->n_frames, b->n_samples);
}

/* The one *.q8 file in dir (path into buf), and no temp file beside it. */
static int cache_file(const char *dir, char *buf, size_t n)
{
    DIR *d = opendir(dir);
    if (!d) return 0;
    int files = 0, temps = 0;
    for (struct dirent *e; (e = readdir(d));) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.') continue;
        if (len > 3 && !strcmp(e->d_name + len - 3, ".q8")) {
            snprintf(buf, n, "%s/%s", dir, e->d_name);
            files++;
        } else {
            temps++;
        }
    }
    closedir(d);
    CHECK(temps == 0, "%d other files in %s", temps, dir);
    return files;
}

static void patch(const char *path, long at, int whence, unsigned char xor_with)
{
    int fd = open(path, O_RDWR);
    CHECK(fd >= 0, "open %s", path);
    if (fd < 0) return;
    unsigned char b = 0;
    off_t off = lseek(fd, at, whence);
    CHECK(pread(fd, &b, 1, off) == 1, "read a byte of %s", path);
    b ^= xor_with;
    CHECK(pwrite(fd, &b, 1, off) == 1, "write a byte of %s", path);
    close(fd);
}

/* Damage the file with `damage`, load: rewritten, same output; then a hit again. */
static void rewritten(const char *model, const char *cache, const char *file, const run *want,
                      const char *what)
{
    run r = {0};
    const char *state = NULL;
    if (generate(model, cache, 0, &r, &state) == 0) same(want, &r, what);
    CHECK(state && !strcmp(state, "written"), "%s: cache %s, expected written", what,
          state ? state : "unused");
    free(r.codes);
    free(r.audio);
    char again[2048];
    CHECK(cache_file(cache, again, sizeof again) == 1 && !strcmp(again, file), "%s: one file, the same name",
          what);
    if (generate(model, cache, 0, &r, &state) == 0) same(want, &r, "then from the cache again");
    CHECK(state && !strcmp(state, "hit"), "%s, next load: cache %s, expected hit", what,
          state ? state : "unused");
    free(r.codes);
    free(r.audio);
}

int main(void)
{
    char src[1200], tmp[] = "/tmp/voicebox-q8cache-XXXXXX", model[1300], cache[1300], file[2048], cmd[8192];
    snprintf(src, sizeof src, "%s/tiny-a", golden_dir());
    if (!*golden_dir() || access(src, R_OK)) {
        printf("golden fixtures not found: skipped\n");
        return 77;
    }
    if (!mkdtemp(tmp)) return 1;
    snprintf(model, sizeof model, "%s/model", tmp);
    snprintf(cache, sizeof cache, "%s/cache", tmp);
    CHECK(mkdir(cache, 0755) == 0, "mkdir %s", cache);
    /* a copy (its mtime is changed below); tiny-a's speech_tokenizer is a file naming the shared one */
    snprintf(cmd, sizeof cmd,
             "cp -r '%s' '%s' && rm '%s/speech_tokenizer' && ln -s '%s/speech_tokenizer' '%s'", src, model,
             model, golden_dir(), model);
    if (system(cmd) != 0) return 1;

    run want = {0}, r = {0};
    const char *state = "";
    if (generate(model, NULL, 0, &want, &state)) return 1;
    CHECK(state == NULL, "no cache_dir: qt_model_weights_cache is %s, expected NULL", state);

    if (generate(model, cache, 0, &r, &state) == 0) same(&want, &r, "first load with a cache (quantized)");
    CHECK(state && !strcmp(state, "written"), "first load: cache %s, expected written",
          state ? state : "unused");
    free(r.codes);
    free(r.audio);
    CHECK(cache_file(cache, file, sizeof file) == 1, "one .q8 file in %s", cache);

    if (generate(model, cache, 0, &r, &state) == 0) same(&want, &r, "second load (from the cache)");
    CHECK(state && !strcmp(state, "hit"), "second load: cache %s, expected hit", state ? state : "unused");
    free(r.codes);
    free(r.audio);

    patch(file, -1, SEEK_END, 0x5a); /* a byte of the last matrix's data */
    rewritten(model, cache, file, &want, "one data byte changed");
    patch(file, 8, SEEK_SET, 0x01); /* the format version */
    rewritten(model, cache, file, &want, "another format version");
    CHECK(truncate(file, 4096) == 0, "cut %s", file);
    rewritten(model, cache, file, &want, "file cut short");
    char weights[1400];
    snprintf(weights, sizeof weights, "%s/model.safetensors", model);
    struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}}; /* the model file changed since */
    CHECK(utimensat(AT_FDCWD, weights, times, 0) == 0, "touch %s", weights);
    rewritten(model, cache, file, &want, "model file newer than the cache");

    /* Proof that the weights are read from the file: the first matrix's scales zeroed and the checksum made
     * to match, a load takes them (a hit) and generates something else. */
    int fd = open(file, O_RDWR);
    struct stat st;
    CHECK(fd >= 0 && fstat(fd, &st) == 0, "open %s", file);
    uint8_t *bytes = fd >= 0 ? malloc((size_t)st.st_size) : NULL;
    if (bytes && pread(fd, bytes, (size_t)st.st_size, 0) == st.st_size) {
        int32_t rows, groups;
        uint64_t scale_off, sum;
        memcpy(&rows, bytes + 64 + 96, 4); /* entry 0: name[96], rows, cols, groups, pad, q_off, scale_off */
        memcpy(&groups, bytes + 64 + 104, 4);
        memcpy(&scale_off, bytes + 64 + 120, 8);
        memset(bytes + scale_off, 0, sizeof(float) * (size_t)rows * groups);
        sum = XXH3_64bits(bytes + 64, (size_t)st.st_size - 64);
        memcpy(bytes + 48, &sum, 8); /* the header's checksum */
        CHECK(pwrite(fd, bytes, (size_t)st.st_size, 0) == st.st_size, "rewrite %s", file);
    }
    free(bytes);
    if (fd >= 0) close(fd);
    if (generate(model, cache, 0, &r, &state) == 0) {
        int differs = r.n_frames != want.n_frames ||
                      memcmp(r.codes, want.codes, sizeof(int32_t) * (size_t)r.n_frames * QT_CODEBOOKS) != 0;
        CHECK(state && !strcmp(state, "hit") && differs,
              "a forged cache file (first matrix zeroed, checksum matching): cache %s, output %s",
              state ? state : "unused", differs ? "differs" : "the same: the weights did not come from it");
        printf("%s a forged cache file is used as it is: its output differs\n", differs ? "ok  " : "FAIL");
    }
    free(r.codes);
    free(r.audio);

    char blocked[1400];
    snprintf(blocked, sizeof blocked, "%s/model/config.json/cache", tmp); /* under a regular file */
    if (generate(model, blocked, 0, &r, &state) == 0) same(&want, &r, "cache directory not writable");
    CHECK(state && !strcmp(state, "not written"), "unwritable: cache %s, expected not written",
          state ? state : "unused");
    free(r.codes);
    free(r.audio);

    char bf16_cache[1400];
    snprintf(bf16_cache, sizeof bf16_cache, "%s/bf16", tmp);
    if (generate(model, bf16_cache, 1, &r, &state) == 0) {
        CHECK(state == NULL, "bf16: qt_model_weights_cache is %s, expected NULL", state);
        CHECK(access(bf16_cache, F_OK) != 0, "bf16 made %s", bf16_cache);
    }
    free(r.codes);
    free(r.audio);

    free(want.codes);
    free(want.audio);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) return 1;
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures ? 1 : 0;
}
