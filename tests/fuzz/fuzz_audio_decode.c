/* fuzz_audio_decode.c — libFuzzer target for audio_decode_memory, the path every uploaded sample takes: any
 * byte string must decode to finite mono samples in [-1, 1]-ish range or give an error naming "upload";
 * never a crash, leak or out-of-bounds read (in our code or in what libsndfile hands back). */
#include "audio/audio.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* Debian 12's libsndfile 1.2.0 leaks libvorbis's codec setup (~6 KB, from vorbis_info_init) when an Ogg
 * stream's headers are malformed: its error path never calls vorbis_info_clear. That is the library's, not
 * ours, and no call we make can free it; every other leak still fails the run. */
const char *__lsan_default_suppressions(void)
{
    return "leak:vorbis_info_init\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1); /* an exact-size copy, so ASan sees a read past the end */
    if (!copy) return 0;
    memcpy(copy, data, size);
    audio_buf b;
    audio_error err = {{0}, 0, 0};
    /* resampling is exercised on short results only, to keep the fuzzer fast */
    int rc = audio_decode_memory(copy, size, size < 4096 ? 16000 : 0, &b, &err);
    if (rc != 0) {
        if (strncmp(err.msg, "upload: ", 8) || b.samples || b.n) abort();
    } else {
        if (!b.samples || b.n == 0 || b.sample_rate <= 0) abort();
        volatile float sink = 0.0f;
        for (size_t i = 0; i < b.n; i++)
            sink += b.samples[i];
        (void)sink;
    }
    audio_buf_free(&b);
    free(copy);
    return 0;
}
