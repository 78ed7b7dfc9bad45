/* fuzz_image_decode.c — libFuzzer target for studio_image_decode, the front door of every avatar upload
 * (PNG, JPEG with EXIF, WebP): any byte string must give an upright RGB image of sane size, or an error of
 * the kinds the studio answers with; never a crash, leak, out-of-bounds read or unbounded allocation. The
 * fit to 512 x 512 and the PNG encoder run on what decodes, as an upload's path does. */
#include "studio/image.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1); /* an exact-size copy, so ASan sees a read past the end */
    if (!copy) return 0;
    memcpy(copy, data, size);
    studio_image img;
    studio_error err = {0};
    if (studio_image_decode(copy, size, &img, &err) == 0) {
        if (!img.rgb || img.w <= 0 || img.h <= 0 ||
            (unsigned long long)img.w * (unsigned long long)img.h > STUDIO_IMAGE_MAX_PIXELS)
            abort();
        void *png = NULL;
        size_t n = 0;
        if (studio_image_fit(&img, 512, &err) != 0 || img.w > 512 || img.h > 512 ||
            studio_image_encode_png(&img, &png, &n, &err) != 0 || n == 0)
            abort();
        free(png);
    } else if (err.kind != STUDIO_BAD_INPUT && err.kind != STUDIO_UNSUPPORTED_MEDIA &&
               err.kind != STUDIO_INTERNAL) {
        abort();
    }
    studio_image_free(&img);
    free(copy);
    return 0;
}
