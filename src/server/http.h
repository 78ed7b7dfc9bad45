/* http.h — what a route handler sees: a parsed request and a response to fill, independent of the
 * network library. server.c builds these from libmicrohttpd; the fuzz targets build them by hand, so every
 * handler can be driven without a socket.
 *
 * Handlers never touch the filesystem with a name taken from the request: ids go to the studio, which looks
 * paths up in its database. Static files (static.c) are the one exception and check containment themselves.
 */
#ifndef VOICEBOX_SRV_HTTP_H
#define VOICEBOX_SRV_HTTP_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "studio/generation.h"
#include "studio/models.h"
#include "studio/studio.h"
#include "studio/transcription.h"

#define SRV_MAX_PARAMS 4
#define SRV_MAX_QUERY 16
#define SRV_JSON_MAX (1u * 1024u * 1024u) /* bytes; a larger JSON body is 413 */

typedef struct srv_form srv_form; /* multipart.h */

/* What the handlers share: the studio and the server's own settings. One per server. */
typedef struct {
    studio *studio;
    const char *web_dir;    /* absolute, or NULL: no static files */
    int (*stop)(void *arg); /* POST /shutdown: asks the server to stop; NULL where there is none */
    void *stop_arg;
    /* Hooks for the generation layer (models, queue); NULL until it is attached. health_fill sets the
     * model fields of the /health object; the task lists return new arrays for GET /tasks/active. */
    void (*health_fill)(void *arg, json_t *health);
    json_t *(*active_downloads)(void *arg);
    json_t *(*active_generations)(void *arg);
    void *hook_arg;
    /* Generation and models (routes_generate.c, routes_models.c); NULL until attached: those routes answer
     * 503 meanwhile. on_quiesce runs in srv_stop once no new request is accepted, before the requests in
     * flight are waited for: it ends the generation worker so their waits end. */
    studio_gen *gen;
    studio_models *models;
    void (*on_quiesce)(void *arg);
    studio_asr
        *asr; /* POST /transcribe's resident Whisper model (routes_transcribe.c); made with the studio */
    /* Resumes the parked streamed responses now rather than at their next poll (a streamed take's audio
     * arrived); any thread, never blocks for long. NULL where there is no server (the fuzz targets). */
    void (*wake_streams)(void *arg);
    void *wake_arg;
} srv_ctx;

typedef struct {
    const char *name;
    const char *value;
} srv_kv;

typedef struct {
    const char *method;                 /* "GET", "POST", ... */
    const char *path;                   /* decoded, without the query string */
    const char *params[SRV_MAX_PARAMS]; /* the {id} segments of the matched route, in order */
    int n_params;
    srv_kv query[SRV_MAX_QUERY]; /* query-string arguments, decoded */
    int n_query;
    const char *range;        /* the Range header or NULL */
    const char *content_type; /* the Content-Type header or NULL */
    const char *accept;       /* the Accept header or NULL */
    int loopback;             /* 1 if the client connected from 127.0.0.0/8 or ::1 */
    const char *body;         /* JSON routes: the body (not NUL-terminated), or NULL */
    size_t body_len;
    srv_form *form; /* multipart routes: the parsed form */
} srv_request;

typedef struct srv_response {
    int status;
    char *body; /* malloc'd, or NULL */
    size_t body_len;
    const char *content_type;
    /* A file body instead (audio, static files): fd is owned by the response until it is sent. */
    int fd;
    uint64_t file_offset;
    uint64_t file_len;
    char content_range[96];         /* "" or the Content-Range value */
    char content_disposition[1024]; /* "" or the Content-Disposition value (srv_attachment) */
    int accept_ranges;              /* 1: add "Accept-Ranges: bytes" */
    /* A streamed body of unknown length instead (server-sent events): stream(arg, buf, max) is called on a
     * network thread whenever the client can take more; it returns the bytes written (0 is allowed: wait
     * and ask again), -1 to end the response, or -2 to cut it (the connection closes without the closing
     * chunk: the body is known to be incomplete). stream_free(arg) runs once the response is over, also
     * when the client went away first. */
    long (*stream)(void *arg, char *buf, size_t max);
    void (*stream_free)(void *arg);
    void *stream_arg;
    /* A deferred answer instead (status left 0): the handler started work whose outcome is the answer, and
     * no thread waits for it. defer(arg, out) is called every ~100 ms on the server's ticker thread (it
     * must not block) until it fills out (a plain body) and returns 1; defer_free(arg) runs once after, or
     * when the server stops first. */
    int (*defer)(void *arg, struct srv_response *out);
    void (*defer_free)(void *arg);
    void *defer_arg;
} srv_response;

typedef void (*srv_handler)(srv_ctx *ctx, const srv_request *req, srv_response *res);

void srv_response_init(srv_response *res);
void srv_response_clear(srv_response *res); /* frees the body, closes the fd; the struct can be reused */

/* Sets a JSON body (takes the reference to j; NULL j means 500). */
void srv_json(srv_response *res, int status, json_t *j);
/* {"detail": "<formatted>"} with status. */
void srv_error(srv_response *res, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* {"detail": "<formatted>", "field": field}: an error about one field of the request (a JSON member, a
 * form part or a query argument), which the web UI shows beside that field. NULL or "" field: no "field". */
void srv_field_error(srv_response *res, int status, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* The HTTP status of a studio error kind (200 for STUDIO_OK): the one place kinds become statuses. */
int srv_status_for(studio_error_kind kind);
/* Answers a studio error: its status, {"detail": msg} and its "field" when it names one; logs
 * STUDIO_INTERNAL with context. */
void srv_studio_error(srv_response *res, const srv_request *req, const studio_error *err);

/* Parses req->body as a JSON object into *out. On failure fills res (400 not JSON, 422 not an object)
 * and returns -1. */
int srv_parse_json_body(const srv_request *req, srv_response *res, json_t **out);

/* The value of query argument name, or NULL. */
const char *srv_query(const srv_request *req, const char *name);

/* Parses a "bytes=" Range header against a file of size bytes. Returns 1 with [*start, *end] (inclusive)
 * for one satisfiable range, 0 when the header is absent or not in bytes units (serve the whole file), and
 * -1 when it is malformed or unsatisfiable (416). Multiple ranges are not supported and count as -1. */
int srv_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *end);

/* Serves the file at path (absolute, already vetted) with content_type, honouring req->range:
 * 200 whole, 206 part, 416 bad range, 404 when the file is gone. */
void srv_file(srv_response *res, const srv_request *req, const char *path, const char *content_type);

/* Content-Disposition "attachment" for a download named prefix + name + suffix, name being user text (UTF-8):
 * only letters, digits, space, '-' and '_' of it are kept (as the Python studio does; fallback when nothing
 * is left), given as an ASCII filename="..." (other characters as '_') and, when it is not plain ASCII, as
 * RFC 5987 filename*=UTF-8''<percent-encoded> too. */
void srv_attachment(srv_response *res, const char *prefix, const char *name, const char *fallback,
                    const char *suffix);

#endif
