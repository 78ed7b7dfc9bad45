/* hub_mirror.h — tests/hub_mirror.py as a child process of a C test: started on a free port with the test's
 * own arguments (--map REPO=DIR, --throttle-kbps, --refuse-ranges), its port read from its first line, and
 * stopped with SIGTERM. Header-only, like test_util.h.
 */
#ifndef VOICEBOX_TEST_HUB_MIRROR_H
#define VOICEBOX_TEST_HUB_MIRROR_H

#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    pid_t pid; /* -1 when it could not be started */
    int out;   /* read end of its stdout, kept open until it stops so it never writes to a closed pipe */
    int port;  /* 0 when it printed none */
} hub_mirror;

/* python3 tests/hub_mirror.py --port 0 --quiet ARG... (a NULL-terminated list of at most 16). */
static inline hub_mirror hub_mirror_start(const char *arg, ...)
{
    hub_mirror m = {-1, -1, 0};
    char src[1024], script[1100];
    snprintf(src, sizeof src, "%s", __FILE__); /* this header sits beside hub_mirror.py */
    snprintf(script, sizeof script, "%s/hub_mirror.py", dirname(src));
    const char *argv[24] = {"python3", script, "--port", "0", "--quiet"};
    int argc = 5;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && argc < 21; a = va_arg(ap, const char *))
        argv[argc++] = a;
    va_end(ap);
    int fds[2];
    if (pipe(fds) != 0) return m;
    m.pid = fork();
    if (m.pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execvp("python3", (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    if (m.pid < 0) {
        close(fds[0]);
        return m;
    }
    char line[32] = "";
    ssize_t n = read(fds[0], line, sizeof line - 1);
    m.out = fds[0];
    m.port = n > 0 ? atoi(line) : 0;
    return m;
}

static inline void hub_mirror_stop(hub_mirror *m)
{
    if (m->pid > 0) {
        kill(m->pid, SIGTERM);
        waitpid(m->pid, NULL, 0);
        close(m->out);
        m->pid = -1;
    }
}

#endif
