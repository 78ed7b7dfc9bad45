/* test_threadpool.c — every task runs exactly once, for many dispatches and pool sizes. */
#include "engine/threadpool.h"
#include "test_util.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    atomic_int hits[64];
} counts;

static void bump(void *ctx, int task, int n_tasks)
{
    (void)n_tasks;
    atomic_fetch_add(&((counts *)ctx)->hits[task], 1);
}

int main(void)
{
    for (int threads = 1; threads <= 4; threads++) {
        qt_pool *pool = qt_pool_new(threads);
        CHECK(pool != NULL, "qt_pool_new(%d) returned NULL", threads);
        if (!pool) return 1;
        for (int round = 0; round < 500; round++) {
            counts c;
            memset(&c, 0, sizeof c);
            int n = 1 + round % 64;
            qt_pool_run(pool, bump, &c, n);
            for (int t = 0; t < 64; t++) {
                int want = t < n ? 1 : 0;
                CHECK(atomic_load(&c.hits[t]) == want,
                      "threads=%d round=%d task %d ran %d times, expected %d", threads, round, t,
                      atomic_load(&c.hits[t]), want);
            }
        }
        qt_pool_free(pool);
    }
    qt_pool_free(NULL);
    printf("%s\n", failures ? "threadpool: FAILED" : "threadpool: ok (1-4 threads, 500 dispatches each)");
    return failures != 0;
}
