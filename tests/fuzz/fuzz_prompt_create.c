/* fuzz_prompt_create.c — libFuzzer target for the voice-prompt creation path on the golden tiny-a model and
 * its speech tokenizer: arbitrary audio at an arbitrary rate and length goes through qt_prompt_create
 * (resample to 24 kHz, log-mel, the speaker encoder's x-vector and, in ICL mode, the codec encoder's codes).
 *
 * Input: byte 0-1 the sample rate (4 to about 200 kHz, little-endian u16 * 3 + 4000), byte 2 the length in
 * tenths of a second (0 to 3 s, so a run stays fast yet crosses the 2 s minimum), byte 3 flags (bit 0:
 * ICL with a transcript, else x-vector only; bit 1: trim trailing silence; bit 2: plant a non-finite or huge
 * sample where byte 4 says), then int16 samples tiled to the length. An input either gives a prompt whose
 * x-vector is finite, of the model's width, with codes in range and about 12.5 frames a second, or is refused
 * with a message: QT_ERR_INVALID, and only for a length outside 2-30 s or a non-finite sample. Finite audio
 * of a valid length (untrimmed) must give a prompt. Never a crash, a leak or an out-of-bounds access.
 */
#include "engine/qt.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static qt_model *model;

static void free_model(void)
{
    qt_model_free(model);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *golden = getenv("VOICEBOX_GOLDEN_DIR");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tiny-a", golden && *golden ? golden : "../shared/golden");
    qt_load_params lp = qt_load_default_params();
    lp.n_threads = 1;
    qt_error err = {0};
    model = qt_model_load(dir, &lp, &err);
    if (!model) {
        printf("fuzz_prompt_create: no golden model (%s): nothing to fuzz\n", err.msg);
        exit(0);
    }
    atexit(free_model);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 7) return 0;
    int rate = 4000 + 3 * (data[0] | data[1] << 8);
    double seconds = (data[2] % 31) / 10.0;
    int icl = data[3] & 1, trim = data[3] & 2, plant = data[3] & 4;
    size_t plant_at = data[4];
    const uint8_t *pcm16 = data + 5;
    size_t n_src = (size - 5) / 2, n = (size_t)(seconds * rate);
    if (n_src == 0) return 0;
    float *pcm = malloc((n ? n : 1) * sizeof *pcm);
    if (!pcm) return 0;
    for (size_t i = 0; i < n; i++) {
        size_t k = i % n_src;
        pcm[i] = (float)(int16_t)(pcm16[2 * k] | pcm16[2 * k + 1] << 8) / 32768.0f;
    }
    static const float bad[] = {NAN, INFINITY, -INFINITY, 3e38f};
    int nonfinite = 0;
    if (plant && n) {
        float v = bad[plant_at % 4];
        pcm[(plant_at * 7919) % n] = v;
        nonfinite = !isfinite(v);
    }
    qt_prompt_params pp = qt_prompt_default_params();
    pp.trim_trailing_silence = trim != 0;
    qt_error err = {0};
    qt_voice_prompt *vp =
        qt_prompt_create(model, pcm, n, rate, icl ? "A fuzzed reference." : NULL, &pp, &err);
    double dur = (double)n / rate;
    int valid_length = dur >= QT_PROMPT_MIN_SECONDS && dur <= QT_PROMPT_MAX_SECONDS;
    free(pcm);
    if (!vp) {
        if (!err.msg[0] || err.kind != QT_ERR_INVALID || (valid_length && !nonfinite && !trim && !plant)) {
            fprintf(stderr, "refused (kind %d) %.2f s at %d Hz: '%s'\n", err.kind, dur, rate, err.msg);
            abort();
        }
        return 0;
    }
    if (nonfinite || !valid_length || vp->width != qt_model_hidden(model) || !vp->xvector ||
        (icl != (vp->mode == QT_PROMPT_ICL))) {
        fprintf(stderr, "a prompt from %.2f s at %d Hz (non-finite %d): width %d, mode %d\n", dur, rate,
                nonfinite, vp->width, (int)vp->mode);
        abort();
    }
    for (int i = 0; i < vp->width; i++)
        if (!isfinite(vp->xvector[i])) abort();
    if (icl) {
        /* 12.5 frames a second of the (possibly trimmed) reference, never more than the whole of it */
        if (vp->n_frames < 1 || vp->n_frames > (int)ceil(dur * 12.5) + 1 || !vp->codes) abort();
        for (int i = 0; i < vp->n_frames * QT_CODEBOOKS; i++)
            if (vp->codes[i] < 0 || vp->codes[i] >= QT_CODEBOOK_SIZE) abort();
    }
    qt_prompt_free(vp);
    return 0;
}
