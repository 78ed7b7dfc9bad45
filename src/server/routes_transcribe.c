/* routes_transcribe.c — POST /transcribe: multipart `file` (+ optional `language`, `model`) -> {text,
 * duration}, as Voicebox answers. The studio's transcription layer decodes and checks the upload and runs
 * Whisper in its turn with the inference worker's takes; this only reads the form. It runs on the
 * long-request threads, so other routes never wait. */
#include "server/multipart.h"
#include "server/routes.h"

#include <string.h>

/* A text field of the form, or NULL when absent; *bad is set when it is not short UTF-8. */
static const char *text_field(const srv_request *req, const char *name, char *buf, size_t size, int *bad)
{
    const srv_form_part *p = srv_form_get(req->form, name);
    if (!p) return NULL;
    if (p->len >= size || studio_utf8_valid_prefix(p->data, p->len) != p->len) {
        *bad = 1;
        return NULL;
    }
    memcpy(buf, p->data, p->len);
    buf[p->len] = 0;
    return buf;
}

void srv_post_transcribe(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    const srv_form_part *file = srv_form_get(req->form, "file");
    if (!file) {
        srv_error(res, 422, "file: field required (a multipart part named 'file' holding the audio)");
        return;
    }
    char lang[64], model[128];
    int bad_lang = 0, bad_model = 0;
    const char *language = text_field(req, "language", lang, sizeof lang, &bad_lang);
    const char *name = text_field(req, "model", model, sizeof model, &bad_model);
    if (bad_lang || bad_model) {
        srv_error(res, 422, "%s: must be short UTF-8 text", bad_lang ? "language" : "model");
        return;
    }
    studio_error err = {0};
    studio_gen *worker = __atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE); /* NULL while the server starts */
    json_t *out = studio_asr_transcribe(ctx->asr, worker, file->data, file->len, language, name, &err);
    if (!out) {
        srv_studio_error(res, req, &err);
        return;
    }
    srv_json(res, 200, out);
}
