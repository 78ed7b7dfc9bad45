/* threadpool.c — persistent workers, woken by a generation counter (spin first, then a condition variable).
 */
#include "engine/threadpool.h"

#include <assert.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define SPIN_ITERATIONS 20000 /* ~50-100 us of pause instructions before a worker sleeps */

struct qt_pool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mutex;
    pthread_cond_t wake;
    atomic_uint generation; /* bumped once per qt_pool_run */
    atomic_int pending;     /* workers still running the current job */
    atomic_int sleepers;
    atomic_bool quit;
    qt_pool_fn fn;
    void *ctx;
    int n_tasks;
};

typedef struct {
    qt_pool *pool;
    int index;
} worker_arg;

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void run_share(qt_pool *pool, int index)
{
    for (int t = index; t < pool->n_tasks; t += pool->n_threads)
        pool->fn(pool->ctx, t, pool->n_tasks);
}

static void *worker_main(void *p)
{
    worker_arg arg = *(worker_arg *)p;
    free(p);
    qt_pool *pool = arg.pool;
    unsigned seen = 0;
    for (;;) {
        unsigned gen;
        int spins = 0;
        while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen &&
               !atomic_load(&pool->quit)) {
            if (++spins < SPIN_ITERATIONS) {
                cpu_relax();
                continue;
            }
            pthread_mutex_lock(&pool->mutex);
            atomic_fetch_add(&pool->sleepers, 1);
            while (atomic_load(&pool->generation) == seen && !atomic_load(&pool->quit))
                pthread_cond_wait(&pool->wake, &pool->mutex);
            atomic_fetch_sub(&pool->sleepers, 1);
            pthread_mutex_unlock(&pool->mutex);
        }
        if (atomic_load(&pool->quit)) return NULL;
        seen = gen;
        run_share(pool, arg.index);
        atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_release);
    }
}

qt_pool *qt_pool_new(int n_threads)
{
    if (n_threads < 1) n_threads = 1;
    qt_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->n_threads = n_threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->threads = calloc((size_t)n_threads, sizeof *pool->threads);
    if (!pool->threads) goto fail;
    for (int i = 1; i < n_threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        if (!arg) goto fail;
        *arg = (worker_arg){pool, i};
        if (pthread_create(&pool->threads[i], NULL, worker_main, arg) != 0) {
            free(arg);
            pool->n_threads = i; /* only join the ones that started */
            goto fail;
        }
    }
    return pool;
fail:
    qt_pool_free(pool);
    return NULL;
}

void qt_pool_free(qt_pool *pool)
{
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->quit, 1);
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->mutex);
    for (int i = 1; i < pool->n_threads && pool->threads; i++)
        if (pool->threads[i]) pthread_join(pool->threads[i], NULL);
    pthread_mutex_destroy(&pool->mutex);
    pthread_cond_destroy(&pool->wake);
    free(pool->threads);
    free(pool);
}

int qt_pool_threads(const qt_pool *pool)
{
    return pool ? pool->n_threads : 1;
}

void qt_pool_run(qt_pool *pool, qt_pool_fn fn, void *ctx, int n_tasks)
{
    assert(fn && n_tasks >= 0);
    if (!pool || pool->n_threads == 1 || n_tasks <= 1) {
        for (int t = 0; t < n_tasks; t++)
            fn(ctx, t, n_tasks);
        return;
    }
    /* one caller at a time: a second run while one is in flight would overwrite fn, ctx and n_tasks */
    assert(atomic_load(&pool->pending) == 0);
    pool->fn = fn;
    pool->ctx = ctx;
    pool->n_tasks = n_tasks;
    atomic_store(&pool->pending, pool->n_threads - 1);
    atomic_fetch_add(&pool->generation, 1); /* seq_cst: pairs with the sleepers check (Dekker) */
    if (atomic_load(&pool->sleepers) > 0) {
        pthread_mutex_lock(&pool->mutex);
        pthread_cond_broadcast(&pool->wake);
        pthread_mutex_unlock(&pool->mutex);
    }
    run_share(pool, 0);
    /* Spin for the usual case (the workers finish within microseconds); past that a worker has probably
     * lost its core, so give ours up rather than burn the slice it needs. */
    for (int spins = 0; atomic_load_explicit(&pool->pending, memory_order_acquire) > 0; spins++) {
        if (spins < SPIN_ITERATIONS)
            cpu_relax();
        else
            sched_yield();
    }
}

int qt_default_threads(void)
{
    const char *env = getenv("VOICEBOX_THREADS");
    if (env && atoi(env) > 0) return atoi(env);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}
