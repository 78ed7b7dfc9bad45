/* model.c — qt_model: loading a release directory (config, weights, tokenizer, codec decoder), accessors,
 * languages, and the audio side of a generation (the codec's streaming decoder).
 *
 * Weights stay mmap'd (st_open); the talker and code predictor hold pointers into the mapping, or with
 * precision int8 their own int8 copies of the matrices a decode step reads (quantized here, at load). Must not:
 * run the decode loop (generate.c) or know about the CLI and server.
 */
#include "engine/model.h"

#include "engine/kernels.h"
#include "engine/speaker_encoder.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

qt_load_params qt_load_default_params(void)
{
    qt_load_params p = {0};
    return p;
}

int qt_precision_parse(const char *name, qt_precision *out, qt_error *err)
{
    if (name && !strcmp(name, "bf16")) {
        *out = QT_PRECISION_BF16;
        return 0;
    }
    if (name && !strcmp(name, "int8")) {
        *out = QT_PRECISION_INT8;
        return 0;
    }
    return qt_fail(err, QT_ERR_INVALID, "unknown precision '%s' (bf16 or int8)", name ? name : "");
}

const char *qt_precision_name(qt_precision p)
{
    return p == QT_PRECISION_INT8 ? "int8" : "bf16";
}

qt_model *qt_model_load(const char *path_or_repo, const qt_load_params *p, qt_error *err)
{
    qt_load_params dp = qt_load_default_params();
    if (!p) p = &dp;
    qt_model *m = calloc(1, sizeof *m);
    if (!m) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory loading a model");
        return NULL;
    }
    if (!path_or_repo || !*path_or_repo) {
        qt_fail(err, QT_ERR_INVALID, "no model directory or repo id was given");
        goto fail;
    }
    if (qt_resolve_model_dir(path_or_repo, m->dir, sizeof m->dir, err) ||
        qt_config_load(m->dir, &m->cfg, err))
        goto fail;
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", m->dir);
    if (p->precision != QT_PRECISION_BF16 && p->precision != QT_PRECISION_INT8) {
        qt_fail(err, QT_ERR_INVALID, "unknown precision %d", (int)p->precision);
        goto fail;
    }
    m->precision = p->precision;
    if (!(m->st = st_open(path, err))) goto fail;
    if (!(m->pool = qt_pool_new(p->n_threads > 0 ? p->n_threads : qt_default_threads()))) {
        qt_fail(err, QT_ERR_NOMEM, "could not start the engine's threads");
        goto fail;
    }
    qt_quant_params qp = {p->precision == QT_PRECISION_INT8, m->pool};
    if (qt_talker_init(&m->talker, m->st, &m->cfg, &qp, err) || qt_cp_init(&m->cp, m->st, &m->cfg, &qp, err))
        goto fail;
    if (!(m->tok = qt_tokenizer_load(m->dir, err))) goto fail;
    if (!p->no_codec && !(m->codec = qt_codec_load(m->dir, qt_pool_threads(m->pool), err))) goto fail;
    m->talker_step_bytes = qt_stack_step_bytes(&m->talker.stack) +
                           qt_weight_bytes(&m->talker.codec_head, m->talker.codec_vocab, m->talker.hidden);
    m->cp_frame_bytes = qt_cp_frame_bytes(&m->cp);
    return m;
fail:
    qt_model_free(m);
    return NULL;
}

void qt_model_free(qt_model *m)
{
    if (!m) return;
    qt_speaker_encoder_free(m->spk);
    qt_codec_free(m->codec);
    qt_tokenizer_free(m->tok);
    qt_pool_free(m->pool);
    qt_cp_free(&m->cp);
    qt_talker_free(&m->talker);
    st_close(m->st);
    free(m);
}

const char *qt_model_size(const qt_model *m)
{
    return m->cfg.size;
}

int qt_model_hidden(const qt_model *m)
{
    return m->talker.hidden;
}

const char *qt_model_dir(const qt_model *m)
{
    return m->dir;
}

int qt_model_threads(const qt_model *m)
{
    return qt_pool_threads(m->pool);
}

qt_precision qt_model_precision(const qt_model *m)
{
    return m->precision;
}

void qt_model_bytes_per_frame(const qt_model *m, size_t *talker, size_t *code_predictor)
{
    *talker = m->talker_step_bytes;
    *code_predictor = m->cp_frame_bytes;
}

const char *qt_kernels_name(void)
{
    return qt_kernels_get()->name;
}

const char *qt_int8_kernels_name(void)
{
    return qt_q8_kernels_get()->name;
}

double qt_read_bandwidth(int n_threads, size_t bytes)
{
    qt_pool *pool = qt_pool_new(n_threads > 0 ? n_threads : qt_default_threads());
    if (!pool) return 0;
    double bw = qt_measure_read_bandwidth(pool, bytes);
    qt_pool_free(pool);
    return bw;
}

/* ISO 639-1 codes of the Base models' languages (§2.5). */
static const struct {
    const char *code, *name;
} lang_codes[] = {{"zh", "chinese"},    {"en", "english"}, {"de", "german"},   {"it", "italian"},
                  {"pt", "portuguese"}, {"es", "spanish"}, {"ja", "japanese"}, {"ko", "korean"},
                  {"fr", "french"},     {"ru", "russian"}};

int qt_language_normalize(const qt_model *m, const char *language, char *out, size_t out_size, qt_error *err)
{
    char low[QT_NAME_MAX];
    size_t n = language ? strlen(language) : 0;
    if (n == 0 || n >= sizeof low) goto unknown;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)language[i]);
    const char *name = low;
    for (size_t i = 0; i < sizeof lang_codes / sizeof lang_codes[0]; i++)
        if (!strcmp(low, lang_codes[i].code)) name = lang_codes[i].name;
    if (strcmp(name, "auto") && qt_config_language_id(&m->cfg, name) < 0) goto unknown;
    snprintf(out, out_size, "%s", name);
    return 0;
unknown:;
    char known[512] = "auto";
    for (int i = 0; i < m->cfg.talker.n_languages; i++) {
        size_t k = strlen(known);
        snprintf(known + k, sizeof known - k, ", %s", m->cfg.talker.languages[i].name);
    }
    return qt_fail(err, QT_ERR_INVALID,
                   "unknown language '%s' (this model knows %s, or their two-letter codes)",
                   language ? language : "", known);
}

int qt_model_language_id(const qt_model *m, const char *normalized)
{
    if (!strcmp(normalized, "auto")) return -1;
    return qt_config_language_id(&m->cfg, normalized);
}

/* ---- text -----------------------------------------------------------------------------------------------
 */

/* Tokenizes prefix + text + suffix and returns the middle: the official wrapper's slices (§2.2). */
static int tokenize_slice(const qt_model *m, const char *text, size_t len, const char *suffix, int n_prefix,
                          int n_suffix, int32_t **ids, int *n, qt_error *err)
{
    static const char prefix[] = "<|im_start|>assistant\n";
    size_t total = sizeof prefix + len + strlen(suffix);
    char *s = malloc(total);
    if (!s) return qt_fail(err, QT_ERR_NOMEM, "out of memory tokenizing the text");
    snprintf(s, total, "%s%.*s%s", prefix, (int)len, text, suffix);
    int32_t *all = NULL;
    size_t n_all = 0;
    int rc = qt_tokenize(m->tok, s, &all, &n_all, err);
    free(s);
    if (rc) return -1;
    if (n_all < (size_t)(n_prefix + n_suffix)) {
        free(all);
        return qt_fail(err, QT_ERR_INVALID, "the text could not be tokenized into the prompt template");
    }
    *n = (int)n_all - n_prefix - n_suffix;
    memmove(all, all + n_prefix, sizeof(int32_t) * (size_t)*n);
    *ids = all;
    return 0;
}

/* Leading and trailing whitespace would merge with the template's newlines (§2.2): strip it. */
static const char *trim(const char *s, size_t *len)
{
    while (*s && isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    *len = n;
    return s;
}

int qt_generate(qt_model *m, const qt_voice_prompt *vp, const char *text, const qt_gen_params *p,
                qt_error *err)
{
    if (!m) return qt_fail(err, QT_ERR_INVALID, "no model was given");
    size_t len = 0;
    const char *t = text ? trim(text, &len) : "";
    if (len == 0) return qt_fail(err, QT_ERR_INVALID, "the text to speak is empty");
    if (strlen(text) > QT_MAX_TEXT_BYTES)
        return qt_fail(err, QT_ERR_INVALID, "the text is %zu bytes long; the limit is %d (split it)",
                       strlen(text), QT_MAX_TEXT_BYTES);
    int32_t *ids = NULL, *ref = NULL;
    int n = 0, n_ref = 0;
    if (tokenize_slice(m, t, len, "<|im_end|>\n<|im_start|>assistant\n", 3, 5, &ids, &n, err)) return -1;
    if (vp && vp->mode == QT_PROMPT_ICL) {
        size_t rlen = 0;
        const char *r = trim(vp->ref_text ? vp->ref_text : "", &rlen);
        if (tokenize_slice(m, r, rlen, "<|im_end|>\n", 3, 2, &ref, &n_ref, err)) {
            free(ids);
            return -1;
        }
    }
    int rc = qt_generate_ids(m, vp, ref, n_ref, ids, n, p, err);
    free(ids);
    free(ref);
    return rc;
}

/* ---- audio side: the codec's streaming decoder -----------------------------------------------------------
 */

#define STREAM_CHUNK 4
#define REF_CHUNK 16 /* frames per decoder push when nobody listens to the audio as it comes */

struct qt_audio_stream {
    qt_model *m;
    qt_codec_stream *cs;
    float *buf; /* [QT_SAMPLES_PER_FRAME * REF_CHUNK] */
    int32_t pending[QT_CODEBOOKS * REF_CHUNK];
    int n_pending, pushed;
};

qt_audio_stream *qt_audio_begin(qt_model *m, const int32_t *ref_codes, int n_ref_frames, qt_error *err)
{
    qt_audio_stream *s = calloc(1, sizeof *s);
    if (!s) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory starting the audio decoder");
        return NULL;
    }
    s->m = m;
    if (!m->codec) return s; /* codes only */
    s->buf = malloc(sizeof(float) * QT_SAMPLES_PER_FRAME * REF_CHUNK);
    if (!s->buf) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory starting the audio decoder");
        goto fail;
    }
    if (!(s->cs = qt_codec_stream_new(m->codec, err))) goto fail;
    /* ICL: the reference frames are the decoder's left context and their audio is dropped (§8). Skipping
     * them gives exactly the samples pushing them would, but runs only the last few through the vocoder. */
    if (n_ref_frames > 0 && qt_codec_stream_skip(s->cs, ref_codes, n_ref_frames, err))
        goto fail;
    return s;
fail:
    qt_audio_end(s);
    return NULL;
}

static int deliver(qt_audio_stream *s, const float *pcm, size_t n, const qt_gen_params *p, qt_gen_output *out,
                   qt_error *err)
{
    if (out && n) {
        float *grown = realloc(out->audio, sizeof(float) * (out->n_samples + n));
        if (!grown)
            return qt_fail(err, QT_ERR_NOMEM, "out of memory collecting %zu samples of audio",
                           out->n_samples + n);
        out->audio = grown;
        memcpy(out->audio + out->n_samples, pcm, sizeof(float) * n);
        out->n_samples += n;
    }
    if (p->on_audio && n) p->on_audio(pcm, n, p->user);
    (void)s;
    return 0;
}

int qt_audio_flush(qt_audio_stream *s, const qt_gen_params *p, qt_gen_output *out, qt_error *err)
{
    if (!s->cs || !s->n_pending) return 0;
    size_t got = 0;
    if (qt_codec_stream_push(s->cs, s->pending, s->n_pending, s->buf,
                             (size_t)QT_SAMPLES_PER_FRAME * REF_CHUNK, &got, err))
        return -1;
    s->pushed += s->n_pending;
    s->n_pending = 0;
    return deliver(s, s->buf, got, p, out, err);
}

int qt_audio_push(qt_audio_stream *s, const int32_t *codes, int n, const qt_gen_params *p, qt_gen_output *out,
                  qt_error *err)
{
    if (!s->cs) return 0;
    for (int i = 0; i < n; i++) {
        /* Streaming callers get the first frame at once (the first audio matters most), then 4 frames
         * (0.32 s) at a time: the decoder runs 1.7x faster per frame on 4 than on 1. Otherwise frames are
         * decoded REF_CHUNK at a time. */
        int chunk = !p->on_audio ? REF_CHUNK : s->pushed == 0 ? 1 : STREAM_CHUNK;
        memcpy(s->pending + (size_t)s->n_pending * QT_CODEBOOKS, codes + (size_t)i * QT_CODEBOOKS,
               sizeof(int32_t) * QT_CODEBOOKS);
        if (++s->n_pending >= chunk && qt_audio_flush(s, p, out, err)) return -1;
    }
    return 0;
}

void qt_audio_end(qt_audio_stream *s)
{
    if (!s) return;
    qt_codec_stream_free(s->cs);
    free(s->buf);
    free(s);
}
