/* test_take_stream.c — a take's audio on its way to a reader (src/studio/take_stream.c): chunks fed in pieces
 * of any size come out as the stored take's join (the crossfade of generation.c, a chunk shorter than the
 * fade included) converted to 16-bit PCM, bit for bit; a small pipe makes the writer wait for a slow reader
 * (wrap-around included); the end is -1, a failed take -2; a reader that leaves frees a waiting writer; the
 * notify hook fires when bytes come after a read found none. */
#include "audio/audio.h"
#include "studio/take_stream.h"
#include "test_util.h"

#include <pthread.h>
#include <time.h>

/* The stored take's join (generation.c, join_crossfade), the reference. */
static size_t join(float *out, size_t n, const float *b, size_t nb, size_t fade)
{
    if (fade > n) fade = n;
    if (fade > nb) fade = nb;
    float *tail = out + n - fade;
    for (size_t k = 0; k < fade; k++) {
        float w = ((float)k + 0.5f) / (float)fade;
        tail[k] = tail[k] * (1.0f - w) + b[k] * w;
    }
    memcpy(out + n, b + fade, (nb - fade) * sizeof *out);
    return n + nb - fade;
}

static unsigned rng = 12345;
static unsigned next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return (rng >> 8) & 0xffffff;
}

typedef struct {
    studio_take_stream *s;
    unsigned char *got;
    size_t n, cap;
    long last;
    int notified;
} reader;

static void *read_all(void *arg)
{
    reader *r = arg;
    for (;;) {
        size_t max = 1 + next_rand() % 5000;
        if (max > r->cap - r->n) max = r->cap - r->n;
        long k = studio_take_stream_read(r->s, r->got + r->n, max ? max : 1);
        if (k < 0) {
            r->last = k;
            return NULL;
        }
        r->n += (size_t)k;
        if (k == 0) {
            struct timespec ts = {0, 200000};
            nanosleep(&ts, NULL);
        }
    }
}

static int never(void *arg)
{
    (void)arg;
    return 0;
}

/* Feeds chunks of these lengths in random pieces through a pipe of capacity bytes read by a thread, and
 * compares with the reference join. */
static void run_case(const char *what, const size_t *lens, int n_chunks, size_t fade, size_t capacity)
{
    size_t total = 0;
    for (int c = 0; c < n_chunks; c++)
        total += lens[c];
    float *ref = calloc(total + 1, sizeof *ref);
    float **chunks = calloc((size_t)n_chunks, sizeof *chunks);
    size_t n_ref = 0;
    for (int c = 0; c < n_chunks; c++) {
        chunks[c] = malloc((lens[c] + 1) * sizeof *chunks[c]);
        for (size_t i = 0; i < lens[c]; i++)
            chunks[c][i] = ((float)(next_rand() % 20001) - 10000.0f) / 11000.0f;
        n_ref = join(ref, n_ref, chunks[c], lens[c], fade);
    }
    unsigned char *want = malloc(n_ref * 2 + 1);
    audio_s16le(ref, n_ref, want);

    studio_take_stream *s = studio_take_stream_new(capacity, fade);
    reader r = {s, malloc(total * 2 + 16), 0, total * 2 + 16, 0, 0};
    pthread_t th;
    pthread_create(&th, NULL, read_all, &r);
    for (int c = 0; c < n_chunks; c++) {
        studio_take_stream_chunk_begin(s);
        for (size_t i = 0; i < lens[c];) {
            size_t piece = 1 + next_rand() % 3000;
            if (piece > lens[c] - i) piece = lens[c] - i;
            CHECK(studio_take_stream_audio(s, chunks[c] + i, piece, never, NULL) == 0, "%s: a write failed",
                  what);
            i += piece;
        }
        studio_take_stream_chunk_end(s);
    }
    studio_take_stream_end(s, 1, never, NULL);
    pthread_join(th, NULL);
    CHECK(r.last == -1, "%s: the clean end reads as -1 (got %ld)", what, r.last);
    CHECK(r.n == n_ref * 2 && studio_take_stream_samples(s) == n_ref,
          "%s: %zu bytes streamed, %zu in the stored join", what, r.n, n_ref * 2);
    size_t at = 0;
    while (at < r.n && at < n_ref * 2 && r.got[at] == want[at])
        at++;
    CHECK(at == n_ref * 2, "%s: the stream differs from the stored join at byte %zu", what, at);
    printf("%s: %d chunks, fade %zu, pipe %zu bytes: %zu samples, equal to the join\n", what, n_chunks, fade,
           capacity, n_ref);
    studio_take_stream_free(s);
    for (int c = 0; c < n_chunks; c++)
        free(chunks[c]);
    free(chunks);
    free(ref);
    free(want);
    free(r.got);
}

static void wake(void *arg)
{
    (*(int *)arg)++;
}

typedef struct {
    studio_take_stream *s;
    int rc;
} writer;

static void *write_much(void *arg)
{
    writer *w = arg;
    float x[4000] = {0};
    w->rc = 0;
    studio_take_stream_chunk_begin(w->s);
    for (int i = 0; i < 100 && w->rc == 0; i++)
        w->rc = studio_take_stream_audio(w->s, x, 4000, never, NULL);
    return NULL;
}

int main(void)
{
    size_t a[] = {50000};
    run_case("one chunk", a, 1, 0, 1 << 20);
    size_t b[] = {5000, 700, 3000, 0, 4000, 1, 2500};
    run_case("chunks, one shorter than the fade", b, 7, 1200, 1 << 20);
    run_case("chunks through a 1000-byte pipe", b, 7, 1200, 1000);
    size_t c[] = {30000, 20000, 10000};
    run_case("no crossfade, 333-byte pipe", c, 3, 0, 333);

    /* a failed take: the bytes first, then -2 */
    studio_take_stream *s = studio_take_stream_new(1 << 16, 0);
    int woken = 0;
    studio_take_stream_notify(s, wake, &woken);
    unsigned char buf[64];
    CHECK(studio_take_stream_read(s, buf, sizeof buf) == 0, "nothing to read yet");
    float one[10] = {0.5f};
    studio_take_stream_chunk_begin(s);
    studio_take_stream_audio(s, one, 10, never, NULL);
    CHECK(woken == 1, "notify runs once bytes come after an empty read (%d)", woken);
    studio_take_stream_audio(s, one, 10, never, NULL);
    CHECK(woken == 1, "and not again until a read finds nothing (%d)", woken);
    studio_take_stream_end(s, 0, never, NULL);
    CHECK(studio_take_stream_read(s, buf, sizeof buf) == 40, "the 20 samples written are read");
    CHECK(studio_take_stream_read(s, buf, sizeof buf) == -2, "then the failed end: -2");
    studio_take_stream_free(s);

    /* a reader that leaves frees a writer waiting on a full pipe */
    s = studio_take_stream_new(1000, 0);
    writer w = {s, 0};
    pthread_t th;
    pthread_create(&th, NULL, write_much, &w);
    struct timespec ts = {0, 20 * 1000000L};
    nanosleep(&ts, NULL);
    studio_take_stream_close(s);
    pthread_join(th, NULL);
    CHECK(w.rc == -1, "the writer's write fails once the reader has gone (%d)", w.rc);
    studio_take_stream_free(s);

    if (failures) {
        fprintf(stderr, "test_take_stream: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_take_stream: all checks passed\n");
    return 0;
}
