/* test_speaker_encoder.c — the ECAPA-TDNN speaker encoder against the golden x-vectors (docs/engine.md §9.3).
 *
 * For tiny-a (enc_dim 32) and tiny-b (64): the x-vector from the golden speaker_mel, and from this engine's
 * own mel of ref_wav, each with 1 and 2 threads, against icl.xvector (cosine >= 0.99999, max abs <= 1e-3,
 * printed either way); xvec.xvector is the same vector. Too few frames and a missing tensor are refused with
 * a reason.
 */
#include "engine/config.h"
#include "engine/mel.h"
#include "engine/speaker_encoder.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A golden F32 tensor of n_dims dimensions, any extents; a missing one ends the test. */
static const st_tensor *need(const st_file *g, const char *name, int n_dims)
{
    return golden_tensor(g, name, ST_F32, n_dims, (const int64_t[]){-1, -1});
}

static void compare(const char *label, const float *got, const float *exp, int n)
{
    double worst;
    size_t at;
    double cosine = cosine_max_abs(got, exp, (size_t)n, &worst, &at);
    printf("%s: cosine %.9f, max abs error %.3g\n", label, cosine, worst);
    CHECK(cosine >= 0.99999, "%s: cosine %.9f < 0.99999", label, cosine);
    CHECK(worst <= 1e-3, "%s: xvector[%zu] expected %.9g, got %.9g", label, at, exp[at], got[at]);
}

static void test_model(const char *dir, const char *name, const st_file *shared)
{
    char path[4200];
    qt_error err = {0};
    qt_config cfg;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (qt_config_load(path, &cfg, &err)) {
        CHECK(0, "%s: %s", name, err.msg);
        return;
    }
    snprintf(path, sizeof path, "%s/%s/model.safetensors", dir, name);
    st_file *f = st_open(path, &err);
    snprintf(path, sizeof path, "%s/expected/%s/golden.safetensors", dir, name);
    st_file *g = st_open(path, &err);
    if (!f || !g) {
        CHECK(0, "%s: %s", name, err.msg);
        st_close(f);
        st_close(g);
        return;
    }
    qt_speaker_encoder *e = qt_speaker_encoder_load(f, &cfg.speaker, &err);
    CHECK(e, "%s: speaker encoder load failed: %s", name, err.msg);
    const st_tensor *xv = need(g, "icl.xvector", 1), *xv2 = need(g, "xvec.xvector", 1);
    int D = (int)xv->n_elements;
    CHECK(e && qt_speaker_encoder_dim(e) == D, "%s: enc_dim %d, golden x-vector has %d", name,
          e ? qt_speaker_encoder_dim(e) : -1, D);
    CHECK(xv2->n_elements == D && !memcmp(xv->data, xv2->data, sizeof(float) * (size_t)D),
          "%s: golden icl.xvector and xvec.xvector differ", name);
    if (!e || qt_speaker_encoder_dim(e) != D) goto done;

    const st_tensor *gm = need(shared, "speaker_mel", 2), *wav = need(shared, "ref_wav", 1);
    int T = (int)gm->shape[0];
    float *xvec = malloc(sizeof(float) * D), *mel = malloc(sizeof(float) * (size_t)T * QT_MEL_BANDS);
    qt_mel *mf = qt_mel_new(&err);
    CHECK(mf && qt_mel_compute(mf, wav->data, (size_t)wav->n_elements, mel, &err) == 0, "mel: %s", err.msg);
    for (int threads = 1; threads <= 2; threads++) {
        qt_pool *pool = qt_pool_new(threads);
        char label[128];
        snprintf(label, sizeof label, "%s x-vector from golden speaker_mel, %d thread(s)", name, threads);
        memset(xvec, 0, sizeof(float) * D);
        CHECK(qt_speaker_encoder_run(e, pool, gm->data, T, xvec, &err) == 0, "%s: %s", label, err.msg);
        compare(label, xvec, xv->data, D);
        snprintf(label, sizeof label, "%s x-vector from own mel of ref_wav, %d thread(s)", name, threads);
        memset(xvec, 0, sizeof(float) * D);
        CHECK(qt_speaker_encoder_run(e, pool, mel, T, xvec, &err) == 0, "%s: %s", label, err.msg);
        compare(label, xvec, xv->data, D);
        qt_pool_free(pool);
    }
    /* reflect padding needs more frames than the widest pad */
    int min = qt_speaker_encoder_min_frames(e);
    CHECK(min == 5, "%s: min frames expected 5 (k3 d4), got %d", name, min);
    memset(&err, 0, sizeof err);
    CHECK(qt_speaker_encoder_run(e, NULL, mel, min - 1, xvec, &err) == -1 && err.kind == QT_ERR_INVALID,
          "%s: %d frames: expected INVALID, got kind %d '%s'", name, min - 1, err.kind, err.msg);
    CHECK(qt_speaker_encoder_run(e, NULL, mel, min, xvec, &err) == 0, "%s: %d frames refused: %s", name, min,
          err.msg);
    qt_mel_free(mf);
    free(mel);
    free(xvec);
done:
    qt_speaker_encoder_free(e);
    st_close(f);
    st_close(g);
}

/* A model whose speaker encoder lacks one tensor, or has a misshapen one, is refused naming it. */
static void test_bad_config(const char *dir)
{
    char path[4200];
    qt_error err = {0};
    qt_config cfg;
    snprintf(path, sizeof path, "%s/tiny-a/model.safetensors", dir);
    st_file *f = st_open(path, &err);
    snprintf(path, sizeof path, "%s/tiny-a", dir);
    if (!f || qt_config_load(path, &cfg, &err)) {
        CHECK(0, "tiny-a: %s", err.msg);
        st_close(f);
        return;
    }
    qt_speaker_config c = cfg.speaker;
    c.enc_dim *= 2; /* fc.weight is [32, 192, 1]: claim 64 */
    qt_speaker_encoder *e = qt_speaker_encoder_load(f, &c, &err);
    CHECK(!e && err.kind == QT_ERR_CORRUPT && strstr(err.msg, "fc.weight") && strstr(err.msg, "[64,"),
          "enc_dim 64 against a 32 fc: expected CORRUPT naming fc.weight, got kind %d '%s'", err.kind,
          err.msg);
    qt_speaker_encoder_free(e);
    c = cfg.speaker;
    c.enc_res2net_scale = 3; /* 32 channels do not split into 3 */
    memset(&err, 0, sizeof err);
    e = qt_speaker_encoder_load(f, &c, &err);
    CHECK(!e && err.kind == QT_ERR_CORRUPT && strstr(err.msg, "scale 3"),
          "res2net scale 3: expected CORRUPT naming the scale, got kind %d '%s'", err.kind, err.msg);
    qt_speaker_encoder_free(e);
    st_close(f);
}

int main(void)
{
    const char *dir = golden_dir();
    char path[4200];
    qt_error err = {0};
    snprintf(path, sizeof path, "%s/expected/speech_tokenizer_golden.safetensors", dir);
    st_file *shared = *dir ? st_open(path, &err) : NULL;
    if (!shared) {
        printf("SKIP: %s\n", *dir ? err.msg : "no golden dir");
        return 77;
    }
    test_model(dir, "tiny-a", shared);
    test_model(dir, "tiny-b", shared);
    test_bad_config(dir);
    st_close(shared);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
