/* model.c — qt_model: loading a release directory (config, weights, tokenizer, codec decoder), accessors
 * and languages.
 *
 * Weights stay mmap'd (st_open); the talker and code predictor hold pointers into the mapping, or with
 * precision int8 their own int8 copies of the matrices a decode step reads (quantized here, at load). Must
 * not: run a generation (generate.c, gen_text.c, gen_audio.c) or know about the CLI and server.
 */
#include "engine/model.h"

#include "engine/kernels.h"
#include "engine/q8_cache.h"
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

int qt_model_check(const char *dir, qt_error *err)
{
    qt_config cfg;
    qt_codec_config codec_cfg;
    char codec_dir[4096];
    if (qt_config_load(dir, &cfg, err) || qt_speech_tokenizer_dir(dir, codec_dir, sizeof codec_dir, err) ||
        qt_codec_config_load(codec_dir, &codec_cfg, err))
        return -1;
    const char *const parts[] = {dir, codec_dir};
    for (size_t i = 0; i < 2; i++) {
        st_file *f = st_open(parts[i], err); /* maps and checks every header against its file's size */
        if (!f) return -1;
        st_close(f);
    }
    return 0;
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
    qt_quant_params qp = {p->precision == QT_PRECISION_INT8, m->pool, NULL};
    if (qp.int8 && p->cache_dir && *p->cache_dir)
        qp.cache = m->q8_cache = qt_q8_cache_open(p->cache_dir, path);
    if (qt_talker_init(&m->talker, m->st, &m->cfg, &qp, err) || qt_cp_init(&m->cp, m->st, &m->cfg, &qp, err))
        goto fail;
    if (m->q8_cache) (void)qt_q8_cache_save(m->q8_cache); /* optional: its state says how it went */
    if (!(m->tok = qt_tokenizer_load(m->dir, err))) goto fail;
    if (!p->no_codec && !(m->codec = qt_codec_load(m->dir, qt_pool_threads(m->pool), err))) goto fail;
    if (m->codec && p->precision == QT_PRECISION_INT8 && qt_codec_set_bf16(m->codec, 1, err))
        goto fail; /* §7.8 */
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
    qt_q8_cache_free(m->q8_cache); /* after the weights that borrow from it */
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

const char *qt_model_weights_cache(const qt_model *m)
{
    return m->q8_cache ? qt_q8_cache_state(m->q8_cache) : NULL;
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
} lang_codes[] = {{"zh", "chinese"}, {"en", "english"}, {"ja", "japanese"}, {"ko", "korean"},
                  {"de", "german"},  {"fr", "french"},  {"ru", "russian"},  {"pt", "portuguese"},
                  {"es", "spanish"}, {"it", "italian"}};

const char *qt_language_code(size_t i, const char **name)
{
    if (i >= sizeof lang_codes / sizeof lang_codes[0]) return NULL;
    if (name) *name = lang_codes[i].name;
    return lang_codes[i].code;
}

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
