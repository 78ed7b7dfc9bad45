/* log.c — see log.h. */
#include "studio/log.h"

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
    if (!copy)
        return -1;
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
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
    if (make_parent_dirs(path) != 0)
        return -1;
    FILE *f = fopen(path, "a");
    if (!f)
        return -1;
    setvbuf(f, NULL, _IOLBF, 0);
    pthread_mutex_lock(&log_mutex);
    if (log_file)
        fclose(log_file);
    log_file = f;
    snprintf(log_path, sizeof log_path, "%s", path);
    pthread_mutex_unlock(&log_mutex);
    return 0;
}

void studio_log_close(void)
{
    pthread_mutex_lock(&log_mutex);
    if (log_file)
        fclose(log_file);
    log_file = NULL;
    log_path[0] = '\0';
    pthread_mutex_unlock(&log_mutex);
}

int studio_log_path(char *out, size_t size)
{
    pthread_mutex_lock(&log_mutex);
    int rc = log_file && log_path[0] && strlen(log_path) < size ? 0 : -1;
    if (rc == 0)
        memcpy(out, log_path, strlen(log_path) + 1);
    pthread_mutex_unlock(&log_mutex);
    return rc;
}

void studio_log(const char *level, const char *fmt, ...)
{
    char line[2048];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    localtime_r(&tv.tv_sec, &tm);
    int n = (int)strftime(line, sizeof line, "%Y-%m-%d %H:%M:%S", &tm);
    n += snprintf(line + n, sizeof line - (size_t)n, ".%03d %s ", (int)(tv.tv_usec / 1000), level);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);

    pthread_mutex_lock(&log_mutex);
    fprintf(stderr, "%s\n", line);
    if (log_file)
        fprintf(log_file, "%s\n", line);
    pthread_mutex_unlock(&log_mutex);
}
