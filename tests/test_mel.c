/* test_mel.c — the speaker encoder's log-mel front end (docs/engine.md §3.3) against the golden fixtures.
 *
 * kissfft's real FFT against a direct DFT in double on windowed noise, a sine and an impulse; the Slaney
 * filterbank against golden mel_basis; speaker_mel of ref_wav within 1e-4 where the log-mel is above -5 and
 * 2e-3 in the near-silent bins at the 1e-5 floor (docs/engine.md §9.4), printing both errors; the frame count
 * floor(n / 256); too-short and non-finite input refused with a reason.
 */
#include "engine/mel.h"
#include "engine/safetensors.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* |DFT| of the windowed frame in double, the definition the FFT must meet. */
static void naive_magnitude(const float *frame, double *mag)
{
    for (int k = 0; k < QT_MEL_BINS; k++) {
        double re = 0, im = 0;
        for (int i = 0; i < QT_MEL_N_FFT; i++) {
            double w = 0.5 - 0.5 * cos(2.0 * M_PI * i / QT_MEL_N_FFT);
            double a = -2.0 * M_PI * (double)k * i / QT_MEL_N_FFT;
            re += frame[i] * w * cos(a);
            im += frame[i] * w * sin(a);
        }
        mag[k] = sqrt(re * re + im * im + 1e-9);
    }
}

static void test_fft(qt_mel *m)
{
    float frame[QT_MEL_N_FFT], mag[QT_MEL_BINS];
    double ref[QT_MEL_BINS];
    unsigned s = 12345;
    for (int kind = 0; kind < 3; kind++) {
        for (int i = 0; i < QT_MEL_N_FFT; i++) {
            s = s * 1103515245u + 12345u;
            frame[i] = kind == 0   ? (float)((s >> 8) & 0xffff) / 32768.0f - 1.0f
                       : kind == 1 ? (float)sin(2 * M_PI * 440.0 * i / 24000.0)
                                   : (i == 300 ? 1.0f : 0.0f);
        }
        qt_mel_magnitude(m, frame, mag);
        naive_magnitude(frame, ref);
        double worst = 0, peak = 0;
        int at = 0;
        for (int k = 0; k < QT_MEL_BINS; k++) {
            double d = fabs(mag[k] - ref[k]);
            if (d > worst) worst = d, at = k;
            if (ref[k] > peak) peak = ref[k];
        }
        printf("fft vs direct DFT (%s): max abs error %.3g (peak %.3g)\n",
               kind == 0   ? "noise"
               : kind == 1 ? "440 Hz"
                           : "impulse",
               worst, peak);
        CHECK(worst <= 1e-5 * (peak > 1 ? peak : 1), "FFT bin %d: expected %.9g, got %.9g (input kind %d)",
              at, ref[at], mag[at], kind);
    }
}

static void test_basis(qt_mel *m, const st_file *g)
{
    const float *exp =
        golden_tensor(g, "mel_basis", ST_F32, 2, (const int64_t[]){QT_MEL_BANDS, QT_MEL_BINS})->data;
    const float *got = qt_mel_basis(m);
    size_t at;
    double worst = max_abs_error(got, exp, QT_MEL_BANDS * QT_MEL_BINS, &at);
    printf("mel_basis: max abs error %.3g\n", worst);
    CHECK(worst <= 1e-7, "mel_basis[%zu][%zu]: expected %.9g, got %.9g", at / QT_MEL_BINS, at % QT_MEL_BINS,
          exp[at], got[at]);
}

static void test_speaker_mel(qt_mel *m, const st_file *g)
{
    const st_tensor *w = st_find(g, "ref_wav");
    CHECK(w && w->dtype == ST_F32 && w->n_dims == 1, "golden ref_wav missing or not F32 [n]");
    if (!w) return;
    size_t n = (size_t)w->n_elements, T = qt_mel_frames(n);
    CHECK(T == 322, "frames of %zu samples: expected 322, got %zu", n, T);
    const float *exp =
        golden_tensor(g, "speaker_mel", ST_F32, 2, (const int64_t[]){(int64_t)T, QT_MEL_BANDS})->data;
    float *got = malloc(sizeof(float) * T * QT_MEL_BANDS);
    qt_error err = {0};
    int rc = qt_mel_compute(m, w->data, n, got, &err);
    CHECK(rc == 0, "mel of ref_wav failed: %s", err.msg);
    double loud = 0, quiet = 0;
    size_t at_loud = 0, at_quiet = 0, n_loud = 0;
    for (size_t i = 0; rc == 0 && i < T * QT_MEL_BANDS; i++) {
        double d = fabs(got[i] - exp[i]);
        if (exp[i] > -5) {
            n_loud++;
            if (d > loud) loud = d, at_loud = i;
        } else if (d > quiet) {
            quiet = d, at_quiet = i;
        }
    }
    printf("speaker_mel: max abs error %.3g where log-mel > -5 (%zu values), %.3g elsewhere\n", loud, n_loud,
           quiet);
    CHECK(loud <= 1e-4, "speaker_mel[%zu][%zu] (log-mel > -5): expected %.9g, got %.9g",
          at_loud / QT_MEL_BANDS, at_loud % QT_MEL_BANDS, exp[at_loud], got[at_loud]);
    CHECK(quiet <= 2e-3, "speaker_mel[%zu][%zu] (near silent): expected %.9g, got %.9g",
          at_quiet / QT_MEL_BANDS, at_quiet % QT_MEL_BANDS, exp[at_quiet], got[at_quiet]);
    free(got);
}

static void test_bad_input(qt_mel *m)
{
    float x[1024] = {0}, out[4 * QT_MEL_BANDS];
    qt_error err = {0};
    CHECK(qt_mel_compute(m, x, 384, out, &err) == -1 && err.kind == QT_ERR_INVALID && strstr(err.msg, "384"),
          "384 samples: expected INVALID naming the count, got kind %d '%s'", err.kind, err.msg);
    /* the shortest accepted input: 385 samples (1 frame), reflections on both sides of the one frame */
    memset(&err, 0, sizeof err);
    CHECK(qt_mel_compute(m, x, 385, out, &err) == 0, "385 samples refused: %s", err.msg);
    CHECK(out[0] == logf(1e-5f) || fabsf(out[0] - logf(1e-5f)) < 1e-3f, "silence: expected log(1e-5), got %g",
          out[0]);
    x[700] = NAN;
    memset(&err, 0, sizeof err);
    CHECK(qt_mel_compute(m, x, 1024, out, &err) == -1 && err.kind == QT_ERR_INVALID && strstr(err.msg, "700"),
          "NaN at 700: expected INVALID naming the sample, got kind %d '%s'", err.kind, err.msg);
}

int main(void)
{
    const char *dir = golden_dir();
    qt_error err = {0};
    qt_mel *m = qt_mel_new(&err);
    if (!m) {
        fprintf(stderr, "FAIL qt_mel_new: %s\n", err.msg);
        return 1;
    }
    test_fft(m);
    test_bad_input(m);
    char path[4096];
    snprintf(path, sizeof path, "%s/expected/speech_tokenizer_golden.safetensors", dir);
    st_file *g = *dir ? st_open(path, &err) : NULL;
    if (!g) {
        printf("SKIP golden checks: %s\n", *dir ? err.msg : "no golden dir");
        qt_mel_free(m);
        return failures ? 1 : 77;
    }
    test_basis(m, g);
    test_speaker_mel(m, g);
    st_close(g);
    qt_mel_free(m);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}
