/* log.c — see log.h.
 *
 * Messages carry names users chose (profiles, files, paths, headers), so each line is escaped before it is
 * written: a newline would forge a log line, an ANSI escape would rewrite the operator's terminal. Control
 * bytes, C1 controls, a backslash and bytes that are not UTF-8 are written as C-style escapes (\n, \x1b,
 * \u009b, \\); everything else, non-ASCII text included, stays as it is. */
#include "studio/log.h"
#include "engine/qt.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

static pthread_mutex_t log_mutex = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_file;
static char log_path[4096]; /* of log_file, for GET /logs/tail */

static int make_parent_dirs(const char *path)
{
    char *copy = strdup(path);
    if (!copy) return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(copy, 0755) != 0 && errno != EEXIST) {
            free(copy);
            return -1;
        }
        *p = '/';
    }
    free(copy);
    return 0;
}

int studio_log_open(const char *path)
{
    if (make_parent_dirs(path) != 0) return -1;
    FILE *f = fopen(path, "a");
    if (!f) return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    pthread_mutex_lock(&log_mutex);
    if (log_file) fclose(log_file);
    log_file = f;
    snprintf(log_path, sizeof log_path, "%s", path);
    pthread_mutex_unlock(&log_mutex);
    return 0;
}

void studio_log_close(void)
{
    pthread_mutex_lock(&log_mutex);
    if (log_file) fclose(log_file);
    log_file = NULL;
    log_path[0] = '\0';
    pthread_mutex_unlock(&log_mutex);
}

int studio_log_path(char *out, size_t size)
{
    pthread_mutex_lock(&log_mutex);
    int rc = log_file && log_path[0] && strlen(log_path) < size ? 0 : -1;
    if (rc == 0) memcpy(out, log_path, strlen(log_path) + 1);
    pthread_mutex_unlock(&log_mutex);
    return rc;
}

size_t studio_log_escape(const char *in, char *out, size_t size)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t n = strlen(in), o = 0;
    if (size == 0) return 0;
    for (size_t i = 0; i < n;) {
        char esc[8];
        size_t len = qt_utf8_char_len(in + i, n - i), elen;
        if (len == 1 && s[i] >= 0x20 && s[i] != 0x7f && s[i] != '\\') {
            esc[0] = (char)s[i];
            elen = 1;
        } else if (len == 1) {
            const char *named = s[i] == '\n'   ? "\\n"
                                : s[i] == '\r' ? "\\r"
                                : s[i] == '\t' ? "\\t"
                                : s[i] == '\\' ? "\\\\"
                                               : NULL;
            elen = named ? (size_t)snprintf(esc, sizeof esc, "%s", named)
                         : (size_t)snprintf(esc, sizeof esc, "\\x%02x", s[i]);
        } else if (len == 2 && s[i] == 0xc2 && s[i + 1] < 0xa0) { /* C1 controls: U+0080..U+009F */
            elen = (size_t)snprintf(esc, sizeof esc, "\\u%04x", s[i + 1]);
        } else if (len == 0) {
            len = 1;
            elen = (size_t)snprintf(esc, sizeof esc, "\\x%02x", s[i]);
        } else {
            memcpy(esc, s + i, len);
            elen = len;
        }
        if (o + elen >= size) break; /* cut at a whole character or escape */
        memcpy(out + o, esc, elen);
        o += elen;
        i += len;
    }
    out[o] = '\0';
    return o;
}

void studio_log(const char *level, const char *fmt, ...)
{
    char line[4096];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03d %s ", (int)(tv.tv_usec / 1000), level);
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    studio_log_escape(msg, line + n, sizeof line - (size_t)n);

    pthread_mutex_lock(&log_mutex);
    fprintf(stderr, "%s\n", line);
    if (log_file) fprintf(log_file, "%s\n", line);
    pthread_mutex_unlock(&log_mutex);
}
