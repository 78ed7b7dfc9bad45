/* bench_kernels.c — GB/s of the bf16 matrix-vector kernels (each variant, 1 thread and the pool) against the
 * plain read loop over the same 256 MiB of weights: how close the decode step gets to the memory bound.
 * With a file, the weights are its first 256 MiB mmap'd read-only (page-cache pages, as the engine reads
 * model.safetensors) instead of anonymous memory.
 * usage: bench_kernels [threads] [cols] [file] */
#include "engine/qt.h"
#include "engine/kernels.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <time.h>

typedef struct {
    qt_matmul_bf16_fn fn;
    const uint16_t *w;
    const float *x;
    float *y;
    int rows, cols;
} job;

static void task(void *ctx, int t, int n)
{
    job *j = ctx;
    int per = (j->rows + n - 1) / n, a = t * per, b = a + per > j->rows ? j->rows : a + per;
    j->fn(j->y, j->rows, j->w, j->cols, j->x, j->cols, 1, a, b);
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2, cols = argc > 2 ? atoi(argv[2]) : 1024;
    size_t bytes = (size_t)256 << 20;
    int rows = (int)(bytes / 2 / cols);
    uint16_t *w = aligned_alloc(64, bytes);
    if (argc > 3) {
        int fd = open(argv[3], O_RDONLY);
        void *map = fd < 0 ? MAP_FAILED : mmap(NULL, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            perror(argv[3]);
            return 1;
        }
        if (argc <= 3) free(w);
        w = map;
        volatile uint16_t sink = 0;
        for (size_t i = 0; i < bytes / 2; i += 2048) /* fault it in */
            sink ^= w[i];
        (void)sink;
    }
    float *x = malloc(sizeof(float) * cols), *y = malloc(sizeof(float) * rows);
    for (size_t i = 0; argc <= 3 && i < bytes / 2; i++)
        w[i] = qt_f32_to_bf16((float)(i % 1000) * 1e-3f);
    for (int i = 0; i < cols; i++)
        x[i] = 1.0f / (i + 1);
    qt_pool *pool = qt_pool_new(threads);
    printf("matrix %d x %d bf16 (%zu MiB), %d thread(s)\n", rows, cols, bytes >> 20, threads);
    printf("read loop (anonymous memory): %.1f GB/s\n", qt_measure_read_bandwidth(pool, bytes) / 1e9);
    double best_read = 1e9;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = (qt_now_ms() / 1e3);
        volatile uint64_t sink = qt_kernels_get()->read(w, bytes);
        (void)sink;
        if ((qt_now_ms() / 1e3) - t0 < best_read) best_read = (qt_now_ms() / 1e3) - t0;
    }
    printf("read loop (these weights, 1 thread): %.1f GB/s\n", bytes / best_read / 1e9);
    const qt_kernels *ks[3] = {qt_kernels_scalar(), qt_kernels_avx2(), qt_kernels_avx512()};
    for (int k = 0; k < 3; k++) {
        if (!ks[k]) continue;
        job j = {ks[k]->matmul_bf16, w, x, y, rows, cols};
        for (int tn = 1; tn <= threads; tn += threads > 1 ? threads - 1 : 1) {
            double best = 1e9;
            for (int rep = 0; rep < (k ? 5 : 1); rep++) {
                double t0 = (qt_now_ms() / 1e3);
                if (tn == 1)
                    task(&j, 0, 1);
                else
                    qt_pool_run(pool, task, &j, tn);
                double dt = (qt_now_ms() / 1e3) - t0;
                if (dt < best) best = dt;
            }
            printf("%-7s %d thread(s): %6.1f GB/s\n", ks[k]->name, tn, bytes / best / 1e9);
        }
    }
    qt_pool_free(pool);
    if (argc <= 3) free(w);
    free(x);
    free(y);
    return 0;
}
