/* generate.c — from text and a voice prompt to codes and audio: the decode loop of docs/engine.md §4.4.
 *
 * prefill -> c0 (processors, sample) -> code predictor c1..c15 -> emit the frame (codes, audio through
 * the streaming decoder, progress) -> next talker input = S(frame) + trailing text (or tts_pad) -> repeat
 * until EOS, max_frames or qt_cancel. Must not: know about files, HTTP or the CLI.
 */
#include "engine/generate.h"

#include "engine/gen_audio.h"
#include "engine/kernels.h"
#include "engine/model.h"
#include "engine/sampling.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

qt_gen_params qt_gen_default_params(void)
{
    /* generation_config.json of the Base releases (§1.3) */
    qt_gen_params p = {0};
    p.language = "auto";
    p.seed = 0;
    p.temperature = 0.9f;
    p.top_k = 50;
    p.top_p = 1.0f;
    p.repetition_penalty = 1.05f;
    p.subtalker_temperature = 0.9f;
    p.subtalker_top_k = 50;
    p.subtalker_top_p = 1.0f;
    p.max_frames = 8192;
    p.ref_context = -1;
    return p;
}

void qt_gen_output_free(qt_gen_output *o)
{
    if (!o) return;
    free(o->audio);
    free(o->codes);
    o->audio = NULL;
    o->codes = NULL;
    o->n_samples = 0;
    o->n_frames = 0;
}

void qt_cancel(qt_model *m)
{
    if (m) atomic_store(&m->cancel, 1);
}

/* Threads for the decode steps, chosen by the clock. A decode step is hundreds of short parallel loops, and
 * on a machine whose cores are busy with other work a helper thread that the OS has parked stalls every one
 * of them: there one thread runs the frames several times faster than two (measured 0.25 vs 1.4 s on the
 * shared dev box), while on an idle machine two are faster (about twice: a frame is bound by the read
 * bandwidth, which grows with the cores reading). So the loop times its frames and runs one frame with the
 * other setting to compare: frame 1, then, on one thread, again after 8, 16, 32, 32... frames (a probe that
 * loses waits twice as long); on the pool only when its frames have grown 30 % slower than its best (the
 * machine got busy), since a probe there costs a whole frame at half speed (0.3 s of a 100-frame take when it
 * came every 8-32 frames). */
typedef struct {
    int single;     /* the current choice: 1 = the calling thread alone */
    double ms[2];   /* recent frame times [multi, single] */
    double best[2]; /* the fastest frame seen with each */
    int seen[2];
    int next_probe, interval, last_probe; /* next_probe -1: none planned */
} lm_threads;

#define LM_SLOWER 1.3 /* pool frames this much slower than their best: probe one thread */

static qt_pool *lm_pool(lm_threads *c, qt_pool *pool, int t)
{
    if (qt_pool_threads(pool) < 2) return pool;
    if (!c->interval) c->interval = 8, c->next_probe = 1;
    int single = c->single;
    if (t == c->next_probe) single = !single;
    return single ? NULL : pool;
}

static void lm_record(lm_threads *c, int t, int multi, double ms)
{
    int k = multi ? 0 : 1, probe = t == c->next_probe;
    /* a probe's time replaces the old figure for its setting (which may date from other load); the current
     * setting keeps a running average */
    c->ms[k] = probe || !c->seen[k] ? ms : 0.6 * c->ms[k] + 0.4 * ms;
    c->best[k] = !c->seen[k] || ms < c->best[k] ? ms : c->best[k];
    c->seen[k] = 1;
    int single = c->seen[0] && c->seen[1] ? c->ms[1] < c->ms[0] : c->single;
    if (probe) {
        c->interval = single == c->single ? (c->interval < 32 ? 2 * c->interval : 32) : 8;
        c->last_probe = t;
        c->next_probe = single ? t + c->interval : -1;
        if (!single) c->best[0] = c->ms[0]; /* frames slow down as the context grows: compare from here */
    } else if (!single && c->next_probe < 0 && t - c->last_probe >= 8 && c->ms[0] > LM_SLOWER * c->best[0]) {
        c->next_probe = t + 1;
    }
    c->single = single;
}

static int check_prompt(const qt_model *m, const qt_voice_prompt *vp, qt_error *err)
{
    int H = m->talker.hidden;
    if (!vp) return qt_fail(err, QT_ERR_INVALID, "no voice prompt was given");
    if (vp->width != H)
        return qt_fail(
            err, QT_ERR_MISMATCH,
            "the voice prompt was made for a model of width %d (%s) but this model (%s) has width %d; "
            "make the prompt again with this model",
            vp->width, vp->size[0] ? vp->size : "unknown size", m->cfg.size, H);
    if (vp->size[0] && strcmp(vp->size, m->cfg.size))
        return qt_fail(err, QT_ERR_MISMATCH,
                       "the voice prompt was made for the %s model, not %s; make it again with "
                       "this model",
                       vp->size, m->cfg.size);
    if (!vp->xvector) return qt_fail(err, QT_ERR_INVALID, "the voice prompt has no speaker x-vector");
    if (vp->mode == QT_PROMPT_ICL && (!vp->codes || vp->n_frames < 1))
        return qt_fail(err, QT_ERR_INVALID, "the ICL voice prompt has no reference codes");
    if (vp->mode != QT_PROMPT_ICL && vp->mode != QT_PROMPT_XVECTOR)
        return qt_fail(err, QT_ERR_INVALID, "the voice prompt has an unknown mode %d", (int)vp->mode);
    return 0;
}

/* One generation: what qt_generate_ids allocates, all freed by gen_free (the one cleanup path). The model's
 * weights are only read; the talker's cache and scratch and the code predictor's state live here. */
typedef struct {
    qt_model *m;
    const qt_gen_params *p;
    qt_gen_output local, *out;
    qt_kv kv;
    qt_stack_scratch sc;
    qt_cp_state cps;
    qt_talker_prompt pr;
    qt_audio_stream *audio;
    int32_t *history;        /* codebook-0 tokens so far (repetition penalty) */
    float *logits, *scratch; /* [codec_vocab] */
    float *c0e, *x;          /* [hidden]: C(c0), the next talker input */
    const float *h;          /* the talker's last normed hidden state */
    int cap_frames;
    qt_rng rng;
    qt_sample_params sp, csp;
    double t0;
} gen;

static void gen_free(gen *g, int failed)
{
    qt_audio_end(g->audio);
    qt_talker_prompt_free(&g->pr);
    qt_kv_free(&g->kv);
    qt_stack_scratch_free(&g->sc);
    qt_cp_state_free(&g->cps);
    free(g->history);
    free(g->logits);
    free(g->scratch);
    free(g->c0e);
    free(g->x);
    if (failed || g->out == &g->local) qt_gen_output_free(g->out);
}

/* Buffers, the prompt through the talker, and the decoder primed with the reference frames. */
static int gen_prefill(gen *g, const qt_voice_prompt *vp, const char *lang, const int32_t *ref_ids, int n_ref,
                       const int32_t *text_ids, int n_text, qt_error *err)
{
    qt_model *m = g->m;
    const qt_gen_params *p = g->p;
    int H = m->talker.hidden, V = m->talker.codec_vocab, icl = vp->mode == QT_PROMPT_ICL;
    g->history = malloc(sizeof(int32_t) * (size_t)(p->max_frames + 1));
    g->logits = malloc(sizeof(float) * V);
    g->scratch = malloc(sizeof(float) * V);
    g->c0e = malloc(sizeof(float) * H);
    g->x = malloc(sizeof(float) * H);
    g->cap_frames = p->max_frames < 256 ? p->max_frames : 256;
    g->out->codes = malloc(sizeof(int32_t) * QT_CODEBOOKS * g->cap_frames);
    if (!g->history || !g->logits || !g->scratch || !g->c0e || !g->x || !g->out->codes)
        return qt_fail(err, QT_ERR_NOMEM, "out of memory starting a generation");
    if (qt_cp_state_init(&g->cps, &m->cp, err)) return -1;
    g->t0 = qt_now_ms();

    qt_talker_prompt_input in = {
        qt_model_language_id(m, lang), vp->xvector, ref_ids, icl ? n_ref : 0, icl ? vp->codes : NULL,
        icl ? vp->n_frames : 0,        text_ids,    n_text};
    if (qt_talker_prompt_build(&g->pr, &m->talker, &m->cp, m->pool, &m->cfg, &in, err)) return -1;
    if (qt_stack_forward(&m->talker.stack, &g->kv, &g->sc, m->pool, g->pr.embeds, g->pr.n, err)) return -1;
    g->h = g->pr.embeds + (size_t)(g->pr.n - 1) * H; /* the last position's normed hidden state */
    g->out->prefill_ms = qt_now_ms() - g->t0;

    double tr = qt_now_ms();
    int ctx = icl ? vp->n_frames : 0;
    if (p->ref_context >= 0 && p->ref_context < ctx) ctx = p->ref_context;
    if (!(g->audio = qt_audio_begin(m, icl ? vp->codes + (size_t)(vp->n_frames - ctx) * QT_CODEBOOKS : NULL,
                                    ctx, err)))
        return -1;
    g->out->ref_decode_ms = qt_now_ms() - tr;
    qt_rng_seed(&g->rng, p->seed);
    g->sp = (qt_sample_params){p->greedy, p->temperature, p->top_k, p->top_p};
    g->csp = (qt_sample_params){p->subtalker_greedy || p->greedy, p->subtalker_temperature,
                                p->subtalker_top_k, p->subtalker_top_p};
    return 0;
}

/* Frame t's codes from the talker's state: c0 (head, processors, sample), then c1..c15 from the code
 * predictor. 1 when the talker said EOS (codes not filled). */
static int gen_step(gen *g, int t, qt_pool *lp, int32_t *codes, qt_error *err)
{
    qt_model *m = g->m;
    const qt_gen_params *p = g->p;
    const qt_talker_config *tc = &m->cfg.talker;
    int V = m->talker.codec_vocab;
    double ta = qt_now_ms();
    qt_talker_logits(&m->talker, lp, g->h, g->logits);
    qt_talker_processors(g->logits, V, g->history, t, p->repetition_penalty, p->ignore_eos ? 0 : t, 2,
                         tc->codec_eos_id, QT_CODEBOOK_SIZE);
    codes[0] = qt_sample(g->logits, V, &g->sp, &g->rng, g->scratch);
    g->out->talker_ms += qt_now_ms() - ta;
    if (codes[0] == tc->codec_eos_id) return 1;
    g->history[t] = codes[0];
    double tb = qt_now_ms();
    memset(g->c0e, 0, sizeof(float) * m->talker.hidden);
    qt_talker_add_codec(&m->talker, codes[0], g->c0e);
    if (qt_cp_frame(&m->cp, &g->cps, lp, g->h, g->c0e, &g->csp, &g->rng, codes, NULL, err)) return -1;
    g->out->cp_ms += qt_now_ms() - tb;
    return 0;
}

/* Frame t leaves: kept in out->codes, on_frame, the audio decoder, progress.
 * The decoder runs here, between frames, on all the pool's threads, not beside the next frames: on two cores
 * an overlapped decoder would take one core from the talker and code predictor, whose frames are bound by the
 * read bandwidth that both cores together draw. Measured (0.6B int8, 2026-12-02): on one thread a frame's
 * talker + code predictor take 125.5 ms and its decoding 31.1 ms, so overlapped a frame costs
 * max(125.5, 31.1) = 125.5 ms; in turn on two threads 69.7 + 17.8 = 87.5 ms. */
static int gen_emit(gen *g, int t, const int32_t *codes, qt_error *err)
{
    const qt_gen_params *p = g->p;
    qt_gen_output *out = g->out;
    if (out->n_frames == g->cap_frames) {
        int nc = g->cap_frames * 2 < p->max_frames ? g->cap_frames * 2 : p->max_frames;
        int32_t *grown = realloc(out->codes, sizeof(int32_t) * QT_CODEBOOKS * nc);
        if (!grown) return qt_fail(err, QT_ERR_NOMEM, "out of memory after %d frames", t);
        out->codes = grown;
        g->cap_frames = nc;
    }
    memcpy(out->codes + (size_t)out->n_frames * QT_CODEBOOKS, codes, sizeof(int32_t) * QT_CODEBOOKS);
    out->n_frames++;
    if (p->on_frame) p->on_frame(codes, t, p->user);
    double tc0 = qt_now_ms();
    if (qt_audio_push(g->audio, codes, 1, p, p->out ? out : NULL, err)) return -1;
    out->decoder_ms += qt_now_ms() - tc0;
    if (out->first_audio_ms == 0 && (out->n_samples || p->on_audio))
        out->first_audio_ms = qt_now_ms() - g->t0;
    if (p->on_progress) p->on_progress(t + 1, p->max_frames, p->user);
    return 0;
}

/* The talker takes frame t: next input = S(frame) + trailing text vector (or tts_pad). */
static int gen_advance(gen *g, int t, qt_pool *lp, const int32_t *codes, qt_error *err)
{
    qt_model *m = g->m;
    int H = m->talker.hidden;
    double td = qt_now_ms();
    qt_frame_embed(&m->talker, &m->cp, codes, g->x);
    const float *tt = t < g->pr.n_trailing ? g->pr.trailing + (size_t)t * H : g->pr.pad;
    for (int e = 0; e < H; e++)
        g->x[e] += tt[e];
    if (qt_stack_forward(&m->talker.stack, &g->kv, &g->sc, lp, g->x, 1, err)) return -1;
    g->h = g->x;
    g->out->talker_ms += qt_now_ms() - td;
    return 0;
}

int qt_generate_ids(qt_model *m, const qt_voice_prompt *vp, const int32_t *ref_ids, int n_ref,
                    const int32_t *text_ids, int n_text, const qt_gen_params *p, qt_error *err)
{
    qt_gen_params dp = qt_gen_default_params();
    if (!p) p = &dp;
    if (check_prompt(m, vp, err)) return -1;
    char lang[QT_NAME_MAX];
    if (qt_language_normalize(m, p->language ? p->language : "auto", lang, sizeof lang, err)) return -1;
    if (n_text < 1) return qt_fail(err, QT_ERR_INVALID, "the text to speak is empty");
    if (p->max_frames < 1)
        return qt_fail(err, QT_ERR_INVALID, "max_frames must be at least 1 (got %d)", p->max_frames);

    gen g = {0};
    g.m = m;
    g.p = p;
    g.out = p->out ? p->out : &g.local;
    memset(g.out, 0, sizeof *g.out);
    atomic_store(&m->cancel, 0);
    if (gen_prefill(&g, vp, lang, ref_ids, n_ref, text_ids, n_text, err)) goto fail;

    int32_t codes[QT_CODEBOOKS];
    lm_threads choice = {0};
    choice.single = m->decode_single;
    for (int t = 0; t < p->max_frames; t++) {
        if (atomic_load(&m->cancel)) {
            qt_fail(err, QT_ERR_CANCELLED, "the generation was cancelled after %d frames", t);
            goto fail;
        }
        qt_pool *lp = m->pool ? lm_pool(&choice, m->pool, t) : NULL;
        double lm0 = qt_now_ms();
        int eos = gen_step(&g, t, lp, codes, err);
        if (eos < 0) goto fail;
        if (eos) {
            g.out->hit_eos = 1;
            break;
        }
        double te = qt_now_ms();
        if (gen_emit(&g, t, codes, err)) goto fail;
        double emit_ms = qt_now_ms() - te;
        if (t + 1 == p->max_frames) break; /* the reference would sample one more c0 and drop it */
        if (gen_advance(&g, t, lp, codes, err)) goto fail;
        lm_record(&choice, t, lp != NULL, qt_now_ms() - lm0 - emit_ms);
    }
    m->decode_single = choice.single;
    double tf = qt_now_ms();
    if (qt_audio_flush(g.audio, p, p->out ? g.out : NULL, err)) goto fail;
    if (vp->mode == QT_PROMPT_ICL && qt_audio_official_cut(g.audio, vp->n_frames, p->out ? g.out : NULL, err))
        goto fail;
    g.out->decoder_ms += qt_now_ms() - tf;
    gen_free(&g, 0);
    return 0;
fail:
    gen_free(&g, 1);
    return -1;
}
