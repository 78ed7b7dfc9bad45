/* wh_decode.c — transcription as the official decoding.py runs it for the transcribe task without timestamps
 * at temperature 0: language detection (detect_language), greedy decoding with SuppressBlank and
 * SuppressTokens, and the 30 s windows of wh_transcribe.
 *
 * Greedy: the sot sequence <|startoftranscript|> <|lang|> <|transcribe|> <|notimestamps|> is fed at once;
 * then each step takes the argmax of the last logits after setting the suppressed tokens to -inf (and, at
 * the first step only, " " and EOT), until EOT or max_tokens. Longer audio: consecutive 30 s windows, each
 * padded and decoded on its own with the language of the first; the texts are joined with a space. The
 * official transcribe() instead seeks by the timestamps it predicts and carries the previous text as a
 * prompt; without timestamps there is nothing to seek by, so fixed windows are the honest cut (a word on a
 * boundary may be split).
 */
#include "engine/qt.h"
#include "whisper/wh_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int wh_sot_sequence(const wh_model *m, int lang, int32_t seq[4])
{
    int n = 0;
    seq[n++] = m->sot;
    if (m->multilingual) {
        seq[n++] = m->lang_id[lang >= 0 && lang < m->n_langs ? lang : 0];
        seq[n++] = m->transcribe;
    }
    seq[n++] = m->no_timestamps;
    return n;
}

int wh_detect_language(wh_decoder *dec, float *probs, wh_error *err)
{
    wh_model *m = wh_decoder_model(dec);
    if (!m->multilingual)
        return wh_fail(err, WH_ERR_INVALID, "this model is English-only: it has no languages to detect");
    float *logits = malloc((size_t)m->c.n_vocab * sizeof *logits);
    if (!logits) return wh_fail(err, WH_ERR_NOMEM, "out of memory for the logits");
    wh_decoder_reset(dec);
    int rc = wh_decoder_feed(dec, &m->sot, 1, logits, false, err);
    wh_decoder_reset(dec);
    if (rc == 0) {
        for (int i = 0; i < m->n_langs; i++)
            probs[i] = logits[m->lang_id[i]];
        /* softmax over the language tokens only (all others are -inf in the official code) */
        float mx = probs[0];
        for (int i = 1; i < m->n_langs; i++)
            if (probs[i] > mx) mx = probs[i];
        double s = 0;
        for (int i = 0; i < m->n_langs; i++)
            s += exp((double)probs[i] - mx);
        for (int i = 0; i < m->n_langs; i++)
            probs[i] = (float)(exp((double)probs[i] - mx) / s);
    }
    free(logits);
    return rc;
}

int wh_greedy(wh_decoder *dec, int lang, int max_tokens, const volatile int *cancel, int32_t **tokens,
              int *n_tokens, wh_error *err)
{
    wh_model *m = wh_decoder_model(dec);
    *tokens = NULL;
    *n_tokens = 0;
    int32_t seq[4];
    int n_seq = wh_sot_sequence(m, lang, seq);
    if (max_tokens <= 0) max_tokens = m->c.n_text_ctx / 2;
    if (max_tokens > m->c.n_text_ctx - n_seq) max_tokens = m->c.n_text_ctx - n_seq;
    float *logits = malloc((size_t)m->c.n_vocab * sizeof *logits);
    int32_t *out = malloc((size_t)(max_tokens > 0 ? max_tokens : 1) * sizeof *out);
    if (!logits || !out) {
        free(logits);
        free(out);
        return wh_fail(err, WH_ERR_NOMEM, "out of memory for decoding");
    }
    wh_decoder_reset(dec);
    int n = 0, rc = wh_decoder_feed(dec, seq, n_seq, logits, false, err);
    while (rc == 0 && n < max_tokens) {
        if (cancel && *cancel) {
            rc = wh_fail(err, WH_ERR_CANCELLED, "transcription cancelled");
            break;
        }
        for (int i = 0; i < m->n_suppress; i++)
            logits[m->suppress[i]] = -INFINITY;
        if (n == 0)
            for (int i = 0; i < m->n_begin_suppress; i++)
                logits[m->begin_suppress[i]] = -INFINITY;
        int32_t best = 0;
        for (int32_t v = 1; v < m->c.n_vocab; v++) /* the first maximum, as torch.argmax */
            if (logits[v] > logits[best]) best = v;
        if (best == m->eot) break;
        out[n++] = best;
        if (n < max_tokens) rc = wh_decoder_feed(dec, &best, 1, logits, false, err);
    }
    free(logits);
    if (rc) {
        free(out);
        return -1;
    }
    *tokens = out;
    *n_tokens = n;
    return 0;
}

wh_params wh_default_params(void)
{
    return (wh_params){.language = NULL, .max_tokens = 0};
}

void wh_result_free(wh_result *r)
{
    if (!r) return;
    free(r->text);
    free(r->language_probs);
    free(r->tokens);
    memset(r, 0, sizeof *r);
}

/* Appends the text of tokens (those below EOT: text tokens, as tokenizer.decode keeps them) to *text,
 * trimmed, a space between windows. */
static int append_text(wh_model *m, const int32_t *tok, int n, char **text, wh_error *err)
{
    int32_t *keep = malloc((size_t)(n ? n : 1) * sizeof *keep);
    if (!keep) return wh_fail(err, WH_ERR_NOMEM, "out of memory for the text");
    int k = 0;
    for (int i = 0; i < n; i++)
        if (tok[i] < m->eot) keep[k++] = tok[i];
    qt_error qe = {0};
    char *s = qt_detokenize(m->tok, keep, (size_t)k, &qe);
    free(keep);
    if (!s) return wh_from_qt(err, &qe);
    char *a = s, *e = s + strlen(s);
    while (*a == ' ' || *a == '\t' || *a == '\n' || *a == '\r')
        a++;
    while (e > a && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
        e--;
    size_t old = *text ? strlen(*text) : 0, add = (size_t)(e - a);
    if (add == 0) {
        free(s);
        return 0;
    }
    char *nt = realloc(*text, old + add + 2);
    if (!nt) {
        free(s);
        return wh_fail(err, WH_ERR_NOMEM, "out of memory for the text");
    }
    if (old) nt[old++] = ' ';
    memcpy(nt + old, a, add);
    nt[old + add] = 0;
    *text = nt;
    free(s);
    return 0;
}

int wh_transcribe(wh_model *m, const float *pcm, size_t n, const wh_params *p, wh_result *out, wh_error *err)
{
    wh_params dp = wh_default_params();
    if (!p) p = &dp;
    memset(out, 0, sizeof *out);
    if (!pcm || n == 0) return wh_fail(err, WH_ERR_INVALID, "audio: no samples to transcribe");
    int lang = -1;
    bool detect = m->multilingual && (!p->language || !*p->language || !strcmp(p->language, "auto"));
    if (m->multilingual && !detect) {
        lang = wh_language_index(m, p->language);
        if (lang < 0)
            return wh_fail(err, WH_ERR_INVALID,
                           "language \"%s\" is not one this model knows (codes such as en, de, fr)",
                           p->language);
    } else if (!m->multilingual && p->language && *p->language && strcmp(p->language, "auto") &&
               strcmp(p->language, "en")) {
        return wh_fail(err, WH_ERR_INVALID,
                       "this model is English-only; language \"%s\" cannot be transcribed", p->language);
    }
    out->duration_s = (double)n / WH_SAMPLE_RATE;
    out->n_windows = (int)((n + WH_WINDOW_SAMPLES - 1) / WH_WINDOW_SAMPLES);
    const wh_config *c = &m->c;
    float *mel = malloc((size_t)c->n_mels * WH_N_FRAMES * sizeof *mel);
    float *enc = malloc((size_t)c->n_audio_ctx * c->d * sizeof *enc);
    if (!mel || !enc) {
        free(mel);
        free(enc);
        return wh_fail(err, WH_ERR_NOMEM, "out of memory for the encoder input and output");
    }
    int rc = -1;
    wh_decoder *dec = NULL;
    for (int w = 0; w < out->n_windows; w++) {
        size_t off = (size_t)w * WH_WINDOW_SAMPLES,
               len = n - off < WH_WINDOW_SAMPLES ? n - off : WH_WINDOW_SAMPLES;
        double t0 = (qt_now_ms() / 1e3);
        if (wh_log_mel(m, pcm + off, len, mel, err)) goto done;
        double t1 = (qt_now_ms() / 1e3);
        if (wh_encode(m, mel, enc, err)) goto done;
        double t2 = (qt_now_ms() / 1e3);
        wh_decoder_free(dec);
        if (!(dec = wh_decoder_new(m, enc, err))) goto done;
        if (w == 0 && detect) {
            out->n_languages = m->n_langs;
            if (!(out->language_probs = malloc((size_t)m->n_langs * sizeof(float)))) {
                wh_fail(err, WH_ERR_NOMEM, "out of memory for the language probabilities");
                goto done;
            }
            if (wh_detect_language(dec, out->language_probs, err)) goto done;
            lang = 0;
            for (int i = 1; i < m->n_langs; i++)
                if (out->language_probs[i] > out->language_probs[lang]) lang = i;
        }
        int32_t *tok;
        int nt;
        if (wh_greedy(dec, lang, p->max_tokens, p->cancel, &tok, &nt, err)) goto done;
        int32_t *all = realloc(out->tokens, (out->n_tokens + (size_t)nt + 1) * sizeof *all);
        if (!all) {
            free(tok);
            wh_fail(err, WH_ERR_NOMEM, "out of memory for the tokens");
            goto done;
        }
        memcpy(all + out->n_tokens, tok, (size_t)nt * sizeof *tok);
        out->tokens = all;
        out->n_tokens += (size_t)nt;
        int trc = append_text(m, tok, nt, &out->text, err);
        free(tok);
        if (trc) goto done;
        out->mel_s += t1 - t0;
        out->encode_s += t2 - t1;
        out->decode_s += (qt_now_ms() / 1e3) - t2;
        if (p->progress && p->progress(p->progress_ctx, w + 1, out->n_windows)) {
            wh_fail(err, WH_ERR_CANCELLED, "transcription cancelled");
            goto done;
        }
    }
    if (!out->text && !(out->text = strdup(""))) {
        wh_fail(err, WH_ERR_NOMEM, "out of memory for the text");
        goto done;
    }
    snprintf(out->language, sizeof out->language, "%s", m->multilingual ? m->lang_code[lang] : "en");
    rc = 0;
done:
    wh_decoder_free(dec);
    free(mel);
    free(enc);
    if (rc) wh_result_free(out);
    return rc;
}
