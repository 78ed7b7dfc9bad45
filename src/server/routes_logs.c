/* routes_logs.c — GET /logs/tail?lines=N: the last lines of the log file the server writes (--log-file),
 * for the web UI's Server screen. It reads only that one file, whose path comes from the logger, never from
 * the request; at most TAIL_MAX_BYTES from its end, so a huge log costs no more than a small one. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "server/routes.h"
#include "studio/log.h"

#define TAIL_MAX_BYTES (256 * 1024)

/* Appends line [s, s+n) to arr; bytes that are not valid UTF-8 (or control characters) become '?'. */
static void append_line(json_t *arr, const char *s, size_t n)
{
    if (n && s[n - 1] == '\r') n--;
    char *copy = malloc(n + 1);
    if (!copy) return;
    memcpy(copy, s, n);
    copy[n] = '\0';
    if (studio_utf8_valid_prefix(copy, n) != n)
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)copy[i] >= 0x80) copy[i] = '?';
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)copy[i] < 0x20 && copy[i] != '\t') copy[i] = '?';
    json_array_append_new(arr, json_stringn(copy, n));
    free(copy);
}

void srv_get_logs_tail(srv_ctx *ctx, const srv_request *req, srv_response *res)
{
    (void)ctx;
    long want = SRV_LOG_TAIL_DEFAULT_LINES;
    const char *v = srv_query(req, "lines");
    if (v) {
        char *end;
        errno = 0;
        want = strtol(v, &end, 10);
        if (*v == '\0' || *end != '\0' || errno == ERANGE || want < 1 || want > SRV_LOG_TAIL_MAX_LINES) {
            srv_field_error(res, 422, "lines", "lines: must be an integer from 1 to %d, got '%.40s'",
                            SRV_LOG_TAIL_MAX_LINES, v);
            return;
        }
    }
    char path[PATH_MAX];
    if (studio_log_path(path, sizeof path) != 0) {
        srv_json(res, 200, json_pack("{s:n, s:[]}", "log_file", "lines"));
        return;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        if (fd >= 0) close(fd);
        srv_error(res, 500, "the log file %s cannot be read: %s", path, strerror(errno));
        return;
    }
    off_t start = st.st_size > TAIL_MAX_BYTES ? st.st_size - TAIL_MAX_BYTES : 0;
    size_t len = (size_t)(st.st_size - start);
    char *buf = malloc(len + 1);
    ssize_t got = buf ? pread(fd, buf, len, start) : -1;
    close(fd);
    if (got < 0) {
        free(buf);
        srv_error(res, 500, "the log file %s cannot be read", path);
        return;
    }
    len = (size_t)got;

    /* Walk back from the end to the start of the want-th last line. A chunk that starts mid-file drops
     * its first, probably partial, line. */
    size_t end = len;
    if (end && buf[end - 1] == '\n') end--;
    size_t from = end;
    long n = 0;
    while (from > 0 && n < want) {
        size_t p = from;
        while (p > 0 && buf[p - 1] != '\n')
            p--;
        if (p == 0 && start > 0) break;
        from = p;
        n++;
        if (from > 0) from--; /* step over the newline before this line */
    }
    if (from < end && buf[from] == '\n') from++;

    json_t *lines = json_array();
    for (size_t s = from; s < end;) {
        const char *nl = memchr(buf + s, '\n', end - s);
        size_t e = nl ? (size_t)(nl - buf) : end;
        append_line(lines, buf + s, e - s);
        s = e + 1;
    }
    free(buf);
    srv_json(res, 200, json_pack("{s:s, s:o}", "log_file", path, "lines", lines));
}
