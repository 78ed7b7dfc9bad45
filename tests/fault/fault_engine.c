/* fault_engine.c — the engine under injected faults: every allocation of the model loader (config,
 * tokenizer, weights, codec), of the codec loader, of voice prompt creation (the speaker encoder and the
 * codec encoder) and of the prompt file's load and save fails in turn; then every write, fsync and rename
 * of a prompt save fails with EIO and with ENOSPC. Each must end in an error with a message, never a crash,
 * a leak (the ASan build's LeakSanitizer) or a torn file: after a failed save over an existing prompt the
 * old file is still there and whole, and no temp file is left beside it.
 * Needs the golden tiny-a model (skips, 77, without it). Bounded: each loop stops after a few seconds. */
#include "audio/audio.h"
#include "engine/qt.h"
#include "fault.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *golden(void)
{
    const char *dir = getenv("VOICEBOX_GOLDEN_DIR");
    return dir && *dir ? dir : VOICEBOX_GOLDEN_DIR;
}

static char model_dir[4096], codec_dir[4200], ref_wav[4200];
static char tmpdir[] = "/tmp/fault_engine.XXXXXX";
static char prompt_path[256];
static qt_model *model;     /* loaded once, unarmed, for the prompt cases */
static qt_voice_prompt *vp; /* a prompt made from the reference, unarmed */
static audio_buf ref;

/* The kind an injected fault must be reported as: QT_ERR_NOMEM for an allocation, QT_ERR_IO for a write. A
 * model whose loading ran out of memory must not be called damaged (the studio offers to download it again),
 * nor a full disk a corrupt prompt. */
static qt_error_kind expect_kind;
static int wrong_kinds;

static int failed(const qt_error *err, char *msg, size_t size)
{
    snprintf(msg, size, "%s", err->msg);
    /* jansson (2.14) reports most of its allocation failures as syntax errors ("string or '}' expected"),
     * and one seen here as a safetensors header without one of its tensors: the engine cannot tell those
     * from a damaged file, so a failure injected inside jansson is exempt */
    int jansson = fault_injected_in_jansson();
    if (fault_injected() && err->kind != expect_kind && !jansson) {
        fprintf(stderr, "  reported as error kind %d, not %d: %s\n", (int)err->kind, (int)expect_kind,
                err->msg);
        wrong_kinds++;
    }
    return -1;
}

/* Nothing outside the operation to check; only how its error was reported. */
static int check_nothing(void *arg, int rc)
{
    (void)arg;
    (void)rc;
    int bad = wrong_kinds;
    wrong_kinds = 0;
    return bad ? -1 : 0;
}

/* ---- loaders ---- */

static int op_model_load(void *arg, char *msg, size_t size)
{
    (void)arg;
    qt_error err = {0};
    qt_load_params p = qt_load_default_params();
    p.n_threads = 2;
    qt_model *m = qt_model_load(model_dir, &p, &err);
    if (!m) return failed(&err, msg, size);
    qt_model_free(m);
    return 0;
}

static int op_codec_load(void *arg, char *msg, size_t size)
{
    (void)arg;
    qt_error err = {0};
    qt_codec *c = qt_codec_load(model_dir, 2, &err);
    if (!c) return failed(&err, msg, size);
    qt_codec_free(c);
    return 0;
}

static int op_prompt_create(void *arg, char *msg, size_t size)
{
    (void)arg;
    qt_error err = {0};
    qt_voice_prompt *p =
        qt_prompt_create(model, ref.samples, ref.n, ref.sample_rate, "A reference text.", NULL, &err);
    if (!p) return failed(&err, msg, size);
    qt_prompt_free(p);
    return 0;
}

static int op_prompt_load(void *arg, char *msg, size_t size)
{
    (void)arg;
    qt_error err = {0};
    qt_voice_prompt *p = qt_prompt_load(prompt_path, NULL, 0, &err);
    if (!p) return failed(&err, msg, size);
    qt_prompt_free(p);
    return 0;
}

/* ---- saving over an existing prompt ---- */

static uint8_t *old_image; /* the prompt file as it was before each save */
static size_t old_size;

static int read_all(const char *path, uint8_t **out, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc(len > 0 ? (size_t)len : 1);
    *n = *out ? fread(*out, 1, (size_t)len, f) : 0;
    fclose(f);
    return *out && *n == (size_t)len ? 0 : -1;
}

static int op_prompt_save(void *arg, char *msg, size_t size)
{
    (void)arg;
    qt_error err = {0};
    if (qt_prompt_save(vp, prompt_path, &err) != 0) return failed(&err, msg, size);
    return 0;
}

/* The prompt file is whole (the old image or a new one that loads) and nothing else is in the folder. */
static int check_prompt_dir(void *arg, int rc)
{
    (void)arg;
    int bad = check_nothing(arg, rc) != 0;
    uint8_t *now = NULL;
    size_t n = 0;
    if (read_all(prompt_path, &now, &n) != 0) {
        fprintf(stderr, "  %s: gone after a %s save\n", prompt_path, rc ? "failed" : "good");
        bad = 1;
    } else if (rc != 0 && (n != old_size || memcmp(now, old_image, n) != 0)) {
        fprintf(stderr, "  %s: changed by a failed save (%zu bytes, was %zu)\n", prompt_path, n, old_size);
        bad = 1;
    } else {
        qt_error err = {0};
        qt_voice_prompt *p = qt_prompt_load(prompt_path, NULL, 0, &err);
        if (!p) fprintf(stderr, "  %s: does not load: %s\n", prompt_path, err.msg);
        bad |= !p;
        qt_prompt_free(p);
    }
    free(now);
    DIR *d = opendir(tmpdir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (e->d_name[0] == '.' && (!e->d_name[1] || (e->d_name[1] == '.' && !e->d_name[2]))) continue;
        if (strcmp(e->d_name, "voice.prompt") != 0) {
            fprintf(stderr, "  left behind in %s: %s\n", tmpdir, e->d_name);
            bad = 1;
        }
    }
    if (d) closedir(d);
    return bad ? -1 : 0;
}

int main(void)
{
    snprintf(model_dir, sizeof model_dir, "%s/tiny-a", golden());
    snprintf(ref_wav, sizeof ref_wav, "%s/audio/ref_24k.wav", golden());
    struct stat st;
    if (stat(model_dir, &st) != 0 || stat(ref_wav, &st) != 0) {
        printf("fault_engine: no golden tiny-a model in %s: skipped\n", golden());
        return 77;
    }
    if (!mkdtemp(tmpdir)) return 1;
    snprintf(prompt_path, sizeof prompt_path, "%s/voice.prompt", tmpdir);
    audio_error aerr = {0};
    qt_error err = {0};
    qt_load_params lp = qt_load_default_params();
    lp.n_threads = 2;
    if (qt_speech_tokenizer_dir(model_dir, codec_dir, sizeof codec_dir, &err) != 0 ||
        audio_decode_file(ref_wav, 24000, &ref, &aerr) != 0 ||
        !(model = qt_model_load(model_dir, &lp, &err)) ||
        !(vp = qt_prompt_create(model, ref.samples, ref.n, ref.sample_rate, "A reference text.", NULL,
                                &err)) ||
        qt_prompt_save(vp, prompt_path, &err) != 0 || read_all(prompt_path, &old_image, &old_size) != 0) {
        fprintf(stderr, "fault_engine: cannot prepare: %s%s\n", aerr.msg, err.msg);
        return 1;
    }

    int bad = 0;
    fault_case load = {"qt_model_load", NULL, op_model_load, check_nothing, NULL, NULL};
    fault_case codec = {"qt_codec_load", NULL, op_codec_load, check_nothing, NULL, NULL};
    fault_case create = {"qt_prompt_create", NULL, op_prompt_create, check_nothing, NULL, NULL};
    fault_case pload = {"qt_prompt_load", NULL, op_prompt_load, check_nothing, NULL, NULL};
    fault_case save = {"qt_prompt_save", NULL, op_prompt_save, check_prompt_dir, NULL, NULL};
    expect_kind = QT_ERR_NOMEM;
    bad += fault_run(&load, FAULT_ALLOC, 0, 0, 300, 8);
    bad += fault_run(&codec, FAULT_ALLOC, 0, 0, 2000, 4);
    bad += fault_run(&create, FAULT_ALLOC, 0, 0, 300, 6);
    bad += fault_run(&pload, FAULT_ALLOC, 0, 0, 100, 2);
    bad += fault_run(&save, FAULT_ALLOC, 0, 0, 100, 2);
    expect_kind = QT_ERR_IO;
    bad += fault_run(&save, FAULT_IO, EIO, 0, 100, 2);
    bad += fault_run(&save, FAULT_IO, ENOSPC, 1, 100, 2);

    qt_prompt_free(vp);
    qt_model_free(model);
    audio_buf_free(&ref);
    free(old_image);
    unlink(prompt_path);
    rmdir(tmpdir);
    if (bad) fprintf(stderr, "fault_engine: %d failed tries\n", bad);
    return bad ? 1 : 0;
}
