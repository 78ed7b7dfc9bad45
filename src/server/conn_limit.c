/* conn_limit.c — see conn_limit.h. A fixed table of client addresses with their open connections: a linear
 * scan of at most SLOTS entries under one mutex, cheap beside an accept(2). Addresses past the table's size
 * are not limited (and the table cannot be filled by one client: it holds one entry per address). */
#include "server/conn_limit.h"

#include "studio/log.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SLOTS 1024
#define NOTE_EVERY_S 10

typedef struct {
    char ip[INET6_ADDRSTRLEN];
    int n; /* open connections; 0: the slot is free */
} slot;

struct srv_conn_limit {
    pthread_mutex_t mu;
    int max;
    slot slots[SLOTS];
    time_t noted_at;
    long unnoted; /* refusals since the last line */
};

srv_conn_limit *srv_conn_limit_new(int per_client_max)
{
    srv_conn_limit *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->max = per_client_max;
    return l;
}

void srv_conn_limit_free(srv_conn_limit *l)
{
    if (!l) return;
    pthread_mutex_destroy(&l->mu);
    free(l);
}

static void addr_text(const struct sockaddr *a, char *out)
{
    out[0] = '\0';
    if (a && a->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)a)->sin_addr, out, INET6_ADDRSTRLEN);
    else if (a && a->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)a)->sin6_addr, out, INET6_ADDRSTRLEN);
}

/* The slot of ip, or -1; with create, a free slot is taken for it. Caller holds mu. */
static int find(srv_conn_limit *l, const char *ip, int create)
{
    int free_slot = -1;
    for (int i = 0; i < SLOTS; i++) {
        if (l->slots[i].n > 0 && !strcmp(l->slots[i].ip, ip)) return i;
        if (free_slot < 0 && l->slots[i].n == 0) free_slot = i;
    }
    if (!create || free_slot < 0) return -1;
    memcpy(l->slots[free_slot].ip, ip, sizeof l->slots[free_slot].ip);
    return free_slot;
}

/* Caller holds mu. */
static void note_locked(srv_conn_limit *l, const char *what)
{
    time_t now = time(NULL);
    if (l->noted_at && now - l->noted_at < NOTE_EVERY_S) {
        l->unnoted++;
        return;
    }
    log_warn("connection limit: %s (%ld more refusals since the last such line)", what, l->unnoted);
    l->noted_at = now;
    l->unnoted = 0;
}

void srv_conn_limit_note(srv_conn_limit *l, const char *what)
{
    pthread_mutex_lock(&l->mu);
    note_locked(l, what);
    pthread_mutex_unlock(&l->mu);
}

int srv_conn_limit_admit(srv_conn_limit *l, const struct sockaddr *addr)
{
    char ip[INET6_ADDRSTRLEN];
    addr_text(addr, ip);
    pthread_mutex_lock(&l->mu);
    int i = find(l, ip, 0), ok = i < 0 || l->slots[i].n < l->max;
    if (!ok) {
        char what[160];
        snprintf(what, sizeof what, "refused a connection from %s, which holds %d (the most one client may)",
                 ip, l->slots[i].n);
        note_locked(l, what);
    }
    pthread_mutex_unlock(&l->mu);
    return ok;
}

int srv_conn_limit_opened(srv_conn_limit *l, const struct sockaddr *addr)
{
    char ip[INET6_ADDRSTRLEN];
    addr_text(addr, ip);
    pthread_mutex_lock(&l->mu);
    int i = find(l, ip, 1);
    if (i >= 0) l->slots[i].n++;
    pthread_mutex_unlock(&l->mu);
    return i;
}

void srv_conn_limit_closed(srv_conn_limit *l, int slot_index)
{
    if (slot_index < 0 || slot_index >= SLOTS) return;
    pthread_mutex_lock(&l->mu);
    if (l->slots[slot_index].n > 0) l->slots[slot_index].n--;
    pthread_mutex_unlock(&l->mu);
}
