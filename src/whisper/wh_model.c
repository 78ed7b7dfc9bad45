/* wh_model.c — loading a Whisper release (transformers layout) into a wh_model: config, weights, tokenizer,
 * special tokens, languages and the suppress list.
 *
 * Weights are f32 for BLAS: an F32 tensor at a 4-byte-aligned offset is used in place (the mapping stays
 * open), anything else (F16, BF16, unaligned) is converted once into memory the model owns. The official
 * code ties the output projection to the token embedding, so proj_out.weight, when a file has it, is unused.
 */
#include "whisper/wh_config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int wh_fail(wh_error *err, wh_error_kind kind, const char *fmt, ...)
{
    if (!err) return -1;
    err->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

int wh_from_qt(wh_error *err, const qt_error *qe)
{
    static const wh_error_kind map[] = {
        [QT_ERR_NONE] = WH_ERR_NONE,
        [QT_ERR_INVALID] = WH_ERR_INVALID,
        [QT_ERR_NOT_FOUND] = WH_ERR_NOT_FOUND,
        [QT_ERR_CORRUPT] = WH_ERR_CORRUPT,
        [QT_ERR_MISMATCH] = WH_ERR_CORRUPT,
        [QT_ERR_CANCELLED] = WH_ERR_CANCELLED,
        [QT_ERR_IO] = WH_ERR_IO,
        [QT_ERR_NOMEM] = WH_ERR_NOMEM,
    };
    wh_error_kind k = (unsigned)qe->kind < sizeof map / sizeof *map ? map[qe->kind] : WH_ERR_INVALID;
    return wh_fail(err, k, "%s", qe->msg);
}

wh_load_params wh_load_default_params(void)
{
    return (wh_load_params){.n_threads = 0};
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, u;
    if (exp == 0x1f) {
        u = sign | 0x7f800000u | (man << 13);
    } else if (exp) {
        u = sign | ((exp + 112) << 23) | (man << 13);
    } else if (man) { /* subnormal: normalise */
        int e = -1;
        do {
            e++;
            man <<= 1;
        } while (!(man & 0x400));
        u = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ff) << 13);
    } else {
        u = sign;
    }
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The tensor as f32 of the given shape (n_dims entries; -1 matches any extent). */
static const float *tensor(wh_model *m, const char *name, int n_dims, const int64_t *shape, wh_error *err)
{
    const st_tensor *t = st_find(m->st, name);
    if (!t) {
        wh_fail(err, WH_ERR_NOT_FOUND, "model.safetensors: tensor '%s' is missing", name);
        return NULL;
    }
    bool ok = t->n_dims == n_dims;
    for (int i = 0; ok && i < n_dims; i++)
        ok = shape[i] < 0 || t->shape[i] == shape[i];
    if (!ok) {
        char want[96] = "", have[96] = "";
        for (int i = 0; i < n_dims; i++)
            snprintf(want + strlen(want), sizeof want - strlen(want), "%s%lld", i ? ", " : "",
                     (long long)shape[i]);
        for (int i = 0; i < t->n_dims; i++)
            snprintf(have + strlen(have), sizeof have - strlen(have), "%s%lld", i ? ", " : "",
                     (long long)t->shape[i]);
        wh_fail(err, WH_ERR_CORRUPT, "model.safetensors: tensor '%s' is [%s], expected [%s]", name, have,
                want);
        return NULL;
    }
    m->weight_bytes += (size_t)t->n_elements * sizeof(float);
    if (t->dtype == ST_F32 && ((uintptr_t)t->data & 3) == 0) return t->data;
    if (t->dtype != ST_F32 && t->dtype != ST_F16 && t->dtype != ST_BF16) {
        wh_fail(err, WH_ERR_CORRUPT, "model.safetensors: tensor '%s' is %s, not F32, F16 or BF16", name,
                st_dtype_name(t->dtype));
        return NULL;
    }
    if (m->n_owned == m->cap_owned) {
        int cap = m->cap_owned ? m->cap_owned * 2 : 64;
        float **no = realloc(m->owned, (size_t)cap * sizeof *no);
        if (!no) goto nomem;
        m->owned = no;
        m->cap_owned = cap;
    }
    float *out = malloc((size_t)t->n_elements * sizeof *out);
    if (!out) goto nomem;
    m->owned[m->n_owned++] = out;
    const uint8_t *src = t->data;
    for (int64_t i = 0; i < t->n_elements; i++) {
        uint16_t h;
        switch (t->dtype) {
        case ST_F32:
            memcpy(&out[i], src + 4 * i, 4);
            break;
        case ST_F16:
            memcpy(&h, src + 2 * i, 2);
            out[i] = half_to_float(h);
            break;
        default:
            memcpy(&h, src + 2 * i, 2);
            out[i] = qt_bf16_to_f32(h);
            break;
        }
    }
    return out;
nomem:
    wh_fail(err, WH_ERR_NOMEM, "out of memory converting tensor '%s' to f32", name);
    return NULL;
}

#define T1(name, a) tensor(m, name, 1, (const int64_t[]){a}, err)
#define T2(name, a, b) tensor(m, name, 2, (const int64_t[]){a, b}, err)
#define T3(name, a, b, c) tensor(m, name, 3, (const int64_t[]){a, b, c}, err)

static int load_linear(wh_model *m, wh_linear *l, const char *prefix, int rows, int cols, bool bias,
                       wh_error *err)
{
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    l->rows = rows;
    l->cols = cols;
    if (!(l->w = T2(name, rows, cols))) return -1;
    l->b = NULL;
    snprintf(name, sizeof name, "%s.bias", prefix);
    if (bias && !(l->b = T1(name, rows))) return -1;
    return 0;
}

static int load_norm(wh_model *m, wh_norm *n, const char *prefix, wh_error *err)
{
    char name[160];
    snprintf(name, sizeof name, "%s.weight", prefix);
    if (!(n->w = T1(name, m->c.d))) return -1;
    snprintf(name, sizeof name, "%s.bias", prefix);
    return (n->b = T1(name, m->c.d)) ? 0 : -1;
}

static int load_attn(wh_model *m, wh_attn *a, const char *prefix, wh_error *err)
{
    char p[160];
    int d = m->c.d;
    snprintf(p, sizeof p, "%s.q_proj", prefix);
    if (load_linear(m, &a->q, p, d, d, true, err)) return -1;
    snprintf(p, sizeof p, "%s.k_proj", prefix);
    if (load_linear(m, &a->k, p, d, d, false, err)) return -1;
    snprintf(p, sizeof p, "%s.v_proj", prefix);
    if (load_linear(m, &a->v, p, d, d, true, err)) return -1;
    snprintf(p, sizeof p, "%s.out_proj", prefix);
    return load_linear(m, &a->o, p, d, d, true, err);
}

static int load_layer(wh_model *m, wh_layer *l, const char *side, int i, bool cross, int ffn, wh_error *err)
{
    char p[48], q[160];
    snprintf(p, sizeof p, "model.%s.layers.%d", side, i);
#define SUB(s) (snprintf(q, sizeof q, "%s.%s", p, s), q)
    if (load_norm(m, &l->attn_ln, SUB("self_attn_layer_norm"), err) ||
        load_attn(m, &l->attn, SUB("self_attn"), err) ||
        (cross && (load_norm(m, &l->cross_ln, SUB("encoder_attn_layer_norm"), err) ||
                   load_attn(m, &l->cross, SUB("encoder_attn"), err))) ||
        load_norm(m, &l->mlp_ln, SUB("final_layer_norm"), err) ||
        load_linear(m, &l->fc1, SUB("fc1"), ffn, m->c.d, true, err) ||
        load_linear(m, &l->fc2, SUB("fc2"), m->c.d, ffn, true, err))
        return -1;
#undef SUB
    return 0;
}

static int load_weights(wh_model *m, const char *dir, wh_error *err)
{
    qt_error qe = {0};
    if (!(m->st = st_open(dir, &qe))) return wh_from_qt(err, &qe);
    const wh_config *c = &m->c;
    int d = c->d;
    if (!(m->conv1_w = T3("model.encoder.conv1.weight", d, c->n_mels, 3)) ||
        !(m->conv1_b = T1("model.encoder.conv1.bias", d)) ||
        !(m->conv2_w = T3("model.encoder.conv2.weight", d, d, 3)) ||
        !(m->conv2_b = T1("model.encoder.conv2.bias", d)) ||
        !(m->enc_pos = T2("model.encoder.embed_positions.weight", c->n_audio_ctx, d)) ||
        !(m->tok_emb = T2("model.decoder.embed_tokens.weight", c->n_vocab, d)) ||
        !(m->dec_pos = T2("model.decoder.embed_positions.weight", c->n_text_ctx, d)) ||
        load_norm(m, &m->enc_ln, "model.encoder.layer_norm", err) ||
        load_norm(m, &m->dec_ln, "model.decoder.layer_norm", err))
        return -1;
    m->enc = calloc((size_t)c->n_audio_layers, sizeof *m->enc);
    m->dec = calloc((size_t)c->n_text_layers, sizeof *m->dec);
    if (!m->enc || !m->dec) return wh_fail(err, WH_ERR_NOMEM, "out of memory for the layer tables");
    for (int i = 0; i < c->n_audio_layers; i++)
        if (load_layer(m, &m->enc[i], "encoder", i, false, c->audio_ffn, err)) return -1;
    for (int i = 0; i < c->n_text_layers; i++)
        if (load_layer(m, &m->dec[i], "decoder", i, true, c->text_ffn, err)) return -1;
    return 0;
}

static char *slurp(const char *path, size_t *len, wh_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        wh_fail(err, errno == ENOENT ? WH_ERR_NOT_FOUND : WH_ERR_IO, "%s: %s", path, strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (cap - n < 65536) {
            if (cap > (64u << 20)) { /* configs are a few KB; this is not one */
                free(buf);
                fclose(f);
                wh_fail(err, WH_ERR_CORRUPT, "%s: larger than 64 MB", path);
                return NULL;
            }
            char *nb = realloc(buf, cap = cap * 2 + 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                wh_fail(err, WH_ERR_NOMEM, "%s: out of memory reading it", path);
                return NULL;
            }
            buf = nb;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        wh_fail(err, WH_ERR_IO, "%s: read error", path);
        return NULL;
    }
    *len = n;
    return buf;
}

static int cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Special tokens from the tokenizer; languages are the tokens between <|startoftranscript|> and
 * <|translate|>, in id order (the order of tokenizer.py's LANGUAGES). */
static int find_specials(wh_model *m, const char *dir, wh_error *err)
{
    struct {
        const char *text;
        int32_t *id;
        bool required;
    } sp[] = {
        {"<|endoftext|>", &m->eot, true},
        {"<|startoftranscript|>", &m->sot, true},
        {"<|translate|>", &m->translate, true},
        {"<|transcribe|>", &m->transcribe, true},
        {"<|startoflm|>", &m->sot_lm, true},
        {"<|startofprev|>", &m->sot_prev, true},
        {"<|notimestamps|>", &m->no_timestamps, true},
        {"<|nospeech|>", &m->no_speech, false},
    };
    for (size_t i = 0; i < sizeof sp / sizeof *sp; i++) {
        *sp[i].id = qt_tokenizer_token_id(m->tok, sp[i].text);
        if (*sp[i].id < 0 && sp[i].required)
            return wh_fail(err, WH_ERR_CORRUPT, "%s: the tokenizer has no %s token, so it is not Whisper's",
                           dir, sp[i].text);
    }
    if (m->no_speech < 0) m->no_speech = qt_tokenizer_token_id(m->tok, "<|nocaptions|>");
    m->timestamp_begin = m->no_timestamps + 1;
    if (m->eot >= m->c.n_vocab || m->timestamp_begin > m->c.n_vocab)
        return wh_fail(err, WH_ERR_CORRUPT, "%s: the tokenizer's special tokens lie beyond vocab_size %d",
                       dir, m->c.n_vocab);
    for (int32_t id = m->sot + 1; id < m->translate; id++) {
        char *s = qt_detokenize(m->tok, &id, 1, NULL);
        size_t n = s ? strlen(s) : 0;
        if (m->n_langs >= WH_MAX_LANGS || n < 5 || n - 4 >= sizeof m->lang_code[0] || strncmp(s, "<|", 2) ||
            strcmp(s + n - 2, "|>")) {
            free(s);
            return wh_fail(err, WH_ERR_CORRUPT,
                           "%s: token %d between <|startoftranscript|> and <|translate|> is not "
                           "a language token",
                           dir, id);
        }
        memcpy(m->lang_code[m->n_langs], s + 2, n - 4);
        m->lang_code[m->n_langs][n - 4] = 0;
        m->lang_id[m->n_langs++] = id;
        free(s);
    }
    m->multilingual = m->n_langs > 0;

    /* SuppressBlank: " " and EOT at the first sampled token */
    int32_t *ids = NULL;
    size_t n_ids = 0;
    qt_error qe = {0};
    if (qt_tokenize(m->tok, " ", &ids, &n_ids, &qe)) return wh_from_qt(err, &qe);
    for (size_t i = 0; i < n_ids && m->n_begin_suppress < 7; i++)
        m->begin_suppress[m->n_begin_suppress++] = ids[i];
    m->begin_suppress[m->n_begin_suppress++] = m->eot;
    free(ids);
    return 0;
}

/* decoding.py's suppress list for suppress_tokens="-1": the non-speech tokens (transformers keeps them as
 * generation_config.json's suppress_tokens) plus the task and prompt specials. */
static int load_suppress(wh_model *m, const char *dir, wh_error *err)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/generation_config.json", dir);
    size_t len;
    char *text = slurp(path, &len, err);
    if (!text) return -1;
    int32_t *list;
    int n;
    int rc = wh_generation_config_parse(text, len, "generation_config.json", &list, &n, err);
    free(text);
    if (rc) return -1;
    int32_t extra[] = {m->transcribe, m->translate, m->sot, m->sot_prev, m->sot_lm, m->no_speech};
    int32_t *all = realloc(list, ((size_t)n + 6) * sizeof *all);
    if (!all) {
        free(list);
        return wh_fail(err, WH_ERR_NOMEM, "out of memory for the suppress list");
    }
    for (int i = 0; i < 6; i++)
        if (extra[i] >= 0) all[n++] = extra[i];
    qsort(all, (size_t)n, sizeof *all, cmp_i32);
    int k = 0;
    for (int i = 0; i < n; i++)
        if (all[i] < m->c.n_vocab && (k == 0 || all[k - 1] != all[i])) all[k++] = all[i];
    m->suppress = all;
    m->n_suppress = k;
    return 0;
}

wh_model *wh_model_load(const char *path_or_repo, const wh_load_params *p, wh_error *err)
{
    wh_load_params dp = wh_load_default_params();
    if (!p) p = &dp;
    char dir[4096], path[4200];
    qt_error qe = {0};
    if (qt_resolve_model_dir(path_or_repo, dir, sizeof dir, &qe)) {
        wh_from_qt(err, &qe);
        return NULL;
    }
    wh_model *m = calloc(1, sizeof *m);
    if (!m) {
        wh_fail(err, WH_ERR_NOMEM, "out of memory for the Whisper model");
        return NULL;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    size_t len;
    char *text = slurp(path, &len, err);
    if (!text) goto fail;
    int rc = wh_config_parse(text, len, "config.json", &m->c, err);
    free(text);
    if (rc || load_weights(m, dir, err)) goto fail;
    if (!(m->tok = qt_tokenizer_load(dir, &qe))) {
        wh_from_qt(err, &qe);
        goto fail;
    }
    if (find_specials(m, dir, err) || load_suppress(m, dir, err)) goto fail;
    m->filters = malloc((size_t)m->c.n_mels * WH_N_BINS * sizeof *m->filters);
    m->pool = qt_pool_new(p->n_threads > 0 ? p->n_threads : qt_default_threads());
    if (!m->filters || !m->pool) {
        wh_fail(err, WH_ERR_NOMEM, "out of memory for the mel filters and threads");
        goto fail;
    }
    qt_mel_slaney_filters(m->filters, m->c.n_mels, WH_N_FFT, WH_SAMPLE_RATE, WH_SAMPLE_RATE / 2.0);
    return m;
fail:
    wh_model_free(m);
    return NULL;
}

void wh_model_free(wh_model *m)
{
    if (!m) return;
    for (int i = 0; i < m->n_owned; i++)
        free(m->owned[i]);
    free(m->owned);
    free(m->enc);
    free(m->dec);
    free(m->filters);
    free(m->suppress);
    qt_tokenizer_free(m->tok);
    qt_pool_free(m->pool);
    st_close(m->st);
    free(m);
}

void wh_model_get_info(const wh_model *m, wh_model_info *out)
{
    const wh_config *c = &m->c;
    double ctx = c->n_audio_ctx, d = c->d;
    double per_layer = 4 * ctx * d * d + 2 * ctx * d * c->audio_ffn + 2 * ctx * ctx * d;
    *out = (wh_model_info){
        .n_mels = c->n_mels,
        .n_vocab = c->n_vocab,
        .d_model = c->d,
        .n_audio_layers = c->n_audio_layers,
        .n_text_layers = c->n_text_layers,
        .n_heads = c->n_audio_heads,
        .n_audio_ctx = c->n_audio_ctx,
        .n_text_ctx = c->n_text_ctx,
        .n_languages = m->n_langs,
        .weight_bytes = m->weight_bytes,
        .encoder_flops =
            2.0 * (WH_N_FRAMES * d * c->n_mels * 3 + ctx * d * d * 3 + per_layer * c->n_audio_layers),
    };
}

int wh_language_index(const wh_model *m, const char *code)
{
    for (int i = 0; code && i < m->n_langs; i++)
        if (!strcmp(m->lang_code[i], code)) return i;
    return -1;
}

const char *wh_language_code(const wh_model *m, int index)
{
    return index >= 0 && index < m->n_langs ? m->lang_code[index] : NULL;
}
