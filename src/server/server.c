/* server.c — libmicrohttpd glue: turns connections into srv_request/srv_response pairs for the route
 * handlers, enforces the body limits while the body streams in, applies CORS, logs one line per request
 * and shuts down without cutting requests in flight.
 *
 * Bodies: a JSON body is kept (up to SRV_JSON_MAX); a multipart upload is parsed as it arrives (up to
 * STUDIO_UPLOAD_MAX). A Content-Length over the limit is answered 413 before any byte is read when the client
 * waits for 100-continue; else the body is read and dropped (up to DRAIN_MAX past the limit: lingering close)
 * and answered 413 at its end, as is a body that turns out larger while streaming.
 *
 * Threads: the network threads (libmicrohttpd's pool) only move bytes and run the SRV_RUN_INLINE routes.
 * A route that may block (the database, decoding an upload) runs on a worker while its connection is
 * suspended, so one slow request never holds up the other connections of its network thread; routes that
 * wait for long work (SRV_RUN_LONG) have workers of their own.
 */
#include "server/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "server/conn_limit.h"
#include "server/multipart.h"
#include "server/routes.h"
#include "server/static.h"
#include "studio/log.h"

#define MAX_ORIGINS 32
/* Connection limits (issue 16 item 3): one client holds at most PER_CLIENT_CONNS connections, everyone
 * together CONN_MAX (the open-file limit is raised to fit); a connection must send its request head with no
 * pause over HEAD_TIMEOUT_S, then any pause over IDLE_TIMEOUT_S closes it. */
#define PER_CLIENT_CONNS 256
#define CONN_MAX 4000
#define HEAD_TIMEOUT_S 10
#define STR_(x) #x
#define STR(x) STR_(x)
#define IDLE_TIMEOUT_S 60
#define FIELD_MAX (64u * 1024u) /* a non-file form field */
#define DRAIN_MAX                                                                                            \
    (64ull * 1024u * 1024u) /* bytes of an oversize body read past the limit before hanging up */
#define MAX_WORKERS 64
#define STREAM_POLL_MS 100 /* how often a parked stream is asked again for data */
#define WORKER_NICE 5
#define LONG_WORKERS 16   /* requests that wait on long work at once; more queue in order */
#define NETWORK_NICE (-5) /* only where permitted (root or CAP_SYS_NICE); else they stay at 0 */

typedef struct conn_state conn_state;
typedef struct stream_state stream_state;

/* Worker threads taking suspended requests from a FIFO. */
typedef struct {
    pthread_t threads[MAX_WORKERS];
    int n_threads;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    conn_state *head, *tail;
    int stop;
    struct srv_server *srv;
} work_pool;

struct srv_server {
    struct MHD_Daemon *daemon;
    srv_conn_limit *limits;
    srv_ctx ctx;
    char *web_dir;
    char *origins[MAX_ORIGINS]; /* own origins, then VOICEBOX_CORS_ORIGINS */
    int n_origins;
    int loopback_only; /* bound to a loopback address: only loopback host names may be asked for */
    int port;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop_requested;
    atomic_int in_flight;
    work_pool pool;      /* the routes that use the database or decode */
    work_pool long_pool; /* the routes that wait for long work (generation, model loads), so they cannot
                            occupy every worker and stall the profile and history routes */
    /* the ticker: resumes parked streams */
    pthread_t ticker;
    int have_ticker;
    pthread_mutex_t tmu;
    pthread_cond_t tcv;
    stream_state *parked;
    conn_state *deferred; /* requests whose handler deferred its answer (srv_response.defer) */
    int tstop;
    /* the access log: network threads queue their lines and one thread writes them, so a slow disk, or a
     * low-priority worker preempted while it holds the log's lock, never stalls a network thread */
    pthread_t logger;
    int have_logger;
    pthread_mutex_t lmu;
    pthread_cond_t lcv;
    struct log_line *lhead, *ltail;
    int lstop;
};

typedef struct log_line {
    struct log_line *next;
    char text[];
} log_line;

struct conn_state {
    struct timespec t0;
    struct MHD_Connection *conn;
    conn_state *next; /* in the worker queue */
    int ready;        /* a worker has filled res */
    conn_state *next_deferred;
    srv_response res;
    char method[16];
    char *path;
    const srv_route *route;
    srv_request req;
    char store[512];  /* the route's {param} values */
    char origin[256]; /* an allowed Origin to echo, or "" */
    int status;       /* what was answered, for the log line */
    uint64_t limit;   /* body cap */
    uint64_t received;
    char *body;
    size_t body_len, body_cap;
    srv_multipart *mp;
    srv_form *form;
    int too_large;
    int bad_status; /* a body fault found while streaming: answered at the end */
    char bad_msg[256];
    char bad_field[64]; /* the field bad_msg is about, or "" */
    int must_close;     /* the head was unsafe to frame: answer with Connection: close (head_check) */
};

srv_params srv_default_params(void)
{
    srv_params p = {"127.0.0.1", 17493, "./data", NULL, 0};
    return p;
}

/* ---- answering ---- */

static void add_cors(struct MHD_Response *r, const conn_state *st)
{
    if (!st->origin[0]) return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", st->origin);
    MHD_add_response_header(r, "Vary", "Origin");
    MHD_add_response_header(r, "Access-Control-Expose-Headers",
                            "Content-Range, Content-Length, Accept-Ranges");
}

/* A streamed response. When the producer has nothing yet, the connection is parked (suspended) and the
 * ticker thread resumes it a moment later to ask again: libmicrohttpd's own threads must neither block
 * nor spin. */
struct stream_state {
    long (*fn)(void *arg, char *buf, size_t max);
    void (*free_fn)(void *arg);
    void *arg;
    srv_server *srv;
    struct MHD_Connection *conn;
    stream_state *next_parked;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    stream_state *ss = cls;
    srv_server *s = ss->srv;
    pthread_mutex_lock(&s->mu);
    int stopping = s->stop_requested;
    pthread_mutex_unlock(&s->mu);
    if (stopping) return MHD_CONTENT_READER_END_OF_STREAM;
    long n = ss->fn(ss->arg, buf, max);
    if (n == -2) return MHD_CONTENT_READER_END_WITH_ERROR;
    if (n < 0) return MHD_CONTENT_READER_END_OF_STREAM;
    if (n == 0) {
        MHD_suspend_connection(ss->conn);
        pthread_mutex_lock(&s->tmu);
        ss->next_parked = s->parked;
        s->parked = ss;
        pthread_mutex_unlock(&s->tmu);
    }
    return (ssize_t)n;
}

/* tmu held. Asks each deferred request for its answer (all of them when flush: the server stops); returns
 * the answered ones, taken off the list, for resume_answered. */
static conn_state *poll_deferred(srv_server *s, int flush)
{
    conn_state *answered = NULL;
    for (conn_state **p = &s->deferred; *p;) {
        conn_state *st = *p;
        srv_response out;
        srv_response_init(&out);
        int done = st->res.defer(st->res.defer_arg, &out);
        if (!done && flush) {
            srv_response_clear(&out);
            srv_error(&out, 503, "the server is stopping before this request could be answered");
            done = 1;
        }
        if (!done) {
            p = &st->next_deferred;
            continue;
        }
        *p = st->next_deferred;
        srv_response_clear(&st->res); /* runs defer_free */
        st->res = out;
        st->next_deferred = answered;
        answered = st;
    }
    return answered;
}

static void resume_answered(conn_state *list)
{
    for (conn_state *st = list, *next; st; st = next) {
        next = st->next_deferred; /* once resumed, st may be answered and freed at once */
        st->ready = 1;
        MHD_resume_connection(st->conn);
    }
}

static void *ticker_main(void *arg)
{
    srv_server *s = arg;
    pthread_mutex_lock(&s->tmu);
    while (!s->tstop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += STREAM_POLL_MS * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&s->tcv, &s->tmu, &ts);
        stream_state *list = s->parked;
        s->parked = NULL;
        conn_state *answered = poll_deferred(s, 0);
        pthread_mutex_unlock(&s->tmu);
        resume_answered(answered);
        /* once resumed, a stream may end and be freed at once by its network thread: read next first */
        for (stream_state *ss = list, *next; ss; ss = next) {
            next = ss->next_parked;
            MHD_resume_connection(ss->conn);
        }
        pthread_mutex_lock(&s->tmu);
    }
    pthread_mutex_unlock(&s->tmu);
    return NULL;
}

/* srv_ctx.wake_streams: the ticker resumes the parked streams now. */
static void wake_streams(void *arg)
{
    srv_server *s = arg;
    pthread_mutex_lock(&s->tmu);
    pthread_cond_signal(&s->tcv);
    pthread_mutex_unlock(&s->tmu);
}

static void stream_done(void *cls)
{
    stream_state *ss = cls;
    if (ss->free_fn) ss->free_fn(ss->arg);
    free(ss);
}

static enum MHD_Result respond(srv_server *s, struct MHD_Connection *c, conn_state *st, srv_response *res)
{
    struct MHD_Response *r = NULL;
    if (res->stream && s) {
        stream_state *ss = malloc(sizeof *ss);
        if (ss) {
            *ss = (stream_state){res->stream, res->stream_free, res->stream_arg, s, c, NULL};
            r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, stream_read, ss, stream_done);
            if (r)
                res->stream_free = NULL; /* stream_done frees it */
            else
                free(ss);
        }
    } else if (res->fd >= 0) {
        r = MHD_create_response_from_fd_at_offset64(res->file_len, res->fd, res->file_offset);
        if (r) res->fd = -1; /* MHD closes it */
    } else if (res->body) {
        r = MHD_create_response_from_buffer(res->body_len, res->body, MHD_RESPMEM_MUST_FREE);
        if (r) res->body = NULL; /* MHD frees it */
    } else {
        r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (!r) {
        log_error("%s %s: cannot create the response", st->method, st->path);
        srv_response_clear(res);
        return MHD_NO;
    }
    if (res->content_type) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, res->content_type);
    if (res->content_range[0]) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, res->content_range);
    if (res->accept_ranges) MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
    if (res->content_disposition[0])
        MHD_add_response_header(r, "Content-Disposition", res->content_disposition);
    add_cors(r, st);
    if (st->must_close) MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
    st->status = res->status;
    enum MHD_Result ok = MHD_queue_response(c, (unsigned)res->status, r);
    MHD_destroy_response(r);
    srv_response_clear(res);
    return ok;
}

/* field: the part of the request the error is about (srv_field_error), or NULL. */
static enum MHD_Result respond_error(struct MHD_Connection *c, conn_state *st, int status, const char *field,
                                     const char *msg)
{
    srv_response res;
    srv_response_init(&res);
    srv_field_error(&res, status, field, "%s", msg);
    return respond(NULL, c, st, &res); /* never a stream, so no server needed */
}

/* What a body over the limit is about: the upload of a form route, else the JSON body. */
static const char *body_field(const conn_state *st)
{
    return st->route->body == SRV_BODY_FORM || st->route->body == SRV_BODY_FORM_IMPORT ? "file" : "body";
}

/* ---- CORS ---- */

/* The page was served by this server under the very name the request uses (the UI opened at
 * http://192.0.2.2:17493 on a server bound to 0.0.0.0). Only for IP literals and localhost: a DNS name
 * could be rebound to us by someone else's page. */
static int same_origin_literal(const char *origin, const char *host)
{
    if (!host || strncmp(origin, "http://", 7) != 0 || strcasecmp(origin + 7, host) != 0) return 0;
    if (host[0] == '[') return 1;
    size_t len = strcspn(host, ":");
    if (len == 9 && !strncasecmp(host, "localhost", 9)) return 1;
    return len > 0 && strspn(host, "0123456789.") == len;
}

static int origin_allowed(const srv_server *s, const char *origin, const char *host)
{
    for (int i = 0; i < s->n_origins; i++)
        if (!strcmp(s->origins[i], origin)) return 1;
    return same_origin_literal(origin, host);
}

static int add_origin(srv_server *s, const char *origin, size_t len)
{
    while (len && (*origin == ' ' || *origin == '\t'))
        origin++, len--;
    while (len && (origin[len - 1] == ' ' || origin[len - 1] == '\t' || origin[len - 1] == '/'))
        len--;
    if (len == 0 || s->n_origins >= MAX_ORIGINS) return 0;
    s->origins[s->n_origins] = strndup(origin, len);
    if (!s->origins[s->n_origins]) return -1;
    s->n_origins++;
    return 0;
}

/* DNS rebinding: a page on evil.example whose name is made to resolve to 127.0.0.1 talks to the server
 * "same-origin", and a GET carries no Origin; its Host header still says evil.example. A server bound to
 * loopback therefore answers only Host names that are loopback or those of the allowed origins. */
static int host_allowed(const srv_server *s, const char *host)
{
    if (!s->loopback_only || !host) return 1;
    size_t len = host[0] == '[' ? strcspn(host, "]") + 1 : strcspn(host, ":");
    if (len > strlen(host)) return 0;
    if ((len == 9 && !strncasecmp(host, "localhost", 9)) || (len == 5 && !strncmp(host, "[::1]", 5)) ||
        (len >= 7 && !strncmp(host, "127.", 4) && strspn(host, "0123456789.") == len))
        return 1;
    for (int i = 0; i < s->n_origins; i++) {
        const char *o = strstr(s->origins[i], "://");
        if (!o) continue;
        o += 3;
        size_t olen = o[0] == '[' ? strcspn(o, "]") + 1 : strcspn(o, ":/");
        if (olen == len && !strncasecmp(o, host, len)) return 1;
    }
    return 0;
}

static enum MHD_Result preflight(struct MHD_Connection *c, conn_state *st)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r) return MHD_NO;
    const char *want = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Access-Control-Request-Headers");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers",
                            want && strlen(want) < 512 ? want : "Content-Type, Range");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    MHD_add_response_header(r, "Allow", "GET, POST, PUT, DELETE, OPTIONS");
    add_cors(r, st);
    st->status = 204;
    enum MHD_Result ok = MHD_queue_response(c, 204, r);
    MHD_destroy_response(r);
    return ok;
}

/* ---- requests ---- */

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    srv_request *req = cls;
    if (req->n_query >= SRV_MAX_QUERY) return MHD_NO;
    req->query[req->n_query].name = key;
    req->query[req->n_query].value = value ? value : "";
    req->n_query++;
    return MHD_YES;
}

static int is_loopback(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return 0;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr)) return 1;
        return IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr) && in6->sin6_addr.s6_addr[12] == 127;
    }
    return 0;
}

static void fill_request(struct MHD_Connection *c, conn_state *st)
{
    srv_request *req = &st->req;
    req->method = st->method;
    req->path = st->path;
    req->range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
    req->content_type = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    req->accept = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT);
    req->loopback = is_loopback(c);
    req->n_query = 0;
    MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, collect_query, req);
}

/* ---- request framing (issue 16 item 4) ----
 *
 * Where a request's body ends must be beyond doubt, or its bytes may run as a second request behind a proxy
 * (or behind libmicrohttpd itself, which takes the first of two Content-Length headers and tolerates a space
 * before a colon). As nginx does, an ambiguous head is refused with 400 (501 for a transfer coding other than
 * chunked) and the connection is closed, so nothing after the head is ever read as a request. */

typedef struct {
    int n_cl, n_te, bad_name;
    const char *cl, *te;
} head_scan;

static enum MHD_Result scan_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
    (void)kind;
    head_scan *h = cls;
    if (!*key || strpbrk(key, " \t\r\n")) h->bad_name = 1;
    /* libmicrohttpd 0.9.75 appends an obs-folded line to the header's name ("Content-Length: 0\r\n 90"
     * arrives as "Content-Length90: 0"), so a framing header's name with anything after it is a fold */
    if ((!strncasecmp(key, "Content-Length", 14) && key[14]) ||
        (!strncasecmp(key, "Transfer-Encoding", 17) && key[17]))
        h->bad_name = 1;
    if (!strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH)) h->n_cl++, h->cl = value;
    if (!strcasecmp(key, MHD_HTTP_HEADER_TRANSFER_ENCODING)) h->n_te++, h->te = value;
    return MHD_YES;
}

/* 0 when the head frames its body unambiguously; else the status to answer, with msg filled. */
static int head_check(struct MHD_Connection *c, const char *version, char *msg, size_t size)
{
    head_scan h = {0};
    MHD_get_connection_values(c, MHD_HEADER_KIND, scan_header, &h);
    if (h.bad_name)
        return snprintf(msg, size, "a header name is empty, holds white space or was folded"), 400;
    if (h.n_cl > 1) return snprintf(msg, size, "more than one Content-Length header"), 400;
    if (h.n_cl && (!h.cl[0] || strspn(h.cl, "0123456789") != strlen(h.cl) || strlen(h.cl) > 18))
        return snprintf(msg, size, "Content-Length '%.40s' is not a number", h.cl), 400;
    if (h.n_cl && h.n_te) return snprintf(msg, size, "both Content-Length and Transfer-Encoding"), 400;
    if (h.n_te > 1) return snprintf(msg, size, "more than one Transfer-Encoding header"), 400;
    if (h.n_te && strcasecmp(h.te, "chunked") != 0)
        return snprintf(msg, size, "Transfer-Encoding '%.40s' is not supported (only chunked)", h.te), 501;
    if (version && !strcmp(version, MHD_HTTP_VERSION_1_1) &&
        !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST))
        return snprintf(msg, size, "an HTTP/1.1 request needs a Host header"), 400;
    return 0;
}

/* The client waits for "100 Continue" before it sends the body (curl does for large bodies). */
static int expects_continue(struct MHD_Connection *c)
{
    const char *e = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_EXPECT);
    return e && strcasestr(e, "100-continue") != NULL;
}

/* The first call: headers only. Answers at once when the request cannot succeed whatever its body. */
static enum MHD_Result begin(srv_server *s, struct MHD_Connection *c, conn_state *st, const char *version)
{
    MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)IDLE_TIMEOUT_S); /* head is in */
    char bad[160];
    int framing = head_check(c, version, bad, sizeof bad);
    if (framing) {
        st->must_close = 1;
        return respond_error(c, st, framing, NULL, bad);
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (!host_allowed(s, host)) {
        char msg[400];
        snprintf(msg, sizeof msg, "Host '%.200s' is not allowed: this server answers loopback names only",
                 host);
        return respond_error(c, st, 403, NULL, msg);
    }
    const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
    if (origin) {
        if (!origin_allowed(s, origin, host)) {
            char msg[400];
            snprintf(msg, sizeof msg, "origin '%.200s' is not allowed (add it to VOICEBOX_CORS_ORIGINS)",
                     origin);
            return respond_error(c, st, 403, NULL, msg);
        }
        snprintf(st->origin, sizeof st->origin, "%s", origin);
    }
    if (!strcmp(st->method, "OPTIONS")) return preflight(c, st);

    int path_known = 0;
    st->route = srv_route_find(st->method, st->path, &st->req, st->store, sizeof st->store, &path_known);
    if (!st->route) {
        if (!path_known && (!strcmp(st->method, "GET") || !strcmp(st->method, "HEAD"))) {
            srv_response res;
            srv_response_init(&res);
            fill_request(c, st);
            if (srv_static(&s->ctx, &st->req, &res) == 0 || srv_static_page(&s->ctx, &st->req, &res) == 0)
                return respond(s, c, st, &res);
        }
        return respond_error(c, st, path_known ? 405 : 404, NULL,
                             path_known ? "Method Not Allowed" : "Not Found");
    }

    size_t form_max = st->route->body == SRV_BODY_FORM_IMPORT ? SRV_IMPORT_MAX : STUDIO_UPLOAD_MAX;
    st->limit =
        st->route->body == SRV_BODY_FORM || st->route->body == SRV_BODY_FORM_IMPORT ? form_max : SRV_JSON_MAX;
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(cl, &end, 10);
        if (end != cl && *end == '\0' && (errno == ERANGE || n > st->limit)) {
            /* Lingering close: a client that sends its body without waiting for 100-continue (browsers,
             * Python) is still writing when an early answer closes the connection, and the reset that its
             * unread bytes cause loses the answer. Read and drop such a body, up to DRAIN_MAX past the
             * limit, and answer 413 at its end; beyond that bound, answer now and close. */
            if (errno != ERANGE && n - st->limit <= DRAIN_MAX && !expects_continue(c)) {
                st->too_large = 1;
                return MHD_YES;
            }
            st->must_close = 1;
            char msg[160];
            snprintf(msg, sizeof msg, "request body of %s bytes is larger than the limit of %llu bytes", cl,
                     (unsigned long long)st->limit);
            return respond_error(c, st, 413, body_field(st), msg);
        }
    }
    if (st->route->body == SRV_BODY_FORM || st->route->body == SRV_BODY_FORM_IMPORT) {
        const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
        if (!ct || strncasecmp(ct, "multipart/form-data", 19) != 0) {
            char msg[200];
            snprintf(msg, sizeof msg, "Content-Type must be multipart/form-data, got '%.100s'",
                     ct ? ct : "(none)");
            return respond_error(c, st, 415, NULL, msg);
        }
        char err[200];
        st->form = srv_form_new(FIELD_MAX, form_max);
        st->mp = st->form ? srv_multipart_new(ct, &srv_form_callbacks, st->form, err, sizeof err) : NULL;
        if (!st->mp)
            return respond_error(c, st, st->form ? 400 : 500, NULL, st->form ? err : "out of memory");
    }
    return MHD_YES;
}

/* A slice of the body. */
static void consume(conn_state *st, const char *data, size_t n)
{
    st->received += n;
    if (st->too_large || st->bad_status) return; /* draining */
    if (st->received > st->limit) {
        st->too_large = 1;
        free(st->body);
        st->body = NULL;
        st->body_len = 0;
        return;
    }
    if (st->mp) {
        if (srv_multipart_feed(st->mp, data, n) != 0) {
            if (st->form->too_large) {
                const srv_form_part *last = &st->form->parts[st->form->n_parts - 1];
                if (last->filename) {
                    st->too_large = 1;
                } else {
                    st->bad_status = 422;
                    snprintf(st->bad_msg, sizeof st->bad_msg, "%s: longer than %u bytes",
                             st->form->too_large_name, FIELD_MAX);
                    snprintf(st->bad_field, sizeof st->bad_field, "%s", st->form->too_large_name);
                }
            } else {
                st->bad_status = 400;
                snprintf(st->bad_msg, sizeof st->bad_msg, "%s", srv_multipart_error(st->mp));
            }
        }
        return;
    }
    if (st->route->body != SRV_BODY_JSON) return;
    if (st->body_len + n + 1 > st->body_cap) {
        size_t cap = st->body_cap ? st->body_cap : 1024;
        while (cap < st->body_len + n + 1)
            cap *= 2;
        char *nb = realloc(st->body, cap);
        if (!nb) {
            st->bad_status = 500;
            snprintf(st->bad_msg, sizeof st->bad_msg, "out of memory reading the body");
            return;
        }
        st->body = nb;
        st->body_cap = cap;
    }
    memcpy(st->body + st->body_len, data, n);
    st->body_len += n;
    st->body[st->body_len] = '\0';
}

static void run_handler(srv_server *s, conn_state *st)
{
    srv_response_init(&st->res);
    st->route->handler(&s->ctx, &st->req, &st->res);
    if (st->res.status == 0 && !st->res.defer) {
        log_error("%s %s: the handler gave no response", st->method, st->path);
        srv_error(&st->res, 500, "internal error: no response");
    }
}

static void *worker_main(void *arg)
{
    work_pool *wp = arg;
    /* Linux nice values are per thread: slow work yields the CPU to the network threads, so a cheap
     * request (GET /health) is answered promptly even when the machine is saturated. */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WORKER_NICE) != 0)
        log_warn("cannot lower the priority of a worker thread: %s", strerror(errno));
    for (;;) {
        pthread_mutex_lock(&wp->mu);
        while (!wp->head && !wp->stop)
            pthread_cond_wait(&wp->cv, &wp->mu);
        conn_state *st = wp->head;
        if (!st) { /* stopping, and the queue is empty */
            pthread_mutex_unlock(&wp->mu);
            return NULL;
        }
        wp->head = st->next;
        if (!wp->head) wp->tail = NULL;
        pthread_mutex_unlock(&wp->mu);
        run_handler(wp->srv, st);
        if (st->res.defer) { /* answered later by the ticker */
            srv_server *s = wp->srv;
            pthread_mutex_lock(&s->tmu);
            st->next_deferred = s->deferred;
            s->deferred = st;
            pthread_cond_signal(&s->tcv);
            pthread_mutex_unlock(&s->tmu);
            continue;
        }
        st->ready = 1;
        MHD_resume_connection(st->conn);
    }
}

static void pool_push(work_pool *wp, conn_state *st)
{
    pthread_mutex_lock(&wp->mu);
    if (wp->tail)
        wp->tail->next = st;
    else
        wp->head = st;
    wp->tail = st;
    pthread_cond_signal(&wp->cv);
    pthread_mutex_unlock(&wp->mu);
}

static int pool_start(work_pool *wp, srv_server *s, int n)
{
    wp->srv = s;
    for (; wp->n_threads < n && wp->n_threads < MAX_WORKERS; wp->n_threads++)
        if (pthread_create(&wp->threads[wp->n_threads], NULL, worker_main, wp) != 0) return -1;
    return 0;
}

/* Finishes what is queued, then joins the threads. */
static void pool_stop(work_pool *wp)
{
    pthread_mutex_lock(&wp->mu);
    wp->stop = 1;
    pthread_cond_broadcast(&wp->cv);
    pthread_mutex_unlock(&wp->mu);
    for (int i = 0; i < wp->n_threads; i++)
        pthread_join(wp->threads[i], NULL);
    wp->n_threads = 0;
}

/* The body is complete: run the handler, here when it is inline, else on a worker. */
static enum MHD_Result finish(srv_server *s, struct MHD_Connection *c, conn_state *st)
{
    if (st->ready) /* back from a worker */
        return respond(s, c, st, &st->res);
    if (st->too_large) {
        char msg[160];
        snprintf(msg, sizeof msg, "request body is larger than the limit of %llu bytes",
                 (unsigned long long)st->limit);
        return respond_error(c, st, 413, body_field(st), msg);
    }
    if (st->bad_status) return respond_error(c, st, st->bad_status, st->bad_field, st->bad_msg);
    if (st->mp && srv_multipart_finish(st->mp) != 0)
        return respond_error(c, st, 400, NULL, srv_multipart_error(st->mp));
    fill_request(c, st);
    st->req.body = st->body;
    st->req.body_len = st->body_len;
    st->req.form = st->form;
    if (st->route->run == SRV_RUN_INLINE) {
        run_handler(s, st);
        return respond(s, c, st, &st->res);
    }
    st->conn = c;
    MHD_suspend_connection(c);
    pool_push(st->route->run == SRV_RUN_LONG ? &s->long_pool : &s->pool, st);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    srv_server *s = cls;
    conn_state *st = *con_cls;
    static __thread int prioritised;
    if (!prioritised) { /* libmicrohttpd's threads are not ours to create: mark each on its first request */
        prioritised = 1;
        if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), NETWORK_NICE) != 0)
            errno = 0; /* not permitted: the workers' lower priority still keeps them ahead */
    }
    if (!st) {
        st = calloc(1, sizeof *st);
        if (!st) return MHD_NO;
        srv_response_init(&st->res);
        clock_gettime(CLOCK_MONOTONIC, &st->t0);
        snprintf(st->method, sizeof st->method, "%s", method);
        st->path = strdup(url);
        *con_cls = st;
        atomic_fetch_add(&s->in_flight, 1);
        if (!st->path) return MHD_NO;
        return begin(s, c, st, version);
    }
    if (st->status) { /* already answered */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        consume(st, upload_data, *upload_data_size);
        *upload_data_size = 0;
        if (st->too_large && st->received > st->limit + DRAIN_MAX)
            return MHD_NO; /* a client that keeps sending: hang up */
        return MHD_YES;
    }
    return finish(s, c, st);
}

static void *logger_main(void *arg)
{
    srv_server *s = arg;
    pthread_mutex_lock(&s->lmu);
    for (;;) {
        while (!s->lhead && !s->lstop)
            pthread_cond_wait(&s->lcv, &s->lmu);
        log_line *list = s->lhead;
        s->lhead = s->ltail = NULL;
        if (!list && s->lstop) break;
        pthread_mutex_unlock(&s->lmu);
        while (list) {
            log_line *next = list->next;
            log_info("%s", list->text);
            free(list);
            list = next;
        }
        pthread_mutex_lock(&s->lmu);
    }
    pthread_mutex_unlock(&s->lmu);
    return NULL;
}

static void access_log(srv_server *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void access_log(srv_server *s, const char *fmt, ...)
{
    char text[1200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0) return;
    size_t len = (size_t)n < sizeof text ? (size_t)n : sizeof text - 1;
    log_line *l = malloc(sizeof *l + len + 1);
    if (!l || !s->have_logger) { /* no logger thread (start-up failed): write it here */
        free(l);
        log_info("%s", text);
        return;
    }
    l->next = NULL;
    memcpy(l->text, text, len + 1);
    pthread_mutex_lock(&s->lmu);
    if (s->ltail)
        s->ltail->next = l;
    else
        s->lhead = l;
    s->ltail = l;
    pthread_cond_signal(&s->lcv);
    pthread_mutex_unlock(&s->lmu);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    srv_server *s = cls;
    conn_state *st = *con_cls;
    if (!st) return;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double ms = (double)(t1.tv_sec - st->t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - st->t0.tv_nsec) / 1e6;
    for (char *p = st->path; p && *p;
         p++) /* a decoded path may hold %0A: keep the log one line per request */
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK)
        access_log(s, "%s %.1000s %d %.1f ms", st->method, st->path ? st->path : "?", st->status, ms);
    else
        access_log(s, "%s %.1000s %d %.1f ms (connection ended early, code %d)", st->method,
                   st->path ? st->path : "?", st->status, ms, (int)toe);
    srv_response_clear(&st->res);
    srv_multipart_free(st->mp);
    srv_form_free(st->form);
    free(st->body);
    free(st->path);
    free(st);
    *con_cls = NULL;
    atomic_fetch_sub(&s->in_flight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    srv_server *s = cls;
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    size_t n = strlen(line);
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = '\0';
    if (s && s->limits &&
        !strncmp(line, "Server reached connection limit", 31)) /* once per flood, not per socket */
        srv_conn_limit_note(s->limits,
                            "the server holds its most connections (" STR(CONN_MAX) "); refused one");
    else
        log_warn("libmicrohttpd: %s", line);
}

static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)len;
    srv_server *s = cls;
    return srv_conn_limit_admit(s->limits, addr) ? MHD_YES : MHD_NO;
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
    srv_server *s = cls;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        int slot = srv_conn_limit_opened(s->limits, ci ? ci->client_addr : NULL);
        *socket_context = (void *)(intptr_t)(slot + 1);
        MHD_set_connection_option(c, MHD_CONNECTION_OPTION_TIMEOUT, (unsigned)HEAD_TIMEOUT_S);
    } else if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        srv_conn_limit_closed(s->limits, (int)(intptr_t)*socket_context - 1);
    }
}

/* Room for CONN_MAX sockets plus the files a server holds: the soft open-file limit up to the hard one. */
static void raise_file_limit(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
    rlim_t want = CONN_MAX + 1024;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
}

/* ---- life cycle ---- */

static int stop_cb(void *arg)
{
    return srv_request_stop(arg);
}

static void stop_workers(srv_server *s)
{
    pool_stop(&s->pool);
    pool_stop(&s->long_pool);
}

static void stop_ticker(srv_server *s)
{
    if (!s->have_ticker) return;
    pthread_mutex_lock(&s->tmu);
    s->tstop = 1;
    pthread_cond_broadcast(&s->tcv);
    pthread_mutex_unlock(&s->tmu);
    pthread_join(s->ticker, NULL);
    s->have_ticker = 0;
    pthread_mutex_lock(&s->tmu);
    conn_state *answered = poll_deferred(s, 1); /* what is still deferred gets its answer or a 503 */
    pthread_mutex_unlock(&s->tmu);
    resume_answered(answered);
}

static void stop_logger(srv_server *s)
{
    if (!s->have_logger) return;
    pthread_mutex_lock(&s->lmu);
    s->lstop = 1;
    pthread_cond_broadcast(&s->lcv);
    pthread_mutex_unlock(&s->lmu);
    pthread_join(s->logger, NULL); /* it writes what is queued first */
    s->have_logger = 0;
}

static void free_server(srv_server *s)
{
    if (!s) return;
    stop_workers(s);
    stop_ticker(s);
    stop_logger(s);
    pthread_mutex_destroy(&s->lmu);
    pthread_cond_destroy(&s->lcv);
    pthread_mutex_destroy(&s->tmu);
    pthread_cond_destroy(&s->tcv);
    pthread_mutex_destroy(&s->pool.mu);
    pthread_cond_destroy(&s->pool.cv);
    pthread_mutex_destroy(&s->long_pool.mu);
    pthread_cond_destroy(&s->long_pool.cv);
    studio_asr_free(s->ctx.asr);
    studio_close(s->ctx.studio);
    for (int i = 0; i < s->n_origins; i++)
        free(s->origins[i]);
    free(s->web_dir);
    srv_conn_limit_free(s->limits);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

srv_server *srv_start(const srv_params *p, char *err, size_t err_size)
{
    struct addrinfo *ai = NULL;
    srv_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(err, err_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    pthread_mutex_init(&s->pool.mu, NULL);
    pthread_cond_init(&s->pool.cv, NULL);
    pthread_mutex_init(&s->long_pool.mu, NULL);
    pthread_cond_init(&s->long_pool.cv, NULL);
    pthread_mutex_init(&s->tmu, NULL);
    pthread_cond_init(&s->tcv, NULL);
    pthread_mutex_init(&s->lmu, NULL);
    pthread_cond_init(&s->lcv, NULL);
    atomic_init(&s->in_flight, 0);
    s->ctx.stop = stop_cb;
    s->ctx.stop_arg = s;
    s->ctx.wake_streams = wake_streams;
    s->ctx.wake_arg = s;

    studio_error serr = {0};
    s->ctx.studio = studio_open(p->data_dir, &serr);
    if (!s->ctx.studio) {
        snprintf(err, err_size, "%s", serr.msg[0] ? serr.msg : "cannot open the data dir");
        goto fail;
    }
    /* Takes a crash left unfinished are failed before the first request is answered: no worker of this
     * server runs them, and the generation layer, attached after the server starts, would mark them too
     * late for a client that looks at once (test_crash_loop saw them still queued). */
    studio_generations_fail_unfinished(s->ctx.studio, NULL);
    if (!(s->ctx.asr = studio_asr_new(&serr))) {
        snprintf(err, err_size, "%s", serr.msg);
        goto fail;
    }

    const char *web = p->web_dir ? p->web_dir : getenv("VOICEBOX_WEB_DIR");
    if (!web || !*web) web = VOICEBOX_WEB_DIR;
    char real[PATH_MAX];
    if (realpath(web, real)) {
        s->web_dir = strdup(real);
        s->ctx.web_dir = s->web_dir;
    } else {
        log_info("no web UI at %s; serving the API only", web);
    }

    struct addrinfo hints = {0};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char port_s[16];
    snprintf(port_s, sizeof port_s, "%d", p->port);
    int gai = getaddrinfo(p->host, port_s, &hints, &ai);
    if (gai != 0 || !ai) {
        snprintf(err, err_size, "host '%s' cannot be resolved: %s", p->host, gai_strerror(gai));
        goto fail;
    }
    if (pool_start(&s->pool, s, p->threads > 0 ? p->threads : 8) != 0 ||
        pool_start(&s->long_pool, s, LONG_WORKERS) != 0) {
        snprintf(err, err_size, "cannot start worker threads");
        goto fail;
    }
    if (pthread_create(&s->ticker, NULL, ticker_main, s) != 0) {
        snprintf(err, err_size, "cannot start the stream ticker thread");
        goto fail;
    }
    s->have_ticker = 1;
    if (pthread_create(&s->logger, NULL, logger_main, s) != 0) {
        snprintf(err, err_size, "cannot start the access log thread");
        goto fail;
    }
    s->have_logger = 1;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME;
    if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
    int threads = 4; /* network threads: they only move bytes */
    raise_file_limit();
    struct rlimit rl;
    unsigned conn_max = CONN_MAX;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < CONN_MAX + 256)
        conn_max = rl.rlim_cur > 512 ? (unsigned)rl.rlim_cur - 256 : 256;
    if (!(s->limits = srv_conn_limit_new(PER_CLIENT_CONNS))) goto oom;
    s->daemon = MHD_start_daemon(flags, (uint16_t)p->port, accept_policy, s, on_request, s,
                                 MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                                 MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_NOTIFY_COMPLETED,
                                 on_completed, s, MHD_OPTION_NOTIFY_CONNECTION, on_connection, s,
                                 MHD_OPTION_CONNECTION_LIMIT, conn_max, MHD_OPTION_CONNECTION_TIMEOUT,
                                 (unsigned)IDLE_TIMEOUT_S, MHD_OPTION_END);
    if (!s->daemon) {
        snprintf(err, err_size, "cannot listen on %s:%d: %s", p->host, p->port,
                 errno ? strerror(errno) : "libmicrohttpd refused to start");
        goto fail;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : p->port;

    /* CORS: the server's own origin(s), then the operator's list */
    char own[128];
    int n = snprintf(own, sizeof own, ai->ai_family == AF_INET6 ? "http://[%s]:%d" : "http://%s:%d", p->host,
                     s->port);
    if (add_origin(s, own, (size_t)n) != 0) goto oom;
    if (!strncmp(p->host, "127.", 4) || !strcmp(p->host, "localhost") || !strcmp(p->host, "::1")) {
        s->loopback_only = 1;
        n = snprintf(own, sizeof own, "http://localhost:%d", s->port);
        if (add_origin(s, own, (size_t)n) != 0) goto oom;
        n = snprintf(own, sizeof own, "http://127.0.0.1:%d", s->port);
        if (add_origin(s, own, (size_t)n) != 0) goto oom;
    }
    /* the Voicebox apps' own origins: its dev server and its desktop shell */
    static const char *const app_origins[] = {"http://localhost:5173", "http://127.0.0.1:5173",
                                              "tauri://localhost", "http://tauri.localhost"};
    for (size_t i = 0; i < sizeof app_origins / sizeof app_origins[0]; i++)
        if (add_origin(s, app_origins[i], strlen(app_origins[i])) != 0) goto oom;
    const char *extra = getenv("VOICEBOX_CORS_ORIGINS");
    for (const char *q = extra; q && *q;) {
        const char *comma = strchr(q, ',');
        size_t len = comma ? (size_t)(comma - q) : strlen(q);
        if (add_origin(s, q, len) != 0) goto oom;
        q = comma ? comma + 1 : q + len;
    }
    freeaddrinfo(ai);
    log_info("voicebox %s listening on http://%s:%d (data dir %s, %d workers + %d for long requests)",
             VOICEBOX_VERSION, p->host, s->port, studio_data_dir(s->ctx.studio), s->pool.n_threads,
             s->long_pool.n_threads);
    return s;
oom:
    snprintf(err, err_size, "out of memory");
fail:
    if (ai) freeaddrinfo(ai);
    if (s->daemon) MHD_stop_daemon(s->daemon);
    free_server(s);
    return NULL;
}

int srv_port(const srv_server *s)
{
    return s->port;
}

srv_ctx *srv_context(srv_server *s)
{
    return &s->ctx;
}

int srv_request_stop(srv_server *s)
{
    pthread_mutex_lock(&s->mu);
    s->stop_requested = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void srv_wait(srv_server *s)
{
    pthread_mutex_lock(&s->mu);
    while (!s->stop_requested)
        pthread_cond_wait(&s->cv, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void srv_stop(srv_server *s)
{
    if (!s) return;
    srv_request_stop(s); /* also ends the streams still open */
    MHD_socket listen_fd = MHD_quiesce_daemon(s->daemon);
    if (s->ctx.on_quiesce) s->ctx.on_quiesce(s->ctx.hook_arg);
    int waited_ms = 0;
    while (atomic_load(&s->in_flight) > 0 && waited_ms < 30000) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
        waited_ms += 10;
    }
    int left = atomic_load(&s->in_flight);
    if (left > 0) log_warn("stopping with %d request(s) still in flight after 30 s", left);
    stop_workers(s); /* finishes what is queued, so no worker resumes a connection of a stopped daemon */
    stop_ticker(s);  /* likewise for parked streams */
    MHD_stop_daemon(s->daemon);
    if (listen_fd != MHD_INVALID_SOCKET) close(listen_fd);
    stop_logger(s); /* every request line is out before the next lines */
    log_info("server stopped; closing the database");
    free_server(s);
}

void srv_print_routes(FILE *out)
{
    for (size_t i = 0; i < srv_n_routes; i++)
        fprintf(out, "%s %s\n", srv_routes[i].method, srv_routes[i].pattern);
}
