/* fuzz_http_front.c — libFuzzer target for the front door: the real server (srv_start: libmicrohttpd, its
 * request framing checks, the body limits, the router, the handlers on their workers) is started once on a
 * loopback port in this process, on a temp data dir, and each input is written as raw bytes to a new
 * connection (request heads, smuggling attempts, bodies, pipelined requests), which is then half-closed, read
 * to its end and reset. After every input GET /health on a fresh connection must answer 200: never a crash, a
 * leak, a hung server or a wedged connection limit. POST /shutdown is neutralised (the stop hook does
 * nothing), so an input that finds it keeps the server up. No model is downloaded (HF_HUB_OFFLINE): a
 * generation request ends at 409. Inputs are capped at 64 KB by the fuzzer's own default; each connection
 * waits at most RECV_TIMEOUT_MS for an answer (a head the server is still waiting on).
 */
#include "server/routes.h"
#include "server/server.h"
#include "studio/studio.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define RECV_TIMEOUT_MS 300

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static srv_server *srv;
static studio_gen *gen;
static studio_models *models;
static int port;
static char tmpdir[64];

static int no_stop(void *arg)
{
    (void)arg;
    return 0; /* POST /shutdown answers as usual, and the server stays */
}

static void cleanup(void)
{
    srv_stop(srv); /* ends the generation worker before closing the studio */
    studio_gen_free(gen);
    studio_models_free(models);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "fuzz_http_front: could not remove %s\n", tmpdir);
}

/* A connection from source (127.0.0.x): the inputs come from 127.0.0.2, the /health checks from 127.0.0.1,
 * two clients as the per-client connection limit sees them. */
static int dial(uint32_t source)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct sockaddr_in from = {.sin_family = AF_INET};
    from.sin_addr.s_addr = htonl(source);
    struct timeval tv = {0, RECV_TIMEOUT_MS * 1000};
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    }
    if (fd >= 0 && (bind(fd, (struct sockaddr *)&from, sizeof from) != 0 ||
                    connect(fd, (struct sockaddr *)&a, sizeof a) != 0)) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* Sends what is given, half-closes, reads until the server closes or goes quiet; the first bytes read go to
 * head (NUL-terminated, when not NULL). */
static void exchange(uint32_t source, const void *data, size_t size, char *head, size_t head_size)
{
    if (head) head[0] = '\0';
    int fd = dial(source);
    if (fd < 0) return;
    const char *p = data;
    while (size > 0) {
        ssize_t w = send(fd, p, size, MSG_NOSIGNAL);
        if (w <= 0) break; /* the server closed early (a refused head): fine, read its answer */
        p += w;
        size -= (size_t)w;
    }
    shutdown(fd, SHUT_WR);
    char buf[16384];
    size_t got = 0;
    for (;;) {
        ssize_t r = recv(fd, buf, sizeof buf, 0);
        if (r <= 0) break;
        if (head && got < head_size - 1) {
            size_t n = (size_t)r < head_size - 1 - got ? (size_t)r : head_size - 1 - got;
            memcpy(head + got, buf, n);
            got += n;
            head[got] = '\0';
        }
    }
    /* Reset rather than close: libmicrohttpd keeps a half-closed connection whose request is unfinished
     * until its timeout (10 s for a head, 60 s idle), and thousands of those would only test the limit */
    struct linger reset = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_LINGER, &reset, sizeof reset);
    close(fd);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    signal(SIGPIPE, SIG_IGN);
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fuzz-http-XXXXXX");
    if (!mkdtemp(tmpdir)) exit(1);
    char path[128];
    snprintf(path, sizeof path, "%s/hf", tmpdir);
    setenv("HF_HOME", path, 1);
    setenv("HF_ENDPOINT", "http://127.0.0.1:9", 1); /* nothing to download from */
    setenv("HF_HUB_OFFLINE", "1", 1);
    snprintf(path, sizeof path, "%s/data", tmpdir);
    char web[128];
    snprintf(web, sizeof web, "%s/no-web", tmpdir);
    srv_params p = srv_default_params();
    p.port = 0;
    p.data_dir = path;
    p.web_dir = web;
    p.threads = 2;
    char err[512];
    if (!(srv = srv_start(&p, err, sizeof err))) {
        fprintf(stderr, "fuzz_http_front: cannot start the server: %s\n", err);
        exit(1);
    }
    port = srv_port(srv);
    srv_ctx *ctx = srv_context(srv);
    ctx->stop = no_stop;
    studio_error serr = {0};
    models = studio_models_new();
    gen = models ? studio_gen_new(ctx->studio, models, &serr) : NULL;
    if (!gen) {
        fprintf(stderr, "fuzz_http_front: cannot start the generation layer: %s\n", serr.msg);
        exit(1);
    }
    srv_attach_generation(ctx, gen, models);
    atexit(cleanup);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    exchange(0x7f000002, data, size, NULL, 0);
    static const char health[] = "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    char head[64];
    for (int attempt = 0; attempt < 20; attempt++) { /* a worker may still be busy with the input */
        exchange(0x7f000001, health, sizeof health - 1, head, sizeof head);
        if (!strncmp(head, "HTTP/1.1 200 ", 13)) return 0;
        usleep(50 * 1000);
    }
    fprintf(stderr, "fuzz_http_front: GET /health after this input: '%s'\n", head);
    abort();
}
