/* fault.h — the fault-injection controller for the fault drivers (tests/fault/fault_*.c), in the manner of
 * SQLite's malloc and I/O error tests: arm "fail the Nth call from now", run an operation, see whether a
 * failure was injected, then check that the operation failed cleanly (an error, nothing corrupted).
 *
 * Only voicebox's own calls are counted: the drivers are linked with -Wl,--wrap=malloc,... so every call
 * from the layer libraries (and the driver) goes through the wrappers in fault.c, while the shared libraries
 * (libc itself, SQLite, libsndfile, libmicrohttpd...) keep calling the real functions. Jansson is the one
 * exception: its allocator is hooked (json_set_alloc_funcs), since the JSON voicebox builds is voicebox's.
 * SQLite's own allocations and file I/O are left alone: SQLite tests its own recovery from those far more
 * thoroughly than we could (its malloc and I/O error tests); what we test is what voicebox does around it.
 *
 *   FAULT_ALLOC  malloc, calloc, realloc, strdup, strndup, asprintf, posix_memalign, realpath(p, NULL),
 *                and jansson's allocations: NULL (or -1) with errno ENOMEM
 *   FAULT_IO     on regular files only: open/mkstemp for writing, write, fwrite, fflush, fsync, fdatasync,
 *                ftruncate, rename: -1 (or a short count) with the errno armed (EIO, ENOSPC)
 */
#ifndef VOICEBOX_FAULT_H
#define VOICEBOX_FAULT_H

#include <stddef.h>

typedef enum { FAULT_ALLOC = 1, FAULT_IO = 2 } fault_kind;

/* From now on, the nth call of kind (1-based) fails with err_no; with persist, so does every later one (a
 * full disk stays full), else only that one. nth <= 0 counts calls without failing any. */
void fault_arm(fault_kind kind, long nth, int err_no, int persist);
/* Stops failing and counting; returns how many calls of the armed kind were made since fault_arm. */
long fault_disarm(void);
/* 1 if a failure was injected since the last fault_arm; _in_jansson: an allocation inside jansson. */
int fault_injected(void);
int fault_injected_in_jansson(void);

/* One operation under test. setup (optional) runs unarmed before each try; op runs armed and returns 0 on
 * success, or -1 with a one-line message in msg; check runs unarmed after each try (rc is op's) and returns
 * 0 when every invariant holds, else -1 having printed why; undo (optional) runs unarmed after check. */
typedef struct {
    const char *name;
    int (*setup)(void *arg);
    int (*op)(void *arg, char *msg, size_t msg_size);
    int (*check)(void *arg, int rc);
    void (*undo)(void *arg);
    void *arg;
} fault_case;

/* Runs c once unarmed (it must succeed) to count its calls K of kind, then once with each failure point
 * N = 1..K (with more than cap points: the first cap/2, then evenly spread over the rest), then N = K+1,
 * K+2, ... until a try completes with no failure injected (the count can vary a little between runs). Stops
 * early after `seconds`. A try fails the test when op crashes (ASan),
 * returns -1 without an injected fault, returns -1 without a message, or check finds a broken invariant.
 * Prints one line: points exercised, how many failed cleanly and how many were absorbed (op succeeded all
 * the same), and the time. Returns the number of failed tries. */
int fault_run(const fault_case *c, fault_kind kind, int err_no, int persist, long cap, double seconds);

#endif
