/* sse.h — server-sent events for the streaming routes (a download's progress, a take's status): one event
 * "data: <json>\n\n" at a time into the network buffer a stream callback is given, and a heartbeat comment
 * when a stream has been quiet, so clients and proxies see it is alive. The stream's own state stays in its
 * route; this keeps only the time of its last write.
 */
#ifndef VOICEBOX_SERVER_SSE_H
#define VOICEBOX_SERVER_SSE_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#define SRV_SSE_HEARTBEAT_MS 2000

/* Marks `last_write` as now: a new stream starts quiet. */
void srv_sse_start(struct timespec *last_write);

/* Milliseconds since the stream's last write. */
long srv_sse_quiet_ms(const struct timespec *last_write);

/* j (taken, NULL allowed) as one event in buf: its length; 0 when buf is too small (the callback is asked
 * again); -1 when j is NULL or cannot be printed. A written event marks last_write. */
long srv_sse_event(struct timespec *last_write, char *buf, size_t max, json_t *j);

/* A heartbeat comment when the stream has been quiet for SRV_SSE_HEARTBEAT_MS: its length, else 0. */
long srv_sse_heartbeat(struct timespec *last_write, char *buf, size_t max);

#endif
