/* gen_text.c — qt_generate: the text to speak and the reference transcript become token slices of the
 * official chat template (§2.2), then qt_generate_ids (generate.c) runs the decode loop.
 *
 * Must not: touch the model's weights or audio; this file only tokenizes and checks the text.
 */
#include "engine/generate.h"
#include "engine/model.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The official wrapper tokenizes the whole chat template and slices the text's ids out of it (§2.2):
 * "<|im_start|>assistant\n" is 3 tokens before the text; after the target text comes
 * "<|im_end|>\n<|im_start|>assistant\n" (5 tokens), after the reference transcript "<|im_end|>\n" (2). */
#define TEMPLATE_PREFIX "<|im_start|>assistant\n"
#define TEMPLATE_PREFIX_TOKENS 3
#define TEXT_SUFFIX "<|im_end|>\n<|im_start|>assistant\n"
#define TEXT_SUFFIX_TOKENS 5
#define REF_SUFFIX "<|im_end|>\n"
#define REF_SUFFIX_TOKENS 2

/* Tokenizes prefix + text + suffix and returns the middle: the official wrapper's slices (§2.2). */
static int tokenize_slice(const qt_model *m, const char *text, size_t len, const char *suffix, int n_suffix,
                          int32_t **ids, int *n, qt_error *err)
{
    static const char prefix[] = TEMPLATE_PREFIX;
    const int n_prefix = TEMPLATE_PREFIX_TOKENS;
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
    if (tokenize_slice(m, t, len, TEXT_SUFFIX, TEXT_SUFFIX_TOKENS, &ids, &n, err)) return -1;
    if (vp && vp->mode == QT_PROMPT_ICL) {
        size_t rlen = 0;
        const char *r = trim(vp->ref_text ? vp->ref_text : "", &rlen);
        if (tokenize_slice(m, r, rlen, REF_SUFFIX, REF_SUFFIX_TOKENS, &ref, &n_ref, err)) {
            free(ids);
            return -1;
        }
    }
    int rc = qt_generate_ids(m, vp, ref, n_ref, ids, n, p, err);
    free(ids);
    free(ref);
    return rc;
}
