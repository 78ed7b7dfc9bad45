/* test_generate.c — the whole generation through the model object against the golden fixtures: prompt
 * layout (prefill embeddings and trailing text), greedy codes of qt_generate for tiny-a/tiny-b in ICL and
 * x-vector-only modes, the final waveform (when the codec decoder is built in), and the clean failures:
 * wrong-width prompt, unknown language, empty text, cancellation, missing model; seeded sampling repeats. */
#include "engine/generate.h"
#include "engine/model.h"
#include "test_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *golden;

static void expect(int cond, const char *what, const char *detail)
{
    printf("  %-58s %s%s%s\n", what, cond ? "ok" : "FAIL", detail ? ": " : "", detail ? detail : "");
    if (!cond) failures++;
}

static const st_tensor *gt(const st_file *g, const char *name)
{
    const st_tensor *t = st_find(g, name);
    if (!t) {
        printf("golden tensor %s missing\n", name);
        exit(1);
    }
    return t;
}

/* I64 golden ids [a, n-b) -> int32 */
static int32_t *ids_slice(const st_file *g, const char *name, int a, int b, int *n)
{
    const st_tensor *t = gt(g, name);
    const int64_t *v = t->data;
    *n = (int)t->n_elements - a - b;
    int32_t *out = malloc(sizeof(int32_t) * (*n > 0 ? *n : 1));
    for (int i = 0; i < *n; i++)
        out[i] = (int32_t)v[a + i];
    return out;
}

typedef struct {
    int32_t *ref_ids, *text_ids;
    int n_ref, n_text;
    qt_voice_prompt vp;
    float *xv;
    int32_t *codes;
} golden_prompt;

static void load_prompt(const st_file *g, const char *mode, int H, golden_prompt *gp)
{
    char nm[64];
    memset(gp, 0, sizeof *gp);
    gp->ref_ids = ids_slice(g, "ref_input_ids", 3, 2, &gp->n_ref);
    gp->text_ids = ids_slice(g, "target_input_ids", 3, 5, &gp->n_text);
    snprintf(nm, sizeof nm, "%s.xvector", mode);
    gp->xv = malloc(sizeof(float) * H);
    memcpy(gp->xv, gt(g, nm)->data, sizeof(float) * H);
    gp->vp.xvector = gp->xv;
    gp->vp.width = H;
    if (!strcmp(mode, "icl")) {
        const st_tensor *rc = gt(g, "icl.ref_codes");
        gp->vp.mode = QT_PROMPT_ICL;
        gp->vp.n_frames = (int)rc->shape[0];
        gp->codes = malloc(sizeof(int32_t) * rc->n_elements);
        for (int64_t i = 0; i < rc->n_elements; i++)
            gp->codes[i] = (int32_t)((const int64_t *)rc->data)[i];
        gp->vp.codes = gp->codes;
    } else {
        gp->vp.mode = QT_PROMPT_XVECTOR;
    }
}

static void free_prompt(golden_prompt *gp)
{
    free(gp->ref_ids);
    free(gp->text_ids);
    free(gp->xv);
    free(gp->codes);
}

typedef struct {
    qt_model *m;
    int cancel_at;
    int frames, progress_calls;
    size_t audio_samples;
} cb_state;

static void on_frame(const int32_t codes[QT_CODEBOOKS], int frame, void *user)
{
    (void)codes;
    cb_state *s = user;
    s->frames = frame + 1;
    if (s->cancel_at >= 0 && frame + 1 >= s->cancel_at) qt_cancel(s->m);
}

static void on_progress(int done, int max, void *user)
{
    (void)done;
    (void)max;
    ((cb_state *)user)->progress_calls++;
}

static void on_audio(const float *pcm, size_t n, void *user)
{
    (void)pcm;
    ((cb_state *)user)->audio_samples += n;
}

static void run_mode(qt_model *m, const st_file *g, const char *model, const char *mode, const char *language)
{
    int H = qt_model_hidden(m);
    golden_prompt gp;
    load_prompt(g, mode, H, &gp);
    char nm[64];
    printf("%s %s (language %s)\n", model, mode, language);

    /* prompt layout */
    qt_error err = {0};
    char lang[32];
    qt_language_normalize(m, language, lang, sizeof lang, &err);
    int icl = gp.vp.mode == QT_PROMPT_ICL;
    qt_talker_prompt_input in = {
        qt_model_language_id(m, lang), gp.xv,          gp.ref_ids,  icl ? gp.n_ref : 0,
        icl ? gp.codes : NULL,         gp.vp.n_frames, gp.text_ids, gp.n_text};
    qt_talker_prompt pr;
    if (qt_talker_prompt_build(&pr, &m->talker, &m->cp, m->pool, &m->cfg, &in, &err)) {
        printf("  FAIL prompt: %s\n", err.msg);
        failures++;
        free_prompt(&gp);
        return;
    }
    snprintf(nm, sizeof nm, "%s.prefill_embeds", mode);
    const st_tensor *pe = gt(g, nm);
    snprintf(nm, sizeof nm, "%s.trailing_text_hidden", mode);
    const st_tensor *tt = gt(g, nm);
    char what[128];
    snprintf(what, sizeof what, "prefill length %d (expected %lld)", pr.n, (long long)pe->shape[0]);
    expect(pr.n == pe->shape[0], what, NULL);
    snprintf(what, sizeof what, "trailing length %d (expected %lld)", pr.n_trailing, (long long)tt->shape[0]);
    expect(pr.n_trailing == tt->shape[0], what, NULL);
    if (pr.n == pe->shape[0])
        check_tol("prefill embeds", max_abs_error(pr.embeds, pe->data, (size_t)pr.n * H, NULL), 1e-4);
    if (pr.n_trailing == tt->shape[0])
        check_tol("trailing text embeds",
                  max_abs_error(pr.trailing, tt->data, (size_t)pr.n_trailing * H, NULL), 1e-4);
    qt_talker_prompt_free(&pr);

    /* greedy generation, as the golden run (docs/engine.md §9.2) */
    qt_gen_params p = qt_gen_default_params();
    qt_gen_output out = {0};
    cb_state cs = {m, -1, 0, 0, 0};
    p.language = language;
    p.greedy = 1;
    p.repetition_penalty = 1.0f;
    p.max_frames = 24;
    p.out = &out;
    p.on_frame = on_frame;
    p.on_progress = on_progress;
    p.on_audio = on_audio;
    p.user = &cs;
    if (qt_generate_ids(m, &gp.vp, gp.ref_ids, gp.n_ref, gp.text_ids, gp.n_text, &p, &err)) {
        printf("  FAIL generate: %s\n", err.msg);
        failures++;
        free_prompt(&gp);
        return;
    }
    snprintf(nm, sizeof nm, "%s.codes", mode);
    const st_tensor *gc = gt(g, nm);
    int first_diff = -1;
    for (int i = 0; i < out.n_frames * QT_CODEBOOKS && i < gc->n_elements; i++)
        if (out.codes[i] != ((const int64_t *)gc->data)[i]) {
            first_diff = i;
            break;
        }
    snprintf(what, sizeof what, "greedy codes: %d frames (expected %lld), all 16 codebooks", out.n_frames,
             (long long)gc->shape[0]);
    char detail[128] = "";
    if (first_diff >= 0)
        snprintf(detail, sizeof detail, "frame %d codebook %d: expected %lld got %d", first_diff / 16,
                 first_diff % 16, (long long)((const int64_t *)gc->data)[first_diff], out.codes[first_diff]);
    expect(first_diff < 0 && out.n_frames == gc->shape[0], what, first_diff >= 0 ? detail : NULL);
    expect(cs.frames == out.n_frames && cs.progress_calls == out.n_frames,
           "on_frame/on_progress once per frame", NULL);
    if (out.n_samples) {
        snprintf(nm, sizeof nm, "%s.wav", mode);
        const st_tensor *gw = gt(g, nm);
        snprintf(what, sizeof what, "waveform length %zu (expected %lld)", out.n_samples,
                 (long long)gw->n_elements);
        expect(out.n_samples == (size_t)gw->n_elements, what, NULL);
        if (out.n_samples == (size_t)gw->n_elements)
            check_tol("final waveform", max_abs_error(out.audio, gw->data, out.n_samples, NULL), 1e-3);
        expect(cs.audio_samples == out.n_samples, "on_audio delivered the same samples", NULL);
    } else {
        printf("  (no codec decoder in this model object: waveform not checked)\n");
    }
    qt_gen_output_free(&out);

    /* the same from text, through the tokenizer (docs/engine.md §9.2) */
    static const char ref_text[] = "The quick brown fox jumps over the lazy dog.";
    static const char target[] =
        "Hello, world! This is a small test of the voice-cloning pipeline: na\xc3\xafve "
        "caf\xc3\xa9 owners in Z\xc3\xbcrich paid \xe2\x82\xac"
        "12.50 for 3 cr\xc3\xa8me "
        "br\xc3\xbbl\xc3\xa9"
        "es, didn't they? Yes \xe2\x80\x94 absolutely!";
    gp.vp.ref_text = icl ? (char *)ref_text : NULL;
    p.out = &out;
    p.on_audio = NULL;
    if (qt_generate(m, &gp.vp, target, &p, &err)) {
        printf("  FAIL qt_generate: %s\n", err.msg);
        failures++;
    } else {
        int same = out.n_frames == gc->shape[0];
        for (int i = 0; same && i < out.n_frames * QT_CODEBOOKS; i++)
            same = out.codes[i] == ((const int64_t *)gc->data)[i];
        expect(same, "qt_generate from text: greedy codes identical", NULL);
        snprintf(nm, sizeof nm, "%s.wav", mode);
        const st_tensor *gw = gt(g, nm);
        if (out.n_samples == (size_t)gw->n_elements)
            check_tol("qt_generate from text: waveform (chunked decode)",
                      max_abs_error(out.audio, gw->data, out.n_samples, NULL), 1e-3);
        else
            expect(0, "qt_generate from text: waveform length", NULL);
    }
    qt_gen_output_free(&out);

    /* seeded sampling repeats; cancellation ends cleanly */
    qt_gen_output a = {0}, b = {0};
    p = qt_gen_default_params();
    p.language = language;
    p.max_frames = 6;
    p.ignore_eos = 1;
    p.seed = 42;
    p.out = &a;
    int ra = qt_generate_ids(m, &gp.vp, gp.ref_ids, gp.n_ref, gp.text_ids, gp.n_text, &p, &err);
    p.out = &b;
    int rb = qt_generate_ids(m, &gp.vp, gp.ref_ids, gp.n_ref, gp.text_ids, gp.n_text, &p, &err);
    expect(!ra && !rb && a.n_frames == 6 && b.n_frames == 6 &&
               !memcmp(a.codes, b.codes, sizeof(int32_t) * 6 * QT_CODEBOOKS),
           "sampling with seed 42 twice: identical 6 frames", NULL);
    qt_gen_output_free(&a);
    qt_gen_output_free(&b);
    cs = (cb_state){m, 3, 0, 0, 0};
    p.out = NULL;
    p.max_frames = 20;
    p.on_frame = on_frame;
    p.user = &cs;
    int rc = qt_generate_ids(m, &gp.vp, gp.ref_ids, gp.n_ref, gp.text_ids, gp.n_text, &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_CANCELLED && cs.frames == 3, "cancel after 3 frames", err.msg);
    free_prompt(&gp);
}

/* ICL with less text than reference frames (the usual case with a 5-10 s reference; the golden run has
 * more text): the text track runs out into tts_pad over the remaining reference frames and the trailing
 * text is one tts_pad (docs/engine.md §2.6). Checked position by position against the spec's formula. */
static void short_text_layout(qt_model *m, const st_file *g)
{
    printf("ICL layout with less text than reference frames\n");
    int H = qt_model_hidden(m);
    golden_prompt gp;
    load_prompt(g, "icl", H, &gp);
    int n_text = 3, F = gp.vp.n_frames, n_tx = gp.n_ref + n_text + 1;
    qt_error err = {0};
    qt_talker_prompt_input in = {2050, gp.xv, gp.ref_ids, gp.n_ref, gp.codes, F, gp.text_ids, n_text};
    qt_talker_prompt pr;
    if (qt_talker_prompt_build(&pr, &m->talker, &m->cp, m->pool, &m->cfg, &in, &err)) {
        expect(0, "prompt", err.msg);
        free_prompt(&gp);
        return;
    }
    char what[128];
    snprintf(what, sizeof what, "%d positions (3 role + 6 control + 1 + %d frames), 1 trailing", pr.n, F);
    expect(pr.n == 3 + 6 + 1 + F && pr.n_trailing == 1, what, NULL);
    /* expected block C: text Tx[i] (ref ids, 3 target ids, tts_eos) then tts_pad; codec bos then frames */
    int32_t *ids = malloc(sizeof(int32_t) * (n_tx + 1));
    memcpy(ids, gp.ref_ids, sizeof(int32_t) * gp.n_ref);
    memcpy(ids + gp.n_ref, gp.text_ids, sizeof(int32_t) * n_text);
    ids[n_tx - 1] = m->cfg.tts_eos_id;
    ids[n_tx] = m->cfg.tts_pad_id;
    float *tv = malloc(sizeof(float) * (n_tx + 1) * H), *e = malloc(sizeof(float) * H);
    float *fr = malloc(sizeof(float) * H);
    qt_talker_text_proj(&m->talker, m->pool, ids, n_tx + 1, tv, &err);
    double worst = 0;
    for (int i = 0; i < F + 1 && pr.n == 10 + F; i++) {
        memcpy(e, tv + (size_t)(i < n_tx ? i : n_tx) * H, sizeof(float) * H);
        if (i == 0) {
            qt_talker_add_codec(&m->talker, m->cfg.talker.codec_bos_id, e);
        } else {
            qt_frame_embed(&m->talker, &m->cp, gp.codes + (size_t)(i - 1) * QT_CODEBOOKS, fr);
            for (int d = 0; d < H; d++)
                e[d] += fr[d];
        }
        double d = max_abs_error(e, pr.embeds + (size_t)(9 + i) * H, H, NULL);
        if (d > worst) worst = d;
    }
    check_tol("block C against the formula", worst, 1e-5);
    check_tol("trailing text = tts_pad", max_abs_error(pr.trailing, tv + (size_t)n_tx * H, H, NULL), 1e-5);
    free(ids);
    free(tv);
    free(e);
    free(fr);
    qt_talker_prompt_free(&pr);
    free_prompt(&gp);
}

/* Issue 16 item 13: the ICL output is the official wav[cut:] of decoding reference + generated codes, with
 * cut = int(ref_len / total_len * n_samples) in floating point, which for some lengths keeps one sample of
 * the reference. For generated lengths with and without that sample, the audio must equal, bit for bit, a
 * one-pass decode of all codes cut the official way. */
static void icl_cut(qt_model *m, const st_file *g)
{
    printf("ICL output length: the official cut\n");
    if (!m->codec) {
        printf("  (no codec decoder in this model object: skipped)\n");
        return;
    }
    golden_prompt gp;
    load_prompt(g, "icl", qt_model_hidden(m), &gp);
    /* the first 17 reference frames: 17 + 6 frames keep one reference sample, 17 + 1 do not */
    int ref = gp.vp.n_frames < 17 ? gp.vp.n_frames : 17, tried_extra = 0, tried_plain = 0;
    gp.vp.n_frames = ref;
    for (int gen = 1; gen <= 48 && (!tried_extra || !tried_plain); gen++) {
        int total = ref + gen;
        long cut = (long)((double)ref / (double)total * (double)(total * QT_SAMPLES_PER_FRAME));
        int extra = cut < (long)ref * QT_SAMPLES_PER_FRAME;
        if (extra ? tried_extra : tried_plain) continue;
        extra ? tried_extra++ : tried_plain++;
        qt_gen_params p = qt_gen_default_params();
        qt_gen_output out = {0};
        qt_error err = {0};
        p.max_frames = gen;
        p.ignore_eos = 1;
        p.seed = 5;
        p.out = &out;
        int rc = qt_generate_ids(m, &gp.vp, gp.ref_ids, gp.n_ref, gp.text_ids, gp.n_text, &p, &err);
        int32_t *all = malloc(sizeof(int32_t) * QT_CODEBOOKS * total);
        float *wav = malloc(sizeof(float) * (size_t)total * QT_SAMPLES_PER_FRAME);
        memcpy(all, gp.codes, sizeof(int32_t) * QT_CODEBOOKS * ref);
        if (!rc) memcpy(all + (size_t)ref * QT_CODEBOOKS, out.codes, sizeof(int32_t) * QT_CODEBOOKS * gen);
        int rd = rc ? -1 : qt_codec_decode(m->codec, all, total, wav, &err);
        size_t want = (size_t)total * QT_SAMPLES_PER_FRAME - (size_t)cut;
        char what[160];
        snprintf(what, sizeof what, "%d + %d frames: %zu samples (official %zu%s)", ref, gen, out.n_samples,
                 want, extra ? ", one of them the reference's" : "");
        expect(!rc && !rd && out.n_samples == want, what, err.msg[0] ? err.msg : NULL);
        if (!rc && !rd && out.n_samples == want)
            check_tol("  equal to decode(ref + gen)[cut:]", max_abs_error(out.audio, wav + cut, want, NULL),
                      0);
        free(all);
        free(wav);
        qt_gen_output_free(&out);
    }
    expect(tried_extra && tried_plain, "both kinds of length were tried", NULL);
    free_prompt(&gp);
}

static void bad_inputs(qt_model *a, qt_model *b, const st_file *ga)
{
    printf("bad input\n");
    golden_prompt gp;
    load_prompt(ga, "xvec", qt_model_hidden(a), &gp);
    qt_error err = {0};
    qt_gen_params p = qt_gen_default_params();
    p.max_frames = 2;
    int rc = qt_generate_ids(b, &gp.vp, NULL, 0, gp.text_ids, gp.n_text, &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_MISMATCH, "tiny-a prompt on tiny-b: QT_ERR_MISMATCH", err.msg);
    p.language = "klingon";
    rc = qt_generate_ids(a, &gp.vp, NULL, 0, gp.text_ids, gp.n_text, &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_INVALID, "unknown language: QT_ERR_INVALID", err.msg);
    p.language = "DE";
    qt_gen_output o = {0};
    p.out = &o;
    rc = qt_generate_ids(a, &gp.vp, NULL, 0, gp.text_ids, gp.n_text, &p, &err);
    expect(rc == 0 && o.n_frames == 2, "language code 'DE' accepted", rc ? err.msg : NULL);
    qt_gen_output_free(&o);
    p.out = NULL;
    p.language = "auto";
    rc = qt_generate_ids(a, &gp.vp, NULL, 0, gp.text_ids, 0, &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_INVALID, "empty text: QT_ERR_INVALID", err.msg);
    gp.vp.mode = QT_PROMPT_ICL; /* ICL without codes */
    rc = qt_generate_ids(a, &gp.vp, NULL, 0, gp.text_ids, gp.n_text, &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_INVALID, "ICL prompt without codes: QT_ERR_INVALID", err.msg);
    char *big = malloc(QT_MAX_TEXT_BYTES + 2);
    memset(big, 'a', QT_MAX_TEXT_BYTES + 1);
    big[QT_MAX_TEXT_BYTES + 1] = 0;
    rc = qt_generate(a, &gp.vp, big, &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_INVALID, "text over the limit: QT_ERR_INVALID", err.msg);
    free(big);
    rc = qt_generate(a, &gp.vp, "  \n ", &p, &err);
    expect(rc == -1 && err.kind == QT_ERR_INVALID, "whitespace-only text: QT_ERR_INVALID", err.msg);
    free_prompt(&gp);
    qt_model *none = qt_model_load("/nonexistent/model-dir", NULL, &err);
    expect(!none && (err.kind == QT_ERR_NOT_FOUND || err.kind == QT_ERR_IO), "missing model dir", err.msg);
}

/* Runs `voicebox say ...` (VOICEBOX_BIN), returns its exit status; its stderr lands in *msg. */
static int run_say(const char *args, char *msg, size_t msg_size)
{
    const char *bin = getenv("VOICEBOX_BIN");
    char cmd[12000];
    char errfile[64];
    snprintf(errfile, sizeof errfile, "/tmp/voicebox_test_say_%d.err", (int)getpid());
    snprintf(cmd, sizeof cmd, "%s say %s 2>%s >/dev/null", bin, args, errfile);
    int rc = system(cmd);
    FILE *f = fopen(errfile, "r");
    msg[0] = 0;
    if (f) {
        size_t n = fread(msg, 1, msg_size - 1, f);
        msg[n] = 0;
        fclose(f);
        char *nl = strrchr(msg, '\n');
        if (nl && !nl[1]) *nl = 0;
    }
    remove(errfile);
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

static void cli_checks(qt_model *a, const st_file *ga)
{
    const char *bin = getenv("VOICEBOX_BIN");
    if (!bin || access(bin, X_OK)) {
        printf("voicebox say: VOICEBOX_BIN not set or not executable, CLI checks skipped\n");
        return;
    }
    printf("voicebox say\n");
    char args[10000], msg[4096], wav[256], codes[256], prompt[256];
    const char *ref = "--ref-text 'The quick brown fox jumps over the lazy dog.'";
    snprintf(wav, sizeof wav, "/tmp/voicebox_test_say_%d.wav", (int)getpid());
    snprintf(codes, sizeof codes, "/tmp/voicebox_test_say_%d.codes", (int)getpid());
    snprintf(prompt, sizeof prompt, "/tmp/voicebox_test_say_%d.prompt", (int)getpid());

    snprintf(args, sizeof args,
             "--model %s/tiny-a --ref %s/audio/ref_24k.wav %s --text 'Hello, world!' --greedy --max-frames 5 "
             "--threads 2 -o %s --codes %s",
             golden, golden, ref, wav, codes);
    int rc = run_say(args, msg, sizeof msg);
    expect(rc == 0, "say --ref (ICL) on tiny-a, 5 frames", msg);
    if (rc == 0) {
        FILE *f = fopen(codes, "r");
        int lines = 0, c;
        while (f && (c = fgetc(f)) != EOF)
            lines += c == '\n';
        if (f) fclose(f);
        expect(lines >= 1 && lines <= 5, "--codes wrote one line per frame", NULL);
        FILE *w = fopen(wav, "rb");
        long size = 0;
        if (w) {
            fseek(w, 0, SEEK_END);
            size = ftell(w);
            fclose(w);
        }
        expect(size == 44 + 2L * 1920 * lines, "-o wrote a 16-bit WAV of 1920 samples per frame", NULL);
    }
    remove(wav);
    remove(codes);

    snprintf(args, sizeof args, "--model /nonexistent/model --ref %s/audio/ref_24k.wav %s --text hi -o %s",
             golden, ref, wav);
    rc = run_say(args, msg, sizeof msg);
    expect(rc != 0 && strstr(msg, "/nonexistent/model"), "missing model: clean error", msg);
    snprintf(args, sizeof args,
             "--model %s/tiny-a --ref %s/audio/ref_24k.wav %s --text hi --language xx -o %s", golden, golden,
             ref, wav);
    rc = run_say(args, msg, sizeof msg);
    expect(rc != 0 && strstr(msg, "unknown language"), "unknown language: clean error", msg);
    snprintf(args, sizeof args, "--model %s/tiny-a --ref %s/audio/ref_24k.wav %s --text '  ' -o %s", golden,
             golden, ref, wav);
    rc = run_say(args, msg, sizeof msg);
    expect(rc != 0 && strstr(msg, "empty"), "empty text: clean error", msg);
    char *big = malloc(QT_MAX_TEXT_BYTES + 64);
    memset(big, 'a', QT_MAX_TEXT_BYTES + 10);
    big[QT_MAX_TEXT_BYTES + 10] = 0;
    snprintf(args, sizeof args, "--model %s/tiny-a --ref %s/audio/ref_24k.wav --xvector-only --text %s -o %s",
             golden, golden, big, wav);
    free(big);
    rc = run_say(args, msg, sizeof msg);
    expect(rc != 0 && strstr(msg, "limit"), "text over the limit: clean error", msg);
    snprintf(args, sizeof args, "--model %s/tiny-a --ref /nonexistent.wav %s --text hi -o %s", golden, ref,
             wav);
    rc = run_say(args, msg, sizeof msg);
    expect(rc != 0 && strstr(msg, "nonexistent.wav"), "missing reference file: clean error", msg);

    /* a tiny-a prompt file given to tiny-b */
    golden_prompt gp;
    load_prompt(ga, "xvec", qt_model_hidden(a), &gp);
    snprintf(gp.vp.size, sizeof gp.vp.size, "%s", qt_model_size(a));
    qt_error err = {0};
    if (qt_prompt_save(&gp.vp, prompt, &err)) {
        expect(0, "saving a tiny-a prompt file", err.msg);
    } else {
        snprintf(args, sizeof args, "--model %s/tiny-b --prompt %s --text hi -o %s", golden, prompt, wav);
        rc = run_say(args, msg, sizeof msg);
        expect(rc != 0 && (strstr(msg, "width") || strstr(msg, "0.6B")),
               "tiny-a prompt on tiny-b: clean error", msg);
        snprintf(args, sizeof args,
                 "--model %s/tiny-a --prompt %s --text 'Hi there.' --greedy --max-frames 3 -o %s", golden,
                 prompt, wav);
        rc = run_say(args, msg, sizeof msg);
        expect(rc == 0, "the same prompt file on tiny-a works", msg);
    }
    free_prompt(&gp);
    remove(prompt);
    remove(wav);
}

int main(void)
{
    golden = golden_dir();
    char path[1200];
    snprintf(path, sizeof path, "%s/expected/tiny-a/golden.safetensors", golden);
    if (!*golden || access(path, R_OK)) {
        printf("golden fixtures not found (%s): skipped\n", golden);
        return 77;
    }
    qt_model *models[2] = {NULL, NULL};
    st_file *goldens[2] = {NULL, NULL};
    const char *names[2] = {"tiny-a", "tiny-b"};
    qt_load_params lp = qt_load_default_params();
    for (int i = 0; i < 2; i++) {
        qt_error err = {0};
        lp.n_threads = 2 - i; /* tiny-a on two threads (the decode loop's thread choice), tiny-b on one */
        snprintf(path, sizeof path, "%s/%s", golden, names[i]);
        models[i] = qt_model_load(path, &lp, &err);
        snprintf(path, sizeof path, "%s/expected/%s/golden.safetensors", golden, names[i]);
        goldens[i] = st_open(path, &err);
        if (!models[i] || !goldens[i]) {
            printf("%s: %s\n", names[i], err.msg);
            return 1;
        }
        printf("%s: size %s, hidden %d\n", names[i], qt_model_size(models[i]), qt_model_hidden(models[i]));
        run_mode(models[i], goldens[i], names[i], "icl", "English");
        run_mode(models[i], goldens[i], names[i], "xvec", "Auto");
    }
    short_text_layout(models[1], goldens[1]);
    icl_cut(models[1], goldens[1]);
    bad_inputs(models[0], models[1], goldens[0]);
    cli_checks(models[0], goldens[0]);
    for (int i = 0; i < 2; i++) {
        qt_model_free(models[i]);
        st_close(goldens[i]);
    }
    printf("%d failure(s)\n", failures);
    return failures ? 1 : 0;
}
