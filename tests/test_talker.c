/* test_talker.c — talker, code predictor and text projection against the golden fixtures (tiny-a, tiny-b;
 * ICL and x-vector-only): text projection of tts_bos/eos/pad, prefill and every decode step's logits from
 * the recorded inputs, code-predictor logits and greedy codes of frame 0, and the whole greedy code
 * sequence with our own step inputs. Observed errors are printed even when passing. */
#include "engine/code_predictor.h"
#include "engine/kernels.h"
#include "engine/talker.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const float *gf(const st_file *g, const char *name, int64_t n)
{
    const st_tensor *t = st_find(g, name);
    if (!t || t->dtype != ST_F32 || t->n_elements != n) {
        printf("golden tensor %s missing or not F32[%lld]\n", name, (long long)n);
        exit(1);
    }
    return t->data;
}

static const int64_t *gi(const st_file *g, const char *name, int64_t *n)
{
    const st_tensor *t = st_find(g, name);
    if (!t || t->dtype != ST_I64) {
        printf("golden tensor %s missing or not I64\n", name);
        exit(1);
    }
    *n = t->n_elements;
    return t->data;
}

static int64_t rows_of(const st_file *g, const char *name)
{
    const st_tensor *t = st_find(g, name);
    return t ? t->shape[0] : 0;
}

static void run_mode(const char *model, const char *mode, qt_talker *tk, qt_code_predictor *cp, qt_pool *pool,
                     const st_file *g)
{
    char nm[128];
    int H = tk->hidden, V = tk->codec_vocab;
#define G(s) (snprintf(nm, sizeof nm, "%s." s, mode), nm)
    int64_t L = rows_of(g, G("prefill_embeds")), S = rows_of(g, G("talker_logits"));
    printf("%s %s: prefill %lld positions, %lld talker forwards\n", model, mode, (long long)L, (long long)S);
    const float *pre = gf(g, G("prefill_embeds"), L * H);
    const float *glog = gf(g, G("talker_logits"), S * V);
    const float *ghid = gf(g, G("talker_last_hidden"), S * H);
    const float *gstep = gf(g, G("talker_step_inputs"), (S - 1) * H);
    const float *gcpl = gf(g, G("cp_logits_frame0"), 15 * 2048);
    int64_t n_codes, n_tok;
    const int64_t *gcodes = gi(g, G("codes"), &n_codes);
    const int64_t *gtok = gi(g, G("talker_tokens"), &n_tok);
    int F = (int)(n_codes / 16);
    float *x = malloc(sizeof(float) * L * H), *logits = malloc(sizeof(float) * V);
    float *cpl = malloc(sizeof(float) * 15 * 2048), *c0e = calloc(H, sizeof(float));
    qt_error err = {0};
    qt_kv kv = {0};
    qt_stack_scratch sc = {0};
    qt_cp_state cps;
    if (qt_cp_state_init(&cps, cp, &err)) {
        printf("code predictor state: %s\n", err.msg);
        exit(1);
    }

    /* 1. recorded inputs: prefill then every decode step */
    qt_kv_reset(&kv);
    memcpy(x, pre, sizeof(float) * L * H);
    if (qt_stack_forward(&tk->stack, &kv, &sc, pool, x, (int)L, &err)) {
        printf("forward failed: %s\n", err.msg);
        exit(1);
    }
    qt_talker_logits(tk, pool, x + (L - 1) * H, logits);
    check_tol("prefill last hidden (golden inputs)", max_abs_error(x + (L - 1) * H, ghid, H, NULL), 1e-4);
    check_tol("prefill logits (golden inputs)", max_abs_error(logits, glog, V, NULL), 1e-3);
    double eh = 0, el = 0;
    for (int k = 1; k < S; k++) {
        memcpy(x, gstep + (size_t)(k - 1) * H, sizeof(float) * H);
        qt_stack_forward(&tk->stack, &kv, &sc, pool, x, 1, &err);
        qt_talker_logits(tk, pool, x, logits);
        eh = fmax(eh, max_abs_error(x, ghid + (size_t)k * H, H, NULL));
        el = fmax(el, max_abs_error(logits, glog + (size_t)k * V, V, NULL));
    }
    check_tol("decode steps 1..24 hidden (golden inputs)", eh, 1e-4);
    check_tol("decode steps 1..24 logits (golden inputs)", el, 1e-3);

    /* 2. code predictor, frame 0, from the golden inputs */
    const float *cpin = gf(g, G("cp_inputs_frame0"), 2 * H);
    int32_t codes[16] = {(int32_t)gcodes[0]};
    qt_sample_params greedy = {1, 1.0f, 0, 1.0f};
    qt_rng rng;
    qt_rng_seed(&rng, 1);
    memset(c0e, 0, sizeof(float) * H);
    qt_talker_add_codec(tk, codes[0], c0e);
    check_tol("cp input 1 = codec_embedding[c0]", max_abs_error(c0e, cpin + H, H, NULL), 0);
    qt_cp_frame(cp, &cps, pool, cpin, c0e, &greedy, &rng, codes, cpl, &err);
    check_tol("code predictor logits, frame 0, 15 steps", max_abs_error(cpl, gcpl, 15 * 2048, NULL), 1e-3);
    int same = 1;
    for (int j = 1; j < 16; j++)
        same &= codes[j] == gcodes[j];
    if (!same) {
        printf("  FAIL frame 0 codes 1..15 differ:\n   expected");
        for (int j = 1; j < 16; j++)
            printf(" %lld", (long long)gcodes[j]);
        printf("\n   got     ");
        for (int j = 1; j < 16; j++)
            printf(" %d", codes[j]);
        printf("\n");
        failures++;
    } else {
        printf("  frame 0 greedy codes 1..15 identical\n");
    }

    /* 3. own loop: golden prefill, then our own frames, step inputs and greedy choices */
    int64_t Tn = rows_of(g, G("trailing_text_hidden"));
    const float *trail = gf(g, G("trailing_text_hidden"), Tn * H);
    const float *pad = gf(g, "tts_bos_eos_pad_embeds", 3 * H) + 2 * H;
    qt_kv_reset(&kv);
    memcpy(x, pre, sizeof(float) * L * H);
    qt_stack_forward(&tk->stack, &kv, &sc, pool, x, (int)L, &err);
    float *h = malloc(sizeof(float) * H);
    memcpy(h, x + (L - 1) * H, sizeof(float) * H);
    int mismatch = -1;
    double e_in = 0;
    for (int k = 0; k < F; k++) {
        qt_talker_logits(tk, pool, h, logits);
        qt_talker_processors(logits, V, NULL, 0, 1.0f, k, 2, 2150, 2048);
        codes[0] = qt_sample(logits, V, &greedy, &rng, cpl);
        if (codes[0] != gtok[k] && mismatch < 0) mismatch = k;
        memset(c0e, 0, sizeof(float) * H);
        qt_talker_add_codec(tk, codes[0], c0e);
        qt_cp_frame(cp, &cps, pool, h, c0e, &greedy, &rng, codes, NULL, &err);
        for (int j = 0; j < 16; j++)
            if (codes[j] != gcodes[k * 16 + j] && mismatch < 0) {
                mismatch = k;
                printf("  frame %d codebook %d: expected %lld got %d\n", k, j, (long long)gcodes[k * 16 + j],
                       codes[j]);
            }
        /* next input: sum of the 16 embeddings + trailing text (or tts_pad) */
        memcpy(h, c0e, sizeof(float) * H);
        for (int j = 1; j < 16; j++)
            qt_add_bf16_row(h, cp->embed[j - 1], codes[j], H);
        const float *tt = k < Tn ? trail + (size_t)k * H : pad;
        for (int e = 0; e < H; e++)
            h[e] += tt[e];
        e_in = fmax(e_in, max_abs_error(h, gstep + (size_t)k * H, H, NULL));
        qt_stack_forward(&tk->stack, &kv, &sc, pool, h, 1, &err);
    }
    check_tol("own decode-step inputs vs talker_step_inputs", e_in, 1e-4);
    if (mismatch >= 0) {
        printf("  FAIL greedy codes differ from frame %d\n", mismatch);
        failures++;
    } else {
        printf("  greedy codes identical for all %d frames\n", F);
    }
    free(h);
    free(x);
    free(logits);
    free(cpl);
    free(c0e);
    qt_kv_free(&kv);
    qt_stack_scratch_free(&sc);
    qt_cp_state_free(&cps);
#undef G
}

static void run_model(const char *golden_dir, const char *model, qt_pool *pool)
{
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", golden_dir, model);
    qt_error err = {0};
    qt_config cfg;
    if (qt_config_load(dir, &cfg, &err)) {
        printf("%s: %s\n", model, err.msg);
        failures++;
        return;
    }
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_file *f = st_open(path, &err);
    snprintf(path, sizeof path, "%s/expected/%s/golden.safetensors", golden_dir, model);
    st_file *g = f ? st_open(path, &err) : NULL;
    qt_talker tk;
    qt_code_predictor cp;
    if (!f || !g || qt_talker_init(&tk, f, &cfg, NULL, &err)) {
        printf("%s: %s\n", model, err.msg);
        failures++;
        st_close(f);
        st_close(g);
        return;
    }
    if (qt_cp_init(&cp, f, &cfg, NULL, &err)) {
        printf("%s: %s\n", model, err.msg);
        failures++;
        qt_talker_free(&tk);
        st_close(f);
        st_close(g);
        return;
    }
    /* text projection of [tts_bos, tts_eos, tts_pad] */
    int32_t ids[3] = {cfg.tts_bos_id, cfg.tts_eos_id, cfg.tts_pad_id};
    float *e = malloc(sizeof(float) * 3 * tk.hidden);
    qt_talker_text_proj(&tk, pool, ids, 3, e, &err);
    printf("%s (hidden %d, kernels %s, %d thread(s))\n", model, tk.hidden, qt_kernels_get()->name,
           pool ? qt_pool_threads(pool) : 1);
    check_tol("text projection of tts_bos/eos/pad",
              max_abs_error(e, gf(g, "tts_bos_eos_pad_embeds", 3 * tk.hidden), 3 * (size_t)tk.hidden, NULL),
              1e-4);
    free(e);
    run_mode(model, "icl", &tk, &cp, pool, g);
    run_mode(model, "xvec", &tk, &cp, pool, g);
    qt_cp_free(&cp);
    qt_talker_free(&tk);
    st_close(f);
    st_close(g);
}

/* The logits processors and warpers against hand-worked cases (docs/engine.md §4.3, §6). */
static void test_sampling(void)
{
    printf("sampling\n");
    float lg[3072];
    for (int i = 0; i < 3072; i++)
        lg[i] = 1.0f;
    lg[5] = 4.0f;
    lg[7] = -3.0f;
    int32_t hist[3] = {5, 5, 7};
    qt_talker_processors(lg, 3072, hist, 3, 2.0f, 0, 2, 2150, 2048);
    check_tol("repetition penalty once per distinct id (4 / 2 = 2)", fabs(lg[5] - 2.0f), 0);
    check_tol("repetition penalty on a negative logit (-3 * 2 = -6)", fabs(lg[7] + 6.0f), 0);
    check_tol("an id not in the history is untouched", fabs(lg[6] - 1.0f), 0);
    int masked = lg[2150] == -INFINITY, suppressed = 1;
    for (int i = 2048; i < 3072; i++)
        if (i != 2150 && lg[i] != -INFINITY) suppressed = 0;
    check_tol("EOS masked at step 0", masked ? 0 : 1, 0);
    check_tol("ids 2048..3071 except EOS suppressed", suppressed ? 0 : 1, 0);
    for (int i = 0; i < 3072; i++)
        lg[i] = 1.0f;
    qt_talker_processors(lg, 3072, NULL, 0, 1.05f, 2, 2, 2150, 2048);
    check_tol("EOS allowed from step 2", lg[2150] == 1.0f ? 0 : 1, 0);

    qt_rng rng, rng2;
    float scratch[8], l[8];
    qt_sample_params greedy = {1, 1.0f, 0, 1.0f};
    float ties[4] = {1, 3, 3, 2};
    check_tol("greedy takes the first maximum", qt_sample(ties, 4, &greedy, &rng, scratch) == 1 ? 0 : 1, 0);

    /* probabilities 0.6/0.3/0.1: frequencies over 20000 seeded draws */
    qt_sample_params plain = {0, 1.0f, 0, 1.0f};
    int counts[3] = {0, 0, 0};
    qt_rng_seed(&rng, 7);
    for (int d = 0; d < 20000; d++) {
        l[0] = logf(0.6f), l[1] = logf(0.3f), l[2] = logf(0.1f);
        counts[qt_sample(l, 3, &plain, &rng, scratch)]++;
    }
    check_tol("multinomial frequency of p=0.6", fabs(counts[0] / 20000.0 - 0.6), 0.02);
    check_tol("multinomial frequency of p=0.1", fabs(counts[2] / 20000.0 - 0.1), 0.02);
    /* temperature 0.5 squares the odds: 0.6^2 : 0.3^2 : 0.1^2 -> 0.783 */
    qt_sample_params cold = {0, 0.5f, 0, 1.0f};
    counts[0] = 0;
    for (int d = 0; d < 20000; d++) {
        l[0] = logf(0.6f), l[1] = logf(0.3f), l[2] = logf(0.1f);
        counts[0] += qt_sample(l, 3, &cold, &rng, scratch) == 0;
    }
    check_tol("temperature 0.5: frequency of the top id (0.783)", fabs(counts[0] / 20000.0 - 0.36 / 0.46),
              0.02);
    /* top-k 2 keeps ids 1 and 2 of [1, 3, 2, 0] */
    qt_sample_params topk = {0, 1.0f, 2, 1.0f};
    int outside = 0;
    for (int d = 0; d < 2000; d++) {
        float t[4] = {1, 3, 2, 0};
        int id = qt_sample(t, 4, &topk, &rng, scratch);
        outside += id != 1 && id != 2;
    }
    check_tol("top-k 2 never draws outside the two largest", outside, 0);
    /* top-p 0.7 over 0.5/0.3/0.15/0.05: the ascending cumulative 0.05, 0.2 <= 0.3 drops the two smallest */
    qt_sample_params topp = {0, 1.0f, 0, 0.7f};
    outside = 0;
    int kept[4] = {0, 0, 0, 0};
    for (int d = 0; d < 4000; d++) {
        float t[4] = {logf(0.5f), logf(0.3f), logf(0.15f), logf(0.05f)};
        kept[qt_sample(t, 4, &topp, &rng, scratch)]++;
    }
    check_tol("top-p 0.7 draws only the two largest", kept[2] + kept[3], 0);
    check_tol("top-p 0.7 renormalises 0.5/0.3 (0.625)", fabs(kept[0] / 4000.0 - 0.625), 0.03);
    /* a seed repeats the draws */
    qt_rng_seed(&rng, 99);
    qt_rng_seed(&rng2, 99);
    int same = 1;
    for (int d = 0; d < 100; d++)
        same &= qt_rng_uniform(&rng) == qt_rng_uniform(&rng2);
    check_tol("the same seed gives the same draws", same ? 0 : 1, 0);
}

int main(void)
{
    test_sampling();
    const char *golden = getenv("VOICEBOX_GOLDEN_DIR");
    if (!golden || !*golden) golden = VOICEBOX_GOLDEN_DIR;
    char probe[1200];
    snprintf(probe, sizeof probe, "%s/expected/tiny-a/golden.safetensors", golden);
    if (!*golden || access(probe, R_OK)) {
        printf("golden fixtures not found (%s): skipped\n", golden);
        return 77;
    }
    run_model(golden, "tiny-a", NULL);
    run_model(golden, "tiny-b", NULL);
    qt_pool *pool = qt_pool_new(2); /* the threaded paths give the same answers */
    run_model(golden, "tiny-b", pool);
    qt_pool_free(pool);
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
