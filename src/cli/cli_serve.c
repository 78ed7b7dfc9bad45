/* cli_serve.c — `voicebox serve`: parses the options, opens the log, starts the server and waits for
 * SIGINT/SIGTERM (or POST /shutdown), then shuts down cleanly and exits 0.
 * Libraries start threads of their own (OpenBLAS at load time), so a signal mask cannot steer SIGTERM to
 * one thread; the handler only writes the signal number to a pipe, and a watcher thread reading the pipe
 * asks the server to stop. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/cli_opt.h"
#include "engine/qt.h"
#include "server/routes.h"
#include "server/server.h"
#include "studio/generation.h"
#include "studio/log.h"
#include "studio/models.h"

static void serve_usage(FILE *out)
{
    fprintf(out,
            "usage: voicebox serve [--host 127.0.0.1] [--port 17493] [--data-dir ./data]\n"
            "                      [--log-file ./logs/server.log] [--web-dir DIR] [--threads N] [--routes]\n"
            "                      [--precision bf16|int8]\n"
            "  --precision the studio's default model precision (POST /models/load may change it)\n"
            "  --web-dir   the browser UI to serve (default $VOICEBOX_WEB_DIR, else the source tree's web/)\n"
            "  --routes    print the API routes and exit\n"
            "  CORS: the server's own origin plus those in $VOICEBOX_CORS_ORIGINS (comma separated)\n");
}

static int signal_pipe[2] = {-1, -1};

static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    if (signals_seen++) { /* a second Ctrl-C: the user does not want to wait for the requests in flight */
        static const char msg[] = "voicebox: second signal, exiting without waiting\n";
        ssize_t r = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)r;
        _exit(1);
    }
    unsigned char b = (unsigned char)sig;
    ssize_t r = write(signal_pipe[1], &b, 1); /* async-signal-safe; a full pipe means one is pending */
    (void)r;
}

static void *watch_signals(void *arg)
{
    srv_server *srv = arg;
    unsigned char b = 0;
    ssize_t n;
    do
        n = read(signal_pipe[0], &b, 1);
    while (n < 0 && errno == EINTR);
    if (n == 1 && b != 0) { /* 0: main's wake-up after POST /shutdown */
        log_info("received %s, shutting down", b == SIGINT ? "SIGINT" : "SIGTERM");
        srv_request_stop(srv);
    }
    return NULL;
}

/* --precision: checked now, kept as the name the studio takes. */
static int precision_opt(const char *value, void *dest)
{
    qt_precision unused;
    int rc = cli_precision_opt(value, &unused);
    if (rc == 0) *(const char **)dest = value;
    return rc;
}

int cli_serve(int argc, char **argv)
{
    srv_params p = srv_default_params();
    const char *log_file = "./logs/server.log";
    const char *precision = NULL; /* --precision: the studio default (bf16 when not given) */
    int routes = 0;
    const cli_opt opts[] = {
        CLI_FLAG_OPT("--routes", &routes),
        CLI_STR_OPT("--host", NULL, &p.host),
        CLI_INT_OPT("--port", &p.port, 0, 65535, "serve: --port must be 0 to 65535, got '%s'"),
        CLI_STR_OPT("--data-dir", NULL, &p.data_dir),
        CLI_STR_OPT("--log-file", NULL, &log_file),
        CLI_STR_OPT("--web-dir", NULL, &p.web_dir),
        CLI_INT_OPT("--threads", &p.threads, 1, 256, "serve: --threads must be 1 to 256, got '%s'"),
        CLI_FN_OPT("--precision", &precision, precision_opt),
    };
    const char *pos[argc > 0 ? argc : 1];
    int n_pos;
    int r = cli_parse("serve", argc, argv, opts, sizeof opts / sizeof opts[0], pos, &n_pos);
    if (r == CLI_HELP) {
        serve_usage(stdout);
        return 0;
    }
    if (r) return r;
    if (n_pos) {
        cli_error("serve: unexpected argument '%s' (see voicebox serve --help)", pos[0]);
        return 2;
    }
    if (routes) {
        srv_print_routes(stdout);
        return 0;
    }
    if (log_file[0] && studio_log_open(log_file) != 0)
        return cli_error("serve: cannot open the log file %s", log_file);

    if (pipe2(signal_pipe, O_CLOEXEC) != 0)
        return cli_error("serve: cannot create the signal pipe: %s", strerror(errno));
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    int rc = 1;
    char err[512];
    studio_gen *gen = NULL;
    studio_models *models = NULL;
    srv_server *srv = srv_start(&p, err, sizeof err);
    if (!srv) {
        log_error("serve: %s", err);
        goto out;
    }
    studio_error serr = {0};
    models = studio_models_new();
    gen = models ? studio_gen_new(srv_context(srv)->studio, models, &serr) : NULL;
    if (!gen) {
        log_error("serve: %s", models ? serr.msg : "out of memory");
        srv_stop(srv);
        goto out;
    }
    if (precision) (void)studio_gen_set_precision(gen, precision, &serr); /* validated with the options */
    srv_attach_generation(srv_context(srv), gen, models);
    log_info("engine kernels %s, int8 kernels %s, BLAS OpenBLAS %s", qt_kernels_name(),
             qt_int8_kernels_name(), qt_blas_kernels());
    pthread_t t;
    if (pthread_create(&t, NULL, watch_signals, srv) != 0) {
        log_error("serve: cannot start the signal watcher");
        srv_stop(srv);
        goto out;
    }
    srv_wait(srv);
    unsigned char wake = 0; /* the watcher may still wait if POST /shutdown stopped us */
    ssize_t wr = write(signal_pipe[1], &wake, 1);
    (void)wr;
    pthread_join(t, NULL);
    srv_stop(srv); /* ends the generation worker (on_quiesce) before closing the studio */
    log_info("bye");
    rc = 0;
out:
    studio_gen_free(gen);
    studio_models_free(models);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    close(signal_pipe[0]);
    close(signal_pipe[1]);
    studio_log_close();
    return rc;
}
