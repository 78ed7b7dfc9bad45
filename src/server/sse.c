/* sse.c — server-sent events for the streaming routes (sse.h). */
#include "server/sse.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void srv_sse_start(struct timespec *last_write)
{
    clock_gettime(CLOCK_MONOTONIC, last_write);
}

long srv_sse_quiet_ms(const struct timespec *last_write)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - last_write->tv_sec) * 1000 + (now.tv_nsec - last_write->tv_nsec) / 1000000;
}

long srv_sse_event(struct timespec *last_write, char *buf, size_t max, json_t *j)
{
    char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (!text) return -1;
    int n = snprintf(buf, max, "data: %s\n\n", text);
    free(text);
    if (n < 0 || (size_t)n >= max) return 0; /* the network buffer is nearly full: ask again */
    srv_sse_start(last_write);
    return n;
}

long srv_sse_heartbeat(struct timespec *last_write, char *buf, size_t max)
{
    static const char beat[] = ": heartbeat\n\n";
    if (srv_sse_quiet_ms(last_write) < SRV_SSE_HEARTBEAT_MS || max <= 16) return 0;
    srv_sse_start(last_write);
    memcpy(buf, beat, sizeof beat - 1);
    return (long)(sizeof beat - 1);
}
