/* image.h — the studio's image front door (avatars): PNG, JPEG or WebP bytes in, an opaque RGB image out,
 * upright (the EXIF orientation of a JPEG or WebP applied), transparency composited over white, then fitted
 * within a square and written as PNG. Inside the studio only; the fuzz target drives studio_image_decode
 * directly. Every decoder is bounded: the dimensions are checked before any pixel buffer is allocated. */
#ifndef VOICEBOX_STUDIO_IMAGE_H
#define VOICEBOX_STUDIO_IMAGE_H

#include <stddef.h>

#include "studio/studio.h"

#define STUDIO_IMAGE_MAX_PIXELS (25u * 1000u * 1000u) /* a larger picture is refused before decoding */

typedef struct {
    unsigned char *rgb; /* w*h*3 bytes, rows top to bottom */
    int w, h;
} studio_image;

/* Decodes PNG, JPEG or WebP (by signature). STUDIO_UNSUPPORTED_MEDIA for anything else, STUDIO_BAD_INPUT for
 * a damaged or oversized picture. */
int studio_image_decode(const void *bytes, size_t size, studio_image *out, studio_error *err);
/* Shrinks (area average) to fit within max_side x max_side, keeping the aspect ratio; smaller images stay. */
int studio_image_fit(studio_image *img, int max_side, studio_error *err);
/* PNG bytes (*out malloc'd). */
int studio_image_encode_png(const studio_image *img, void **out, size_t *size, studio_error *err);
void studio_image_free(studio_image *img); /* frees rgb, zeroes the struct; NULL is fine */

#endif
