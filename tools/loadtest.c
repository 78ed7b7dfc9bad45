/* loadtest.c — drives a running `voicebox serve` with many concurrent clients (libcurl, one thread each).
 *
 *   loadtest run URL [--clients 50] [--seconds 10] [--health-ms 50]
 *       Each client creates profiles and renames them, reads profile lists and single profiles, reads the
 *       history and deletes its share of the history; a probe thread asks GET /health every 20 ms. At the
 *       end every write is checked against the server (no lost writes). Prints requests/s and latency
 *       percentiles; exits 1 on any error, lost write or /health answer slower than --health-ms.
 *   loadtest seed DATA_DIR N
 *       Before the server starts: adds a profile and N history rows (each with a short WAV) through the
 *       studio API, so the history routes have something to read and delete. Prints the profile id.
 *
 * A test tool, not part of the product: it must not be linked into voicebox.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "engine/qt.h"
#include "audio/audio.h"
#include "studio/studio.h"

/* ---- seeding ---- */

static int seed(const char *data_dir, int n)
{
    studio_error err = {0};
    studio *s = studio_open(data_dir, &err);
    if (!s) {
        fprintf(stderr, "loadtest: %s\n", err.msg);
        return 1;
    }
    int rc = 1;
    char *path = NULL;
    float *tone = NULL;
    json_t *body = json_pack("{s:s, s:s}", "name", "history seed", "language", "en");
    json_t *p = studio_profile_create(s, body, &err);
    json_decref(body);
    if (!p) {
        fprintf(stderr, "loadtest: profile: %s\n", err.msg);
        goto fail;
    }
    const char *pid = json_string_value(json_object_get(p, "id"));
    size_t len = STUDIO_SAMPLE_RATE / 2;
    tone = malloc(len * sizeof *tone);
    if (!tone) goto fail;
    for (size_t i = 0; i < len; i++)
        tone[i] = 0.3f * sinf(2.0f * 3.14159265f * 220.0f * (float)i / STUDIO_SAMPLE_RATE);
    for (int i = 0; i < n; i++) {
        char id[37], rel[64], text[64];
        studio_new_id(id);
        snprintf(rel, sizeof rel, "generations/%s.wav", id);
        snprintf(text, sizeof text, "seeded line %d", i);
        free(path);
        path = studio_path(s, rel);
        audio_error aerr;
        if (!path || audio_write_wav16(path, tone, len, STUDIO_SAMPLE_RATE, &aerr) != 0) {
            fprintf(stderr, "loadtest: cannot write %s\n", rel);
            goto fail;
        }
        studio_generation g = {id, pid, text, "en", rel, 0.5, 1000 + i, "1.7B", NULL, NULL, NULL, NULL};
        json_t *item = studio_generation_insert(s, &g, &err);
        if (!item) {
            fprintf(stderr, "loadtest: generation: %s\n", err.msg);
            goto fail;
        }
        json_decref(item);
    }
    printf("%s\n", pid);
    rc = 0;
fail:
    free(path);
    free(tone);
    json_decref(p);
    studio_close(s);
    return rc;
}

/* ---- HTTP ---- */

typedef struct {
    char *data;
    size_t len;
} buf;

static size_t on_body(char *ptr, size_t size, size_t n, void *arg)
{
    buf *b = arg;
    char *nd = realloc(b->data, b->len + size * n + 1);
    if (!nd) return 0;
    memcpy(nd + b->len, ptr, size * n);
    b->data = nd;
    b->len += size * n;
    b->data[b->len] = '\0';
    return size * n;
}

/* One request; returns the status (0 on a transport error) and the body in *out (caller frees). */
static long http(CURL *c, const char *base, const char *method, const char *path, const char *json,
                 char **out, double *ms)
{
    char url[512];
    snprintf(url, sizeof url, "%s%s", base, path);
    buf b = {NULL, 0};
    struct curl_slist *hdr = NULL;
    curl_easy_reset(c);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (json) {
        hdr = curl_slist_append(hdr, "Content-Type: application/json");
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    }
    double t0 = qt_now_ms();
    CURLcode rc = curl_easy_perform(c);
    *ms = qt_now_ms() - t0;
    long status = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hdr);
    if (out)
        *out = b.data;
    else
        free(b.data);
    return status;
}

/* ---- the run ---- */

typedef struct {
    double *v;
    size_t n, cap;
} samples;

static void add_sample(samples *s, double v)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        double *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) return;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = v;
}

typedef struct {
    char id[40];
    char name[64];
} owned_profile;

typedef struct {
    int index;
    const char *base;
    double deadline;
    samples lat;
    long requests, errors;
    owned_profile *profiles;
    int n_profiles;
    char (*to_delete)[40]; /* history ids this client deletes */
    int n_delete, deleted;
    unsigned seed;
} client;

static atomic_int stop_probe;
static const char *g_base;
static unsigned run_id; /* in every name, so runs against the same server do not collide */

static void fail_req(client *cl, const char *what, long status, const char *body)
{
    if (cl->errors++ < 3)
        fprintf(stderr, "client %d: %s -> %ld %.200s\n", cl->index, what, status, body ? body : "");
}

static int create_profile(CURL *c, client *cl)
{
    char json[160], *body = NULL;
    double ms;
    owned_profile *np = realloc(cl->profiles, (size_t)(cl->n_profiles + 1) * sizeof *np);
    if (!np) return -1;
    cl->profiles = np;
    owned_profile *p = &np[cl->n_profiles];
    snprintf(p->name, sizeof p->name, "load %x %d-%d", run_id, cl->index, cl->n_profiles);
    snprintf(json, sizeof json, "{\"name\":\"%s\",\"description\":\"load test\",\"language\":\"en\"}",
             p->name);
    long st = http(c, cl->base, "POST", "/profiles", json, &body, &ms);
    cl->requests++;
    add_sample(&cl->lat, ms);
    json_t *j = st == 200 ? json_loads(body ? body : "", 0, NULL) : NULL;
    const char *id = json_string_value(json_object_get(j, "id"));
    if (!id) {
        fail_req(cl, "POST /profiles", st, body);
    } else {
        snprintf(p->id, sizeof p->id, "%s", id);
        cl->n_profiles++;
    }
    json_decref(j);
    free(body);
    return id ? 0 : -1;
}

static void *client_main(void *arg)
{
    client *cl = arg;
    /* the load generator shares the machine with the server: it must not starve the server's network
     * threads (or the probe), or the probe would measure the scheduler instead of the server */
    setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 10);
    CURL *c = curl_easy_init();
    if (!c) {
        cl->errors++;
        return NULL;
    }
    create_profile(c, cl);
    while (qt_now_ms() < cl->deadline) {
        int op = (int)(rand_r(&cl->seed) % 100);
        char path[160], json[160], *body = NULL;
        const char *method = "GET";
        const char *payload = NULL;
        owned_profile *mine =
            cl->n_profiles ? &cl->profiles[rand_r(&cl->seed) % (unsigned)cl->n_profiles] : NULL;
        if (op < 25) {
            snprintf(path, sizeof path, "/profiles");
        } else if (op < 40 && mine) {
            snprintf(path, sizeof path, "/profiles/%s", mine->id);
        } else if (op < 55 && mine) {
            char name[64];
            snprintf(name, sizeof name, "load %x %d-r%ld", run_id, cl->index, cl->requests);
            snprintf(json, sizeof json, "{\"name\":\"%s\",\"language\":\"de\"}", name);
            snprintf(path, sizeof path, "/profiles/%s", mine->id);
            method = "PUT";
            payload = json;
            double ms;
            long st = http(c, cl->base, method, path, payload, &body, &ms);
            cl->requests++;
            add_sample(&cl->lat, ms);
            if (st == 200)
                snprintf(mine->name, sizeof mine->name, "%s", name);
            else
                fail_req(cl, "PUT /profiles/{id}", st, body);
            free(body);
            continue;
        } else if (op < 62) {
            create_profile(c, cl);
            continue;
        } else if (op < 80) {
            snprintf(path, sizeof path, "/history?limit=20&offset=%u", rand_r(&cl->seed) % 50);
        } else if (op < 85) {
            snprintf(path, sizeof path, "/history/stats");
        } else if (op < 92 && cl->deleted < cl->n_delete) {
            snprintf(path, sizeof path, "/history/%s", cl->to_delete[cl->deleted++]);
            method = "DELETE";
        } else {
            snprintf(path, sizeof path, "/health");
        }
        double ms;
        long st = http(c, cl->base, method, path, payload, &body, &ms);
        cl->requests++;
        add_sample(&cl->lat, ms);
        if (st != 200) fail_req(cl, path, st, body);
        free(body);
    }
    curl_easy_cleanup(c);
    return NULL;
}

typedef struct {
    samples lat;
    long errors;
} probe;

static void *probe_main(void *arg)
{
    probe *pr = arg;
    /* the probe stands for an interactive client: ahead of the load generator (where permitted) */
    if (setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), -5) != 0)
        setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), 0);
    CURL *c = curl_easy_init();
    while (c && !atomic_load(&stop_probe)) {
        double ms;
        long st = http(c, g_base, "GET", "/health", NULL, NULL, &ms);
        if (st != 200) pr->errors++;
        add_sample(&pr->lat, ms);
        if (ms > 25) { /* to be matched with the server's request log */
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            struct tm tm;
            localtime_r(&now.tv_sec, &tm);
            fprintf(stderr, "slow /health: %.1f ms, answered at %02d:%02d:%02d.%03ld\n", ms, tm.tm_hour,
                    tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    curl_easy_cleanup(c);
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(const samples *s, double p)
{
    if (s->n == 0) return 0;
    size_t i = (size_t)ceil(p / 100.0 * (double)s->n);
    return s->v[i == 0 ? 0 : i - 1];
}

/* Every history id, from the server. */
static json_t *all_history(CURL *c, const char *base)
{
    json_t *ids = json_array();
    for (int offset = 0;; offset += 100) {
        char path[64], *body = NULL;
        double ms;
        snprintf(path, sizeof path, "/history?limit=100&offset=%d", offset);
        long st = http(c, base, "GET", path, NULL, &body, &ms);
        json_t *j = st == 200 ? json_loads(body, 0, NULL) : NULL;
        free(body);
        json_t *items = json_object_get(j, "items");
        size_t i;
        json_t *it;
        json_array_foreach(items, i, it) json_array_append(ids, json_object_get(it, "id"));
        size_t n = json_array_size(items);
        json_decref(j);
        if (n < 100) break;
    }
    return ids;
}

static int run(const char *base, int n_clients, double seconds, double health_ms)
{
    int rc = 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    client *cl = calloc((size_t)n_clients, sizeof *cl);
    pthread_t *th = calloc((size_t)n_clients, sizeof *th);
    probe pr = {{0}, 0};
    json_t *hist = NULL;
    if (!c || !cl || !th) goto fail;
    g_base = base;
    run_id = (unsigned)time(NULL) ^ ((unsigned)getpid() << 16);
    double ms0;
    if (http(c, base, "GET", "/health", NULL, NULL, &ms0) != 200) {
        fprintf(stderr, "loadtest: %s/health does not answer 200; is the server running?\n", base);
        goto fail;
    }

    /* share the history out: each client deletes its own ids, so every delete must succeed */
    hist = all_history(c, base);
    size_t n_hist = json_array_size(hist);
    for (int i = 0; i < n_clients; i++) {
        cl[i].index = i;
        cl[i].base = base;
        cl[i].seed = 12345u + (unsigned)i;
        cl[i].to_delete = calloc(n_hist / (size_t)n_clients + 1, sizeof *cl[i].to_delete);
        if (!cl[i].to_delete) goto fail;
    }
    for (size_t k = 0; k < n_hist; k++) {
        client *o = &cl[k % (size_t)n_clients];
        snprintf(o->to_delete[o->n_delete++], 40, "%s", json_string_value(json_array_get(hist, k)));
    }

    double t0 = qt_now_ms();
    for (int i = 0; i < n_clients; i++)
        cl[i].deadline = t0 + seconds * 1e3;
    pthread_t probe_th;
    atomic_store(&stop_probe, 0);
    pthread_create(&probe_th, NULL, probe_main, &pr);
    for (int i = 0; i < n_clients; i++)
        pthread_create(&th[i], NULL, client_main, &cl[i]);
    for (int i = 0; i < n_clients; i++)
        pthread_join(th[i], NULL);
    double elapsed = (qt_now_ms() - t0) / 1e3;
    atomic_store(&stop_probe, 1);
    pthread_join(probe_th, NULL);

    samples all = {0};
    long requests = 0, errors = 0, deletes = 0;
    for (int i = 0; i < n_clients; i++) {
        for (size_t k = 0; k < cl[i].lat.n; k++)
            add_sample(&all, cl[i].lat.v[k]);
        requests += cl[i].requests;
        errors += cl[i].errors;
        deletes += cl[i].deleted;
    }
    qsort(all.v, all.n, sizeof *all.v, cmp_double);
    qsort(pr.lat.v, pr.lat.n, sizeof *pr.lat.v, cmp_double);
    printf("clients %d, %.1f s: %ld requests, %.0f requests/s, latency p50 %.1f ms p99 %.1f ms max %.1f ms\n",
           n_clients, elapsed, requests, (double)requests / elapsed, pct(&all, 50), pct(&all, 99),
           all.n ? all.v[all.n - 1] : 0.0);
    printf("/health probe: %zu answers, p50 %.1f ms p99 %.1f ms max %.1f ms (limit %.0f ms)\n", pr.lat.n,
           pct(&pr.lat, 50), pct(&pr.lat, 99), pr.lat.n ? pr.lat.v[pr.lat.n - 1] : 0.0, health_ms);
    int ok = 1;
    if (errors || pr.errors) {
        printf("FAIL: %ld request errors, %ld /health errors\n", errors, pr.errors);
        ok = 0;
    }
    if (pr.lat.n == 0 || pr.lat.v[pr.lat.n - 1] >= health_ms) {
        printf("FAIL: /health took %.1f ms at worst, expected under %.0f ms\n",
               pr.lat.n ? pr.lat.v[pr.lat.n - 1] : 0.0, health_ms);
        ok = 0;
    }

    /* no lost writes: every profile a client made exists under the last name it set */
    char *body = NULL;
    double ms;
    long st = http(c, base, "GET", "/profiles", NULL, &body, &ms);
    json_t *list = st == 200 ? json_loads(body, 0, NULL) : NULL;
    free(body);
    long created = 0, lost = 0;
    for (int i = 0; i < n_clients; i++) {
        for (int k = 0; k < cl[i].n_profiles; k++) {
            created++;
            const owned_profile *p = &cl[i].profiles[k];
            int found = 0;
            size_t idx;
            json_t *it;
            json_array_foreach(list, idx, it)
            {
                if (!strcmp(json_string_value(json_object_get(it, "id")), p->id)) {
                    found = !strcmp(json_string_value(json_object_get(it, "name")), p->name);
                    break;
                }
            }
            if (!found && lost++ < 3)
                printf("FAIL: profile %s should be named '%s' but is missing or renamed\n", p->id, p->name);
        }
    }
    json_decref(list);
    /* the deleted history rows are gone and the others are still there */
    json_t *left = all_history(c, base);
    long expect_left = (long)n_hist - deletes;
    if ((long)json_array_size(left) != expect_left) {
        printf("FAIL: history holds %zu rows after %ld deletes of %zu, expected %ld\n", json_array_size(left),
               deletes, n_hist, expect_left);
        ok = 0;
    }
    json_decref(left);
    printf("writes: %ld profiles created (renamed many times), %ld history rows deleted; %ld lost\n", created,
           deletes, lost);
    if (lost) ok = 0;
    free(all.v);
    rc = ok ? 0 : 1;
fail:
    for (int i = 0; cl && i < n_clients; i++) {
        free(cl[i].lat.v);
        free(cl[i].profiles);
        free(cl[i].to_delete);
    }
    free(pr.lat.v);
    free(cl);
    free(th);
    json_decref(hist);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "seed")) return seed(argv[2], atoi(argv[3]));
    if (argc >= 3 && !strcmp(argv[1], "run")) {
        int clients = 50;
        double seconds = 10, health_ms = 50;
        for (int i = 3; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "--clients"))
                clients = atoi(argv[i + 1]);
            else if (!strcmp(argv[i], "--seconds"))
                seconds = atof(argv[i + 1]);
            else if (!strcmp(argv[i], "--health-ms"))
                health_ms = atof(argv[i + 1]);
        }
        if (clients < 1 || clients > 1000 || seconds <= 0) {
            fprintf(stderr, "loadtest: --clients 1..1000, --seconds > 0\n");
            return 2;
        }
        return run(argv[2], clients, seconds, health_ms);
    }
    fprintf(stderr, "usage: loadtest run URL [--clients 50] [--seconds 10] [--health-ms 50]\n"
                    "       loadtest seed DATA_DIR N\n");
    return 2;
}
