/* fuzz_voice_prompt.c — libFuzzer target for the voice prompt file reader (qt_prompt_parse).
 *
 * The first input byte is a switch, the rest is the file image: with bit 0 set, the CRC-32 at the end is
 * recomputed before parsing so the fuzzer reaches the checks behind the checksum (counts, codes, x-vector,
 * UTF-8). Any image either parses into a prompt whose fields obey the format's rules and which serializes
 * back to the same bytes, or is refused with a reason (CORRUPT, or MISMATCH for another version). Never a
 * crash, leak or out-of-bounds read.
 */
#include "engine/qt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint32_t crc32_bitwise(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c & 1 ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return ~c;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int fix_crc = data[0] & 1;
    size_t n = size - 1;
    uint8_t *img = malloc(n ? n : 1);
    memcpy(img, data + 1, n);
    if (fix_crc && n >= 4) {
        uint32_t c = crc32_bitwise(img, n - 4);
        img[n - 4] = (uint8_t)c, img[n - 3] = (uint8_t)(c >> 8), img[n - 2] = (uint8_t)(c >> 16),
                img[n - 1] = (uint8_t)(c >> 24);
    }
    qt_error err = {0};
    qt_voice_prompt *vp = qt_prompt_parse(img, n, "fuzz", NULL, 0, &err);
    if (!vp) {
        if (!err.msg[0] || (err.kind != QT_ERR_CORRUPT && err.kind != QT_ERR_MISMATCH)) {
            fprintf(stderr, "refused without a reason or with kind %d: '%s'\n", err.kind, err.msg);
            abort();
        }
        free(img);
        return 0;
    }
    int icl = vp->mode == QT_PROMPT_ICL;
    if (vp->width < 1 || !vp->xvector || (icl && (vp->n_frames < 1 || !vp->codes || !vp->ref_text)) ||
        (!icl && (vp->n_frames || vp->codes || vp->ref_text)) || !memchr(vp->size, 0, sizeof vp->size))
        abort();
    for (int i = 0; i < vp->n_frames * QT_CODEBOOKS; i++)
        if (vp->codes[i] < 0 || vp->codes[i] >= QT_CODEBOOK_SIZE) abort();
    uint8_t *back = NULL;
    size_t n_back = 0;
    if (qt_prompt_serialize(vp, &back, &n_back, &err) || n_back != n || memcmp(back, img, n)) {
        fprintf(stderr, "a parsed prompt does not serialize back to its bytes: %s\n", err.msg);
        abort();
    }
    /* the same file for another model is a mismatch, never anything else */
    qt_voice_prompt *other = qt_prompt_parse(img, n, "fuzz", NULL, vp->width + 1, &err);
    if (other || err.kind != QT_ERR_MISMATCH) abort();
    free(back);
    qt_prompt_free(vp);
    free(img);
    return 0;
}
