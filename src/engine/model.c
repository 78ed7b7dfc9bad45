/* model.c — qt_model: loading a release directory (config, weights, tokenizer, codec decoder), accessors
 * and languages.
 *
 * Weights stay mmap'd (st_open); the talker and code predictor hold pointers into the mapping. Must not:
 * run a generation (generate.c, gen_text.c, gen_audio.c) or know about the CLI and server.
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

static size_t stack_bytes(const qt_stack_config *c)
{
    size_t H = c->hidden, q = (size_t)c->n_heads * c->head_dim, kv = (size_t)c->n_kv_heads * c->head_dim;
    return (size_t)c->n_layers * 2 * (H * q + 2 * H * kv + H * q + 3 * H * c->intermediate);
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
    if (!(m->st = st_open(path, err))) goto fail;
    if (qt_talker_init(&m->talker, m->st, &m->cfg, err) || qt_cp_init(&m->cp, m->st, &m->cfg, err)) goto fail;
    if (!(m->pool = qt_pool_new(p->n_threads > 0 ? p->n_threads : qt_default_threads()))) {
        qt_fail(err, QT_ERR_NOMEM, "could not start the engine's threads");
        goto fail;
    }
    if (!(m->tok = qt_tokenizer_load(m->dir, err))) goto fail;
    if (!p->no_codec && !(m->codec = qt_codec_load(m->dir, qt_pool_threads(m->pool), err))) goto fail;
    const qt_stack_config *tc = &m->cfg.talker.stack, *cc = &m->cfg.code_predictor;
    m->talker_step_bytes = stack_bytes(tc) + 2 * (size_t)tc->vocab_size * tc->hidden;
    m->cp_frame_bytes = (QT_CODEBOOKS - 1) * stack_bytes(cc) +
                        (QT_CODEBOOKS - 1) * 2 * (size_t)cc->vocab_size * cc->hidden +
                        (m->cp.proj ? (QT_CODEBOOKS - 1) * 2 * (size_t)cc->hidden * tc->hidden : 0);
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

void qt_model_bytes_per_frame(const qt_model *m, size_t *talker, size_t *code_predictor)
{
    *talker = m->talker_step_bytes;
    *code_predictor = m->cp_frame_bytes;
}

const char *qt_kernels_name(void)
{
    return qt_kernels_get()->name;
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
