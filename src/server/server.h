/* server.h — `voicebox serve`: the HTTP API over the studio (libmicrohttpd, a thread pool on epoll).
 *
 * The server owns the studio it opens. It does not handle signals itself: the caller (cli_serve.c) blocks
 * them, waits for one and calls srv_request_stop. srv_stop then stops accepting, lets the requests in
 * flight finish, stops the daemon and closes the database.
 */
#ifndef VOICEBOX_SRV_SERVER_H
#define VOICEBOX_SRV_SERVER_H

#include <stdio.h>

#include "server/http.h"

typedef struct {
    const char *host;     /* "127.0.0.1" */
    int port;             /* 17493; 0 picks a free port (see srv_port) */
    const char *data_dir; /* "./data" */
    const char *web_dir;  /* NULL: $VOICEBOX_WEB_DIR, else the build's VOICEBOX_WEB_DIR */
    int threads;          /* worker threads; 0: 8 */
} srv_params;

srv_params srv_default_params(void);

typedef struct srv_server srv_server;

/* Opens the studio and starts listening. NULL with a sentence in err on failure. */
srv_server *srv_start(const srv_params *p, char *err, size_t err_size);
int srv_port(const srv_server *s);
srv_ctx *srv_context(srv_server *s); /* for attaching hooks */
/* Blocks until srv_request_stop is called (by a signal watcher or POST /shutdown). */
void srv_wait(srv_server *s);
/* Safe from any thread; returns 0. */
int srv_request_stop(srv_server *s);
/* Stops accepting, waits (up to 30 s) for requests in flight, stops the daemon, closes the studio and
 * frees s. NULL is fine. */
void srv_stop(srv_server *s);

/* Prints "METHOD PATTERN" for every API route, one a line (for the OpenAPI coverage test). */
void srv_print_routes(FILE *out);

#endif
