/* test_precision.c — precision int8 against bf16, teacher-forced: both models get the same prompt and, at
 * every step, the same next input (the frame the bf16 model chooses greedily); the talker's logits are
 * compared (cosine, top-1 agreement, both printed). Also: int8 runs end to end through qt_generate, its
 * weights take about half the bytes per frame, an unknown precision is refused.
 *
 * By default on the golden tiny models (CI). The real-shape guard of issue 12 (cosine >= 0.999, top-1 >= 95 %
 * over 100 steps on the random 0.6B / 1.7B models) takes a minute, so it runs on request:
 *   VOICEBOX_PRECISION_MODELS=/work/models/random-0.6B:/work/models/random-1.7B build/test_precision
 */
#include "engine/model.h"

#include "test_util.h"

#include <unistd.h>

static double cosine(const float *a, const float *b, int n)
{
    double ab = 0, aa = 0, bb = 0;
    for (int i = 0; i < n; i++) {
        ab += (double)a[i] * b[i];
        aa += (double)a[i] * a[i];
        bb += (double)b[i] * b[i];
    }
    return ab / (sqrt(aa * bb) + 1e-300);
}

static double rms(const float *a, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += (double)a[i] * a[i];
    return sqrt(s / n);
}

static double rms_diff(const float *a, const float *b, int n)
{
    double s = 0;
    for (int i = 0; i < n; i++)
        s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s / n);
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

static qt_model *load(const char *dir, qt_precision p)
{
    qt_load_params lp = qt_load_default_params();
    lp.no_codec = 1;
    lp.n_threads = 2;
    lp.precision = p;
    qt_error err = {0};
    qt_model *m = qt_model_load(dir, &lp, &err);
    if (!m) {
        fprintf(stderr, "FAIL %s (%s): %s\n", dir, qt_precision_name(p), err.msg);
        exit(1);
    }
    return m;
}

/* Teacher-forced comparison over `steps` decode steps; checks the thresholds. */
static void compare(const char *dir, int steps, double min_cos, double min_top1)
{
    qt_model *b = load(dir, QT_PRECISION_BF16), *q = load(dir, QT_PRECISION_INT8);
    int H = b->talker.hidden, V = b->talker.codec_vocab;
    size_t tb, cb, tq, cq;
    qt_model_bytes_per_frame(b, &tb, &cb);
    qt_model_bytes_per_frame(q, &tq, &cq);
    printf("%s (%s): weights per frame bf16 %.1f MB, int8 %.1f MB (%.2fx)\n", dir, b->cfg.size,
           (tb + cb) / 1e6, (tq + cq) / 1e6, (double)(tq + cq) / (tb + cb));
    /* (a tiny model's rows are narrower than one group, so padding eats the gain there) */
    if (H >= 256) CHECK((double)(tq + cq) / (tb + cb) < 0.6, "int8 should read about half the bytes of bf16");

    /* x-vector-only prompt: seeded random x-vector (RMS 1), a fixed run of text tokens */
    float *xv = malloc(sizeof(float) * H);
    uint64_t r = 12345;
    for (int i = 0; i < H; i++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        xv[i] = (float)(((r >> 11) & 0xffff) / 65536.0 * 2 - 1) * 1.732f;
    }
    int32_t text[24];
    for (int i = 0; i < 24; i++)
        text[i] = 1000 + 37 * i;
    qt_talker_prompt_input in = {-1, xv, NULL, 0, NULL, 0, text, 24};
    qt_talker_prompt pr = {0};
    qt_error err = {0};
    CHECK(qt_talker_prompt_build(&pr, &b->talker, &b->cp, b->pool, &b->cfg, &in, &err) == 0, "prompt: %s",
          err.msg);
    float *xb = malloc(sizeof(float) * pr.n * H), *xq = malloc(sizeof(float) * pr.n * H);
    float *lb = malloc(sizeof(float) * V), *lq = malloc(sizeof(float) * V), *c0e = malloc(sizeof(float) * H);
    memcpy(xb, pr.embeds, sizeof(float) * pr.n * H);
    memcpy(xq, pr.embeds, sizeof(float) * pr.n * H);
    qt_kv kb = {0}, kq = {0};
    qt_stack_scratch sb = {0}, sq = {0};
    qt_cp_state cps;
    CHECK(qt_cp_state_init(&cps, &b->cp, &err) == 0, "cp state");
    CHECK(qt_stack_forward(&b->talker.stack, &kb, &sb, b->pool, xb, pr.n, &err) == 0, "prefill bf16");
    CHECK(qt_stack_forward(&q->talker.stack, &kq, &sq, q->pool, xq, pr.n, &err) == 0, "prefill int8");
    float *hb = xb + (size_t)(pr.n - 1) * H, *hq = xq + (size_t)(pr.n - 1) * H;
    double cos_min = 1, cos_sum = 0;
    int agree = 0;
    qt_sample_params greedy = {1, 1.0f, 0, 1.0f};
    qt_rng rng;
    qt_rng_seed(&rng, 1);
    for (int t = 0; t < steps; t++) {
        qt_talker_logits(&b->talker, b->pool, hb, lb);
        qt_talker_logits(&q->talker, q->pool, hq, lq);
        /* the control tokens above the codebook (EOS etc.) are masked in generation: compare codes only */
        double c = cosine(lb, lq, QT_CODEBOOK_SIZE);
        cos_sum += c;
        cos_min = c < cos_min ? c : cos_min;
        int32_t codes[QT_CODEBOOKS];
        codes[0] = argmax(lb, QT_CODEBOOK_SIZE);
        int top_q = argmax(lq, QT_CODEBOOK_SIZE);
        agree += codes[0] == top_q;
        if (codes[0] != top_q) /* a miss: how close bf16's own top two were, against the int8 error */
            printf("  step %d: bf16 top %d, int8 top %d; bf16 margin %.4f, int8 margin %.4f, logit rms %.3f, "
                   "error rms %.4f\n",
                   t, codes[0], top_q, lb[codes[0]] - lb[top_q], lq[top_q] - lq[codes[0]],
                   rms(lb, QT_CODEBOOK_SIZE), rms_diff(lb, lq, QT_CODEBOOK_SIZE));
        memset(c0e, 0, sizeof(float) * H);
        qt_talker_add_codec(&b->talker, codes[0], c0e);
        CHECK(qt_cp_frame(&b->cp, &cps, b->pool, hb, c0e, &greedy, &rng, codes, NULL, &err) == 0, "cp");
        qt_frame_embed(&b->talker, &b->cp, codes, xb);
        const float *tt = t < pr.n_trailing ? pr.trailing + (size_t)t * H : pr.pad;
        for (int e = 0; e < H; e++)
            xb[e] += tt[e];
        memcpy(xq, xb, sizeof(float) * H);
        qt_stack_forward(&b->talker.stack, &kb, &sb, b->pool, xb, 1, &err);
        qt_stack_forward(&q->talker.stack, &kq, &sq, q->pool, xq, 1, &err);
        hb = xb;
        hq = xq;
    }
    double top1 = 100.0 * agree / steps;
    printf("  talker logits int8 vs bf16 over %d teacher-forced steps: cosine mean %.5f min %.5f, top-1 "
           "agreement %.1f %%\n",
           steps, cos_sum / steps, cos_min, top1);
    CHECK(cos_min >= min_cos, "cosine %.5f below %.4f", cos_min, min_cos);
    CHECK(top1 >= min_top1, "top-1 agreement %.1f %% below %.0f %%", top1, min_top1);
    qt_kv_free(&kb);
    qt_kv_free(&kq);
    qt_stack_scratch_free(&sb);
    qt_stack_scratch_free(&sq);
    qt_cp_state_free(&cps);
    qt_talker_prompt_free(&pr);
    free(xv);
    free(xb);
    free(xq);
    free(lb);
    free(lq);
    free(c0e);
    qt_model_free(b);
    qt_model_free(q);
}

/* int8 through the public API: the golden ICL prompt's shape, a few sampled frames, codes in range. */
static void end_to_end(const char *dir)
{
    qt_load_params lp = qt_load_default_params();
    lp.precision = QT_PRECISION_INT8;
    lp.n_threads = 2;
    qt_error err = {0};
    qt_model *m = qt_model_load(dir, &lp, &err);
    CHECK(m != NULL, "int8 load: %s", err.msg);
    if (!m) return;
    CHECK(qt_model_precision(m) == QT_PRECISION_INT8, "qt_model_precision");
    qt_voice_prompt vp = test_xvector_prompt(m);
    qt_gen_output out = {0};
    qt_gen_params p = qt_gen_default_params();
    p.max_frames = 12;
    p.seed = 7;
    p.out = &out;
    int rc = qt_generate(m, &vp, "Hello there, this is int8.", &p, &err);
    CHECK(rc == 0, "int8 generate: %s", err.msg);
    int in_range = 1;
    for (int i = 0; rc == 0 && i < out.n_frames * QT_CODEBOOKS; i++)
        in_range &= out.codes[i] >= 0 && out.codes[i] < QT_CODEBOOK_SIZE;
    CHECK(rc != 0 || (out.n_frames > 0 && in_range && out.n_samples > 0),
          "int8 output: %d frames, %zu samples", out.n_frames, out.n_samples);
    printf("%s int8 end to end: %d frames, %zu samples\n", dir, out.n_frames, out.n_samples);
    qt_gen_output_free(&out);
    free(vp.xvector);
    qt_model_free(m);
}

int main(void)
{
    qt_precision p;
    qt_error err = {0};
    CHECK(qt_precision_parse("int8", &p, &err) == 0 && p == QT_PRECISION_INT8, "parse int8");
    CHECK(qt_precision_parse("bf16", &p, &err) == 0 && p == QT_PRECISION_BF16, "parse bf16");
    CHECK(qt_precision_parse("fp8", &p, &err) == -1 && err.kind == QT_ERR_INVALID && strstr(err.msg, "fp8"),
          "unknown precision refused: %s", err.msg);
    const char *real = getenv("VOICEBOX_PRECISION_MODELS");
    if (real && *real) {
        char list[4096];
        snprintf(list, sizeof list, "%s", real);
        for (char *save = NULL, *d = strtok_r(list, ":", &save); d; d = strtok_r(NULL, ":", &save))
            compare(d, 100, 0.999, 95.0);
    } else {
        char dir[1200];
        snprintf(dir, sizeof dir, "%s/tiny-a", golden_dir());
        if (!*golden_dir() || access(dir, R_OK)) {
            printf("golden fixtures not found: skipped\n");
            return 77;
        }
        /* the tiny models are 32-64 wide with one group per row: a looser bound than real shapes */
        compare(dir, 40, 0.99, 80.0);
        end_to_end(dir);
    }
    printf("%s\n", failures ? "FAILED" : "all ok");
    return failures ? 1 : 0;
}
