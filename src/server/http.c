/* http.c — response builders and request helpers shared by every route (see http.h).
 * Nothing here knows about libmicrohttpd. */
#include "server/http.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "studio/log.h"

void srv_response_init(srv_response *res)
{
    memset(res, 0, sizeof *res);
    res->fd = -1;
}

void srv_response_clear(srv_response *res)
{
    free(res->body);
    if (res->fd >= 0) close(res->fd);
    if (res->stream_free) res->stream_free(res->stream_arg);
    if (res->defer_free) res->defer_free(res->defer_arg);
    srv_response_init(res);
}

void srv_json(srv_response *res, int status, json_t *j)
{
    srv_response_clear(res);
    char *text = j ? json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
    json_decref(j);
    if (!text) {
        res->status = 500;
        res->body = strdup("{\"detail\":\"out of memory while encoding the response\"}");
        res->body_len = res->body ? strlen(res->body) : 0;
        res->content_type = "application/json";
        return;
    }
    res->status = status;
    res->body = text;
    res->body_len = strlen(text);
    res->content_type = "application/json";
}

int srv_status_for(studio_error_kind kind)
{
    switch (kind) {
    case STUDIO_OK:
        return 200;
    case STUDIO_NOT_FOUND:
        return 404;
    case STUDIO_INVALID:
        return 422;
    case STUDIO_CONFLICT:
        return 400; /* Voicebox answers a duplicate name 400, not 409 */
    case STUDIO_TOO_LARGE:
        return 413;
    case STUDIO_UNSUPPORTED_MEDIA:
        return 415;
    case STUDIO_INTERNAL:
        return 500;
    case STUDIO_NOT_READY:
        return 409;
    case STUDIO_BAD_INPUT:
        return 400;
    case STUDIO_NO_SPACE:
        return 507; /* Insufficient Storage */
    }
    return 500;
}

static void verror(srv_response *res, int status, const char *field, const char *fmt, va_list ap)
{
    char msg[768];
    vsnprintf(msg, sizeof msg, fmt, ap);
    /* messages quote what the client sent, which need not be UTF-8: JSON strings must be */
    size_t n = strlen(msg);
    for (size_t i = studio_utf8_valid_prefix(msg, n); i < n; i += studio_utf8_valid_prefix(msg + i, n - i))
        msg[i++] = '?';
    json_t *j = json_pack("{s:s}", "detail", msg);
    if (j && field && *field) json_object_set_new(j, "field", json_string(field));
    srv_json(res, status, j);
}

void srv_error(srv_response *res, int status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(res, status, NULL, fmt, ap);
    va_end(ap);
}

void srv_field_error(srv_response *res, int status, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(res, status, field, fmt, ap);
    va_end(ap);
}

void srv_studio_error(srv_response *res, const srv_request *req, const studio_error *err)
{
    int status = srv_status_for(err->kind);
    if (status < 400) status = 500;
    if (status >= 500)
        log_error("%s %s: %s", req->method, req->path, err->msg[0] ? err->msg : "internal error");
    srv_field_error(res, status, status >= 500 ? NULL : err->field, "%s",
                    err->msg[0] ? err->msg : "internal error");
}

int srv_parse_json_body(const srv_request *req, srv_response *res, json_t **out)
{
    *out = NULL;
    /* lenient like Voicebox's clients expect: any type that could carry JSON is tried as JSON */
    if (req->content_type && strncasecmp(req->content_type, "multipart/", 10) == 0) {
        srv_error(res, 415, "Content-Type must be application/json, got '%.100s'", req->content_type);
        return -1;
    }
    if (!req->body || req->body_len == 0) {
        srv_field_error(res, 422, "body", "body: field required (a JSON object)");
        return -1;
    }
    json_error_t jerr;
    json_t *j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    /* jansson (2.14) reports most of its allocation failures as syntax errors: a body that parses on a
     * second try was valid, and one that failed before its first line was never read */
    if (!j && jerr.line >= 1 && json_error_code(&jerr) != json_error_out_of_memory)
        j = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!j && (jerr.line < 1 || json_error_code(&jerr) == json_error_out_of_memory)) {
        srv_error(res, 500, "out of memory while reading the request body");
        return -1;
    }
    if (!j) {
        srv_field_error(res, 400, "body", "body: invalid JSON at line %d column %d: %s", jerr.line,
                        jerr.column, jerr.text);
        return -1;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        srv_field_error(res, 422, "body", "body: expected a JSON object");
        return -1;
    }
    *out = j;
    return 0;
}

const char *srv_query(const srv_request *req, const char *name)
{
    for (int i = 0; i < req->n_query; i++)
        if (!strcmp(req->query[i].name, name)) return req->query[i].value;
    return NULL;
}

/* Reads a decimal number of at most 18 digits (so it fits int64_t) at *p, advancing *p. -1 if none. */
static int64_t read_num(const char **p)
{
    const char *s = *p;
    int64_t v = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9') {
        if (++n > 18) return -1;
        v = v * 10 + (*s - '0');
        s++;
    }
    if (n == 0) return -1;
    *p = s;
    return v;
}

int srv_parse_range(const char *header, uint64_t size, uint64_t *start, uint64_t *end)
{
    if (!header) return 0;
    const char *p = header;
    while (*p == ' ')
        p++;
    if (strncasecmp(p, "bytes", 5) != 0) return 0;
    p += 5;
    while (*p == ' ')
        p++;
    if (*p++ != '=') return -1;
    while (*p == ' ')
        p++;
    int64_t a = -1, b = -1;
    if (*p == '-') { /* suffix: the last N bytes */
        p++;
        int64_t n = read_num(&p);
        if (n <= 0 || size == 0) return -1;
        a = (uint64_t)n >= size ? 0 : (int64_t)(size - (uint64_t)n);
        b = (int64_t)size - 1;
    } else {
        a = read_num(&p);
        if (a < 0 || *p++ != '-') return -1;
        if (*p >= '0' && *p <= '9') {
            b = read_num(&p);
            if (b < a) return -1;
        } else {
            b = (int64_t)size - 1;
        }
        if ((uint64_t)a >= size) return -1;
        if ((uint64_t)b >= size) b = (int64_t)size - 1;
    }
    while (*p == ' ')
        p++;
    if (*p != '\0') /* a second range or trailing junk */
        return -1;
    *start = (uint64_t)a;
    *end = (uint64_t)b;
    return 1;
}

void srv_file(srv_response *res, const srv_request *req, const char *path, const char *content_type)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block a worker */
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int e = errno;
        if (fd >= 0) close(fd);
        if (e == ENOENT || e == ENOTDIR || fd >= 0)
            srv_error(res, 404, "file not found");
        else {
            log_error("%s %s: cannot open %s: %s", req->method, req->path, path, strerror(e));
            srv_error(res, 500, "cannot open the file: %s", strerror(e));
        }
        return;
    }
    uint64_t size = (uint64_t)st.st_size, a = 0, b = 0;
    int r = srv_parse_range(req->range, size, &a, &b);
    if (r < 0) {
        close(fd);
        srv_error(res, 416, "Range '%.80s' cannot be satisfied for %" PRIu64 " bytes", req->range, size);
        snprintf(res->content_range, sizeof res->content_range, "bytes */%" PRIu64, size);
        return;
    }
    srv_response_clear(res);
    res->fd = fd;
    res->content_type = content_type;
    res->accept_ranges = 1;
    if (r == 0) {
        res->status = 200;
        res->file_offset = 0;
        res->file_len = size;
    } else {
        res->status = 206;
        res->file_offset = a;
        res->file_len = b - a + 1;
        snprintf(res->content_range, sizeof res->content_range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, a,
                 b, size);
    }
}
