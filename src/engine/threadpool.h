/* threadpool.h — a persistent pool of worker threads for the engine's parallel loops.
 *
 * Decode steps dispatch hundreds of small parallel loops per audio frame, so workers spin briefly on a
 * generation counter before sleeping: waking a sleeping thread costs more than most of those loops.
 * Not for I/O or long-lived jobs; one caller at a time per pool.
 */
#ifndef QT_THREADPOOL_H
#define QT_THREADPOOL_H

typedef struct qt_pool qt_pool;

/* Called as fn(ctx, task, n_tasks) once for every task in [0, n_tasks). */
typedef void (*qt_pool_fn)(void *ctx, int task, int n_tasks);

/* n_threads counts the calling thread: 1 means no workers (everything runs inline). NULL on failure. */
qt_pool *qt_pool_new(int n_threads);
void qt_pool_free(qt_pool *pool); /* NULL is fine */
int qt_pool_threads(const qt_pool *pool);

/* Runs all tasks (task t on thread t % n_threads, the caller being thread 0) and returns when every task
 * is done. A NULL pool runs everything inline. */
void qt_pool_run(qt_pool *pool, qt_pool_fn fn, void *ctx, int n_tasks);

/* The number of threads a default pool should use: $VOICEBOX_THREADS, else the online CPU count. */
int qt_default_threads(void);

#endif
