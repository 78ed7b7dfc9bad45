/* fault.c — the fault controller and the wrapped calls (see fault.h). Linked only into the fault drivers,
 * with -Wl,--wrap=<each function below>: the linker sends every call the drivers and the layer libraries
 * make to __wrap_<name>, and __real_<name> is the C library's. Counting is atomic: the engine's thread pool
 * and the studio's workers allocate from other threads. */
#include "fault.h"

#include <errno.h>
#include <execinfo.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static _Atomic int armed;      /* the fault_kind being counted, 0: none */
static _Atomic long calls;     /* calls of that kind since fault_arm */
static _Atomic int injected;   /* a failure was injected since fault_arm */
static _Atomic int in_jansson; /* ... inside jansson */
static long nth = 0;           /* set before armed, read after: ordered by the atomics */
static int fail_errno = 0;
static int fail_persist = 0;

void fault_arm(fault_kind kind, long n, int err_no, int persist)
{
    atomic_store(&armed, 0);
    nth = n;
    fail_errno = err_no;
    fail_persist = persist;
    atomic_store(&calls, 0);
    atomic_store(&injected, 0);
    atomic_store(&in_jansson, 0);
    atomic_store(&armed, (int)kind);
}

long fault_disarm(void)
{
    atomic_store(&armed, 0);
    return atomic_load(&calls);
}

int fault_injected(void)
{
    return atomic_load(&injected);
}

int fault_injected_in_jansson(void)
{
    return atomic_load(&in_jansson);
}

/* 1 if this call of kind must fail (errno is then set). */
static int should_fail(fault_kind kind)
{
    if (atomic_load(&armed) != (int)kind) return 0;
    long c = atomic_fetch_add(&calls, 1) + 1;
    if (nth <= 0 || (c != nth && !(fail_persist && c > nth))) return 0;
    atomic_store(&injected, 1);
    if (getenv("FAULT_TRACE")) { /* FAULT_TRACE=1: where each failure is injected (with FAULT_ONLY) */
        void *frames[16];
        backtrace_symbols_fd(frames, backtrace(frames, 16), 2);
    }
    errno = kind == FAULT_ALLOC ? ENOMEM : fail_errno;
    return 1;
}

/* I/O faults are injected on regular files only: pipes, sockets and terminals (logging, the network) are
 * not the data dir. */
static int should_fail_fd(int fd)
{
    if (atomic_load(&armed) != FAULT_IO) return 0;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    return should_fail(FAULT_IO);
}

/* ---- allocation ---- */

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
char *__real_realpath(const char *path, char *resolved);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_asprintf(char **out, const char *fmt, ...);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
char *__wrap_realpath(const char *path, char *resolved);

void *__wrap_malloc(size_t n)
{
    return should_fail(FAULT_ALLOC) ? NULL : __real_malloc(n);
}

void *__wrap_calloc(size_t n, size_t size)
{
    return should_fail(FAULT_ALLOC) ? NULL : __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t n)
{
    return n > 0 && should_fail(FAULT_ALLOC) ? NULL : __real_realloc(p, n);
}

char *__wrap_strdup(const char *s)
{
    return should_fail(FAULT_ALLOC) ? NULL : __real_strdup(s);
}

char *__wrap_strndup(const char *s, size_t n)
{
    return should_fail(FAULT_ALLOC) ? NULL : __real_strndup(s, n);
}

int __wrap_asprintf(char **out, const char *fmt, ...)
{
    if (should_fail(FAULT_ALLOC)) return -1;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(out, fmt, ap);
    va_end(ap);
    return n;
}

int __wrap_posix_memalign(void **p, size_t align, size_t n)
{
    return should_fail(FAULT_ALLOC) ? ENOMEM : __real_posix_memalign(p, align, n);
}

char *__wrap_realpath(const char *path, char *resolved)
{
    return !resolved && should_fail(FAULT_ALLOC) ? NULL : __real_realpath(path, resolved);
}

/* jansson allocates through these once the driver starts (see fault.h) */
static void *json_malloc(size_t n)
{
    if (!should_fail(FAULT_ALLOC)) return __real_malloc(n);
    atomic_store(&in_jansson, 1);
    return NULL;
}

__attribute__((constructor)) static void hook_jansson(void)
{
    json_set_alloc_funcs(json_malloc, free);
}

/* ---- file I/O ---- */

int __real_open(const char *path, int flags, ...);
int __real_mkstemp(char *tmpl);
ssize_t __real_write(int fd, const void *buf, size_t n);
size_t __real_fwrite(const void *p, size_t size, size_t n, FILE *f);
int __real_fflush(FILE *f);
int __real_fsync(int fd);
int __real_fdatasync(int fd);
int __real_ftruncate(int fd, off_t len);
int __real_rename(const char *from, const char *to);
int __wrap_open(const char *path, int flags, ...);
int __wrap_mkstemp(char *tmpl);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f);
int __wrap_fflush(FILE *f);
int __wrap_fsync(int fd);
int __wrap_fdatasync(int fd);
int __wrap_ftruncate(int fd, off_t len);
int __wrap_rename(const char *from, const char *to);

int __wrap_open(const char *path, int flags, ...)
{
    mode_t mode = 0;
    if (flags & (O_CREAT | __O_TMPFILE)) {
        va_list ap;
        va_start(ap, flags);
        mode = (mode_t)va_arg(ap, int);
        va_end(ap);
    }
    int writes = (flags & (O_WRONLY | O_RDWR | O_CREAT)) && !(flags & O_DIRECTORY);
    if (writes && should_fail(FAULT_IO)) return -1;
    return __real_open(path, flags, mode);
}

int __wrap_mkstemp(char *tmpl)
{
    return should_fail(FAULT_IO) ? -1 : __real_mkstemp(tmpl);
}

ssize_t __wrap_write(int fd, const void *buf, size_t n)
{
    return should_fail_fd(fd) ? -1 : __real_write(fd, buf, n);
}

size_t __wrap_fwrite(const void *p, size_t size, size_t n, FILE *f)
{
    return f && should_fail_fd(fileno(f)) ? 0 : __real_fwrite(p, size, n, f);
}

int __wrap_fflush(FILE *f)
{
    return f && should_fail_fd(fileno(f)) ? EOF : __real_fflush(f);
}

int __wrap_fsync(int fd)
{
    return should_fail_fd(fd) ? -1 : __real_fsync(fd);
}

int __wrap_fdatasync(int fd)
{
    return should_fail_fd(fd) ? -1 : __real_fdatasync(fd);
}

int __wrap_ftruncate(int fd, off_t len)
{
    return should_fail_fd(fd) ? -1 : __real_ftruncate(fd, len);
}

int __wrap_rename(const char *from, const char *to)
{
    return should_fail(FAULT_IO) ? -1 : __real_rename(from, to);
}

/* ---- the loop ---- */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static const char *kind_name(fault_kind kind, int err_no, int persist)
{
    if (kind == FAULT_ALLOC) return "malloc";
    if (err_no == ENOSPC) return persist ? "ENOSPC, disk stays full" : "ENOSPC once";
    return persist ? "EIO, persistent" : "EIO once";
}

/* One try with failure point n (0: none). Returns 1 if it failed the test. */
static int try_once(const fault_case *c, fault_kind kind, long n, int err_no, int persist, long *calls_out,
                    int *rc_out, int *hit_out)
{
    if (c->setup && c->setup(c->arg) != 0) {
        fprintf(stderr, "FAIL %s: setup failed before failure point %ld\n", c->name, n);
        return 1;
    }
    char msg[1024] = "";
    fault_arm(kind, n, err_no, persist);
    int rc = c->op(c->arg, msg, sizeof msg);
    int hit = fault_injected();
    *calls_out = fault_disarm();
    *rc_out = rc;
    *hit_out = hit;
    int bad = 0;
    if (rc != 0 && !hit) {
        fprintf(stderr, "FAIL %s: failed with no fault injected (point %ld): %s\n", c->name, n, msg);
        bad = 1;
    } else if (rc != 0 && !msg[0]) {
        fprintf(stderr, "FAIL %s [%s]: failure point %ld: an error without a message\n", c->name,
                kind_name(kind, err_no, persist), n);
        bad = 1;
    }
    if (getenv("FAULT_VERBOSE") && rc != 0) fprintf(stderr, "  %s point %ld: %s\n", c->name, n, msg);
    if (c->check(c->arg, rc) != 0) {
        fprintf(stderr, "FAIL %s [%s]: failure point %ld broke an invariant (the op %s: %s)\n", c->name,
                kind_name(kind, err_no, persist), n, rc ? "failed" : "succeeded", msg);
        bad = 1;
    }
    if (c->undo) c->undo(c->arg);
    return bad;
}

int fault_run(const fault_case *c, fault_kind kind, int err_no, int persist, long cap, double seconds)
{
    const char *only_case = getenv("FAULT_CASE"); /* FAULT_CASE=name: only that case (to debug one) */
    if (only_case && strcmp(only_case, c->name) != 0) return 0;
    double t0 = now_s();
    long total = 0;
    int rc, hit, bad = 0;
    if (try_once(c, kind, 0, err_no, persist, &total, &rc, &hit)) return 1;
    if (rc != 0) {
        fprintf(stderr, "FAIL %s: fails with no fault armed\n", c->name);
        return 1;
    }
    /* The plan: points 1..cap/2 one by one, interleaved with cap/2 points spread evenly over the rest, so
     * that a time bound cuts both short rather than leaving the later calls untried. */
    long half = cap / 2, spread = total > half ? (total - half < half ? total - half : half) : 0;
    long first = total < half ? total : half;
    long points = 0, clean = 0, absorbed = 0;
    int timed_out = 0;
    const char *env = getenv("FAULT_ONLY"); /* FAULT_ONLY=N: just that failure point (to debug one) */
    for (long i = 0; i < first || i < spread; i++) {
        for (int part = 0; part < 2; part++) {
            long n;
            if (part == 0 && i < first)
                n = i + 1;
            else if (part == 1 && i < spread)
                n = half + 1 + (long)((double)i * (double)(total - half) / (double)spread);
            else
                continue;
            if (env) n = atol(env);
            if (now_s() - t0 > seconds) {
                timed_out = 1;
                goto done;
            }
            long k;
            bad += try_once(c, kind, n, err_no, persist, &k, &rc, &hit);
            points++;
            if (rc != 0)
                clean++;
            else if (hit) {
                absorbed++;
                if (getenv("FAULT_VERBOSE")) fprintf(stderr, "  %s point %ld: absorbed\n", c->name, n);
            }
            if (env) goto done;
        }
    }
done:;
    /* then on past the count of the first run (the number of calls can vary a little from run to run: a
     * name taken, a thread's timing) until a try completes with no failure injected */
    long k, n = total + 1;
    for (;; n++) {
        bad += try_once(c, kind, n, err_no, persist, &k, &rc, &hit);
        if (!hit || n > total + 1000) break;
        points++;
        clean += rc != 0;
        absorbed += rc == 0;
    }
    if (rc != 0) {
        fprintf(stderr, "FAIL %s: did not complete after its %ld calls\n", c->name, total);
        bad++;
    }
    printf("%-28s [%s]: %ld of %ld failure points in %.1f s%s: %ld failed cleanly, %ld absorbed%s\n", c->name,
           kind_name(kind, err_no, persist), points, total, now_s() - t0, timed_out ? " (time bound)" : "",
           clean, absorbed, bad ? "; FAILED" : "");
    fflush(stdout);
    return bad;
}
