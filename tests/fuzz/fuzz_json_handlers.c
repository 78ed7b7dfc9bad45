/* fuzz_json_handlers.c — libFuzzer target for the server's request handlers, called as the network would
 * call them but without a socket, on a real studio in a temp data dir. The first input byte picks the route;
 * the rest is the JSON body (POST /profiles, PUT /profiles/{id}, PUT /profiles/samples/{id}, POST /generate,
 * POST /models/load), the query string (GET /history), a request path (the router) or a Range header
 * (GET /samples/{id}). No model is downloaded (HF_HOME is an empty temp dir), so a valid generation request
 * ends at 409 and the engine never runs.
 * Every answer must be one of the statuses these routes define, never 500, and every error a JSON object
 * with a string "detail". Never a crash, leak or out-of-bounds access. */
#include "server/http.h"
#include "server/routes.h"
#include "studio/studio.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static srv_ctx ctx;
static studio_gen *gen;
static studio_models *models;
static char profile_id[40], sample_id[40], tmpdir[64];

static void cleanup(void)
{
    studio_gen_free(gen);
    studio_models_free(models);
    studio_close(ctx.studio);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_json_handlers: could not remove %s\n", tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fuzz-json-XXXXXX");
    studio_error err = {0};
    if (!mkdtemp(tmpdir) || !(ctx.studio = studio_open(tmpdir, &err))) {
        fprintf(stderr, "fuzz_json_handlers: cannot open a studio: %s\n", err.msg);
        exit(1);
    }
    atexit(cleanup);
    char hf[96];
    snprintf(hf, sizeof hf, "%s/hf", tmpdir);
    setenv("HF_HOME", hf, 1);
    setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1); /* nothing to download from */
    setenv("HF_HUB_OFFLINE", "1", 1);               /* so a take is refused (409), never queued */
    models = studio_models_new();
    gen = models ? studio_gen_new(ctx.studio, models, &err) : NULL;
    if (!gen) {
        fprintf(stderr, "fuzz_json_handlers: cannot start the generation layer: %s\n", err.msg);
        exit(1);
    }
    srv_attach_generation(&ctx, gen, models);
    json_t *body = json_pack("{s:s}", "name", "fuzz base");
    json_t *p = studio_profile_create(ctx.studio, body, &err);
    json_decref(body);
    if (!p) exit(1);
    snprintf(profile_id, sizeof profile_id, "%s", json_string_value(json_object_get(p, "id")));
    json_decref(p);
    /* a real sample for the sample routes: 3 s of a tone */
    char wav[128], cmd[256];
    snprintf(wav, sizeof wav, "%s/tone.wav", tmpdir);
    snprintf(cmd, sizeof cmd, "sox -n -r 24000 -c 1 '%s' synth 3 sine 220 vol 0.4 2>/dev/null", wav);
    FILE *f = system(cmd) == 0 ? fopen(wav, "rb") : NULL;
    if (f) {
        static char buf[1 << 18];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        json_t *s = studio_sample_add(ctx.studio, profile_id, buf, n, "a tone", &err);
        if (s) snprintf(sample_id, sizeof sample_id, "%s", json_string_value(json_object_get(s, "id")));
        json_decref(s);
    }
    if (!sample_id[0]) snprintf(sample_id, sizeof sample_id, "00000000-0000-4000-8000-000000000000");
    return 0;
}

static void check(const srv_response *res, const char *route, const uint8_t *in, size_t n)
{
    int st = res->status;
    int ok = st == 200 || st == 206 || st == 400 || st == 404 || st == 409 || st == 413 || st == 415 ||
             st == 416 || st == 422;
    if (ok && st >= 400) {
        json_t *j = res->body ? json_loadb(res->body, res->body_len, 0, NULL) : NULL;
        ok = json_is_string(json_object_get(j, "detail"));
        json_decref(j);
    }
    if (!ok) {
        fprintf(stderr, "%s answered %d: %.*s\ninput (%zu bytes): %.*s\n", route, st, (int)res->body_len,
                res->body ? res->body : "", n, (int)n, (const char *)in);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    unsigned which = data[0] % 8;
    const char *rest = (const char *)data + 1;
    size_t n = size - 1;
    char *text = strndup(rest, n); /* for the routes that take a C string */
    if (!text) return 0;
    srv_request req;
    memset(&req, 0, sizeof req);
    srv_response res;
    srv_response_init(&res);
    req.body = rest;
    req.body_len = n;
    req.content_type = "application/json";
    const char *route = "";
    if (which == 0) {
        route = "POST /profiles";
        req.method = "POST", req.path = "/profiles";
        srv_post_profiles(&ctx, &req, &res);
        if (res.status == 200) { /* keep the database small */
            json_t *j = json_loadb(res.body, res.body_len, 0, NULL);
            studio_error err;
            studio_profile_delete(ctx.studio, json_string_value(json_object_get(j, "id")), &err);
            json_decref(j);
        }
    } else if (which == 1) {
        route = "PUT /profiles/{id}";
        req.method = "PUT", req.path = "/profiles/x";
        req.params[0] = profile_id, req.n_params = 1;
        srv_put_profile(&ctx, &req, &res);
    } else if (which == 2) {
        route = "PUT /profiles/samples/{id}";
        req.method = "PUT", req.path = "/profiles/samples/x";
        req.params[0] = sample_id, req.n_params = 1;
        srv_put_sample(&ctx, &req, &res);
    } else if (which == 3) {
        route = "GET /history";
        req.method = "GET", req.path = "/history";
        req.body = NULL, req.body_len = 0;
        /* the query: key=value pairs separated by '&' */
        for (char *save = NULL, *kv = strtok_r(text, "&", &save); kv && req.n_query < SRV_MAX_QUERY;
             kv = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(kv, '=');
            if (eq) *eq = '\0';
            req.query[req.n_query].name = kv;
            req.query[req.n_query].value = eq ? eq + 1 : "";
            req.n_query++;
        }
        srv_get_history(&ctx, &req, &res);
    } else if (which == 4) {
        /* the router: any path either matches with id-like params or does not */
        route = "router";
        char store[512];
        int known;
        const srv_route *r = srv_route_find("GET", text, &req, store, sizeof store, &known);
        for (int i = 0; r && i < req.n_params; i++)
            if (req.params[i][0] == '.' || strchr(req.params[i], '/') || strlen(req.params[i]) > 128) abort();
        free(text);
        return 0;
    } else if (which == 6) {
        /* "@PID@" stands for the real profile's id, so inputs get past the profile lookup */
        route = "POST /generate";
        req.method = "POST", req.path = "/generate";
        char *at = strstr(text, "@PID@");
        char body[4200];
        if (at && n < 4096) {
            int len = snprintf(body, sizeof body, "%.*s%s%s", (int)(at - text), text, profile_id, at + 5);
            req.body = body;
            req.body_len = (size_t)len;
        }
        srv_post_generate(&ctx, &req, &res);
    } else if (which == 7) {
        route = "POST /models/load";
        req.method = "POST", req.path = "/models/load";
        srv_post_models_load(&ctx, &req, &res);
    } else {
        route = "GET /samples/{id} with Range";
        req.method = "GET", req.path = "/samples/x";
        req.params[0] = sample_id, req.n_params = 1;
        req.range = text;
        uint64_t a = 0, b = 0;
        int r = srv_parse_range(text, 1000, &a, &b);
        if (r == 1 && (a > b || b >= 1000)) abort();
        srv_get_sample_audio(&ctx, &req, &res);
        if (res.status == 206 && res.file_len == 0) abort();
    }
    check(&res, route, data, size);
    srv_response_clear(&res);
    free(text);
    return 0;
}
