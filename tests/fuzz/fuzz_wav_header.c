/* fuzz_wav_header.c — libFuzzer target for WAV headers with extreme rates, channel counts, sample widths and
 * declared lengths (issue 16): the input's first 16 bytes fill a canonical header's fields (format tag,
 * channels, rate, bits, declared data size), the rest is the sample data. Decoding with a 60 s limit must
 * refuse rates outside 4-384 kHz and audio over the limit before it costs memory, refuse non-finite samples,
 * and otherwise give finite samples; never crash, leak or read out of bounds. */
#include "audio/audio.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, (uint16_t)v);
    put16(p + 2, (uint16_t)(v >> 16));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 16 || size > (1u << 20)) return 0;
    uint16_t tag = data[0] & 1 ? 3 : 1; /* PCM or IEEE float */
    uint16_t channels = (uint16_t)(data[1] % 8 + (data[1] & 0x80 ? 250 : 0));
    uint32_t rate;
    memcpy(&rate, data + 2, 4);
    static const uint16_t widths[] = {8, 16, 24, 32, 64, 0, 12, 40};
    uint16_t bits = tag == 3 ? (data[6] & 1 ? 64 : 32) : widths[data[6] % 8];
    uint32_t declared;
    memcpy(&declared, data + 7, 4);
    size_t payload = size - 16;
    if (!(data[11] & 1)) declared = (uint32_t)payload; /* half the time the header tells the truth */
    uint8_t *w = malloc(44 + payload);
    if (!w) return 0;
    uint32_t align = (uint32_t)channels * bits / 8;
    memcpy(w, "RIFF", 4);
    put32(w + 4, 36 + declared);
    memcpy(w + 8, "WAVEfmt ", 8);
    put32(w + 16, 16);
    put16(w + 20, tag);
    put16(w + 22, channels);
    put32(w + 24, rate);
    put32(w + 28, rate * align);
    put16(w + 32, (uint16_t)align);
    put16(w + 34, bits);
    memcpy(w + 36, "data", 4);
    put32(w + 40, declared);
    memcpy(w + 44, data + 16, payload);

    audio_buf b;
    audio_error err = {{0}, 0, 0};
    int rc = audio_decode_memory_max(w, 44 + payload, 24000, 60.0, &b, &err);
    if (rc == 0) {
        if (!b.samples || b.n == 0 || b.sample_rate != 24000) abort();
        if (rate < 4000 || rate > 384000) abort(); /* an absurd rate must never be decoded */
        if (b.n > (size_t)24000 * 61) abort();     /* nor more than the limit (+ the resampler's tail) */
        for (size_t i = 0; i < b.n; i++)
            if (!isfinite(b.samples[i])) abort();
    } else if (rc != -1 && rc != -2) {
        abort();
    } else if (b.samples || b.n) {
        abort();
    }
    audio_buf_free(&b);
    free(w);
    return 0;
}
