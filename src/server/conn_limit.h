/* conn_limit.h — how many connections one client address may hold open (issue 16 item 3), and a log line,
 * at most one per 10 s with a count of the rest, when a connection limit refuses someone.
 *
 * libmicrohttpd's own per-IP limit refuses silently; this one is fed by its accept-policy and connection
 * notification callbacks (server.c) so the operator sees when a limit bites. Thread-safe. */
#ifndef VOICEBOX_SERVER_CONN_LIMIT_H
#define VOICEBOX_SERVER_CONN_LIMIT_H

#include <sys/socket.h>

typedef struct srv_conn_limit srv_conn_limit;

srv_conn_limit *srv_conn_limit_new(int per_client_max);
void srv_conn_limit_free(srv_conn_limit *l); /* NULL is fine */

/* 1 when a new connection from addr may be accepted; 0 when addr holds per_client_max already (logged). */
int srv_conn_limit_admit(srv_conn_limit *l, const struct sockaddr *addr);
/* A connection from addr opened / closed: returns the slot to pass to srv_conn_limit_closed (-1: untracked).
 */
int srv_conn_limit_opened(srv_conn_limit *l, const struct sockaddr *addr);
void srv_conn_limit_closed(srv_conn_limit *l, int slot);

/* One warning line for a refusal of any kind ("what" says which limit), rate-limited to one per 10 s. */
void srv_conn_limit_note(srv_conn_limit *l, const char *what);

#endif
