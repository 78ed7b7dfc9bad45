/* test_voice_prompt.c — voice prompts: creation against the golden fixtures, and the prompt file.
 *
 * qt_prompt_create on tiny-a and tiny-b from audio/ref_24k.wav gives the golden x-vector (cosine >= 0.99999,
 * max abs <= 1e-3, printed) and exactly the golden reference codes; x-vector mode holds no codes; 48 kHz
 * input is resampled; clipping warns; trailing silence is kept unless asked; bad audio and transcripts are
 * refused; a model loaded without its codec makes x-vector prompts and refuses ICL ones. The file: a
 * save/load round trip is exact; tiny-a's prompt refuses to load as tiny-b's and vice versa (MISMATCH); a
 * missing file is NOT_FOUND; every truncation, every single-bit flip, huge counts, trailing bytes, bad
 * codes/x-vector/UTF-8 with a valid checksum and a wrong version give a reason, never a crash; no temporary
 * file is left behind.
 */
#include "audio/audio.h"
#include "engine/qt.h"
#include "engine/safetensors.h"
#include "test_util.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *REF_TEXT = "The quick brown fox jumps over the lazy dog.";
static char tmpdir[] = "/tmp/test_voice_prompt.XXXXXX";

typedef struct {
    int n;
    char last[256];
} warnings;

static void on_warning(const char *msg, void *user)
{
    warnings *w = user;
    w->n++;
    snprintf(w->last, sizeof w->last, "%s", msg);
}

/* ---- creation ---------------------------------------------------------------------------------------- */

static qt_voice_prompt *create_golden(const char *dir, const char *name, qt_model *m, const audio_buf *ref)
{
    char path[4200];
    qt_error err = {0};
    snprintf(path, sizeof path, "%s/expected/%s/golden.safetensors", dir, name);
    st_file *g = st_open(path, &err);
    if (!g) {
        CHECK(0, "%s", err.msg);
        return NULL;
    }
    const st_tensor *xv = st_find(g, "icl.xvector"), *rc = st_find(g, "icl.ref_codes");
    CHECK(xv && rc && xv->dtype == ST_F32 && rc->dtype == ST_I64 && rc->n_dims == 2 && rc->shape[1] == 16,
          "%s: golden icl.xvector / icl.ref_codes missing or misshapen", name);
    qt_prompt_timings tm = {0};
    qt_prompt_params p = qt_prompt_default_params();
    p.timings = &tm;
    qt_voice_prompt *vp = qt_prompt_create(m, ref->samples, ref->n, ref->sample_rate, REF_TEXT, &p, &err);
    CHECK(vp, "%s: qt_prompt_create(ref_24k.wav, ICL): %s", name, err.msg);
    if (!vp || !xv || !rc) {
        st_close(g);
        return vp;
    }
    printf("%s: create %.1f ms (mel %.1f, speaker encoder %.1f, codec %.1f)\n", name,
           tm.resample_ms + tm.mel_ms + tm.speaker_ms + tm.codec_ms, tm.mel_ms, tm.speaker_ms, tm.codec_ms);
    CHECK(vp->mode == QT_PROMPT_ICL && vp->width == (int)xv->n_elements && vp->width == qt_model_hidden(m) &&
              !strcmp(vp->size, qt_model_size(m)) && vp->ref_text && !strcmp(vp->ref_text, REF_TEXT),
          "%s: mode %d width %d size '%s' text '%s'", name, vp->mode, vp->width, vp->size,
          vp->ref_text ? vp->ref_text : "(null)");
    size_t at;
    double max_abs, cos = cosine_max_abs(vp->xvector, xv->data, (size_t)vp->width, &max_abs, &at);
    printf("%s: x-vector cosine %.9f, max abs error %.3g\n", name, cos, max_abs);
    CHECK(cos >= 0.99999 && max_abs <= 1e-3, "%s: x-vector cosine %.9f, max abs %.3g", name, cos, max_abs);
    CHECK(vp->n_frames == (int)rc->shape[0], "%s: %d reference frames, golden %lld", name, vp->n_frames,
          (long long)rc->shape[0]);
    int diff = 0;
    for (int i = 0; vp->n_frames == (int)rc->shape[0] && i < vp->n_frames * 16; i++) {
        int64_t e;
        memcpy(&e, (const uint8_t *)rc->data + 8 * (size_t)i, 8);
        if (vp->codes[i] != e && diff++ < 3)
            fprintf(stderr, "  frame %d codebook %d: expected %lld, got %d\n", i / 16, i % 16, (long long)e,
                    vp->codes[i]);
    }
    printf("%s: reference codes: %d of %d differ from golden\n", name, diff, vp->n_frames * 16);
    CHECK(diff == 0, "%s: %d reference codes differ", name, diff);

    /* x-vector only: same x-vector, no codes, no text */
    qt_voice_prompt *xo = qt_prompt_create(m, ref->samples, ref->n, ref->sample_rate, NULL, NULL, &err);
    CHECK(xo && xo->mode == QT_PROMPT_XVECTOR && xo->n_frames == 0 && !xo->codes && !xo->ref_text,
          "%s: x-vector-only prompt: %s", name, xo ? "has codes or text" : err.msg);
    if (xo)
        CHECK(!memcmp(xo->xvector, vp->xvector, sizeof(float) * (size_t)vp->width),
              "%s: x-vector-only prompt has another x-vector", name);
    qt_prompt_free(xo);

    /* 48 kHz input: resampled inside; the voice must stay the same */
    float *up = NULL;
    size_t n_up = 0;
    audio_error aerr = {0};
    if (audio_resample(ref->samples, ref->n, 24000, 48000, &up, &n_up, &aerr) == 0) {
        xo = qt_prompt_create(m, up, n_up, 48000, NULL, NULL, &err);
        CHECK(xo, "%s: 48 kHz reference: %s", name, err.msg);
        if (xo) {
            cos = cosine_max_abs(xo->xvector, xv->data, (size_t)vp->width, &max_abs, &at);
            printf("%s: x-vector from a 48 kHz copy: cosine %.6f, max abs %.3g\n", name, cos, max_abs);
            CHECK(cos >= 0.999, "%s: 48 kHz x-vector cosine %.6f", name, cos);
        }
        qt_prompt_free(xo);
        free(up);
    }
    st_close(g);
    return vp;
}

static void test_create_errors(qt_model *m, const audio_buf *ref)
{
    qt_error err = {0};
    size_t n = ref->n;
    float *x = calloc(31 * 24000 + 1, sizeof(float));
    memcpy(x, ref->samples, sizeof(float) * n);
    struct {
        const char *what;
        size_t n;
        int rate;
        const char *text;
        const char *needle;
    } cases[] = {
        {"1.5 s", 36000, 24000, REF_TEXT, "1.50 s"},
        {"30.5 s", 732000, 24000, REF_TEXT, "30.50 s"},
        {"empty transcript", n, 24000, "", "empty"},
        {"blank transcript", n, 24000, " \n\t", "empty"},
        {"bad UTF-8 transcript", n, 24000, "caf\xc3", "UTF-8"},
        {"rate 0", n, 0, REF_TEXT, "sample rate"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memset(&err, 0, sizeof err);
        qt_voice_prompt *vp = qt_prompt_create(m, x, cases[i].n, cases[i].rate, cases[i].text, NULL, &err);
        CHECK(!vp && err.kind == QT_ERR_INVALID && strstr(err.msg, cases[i].needle),
              "%s: expected INVALID mentioning '%s', got kind %d '%s'", cases[i].what, cases[i].needle,
              err.kind, err.msg);
        qt_prompt_free(vp);
    }
    x[1000] = NAN;
    memset(&err, 0, sizeof err);
    qt_voice_prompt *vp = qt_prompt_create(m, x, n, 24000, NULL, NULL, &err);
    CHECK(!vp && err.kind == QT_ERR_INVALID && strstr(err.msg, "1000"), "NaN: got kind %d '%s'", err.kind,
          err.msg);
    qt_prompt_free(vp);

    /* clipping: a warning, not an error */
    memcpy(x, ref->samples, sizeof(float) * n);
    for (size_t i = 20000; i < 20100; i++)
        x[i] = i % 2 ? 1.0f : -1.0f;
    warnings w = {0};
    qt_prompt_params p = qt_prompt_default_params();
    p.on_warning = on_warning;
    p.user = &w;
    vp = qt_prompt_create(m, x, n, 24000, NULL, &p, &err);
    CHECK(vp && vp->n_clipped == 100 && w.n == 1 && strstr(w.last, "clip"),
          "clipped reference: prompt %p, n_clipped %d, %d warnings ('%s')", (void *)vp,
          vp ? vp->n_clipped : -1, w.n, w.last);
    qt_prompt_free(vp);
    memset(&w, 0, sizeof w);
    vp = qt_prompt_create(m, ref->samples, n, 24000, NULL, &p, &err);
    CHECK(vp && vp->n_clipped == 0 && w.n == 0, "clean reference: %d warnings ('%s')", w.n, w.last);
    qt_prompt_free(vp);

    /* trailing silence: 3 s appended; kept by default (frames cover it), cut on request */
    memcpy(x, ref->samples, sizeof(float) * n);
    memset(x + n, 0, sizeof(float) * 72000);
    vp = qt_prompt_create(m, x, n + 72000, 24000, REF_TEXT, NULL, &err);
    int kept = vp ? vp->n_frames : -1;
    CHECK(kept == (int)((n + 72000 + 1919) / 1920),
          "3 s of silence appended: expected %d frames, got %d (%s)", (int)((n + 72000 + 1919) / 1920), kept,
          vp ? "" : err.msg);
    qt_prompt_free(vp);
    p = qt_prompt_default_params();
    p.trim_trailing_silence = 1;
    vp = qt_prompt_create(m, x, n + 72000, 24000, REF_TEXT, &p, &err);
    int trimmed = vp ? vp->n_frames : -1;
    printf("3 s of trailing silence: %d frames kept by default, %d with trim_trailing_silence\n", kept,
           trimmed);
    CHECK(vp && trimmed <= (int)((n + 4800 + 1919) / 1920) && trimmed >= (int)(n / 1920) - 8,
          "trimmed: %d frames (the speech alone is %zu samples)", trimmed, n);
    qt_prompt_free(vp);
    free(x);
}

/* ---- the file ---------------------------------------------------------------------------------------- */

static void same_prompt(const char *what, const qt_voice_prompt *a, const qt_voice_prompt *b)
{
    int same = a->mode == b->mode && !strcmp(a->size, b->size) && a->width == b->width &&
               a->n_frames == b->n_frames &&
               !memcmp(a->xvector, b->xvector, sizeof(float) * (size_t)a->width) &&
               (!a->n_frames || !memcmp(a->codes, b->codes, sizeof(int32_t) * 16 * (size_t)a->n_frames)) &&
               !a->ref_text == !b->ref_text && (!a->ref_text || !strcmp(a->ref_text, b->ref_text));
    CHECK(same, "%s: the loaded prompt differs from the saved one", what);
}

static void test_round_trip(const qt_voice_prompt *a, const qt_voice_prompt *b)
{
    char pa[256], pb[256];
    qt_error err = {0};
    snprintf(pa, sizeof pa, "%s/a.prompt", tmpdir);
    snprintf(pb, sizeof pb, "%s/b.prompt", tmpdir);
    CHECK(qt_prompt_save(a, pa, &err) == 0, "save a: %s", err.msg);
    CHECK(qt_prompt_save(b, pb, &err) == 0, "save b: %s", err.msg);
    CHECK(qt_prompt_save(a, pa, &err) == 0, "save a over itself: %s", err.msg);
    qt_voice_prompt *la = qt_prompt_load(pa, a->size, a->width, &err);
    CHECK(la, "load a: %s", err.msg);
    if (la) same_prompt("tiny-a", a, la);
    qt_prompt_free(la);
    la = qt_prompt_load(pa, NULL, 0, &err);
    CHECK(la, "load a (any model): %s", err.msg);
    qt_prompt_free(la);
    qt_voice_prompt *lb = qt_prompt_load(pb, b->size, b->width, &err);
    CHECK(lb, "load b: %s", err.msg);
    if (lb) same_prompt("tiny-b", b, lb);
    qt_prompt_free(lb);

    /* each refuses to load as the other: by size tag and by width */
    struct {
        const char *path, *size;
        int width;
        const char *needle;
    } mm[] = {{pa, b->size, b->width, b->size}, {pb, a->size, a->width, a->size},
              {pa, NULL, b->width, "wide"},     {pb, NULL, a->width, "wide"},
              {pa, b->size, 0, b->size},        {pb, a->size, 0, a->size}};
    for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
        memset(&err, 0, sizeof err);
        qt_voice_prompt *vp = qt_prompt_load(mm[i].path, mm[i].size, mm[i].width, &err);
        printf("load %s as (%s, %d): %s\n", strrchr(mm[i].path, '/') + 1, mm[i].size ? mm[i].size : "any",
               mm[i].width, err.msg);
        CHECK(!vp && err.kind == QT_ERR_MISMATCH && strstr(err.msg, mm[i].needle),
              "load %s as (%s, %d): expected MISMATCH naming '%s', got kind %d '%s'", mm[i].path,
              mm[i].size ? mm[i].size : "any", mm[i].width, mm[i].needle, err.kind, err.msg);
        qt_prompt_free(vp);
    }
    /* the x-vector-only variant round-trips too */
    qt_voice_prompt xo = *a;
    xo.mode = QT_PROMPT_XVECTOR, xo.n_frames = 0, xo.codes = NULL, xo.ref_text = NULL;
    CHECK(qt_prompt_save(&xo, pa, &err) == 0, "save x-vector-only: %s", err.msg);
    la = qt_prompt_load(pa, a->size, a->width, &err);
    CHECK(la, "load x-vector-only: %s", err.msg);
    if (la) same_prompt("x-vector only", &xo, la);
    qt_prompt_free(la);

    memset(&err, 0, sizeof err);
    snprintf(pa, sizeof pa, "%s/none.prompt", tmpdir);
    la = qt_prompt_load(pa, NULL, 0, &err);
    CHECK(!la && err.kind == QT_ERR_NOT_FOUND, "missing file: expected NOT_FOUND, got kind %d '%s'", err.kind,
          err.msg);
    memset(&err, 0, sizeof err);
    snprintf(pa, sizeof pa, "%s/no/such/dir/x.prompt", tmpdir);
    CHECK(qt_prompt_save(a, pa, &err) == -1 && err.kind == QT_ERR_IO, "save into a missing dir: kind %d '%s'",
          err.kind, err.msg);
    la = qt_prompt_load(tmpdir, NULL, 0, &err);
    CHECK(!la && err.kind == QT_ERR_CORRUPT, "a directory: expected CORRUPT, got kind %d '%s'", err.kind,
          err.msg);

    /* no temporaries left: only a.prompt and b.prompt */
    DIR *d = opendir(tmpdir);
    int others = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, "a.prompt") &&
            strcmp(e->d_name, "b.prompt"))
            others++, fprintf(stderr, "  left behind: %s\n", e->d_name);
    if (d) closedir(d);
    CHECK(others == 0, "%d stray files in %s", others, tmpdir);
}

static uint32_t crc32_ref(const uint8_t *p, size_t n) /* bitwise, independent of the engine's table */
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8), p[2] = (uint8_t)(v >> 16), p[3] = (uint8_t)(v >> 24);
}

/* parse an edited copy with the checksum recomputed; expect the kind and a word of the reason */
static void expect_refused(const char *what, uint8_t *img, size_t n, int fix_crc, qt_error_kind kind,
                           const char *needle)
{
    if (fix_crc && n >= 4) put32(img + n - 4, crc32_ref(img, n - 4));
    qt_error err = {0};
    qt_voice_prompt *vp = qt_prompt_parse(img, n, "edited", NULL, 0, &err);
    printf("%s: %s\n", what, err.msg);
    CHECK(!vp && err.kind == kind && strstr(err.msg, needle),
          "%s: expected kind %d mentioning '%s', got %s kind %d '%s'", what, kind, needle,
          vp ? "a prompt," : "", err.kind, err.msg);
    qt_prompt_free(vp);
}

static void test_damage(const qt_voice_prompt *a)
{
    uint8_t *img = NULL;
    size_t n = 0;
    qt_error err = {0};
    CHECK(qt_prompt_serialize(a, &img, &n, &err) == 0, "serialize: %s", err.msg);
    if (!img) return;
    CHECK(crc32_ref(img, n - 4) ==
              (uint32_t)(img[n - 4] | img[n - 3] << 8 | img[n - 2] << 16 | (uint32_t)img[n - 1] << 24),
          "the stored checksum is not the CRC-32 of the file");
    uint8_t *copy = malloc(n + 16);
    /* every truncation */
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        memcpy(copy, img, k);
        memset(&err, 0, sizeof err);
        qt_voice_prompt *vp = qt_prompt_parse(copy, k, "cut", NULL, 0, &err);
        if (vp || err.kind != QT_ERR_CORRUPT || !err.msg[0])
            if (bad++ < 3) fprintf(stderr, "  cut to %zu bytes: kind %d '%s'\n", k, err.kind, err.msg);
        qt_prompt_free(vp);
    }
    CHECK(bad == 0, "%d of %zu truncations were not refused as CORRUPT", bad, n);
    /* every single-bit flip (the version field may read as another version: MISMATCH) */
    bad = 0;
    for (size_t k = 0; k < n * 8; k++) {
        memcpy(copy, img, n);
        copy[k / 8] ^= (uint8_t)(1u << (k % 8));
        memset(&err, 0, sizeof err);
        qt_voice_prompt *vp = qt_prompt_parse(copy, n, "flipped", NULL, 0, &err);
        int ok = !vp && err.msg[0] &&
                 (err.kind == QT_ERR_CORRUPT || (err.kind == QT_ERR_MISMATCH && k / 8 >= 8 && k / 8 < 12));
        if (!ok && bad++ < 3)
            fprintf(stderr, "  bit %zu of byte %zu flipped: kind %d '%s'\n", k % 8, k / 8, err.kind, err.msg);
        qt_prompt_free(vp);
    }
    CHECK(bad == 0, "%d of %zu bit flips were not refused", bad, n * 8);

    memcpy(copy, img, n);
    put32(copy + 8, 2);
    expect_refused("version 2", copy, n, 1, QT_ERR_MISMATCH, "version 2");
    memcpy(copy, img, n);
    put32(copy + 28, 0xffffffffu);
    expect_refused("4294967295 frames", copy, n, 1, QT_ERR_CORRUPT, "frames");
    memcpy(copy, img, n);
    put32(copy + 20, 0x7fffffffu);
    expect_refused("width 2^31-1", copy, n, 1, QT_ERR_CORRUPT, "width");
    memcpy(copy, img, n);
    put32(copy + 32, 0x40000000u);
    expect_refused("1 GiB transcript", copy, n, 1, QT_ERR_CORRUPT, "transcript");
    memcpy(copy, img, n);
    put32(copy + 28, 7000); /* in range, but the file is far shorter */
    expect_refused("7000 frames in a short file", copy, n, 1, QT_ERR_CORRUPT, "truncated");
    memcpy(copy, img, n);
    put32(copy + 24, 7);
    expect_refused("mode 7", copy, n, 1, QT_ERR_CORRUPT, "mode");
    memcpy(copy, img, n);
    memcpy(copy + n, "xxxx", 4);
    memcpy(copy + n + 4, img + n - 4, 4);
    expect_refused("4 trailing bytes", copy, n + 4, 1, QT_ERR_CORRUPT, "trailing");
    int W = a->width;
    memcpy(copy, img, n);
    put32(copy + 40 + 4 * W + 4 * 17, 2048); /* frame 1, codebook 1 */
    expect_refused("code 2048", copy, n, 1, QT_ERR_CORRUPT, "frame 1, codebook 1");
    memcpy(copy, img, n);
    put32(copy + 40 + 4 * 3, 0x7fc00000u); /* NaN */
    expect_refused("NaN in the x-vector", copy, n, 1, QT_ERR_CORRUPT, "value 3");
    memcpy(copy, img, n);
    copy[n - 6] = 0xff;
    expect_refused("0xff in the transcript", copy, n, 1, QT_ERR_CORRUPT, "UTF-8");
    memcpy(copy, img, n);
    copy[n - 6] ^= 1; /* checksum not fixed */
    expect_refused("one changed letter", copy, n, 0, QT_ERR_CORRUPT, "checksum");
    memcpy(copy, "RIFF\x24\0\0\0WAVE", 12);
    expect_refused("a WAV header", copy, 12, 0, QT_ERR_CORRUPT, "magic");
    expect_refused("an empty file", copy, 0, 0, QT_ERR_CORRUPT, "magic");
    memcpy(copy, img, n);
    memcpy(copy + 12, "0.6B\0\0x\0", 8);
    expect_refused("junk after the size tag", copy, n, 1, QT_ERR_CORRUPT, "size tag");
    free(copy);
    free(img);
}

/* Issue 16 item 10: a FIFO (or any non-regular file) at a .prompt path is refused at once; opening a FIFO
 * for reading used to wait for a writer forever. alarm() turns a hang into a failure. */
static void test_not_regular(void)
{
    char fifo[300], dir[300];
    snprintf(fifo, sizeof fifo, "%s/fifo.prompt", tmpdir);
    snprintf(dir, sizeof dir, "%s/dir.prompt", tmpdir);
    CHECK(mkfifo(fifo, 0644) == 0 && mkdir(dir, 0755) == 0, "cannot make a FIFO and a folder in %s", tmpdir);
    const char *paths[] = {fifo, dir, "/dev/null"};
    alarm(10);
    for (int i = 0; i < 3; i++) {
        qt_error err = {0};
        qt_voice_prompt *vp = qt_prompt_load(paths[i], "0.6B", 1024, &err);
        printf("load %s -> %s '%s'\n", paths[i], vp ? "loaded" : "refused", err.msg);
        CHECK(!vp && err.kind == QT_ERR_CORRUPT && strstr(err.msg, "not a regular file"),
              "%s: expected 'not a regular file', got '%s'", paths[i], err.msg);
        qt_prompt_free(vp);
    }
    alarm(0);
    unlink(fifo);
    rmdir(dir);
}

int main(void)
{
    const char *dir = golden_dir();
    char path[4200];
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_not_regular();
    snprintf(path, sizeof path, "%s/audio/ref_24k.wav", dir);
    if (!*dir || access(path, R_OK)) {
        printf("SKIP: no golden fixtures\n");
        return failures ? 1 : 77;
    }
    audio_buf ref = {0};
    audio_error aerr = {0};
    if (audio_decode_file(path, 0, &ref, &aerr)) {
        fprintf(stderr, "FAIL %s\n", aerr.msg);
        return 1;
    }
    CHECK(ref.sample_rate == 24000 && ref.n == 82523, "ref_24k.wav: %d Hz, %zu samples", ref.sample_rate,
          ref.n);
    qt_voice_prompt *vp[2] = {0};
    qt_model *ma = NULL;
    const char *names[2] = {"tiny-a", "tiny-b"};
    for (int i = 0; i < 2; i++) {
        qt_error err = {0};
        qt_load_params lp = qt_load_default_params();
        lp.n_threads = 2;
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        qt_model *m = qt_model_load(path, &lp, &err);
        CHECK(m, "%s: %s", names[i], err.msg);
        if (!m) continue;
        vp[i] = create_golden(dir, names[i], m, &ref);
        if (i == 0)
            ma = m;
        else
            qt_model_free(m);
    }
    if (ma) test_create_errors(ma, &ref);
    /* a model loaded without its speech tokenizer makes x-vector prompts only */
    {
        qt_error err = {0};
        qt_load_params lp = qt_load_default_params();
        lp.no_codec = 1;
        snprintf(path, sizeof path, "%s/tiny-a", dir);
        qt_model *m = qt_model_load(path, &lp, &err);
        qt_voice_prompt *x =
            m ? qt_prompt_create(m, ref.samples, ref.n, ref.sample_rate, NULL, NULL, &err) : NULL;
        CHECK(x && vp[0] && !memcmp(x->xvector, vp[0]->xvector, sizeof(float) * 32),
              "tiny-a without codec: x-vector prompt failed or differs (%s)", err.msg);
        qt_prompt_free(x);
        memset(&err, 0, sizeof err);
        x = m ? qt_prompt_create(m, ref.samples, ref.n, ref.sample_rate, REF_TEXT, NULL, &err) : NULL;
        CHECK(!x && err.kind == QT_ERR_INVALID && strstr(err.msg, "speech tokenizer"),
              "tiny-a without codec, ICL: expected INVALID naming the speech tokenizer, got kind %d '%s'",
              err.kind, err.msg);
        qt_prompt_free(x);
        qt_model_free(m);
    }
    qt_model_free(ma);
    if (vp[0] && vp[1]) {
        test_round_trip(vp[0], vp[1]);
        test_damage(vp[0]);
    }
    qt_prompt_free(vp[0]);
    qt_prompt_free(vp[1]);
    qt_prompt_free(NULL);
    audio_buf_free(&ref);
    snprintf(path, sizeof path, "rm -rf '%s'", tmpdir);
    if (system(path) != 0) fprintf(stderr, "warning: could not remove %s\n", tmpdir);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
