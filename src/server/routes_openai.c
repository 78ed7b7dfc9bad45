/* routes_openai.c — an OpenAI-compatible speech endpoint, so scripts written for OpenAI's client libraries
 * work against voicebox: POST /v1/audio/speech {model, input, voice, response_format?, speed?} and
 * GET /v1/models. `voice` is a profile's name or id; `model` maps to a size (tts-1 -> 0.6B, tts-1-hd -> 1.7B,
 * or a voicebox model name or size). The take is an ordinary one (queued, in the history). wav, pcm, opus
 * and flac are streamed as the take is made (audio_stream.c; the WAV with unknown sizes, FLAC without its
 * length; libsndfile writes those two to a sink that cannot seek, audio_stream_enc.c); mp3 cannot be (its
 * encoder seeks back at the end), so it is answered once the take is final, encoded whole (audio_encode).
 * Errors use OpenAI's shape:
 * {"error": {"message", "type", "param", "code"}}. */
#include "server/routes.h"

#include "audio/audio.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void openai_error(srv_response *res, int status, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void openai_error(srv_response *res, int status, const char *param, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *type = status >= 500   ? "server_error"
                       : status == 404 ? "not_found_error"
                                       : "invalid_request_error";
    srv_json(res, status,
             json_pack("{s:{s:s, s:s, s:o, s:o}}", "error", "message", msg, "type", type, "param",
                       param ? json_string(param) : json_null(), "code", json_null()));
}

static const struct {
    const char *model, *size;
} model_map[] = {{"tts-1", "0.6B"}, {"tts-1-hd", "1.7B"}};

static const struct {
    const char *name, *content_type;
} formats[] = {{"mp3", "audio/mpeg"},
               {"opus", "audio/ogg"},
               {"flac", "audio/flac"},
               {"wav", "audio/wav"},
               {"pcm", "audio/pcm"}};

/* The model size a `model` names, or NULL. */
static const char *size_for(const char *model)
{
    for (size_t i = 0; i < sizeof model_map / sizeof model_map[0]; i++)
        if (!strcmp(model, model_map[i].model)) return model_map[i].size;
    const studio_model *m = studio_model_find(model);
    return m ? m->size : NULL;
}

/* The profile a `voice` names (its id, else its name): a new reference, or NULL. */
static json_t *find_voice(studio *s, const char *voice)
{
    json_t *all = studio_profile_list(s, NULL), *found = NULL;
    for (size_t i = 0; !found && i < json_array_size(all); i++) {
        json_t *p = json_array_get(all, i);
        if (!strcmp(voice, json_string_value(json_object_get(p, "id")))) found = p;
    }
    for (size_t i = 0; !found && i < json_array_size(all); i++) {
        json_t *p = json_array_get(all, i);
        if (!strcmp(voice, json_string_value(json_object_get(p, "name")))) found = p;
    }
    json_incref(found);
    json_decref(all);
    return found;
}

typedef struct {
    studio_gen *gen;
    studio_take *take;
    char format[8];
    const char *content_type;
} speech_wait;

static int speech_poll(void *arg, srv_response *out)
{
    speech_wait *w = arg;
    studio_take_state st;
    studio_take_read(w->gen, w->take, &st);
    if (!st.final) return 0;
    json_t *item = st.result ? json_loads(st.result, 0, NULL) : NULL;
    const char *path = json_string_value(json_object_get(item, "audio_path"));
    if (strcmp(st.status, "completed") != 0 || !path) {
        int status = srv_status_for(st.err.kind);
        openai_error(out, status >= 400 ? status : 500, NULL, "%s",
                     st.err.msg[0] ? st.err.msg : "the take failed");
    } else {
        audio_buf buf = {0};
        audio_error aerr = {{0}, 0, 0};
        void *bytes = NULL;
        size_t size = 0;
        if (audio_decode_file(path, STUDIO_SAMPLE_RATE, &buf, &aerr) != 0 ||
            audio_encode(buf.samples, buf.n, STUDIO_SAMPLE_RATE, w->format, &bytes, &size, &aerr) != 0) {
            openai_error(out, 500, NULL, "encoding the take as %s failed: %s", w->format, aerr.msg);
        } else {
            srv_response_clear(out);
            out->status = 200;
            out->body = bytes;
            out->body_len = size;
            out->content_type = w->content_type;
        }
        audio_buf_free(&buf);
    }
    json_decref(item);
    free(st.result);
    return 1;
}

static void speech_free(void *arg)
{
    speech_wait *w = arg;
    studio_take_release(w->gen, w->take);
    free(w);
}

void srv_post_openai_speech(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    if (!__atomic_load_n(&ctx->gen, __ATOMIC_ACQUIRE)) {
        openai_error(res, 503, NULL, "generation is not available yet; the server is starting or stopping");
        return;
    }
    json_error_t jerr;
    json_t *body = req->body ? json_loadb(req->body, req->body_len, 0, &jerr) : NULL;
    if (!json_is_object(body)) {
        json_decref(body);
        openai_error(res, 400, NULL, "the body must be a JSON object");
        return;
    }
    const char *model = json_string_value(json_object_get(body, "model"));
    const char *input = json_string_value(json_object_get(body, "input"));
    const char *voice = json_string_value(json_object_get(body, "voice"));
    json_t *fmt = json_object_get(body, "response_format"), *speed = json_object_get(body, "speed");
    const char *format = json_is_string(fmt)         ? json_string_value(fmt)
                         : fmt && !json_is_null(fmt) ? ""
                                                     : "mp3";
    const char *size = model ? size_for(model) : NULL;
    size_t f = 0;
    while (f < sizeof formats / sizeof formats[0] && strcmp(format, formats[f].name))
        f++;
    json_t *profile = NULL;
    if (!size) {
        openai_error(res, 400, "model",
                     "model: '%s' is not one of tts-1, tts-1-hd, qwen-tts-1.7B, qwen-tts-0.6B",
                     model ? model : "");
    } else if (!input || !*input) {
        openai_error(res, 400, "input", "input: required, the text to speak");
    } else if (!voice || !(profile = find_voice(ctx->studio, voice))) {
        openai_error(res, 400, "voice", "voice: '%s' is not the name or id of a voice profile",
                     voice ? voice : "");
    } else if (f == sizeof formats / sizeof formats[0]) {
        openai_error(res, 400, "response_format",
                     "response_format: '%s' is not one of mp3, opus, flac, wav, pcm", format);
    } else if (speed && !json_is_null(speed) && (!json_is_number(speed) || json_number_value(speed) != 1.0)) {
        openai_error(res, 400, "speed",
                     "speed: only 1.0 is supported (voicebox speaks at the voice's own pace)");
    } else {
        json_t *take_body =
            json_pack("{s:O, s:s, s:O, s:s}", "profile_id", json_object_get(profile, "id"), "text", input,
                      "language", json_object_get(profile, "language"), "model_size", size);
        studio_error err = {0};
        int streamed = strcmp(formats[f].name, "mp3") != 0;
        if (streamed) {
            studio_take *t = take_body ? studio_gen_stream(ctx->gen, take_body, 1, NULL, &err) : NULL;
            json_decref(take_body);
            if (t)
                srv_stream_take(ctx, res, t, formats[f].name, formats[f].content_type);
            else if (srv_status_for(err.kind) >= 400)
                openai_error(res, srv_status_for(err.kind), err.field[0] ? err.field : NULL, "%s", err.msg);
            else
                openai_error(res, 500, NULL, "out of memory");
            json_decref(profile);
            json_decref(body);
            return;
        }
        json_t *item = take_body ? studio_gen_submit(ctx->gen, take_body, &err) : NULL;
        json_decref(take_body);
        const char *id = json_string_value(json_object_get(item, "id"));
        studio_take *t = id ? studio_gen_take(ctx->gen, id) : NULL;
        speech_wait *w = t ? calloc(1, sizeof *w) : NULL;
        if (!item) {
            int status = srv_status_for(err.kind);
            openai_error(res, status, err.field[0] ? err.field : NULL, "%s", err.msg);
        } else if (!w) {
            studio_take_release(ctx->gen, t);
            openai_error(res, 500, NULL, "the take ended before it could be followed");
        } else {
            *w = (speech_wait){ctx->gen, t, "", formats[f].content_type};
            snprintf(w->format, sizeof w->format, "%s", formats[f].name);
            res->defer = speech_poll;
            res->defer_free = speech_free;
            res->defer_arg = w;
        }
        json_decref(item);
    }
    json_decref(profile);
    json_decref(body);
}

void srv_get_openai_models(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    (void)req;
    json_t *data = json_array();
    for (size_t i = 0; i < sizeof model_map / sizeof model_map[0]; i++)
        json_array_append_new(data, json_pack("{s:s, s:s, s:i, s:s}", "id", model_map[i].model, "object",
                                              "model", "created", 0, "owned_by", "voicebox"));
    for (size_t i = 0; i < studio_model_count(); i++)
        json_array_append_new(data, json_pack("{s:s, s:s, s:i, s:s}", "id", studio_model_at(i)->name,
                                              "object", "model", "created", 0, "owned_by", "voicebox"));
    srv_json(res, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}
