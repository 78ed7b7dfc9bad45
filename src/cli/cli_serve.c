/* cli_serve.c — `voicebox serve`: parses the options, opens the log, starts the server and waits for
 * SIGINT/SIGTERM (or POST /shutdown), then shuts down cleanly and exits 0. Signals are blocked in every
 * thread and taken by one watcher thread with sigwait, so no handler runs inside a request. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "server/server.h"
#include "studio/log.h"

static void serve_usage(FILE *out)
{
    fprintf(out, "usage: voicebox serve [--host 127.0.0.1] [--port 17493] [--data-dir ./data]\n"
                 "                      [--log-file ./logs/server.log] [--web-dir DIR] [--threads N] [--routes]\n"
                 "  --web-dir   the browser UI to serve (default $VOICEBOX_WEB_DIR, else the source tree's web/)\n"
                 "  --routes    print the API routes and exit\n"
                 "  CORS: the server's own origin plus those in $VOICEBOX_CORS_ORIGINS (comma separated)\n");
}

typedef struct {
    srv_server *srv;
    sigset_t set;
} watcher;

static void *watch_signals(void *arg)
{
    watcher *w = arg;
    int sig = 0;
    if (sigwait(&w->set, &sig) == 0 && sig != SIGUSR1) {
        log_info("received %s, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
        srv_request_stop(w->srv);
    }
    return NULL;
}

int cli_serve(int argc, char **argv)
{
    srv_params p = srv_default_params();
    const char *log_file = "./logs/server.log";
    for (int i = 1; i < argc; i += 2) { /* every option but the two above takes a value */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            serve_usage(stdout);
            return 0;
        }
        if (!strcmp(a, "--routes")) {
            srv_print_routes(stdout);
            return 0;
        }
        if (!v) {
            serve_usage(stderr);
            return cli_error("serve: unknown option or missing value: %s", a);
        }
        if (!strcmp(a, "--host"))
            p.host = v;
        else if (!strcmp(a, "--port")) {
            char *end;
            long port = strtol(v, &end, 10);
            if (*v == '\0' || *end != '\0' || port < 0 || port > 65535)
                return cli_error("serve: --port must be 0 to 65535, got '%s'", v);
            p.port = (int)port;
        } else if (!strcmp(a, "--data-dir"))
            p.data_dir = v;
        else if (!strcmp(a, "--log-file"))
            log_file = v;
        else if (!strcmp(a, "--web-dir"))
            p.web_dir = v;
        else if (!strcmp(a, "--threads")) {
            p.threads = atoi(v);
            if (p.threads < 1 || p.threads > 256)
                return cli_error("serve: --threads must be 1 to 256, got '%s'", v);
        } else {
            serve_usage(stderr);
            return cli_error("serve: unknown option %s", a);
        }
    }
    if (log_file[0] && studio_log_open(log_file) != 0)
        return cli_error("serve: cannot open the log file %s", log_file);

    /* blocked here, so every thread started from now on inherits the mask */
    watcher w = {0};
    sigemptyset(&w.set);
    sigaddset(&w.set, SIGINT);
    sigaddset(&w.set, SIGTERM);
    sigaddset(&w.set, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &w.set, NULL);
    signal(SIGPIPE, SIG_IGN);

    char err[512];
    w.srv = srv_start(&p, err, sizeof err);
    if (!w.srv) {
        log_error("serve: %s", err);
        studio_log_close();
        return 1;
    }
    pthread_t t;
    if (pthread_create(&t, NULL, watch_signals, &w) != 0) {
        srv_stop(w.srv);
        studio_log_close();
        return cli_error("serve: cannot start the signal watcher");
    }
    srv_wait(w.srv);
    pthread_kill(t, SIGUSR1); /* wakes the watcher if POST /shutdown stopped us */
    pthread_join(t, NULL);
    srv_stop(w.srv);
    log_info("bye");
    studio_log_close();
    return 0;
}
